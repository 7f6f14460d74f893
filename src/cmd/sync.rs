//! `awsx sync [--sso-session NAME] [--dry-run]`: one profile per account and role the
//! portal lists, written into the managed block of the AWS config file. Nothing outside the
//! block changes; the write is atomic, keeps the file's permissions and refuses if the file
//! changed meanwhile. `--dry-run` prints the unified diff and writes nothing.
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::cli::{SessionSelector, SyncArgs};
use crate::cmd::login_ui::TerminalUi;
use crate::cmd::{Context, common};
use crate::error::{Error, Result};
use awsx_config::settings::Settings;
use awsx_config::{ConfigFile, SsoSession};
use awsx_core::types::Region;
use awsx_sso::portal::{self, ListPolicy, Listing};
use awsx_sso::sync::{self, Change, Emptied, SessionListing, SyncInput};
use awsx_sso::{SessionSpec, Sessions, SsoError, SsoToken};

pub fn run(ctx: &Context, args: SyncArgs) -> Result<()> {
    let started = Instant::now();
    let settings = Settings::load(&ctx.env)?;
    let policy = policy(ctx)?;
    let mut file = ConfigFile::load_config(&ctx.env)?;
    file.doc().check_managed_block()?;
    let sessions_to_sync: Vec<SsoSession> = match &args.sso_session {
        Some(name) => vec![common::resolve_session(
            ctx,
            &SessionSelector {
                sso_session: Some(name.clone()),
                profile: None,
            },
        )?],
        None => {
            let doc = file.doc();
            let all = SsoSession::names(doc)
                .iter()
                .filter_map(|n| SsoSession::find(doc, n).transpose())
                .collect::<Result<Vec<_>, _>>()?;
            if all.is_empty() {
                return Err(Error::Usage(
                    "no [sso-session] is configured; run awsx configure --start-url URL --sso-region REGION first"
                        .to_owned(),
                ));
            }
            all
        }
    };

    let store = common::open_store(&settings)?;
    let sessions = common::sessions(ctx, &settings, store.as_ref());
    let runtime = awsx_aws::runtime()?;
    let mut listings: Vec<(SsoSession, Region, Listing)> = Vec::new();
    for session in &sessions_to_sync {
        let spec = SessionSpec::from_config(session);
        let token = token(ctx, &settings, &sessions, &spec, &runtime)?;
        let listing = runtime.block_on(list(policy, &sessions, &spec, &token))?;
        // Synced profiles get the session's region unless its awsx_region says otherwise.
        let region = match session.awsx.get("awsx_region") {
            Some(r) => r.parse().map_err(|e| {
                Error::Usage(format!(
                    "[sso-session {}] has awsx_region = {r:?}, which is not valid: {e}",
                    session.name
                ))
            })?,
            None => session.region.clone(),
        };
        listings.push((session.clone(), region, listing));
    }
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "listed accounts and roles"
    );

    let old_block = file.doc().read_managed_block()?.unwrap_or("").to_owned();
    let outside = outside_names(&file)?;
    let session_listings: Vec<SessionListing<'_>> = listings
        .iter()
        .map(|(s, region, l)| SessionListing {
            session: &s.name,
            region,
            accounts: &l.accounts,
        })
        .collect();
    let program = crate::sync::credential_process_program(&ctx.env)?;
    let plan = sync::plan(&SyncInput {
        template: &settings.profile_name_template,
        program: &program,
        old_block: &old_block,
        outside: &outside,
        listings: &session_listings,
    });
    let added = plan.count(Change::Add);
    let removed = plan.count(Change::Remove);
    let changed = plan.count(Change::Update);
    let unchanged = plan.count(Change::Keep);

    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "planned the block"
    );
    if !args.dry_run {
        refuse_to_empty(&args, &plan.emptied)?;
    }
    let before = file.doc().render().to_owned();
    file.doc_mut().replace_managed_block(&plan.block)?;
    let after = file.doc().render().to_owned();
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "edited the document"
    );
    let path = file.path().display().to_string();
    let accounts: usize = listings.iter().map(|(.., l)| l.accounts.len()).sum();
    let retries: u32 = listings.iter().map(|(.., l)| l.retries).sum();
    let retried = if retries > 0 {
        format!(", {retries} throttled or failed requests retried")
    } else {
        String::new()
    };
    let summary = format!(
        "{} profiles from {accounts} accounts: {added} added, {removed} removed, {changed} updated, {unchanged} unchanged ({:.1} s{retried})",
        plan.profiles.len(),
        started.elapsed().as_secs_f64()
    );
    if args.dry_run {
        if before != after {
            // The context lines around the block may hold a profile's static keys.
            let text = awsx_config::mask::masked_diff(&path, &path, &before, &after);
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        eprintln!("awsx sync --dry-run: would write {summary}; nothing was written");
        return Ok(());
    }
    file.save()?;
    if before == after {
        eprintln!("awsx sync: {path} is up to date: {summary}");
    } else {
        eprintln!("awsx sync: wrote {path}: {summary}");
    }
    Ok(())
}

/// A session whose portal listed no role at all, while the block holds profiles synced from
/// it: writing would delete every one of them. That is refused unless `--allow-empty` (or a
/// yes at a terminal), since an empty listing is more often an outage, a wrong user or a
/// permission-set change in progress than the truth.
fn refuse_to_empty(args: &SyncArgs, emptied: &[Emptied]) -> Result<()> {
    if args.allow_empty {
        return Ok(());
    }
    for Emptied { session, doomed } in emptied {
        let why = format!(
            "the portal of sso-session {session} listed no account or role for this login, so writing would delete all {doomed} profiles synced from it"
        );
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            eprint!("awsx sync: {why}. Delete them? [y/N] ");
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer)?;
            if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
                continue;
            }
        }
        return Err(Error::Usage(format!(
            "{why}; nothing was written. If the accounts are really gone, run awsx sync --allow-empty; otherwise check that you logged in as the right user (awsx status) and try again later"
        )));
    }
    Ok(())
}

/// A usable token for the session; at a terminal, log in first when there is none.
fn token(
    ctx: &Context,
    settings: &Settings,
    sessions: &Sessions<'_>,
    spec: &SessionSpec,
    runtime: &tokio::runtime::Runtime,
) -> Result<SsoToken> {
    match runtime.block_on(sessions.usable_token(spec)) {
        Ok(token) => Ok(token),
        Err(SsoError::LoginRequired { session }) if std::io::stderr().is_terminal() => {
            eprintln!("awsx: sync needs a login to sso-session {session} first");
            let mut ui = TerminalUi::stderr(&ctx.env, settings, false);
            let outcome = runtime.block_on(sessions.login(spec, false, &mut ui));
            ui.finish();
            outcome?;
            Ok(runtime.block_on(sessions.usable_token(spec))?)
        }
        Err(err) => Err(err.into()),
    }
}

/// The listing policy; `AWSX_SYNC_CONCURRENCY` (1–64) overrides how many accounts are
/// asked about at once (default 8). Any other value is refused rather than ignored: the
/// user set it to change something.
fn policy(ctx: &Context) -> Result<ListPolicy> {
    let mut policy = ListPolicy::default();
    if let Some(text) = ctx.env.var("AWSX_SYNC_CONCURRENCY") {
        policy.concurrency = text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=64).contains(n))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "AWSX_SYNC_CONCURRENCY={text:?} is not a number from 1 to 64; set it to one (8 is the default) or unset it"
                ))
            })?;
    }
    Ok(policy)
}

async fn list(
    policy: ListPolicy,
    sessions: &Sessions<'_>,
    spec: &SessionSpec,
    token: &SsoToken,
) -> Result<Listing> {
    let client = sessions.portal_client(&spec.region).await?;
    let animate = std::io::stderr().is_terminal();
    let listing = portal::list_assignments(&client, &spec.name, token, policy, |done, total| {
        if animate && (done % 10 == 0 || done == total) {
            eprint!(
                "\r\x1b[2Kawsx sync: {}: roles of {done}/{total} accounts",
                spec.name
            );
            if done == total {
                eprint!("\r\x1b[2K");
            }
        }
    })
    .await?;
    Ok(listing)
}

/// Profile names outside the managed block (a synced profile must not take one of them).
fn outside_names(file: &ConfigFile) -> Result<HashSet<String>> {
    let doc = file.doc();
    let block = doc.managed_block()?;
    Ok(doc
        .sections()
        .iter()
        .filter(|s| !block.as_ref().is_some_and(|b| b.outer.contains(&s.start)))
        .filter_map(|s| match &s.name {
            awsx_config::lex::SectionName::Profile(n) => Some(n.clone()),
            _ => None,
        })
        .collect())
}
