//! `awsx migrate`: adopt the AWS CLI's `aws login` profiles (`login_session = ARN`) as awsx
//! console profiles, their plaintext session files imported into the keychain (and deleted
//! when asked); then move each long-lived key of the credentials file into the keychain as a
//! break-glass user (the break-glass enrolment path: STS GetCallerIdentity, then the
//! keychain), or delete it. Each file is rewritten atomically, keeping every other byte.
//! Human output goes to stderr, except `--dry-run`'s diffs (the result asked for) on stdout.
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use time::OffsetDateTime;

use super::Context;
use crate::breakglass::enroll;
use crate::breakglass::{BreakglassError, credfile};
use crate::cli::MigrateArgs;
use crate::cmd::input::Input;
use crate::error::{Error, Result};
use awsx_config::ConfigFile;
use awsx_config::Document;
use awsx_config::migrate::{Action, Flags, LongLivedKey, long_lived_keys, masked_diff};
use awsx_config::profile::profile_names;
use awsx_config::settings::Settings;
use awsx_core::types::{IamUserName, ProfileName, Region};
use awsx_creds::tier::FastTier;

pub fn run(ctx: &Context, args: MigrateArgs) -> Result<()> {
    let adopted = login_sessions(ctx, &args)?;
    let mut file = ConfigFile::load_credentials(&ctx.env)?;
    let path = file.path().to_owned();
    let keys = long_lived_keys(file.doc());
    if keys.is_empty() {
        if adopted == 0 {
            eprintln!(
                "awsx: no long-lived access key (AKIA…) in {} and no aws login profile; nothing to migrate.",
                path.display()
            );
        }
        return Ok(());
    }
    let terminal = std::io::stdin().is_terminal();
    let flags = Flags {
        delete: &args.delete,
        enroll_as: args.enroll_as.as_deref(),
        mfa_serial: args.mfa_serial.as_deref(),
        profile: args.profile.as_deref(),
    };
    let flagged = flags.choose();
    let mut actions = awsx_config::migrate::actions_from_flags(&flags, &keys)
        .map_err(|e| Error::Usage(e.to_string()))?;

    if args.dry_run {
        // Whatever is chosen for a key (enrol or delete), it leaves the file: show that.
        let chosen = awsx_config::migrate::leaving(&keys, &actions, flagged);
        let original = file.doc().render().to_owned();
        for key in &chosen {
            credfile::remove_from(file.doc_mut(), &key.access_key_id)?;
        }
        for (key, action) in keys.iter().zip(&actions) {
            eprintln!(
                "awsx: {} (profile {}): {}",
                key.redacted(),
                key.profiles.join(", "),
                describe(action, flagged)
            );
        }
        print!(
            "{}",
            masked_diff(&path.display().to_string(), &original, file.doc().render())
        );
        eprintln!("awsx: dry run: nothing was written.");
        return Ok(());
    }

    if !flagged {
        if !terminal {
            let listed: Vec<String> = keys
                .iter()
                .map(|k| format!("{} (profile {})", k.redacted(), k.profiles.join(", ")))
                .collect();
            return Err(Error::Usage(format!(
                "{} long-lived key(s) in {}: {}; without a terminal say what to do: --enroll-as USER --mfa-serial ARN [--profile PROFILE] or --delete PROFILE, with --yes (awsx migrate --dry-run shows the change)",
                keys.len(),
                path.display(),
                listed.join("; ")
            )));
        }
        actions = ask_actions(&keys)?;
    } else if !terminal && !args.yes {
        return Err(Error::Usage(
            "without a terminal, pass --yes to let awsx migrate rewrite the credentials file"
                .to_owned(),
        ));
    }
    if actions.iter().all(|a| matches!(a, Action::Keep)) {
        eprintln!("awsx: nothing chosen; {} is unchanged.", path.display());
        return Ok(());
    }

    // Enrol first: a key leaves the file only once it is safely in the keychain.
    let mut failures = 0;
    let mut first_error: Option<BreakglassError> = None;
    let mut removed = Vec::new();
    for (key, action) in keys.iter().zip(&actions) {
        match action {
            Action::Keep => {}
            Action::Delete => removed.push((key, "deleted")),
            Action::Enroll { user, mfa_serial } => {
                match enroll_key(ctx, &args, key, user, mfa_serial) {
                    Ok(arn) => {
                        eprintln!(
                            "awsx: enrolled {} as break-glass user {user} ({arn}).",
                            key.redacted()
                        );
                        removed.push((key, "moved to the keychain"));
                    }
                    Err(e) => {
                        failures += 1;
                        eprintln!(
                            "awsx: {} was not enrolled and stays in {}: {e}",
                            key.redacted(),
                            path.display()
                        );
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
    }
    if removed.is_empty() {
        // Nothing changes; the (first) enrolment error says what to do and sets the code.
        return Err(Error::Breakglass(first_error.unwrap_or_else(|| {
            BreakglassError::Input("no key was migrated".to_owned())
        })));
    }
    if terminal && !args.yes {
        let original = file.doc().render().to_owned();
        let mut preview = file.clone();
        for (key, _) in &removed {
            credfile::remove_from(preview.doc_mut(), &key.access_key_id)?;
        }
        eprint!(
            "{}",
            masked_diff(
                &path.display().to_string(),
                &original,
                preview.doc().render()
            )
        );
        if !Input::new().confirm(&format!("awsx: rewrite {}?", path.display())) {
            eprintln!(
                "awsx: {} is unchanged (enrolled keys are in the keychain; run awsx migrate --delete PROFILE to remove them).",
                path.display()
            );
            return Ok(());
        }
    }
    for (key, _) in &removed {
        credfile::remove_from(file.doc_mut(), &key.access_key_id)?;
    }
    file.save()?;
    for (key, what) in &removed {
        eprintln!(
            "awsx: {} (profile {}) {what}; removed from {}.",
            key.redacted(),
            key.profiles.join(", "),
            path.display()
        );
    }
    eprintln!("awsx: the rest of {} is unchanged.", path.display());
    if failures > 0 {
        return Err(Error::Breakglass(BreakglassError::Input(format!(
            "{failures} key(s) could not be enrolled; see the messages above"
        ))));
    }
    Ok(())
}

fn describe(action: &Action, flagged: bool) -> String {
    match action {
        Action::Enroll { user, .. } => {
            format!("would be enrolled as break-glass user {user} and removed")
        }
        Action::Delete => "would be deleted".to_owned(),
        Action::Keep if flagged => "kept".to_owned(),
        Action::Keep => "would be enrolled or deleted (you choose per key) and removed".to_owned(),
    }
}

/// At a terminal: per key, enrol (asking for the user and MFA device) or delete, or keep.
fn ask_actions(keys: &[LongLivedKey]) -> Result<Vec<Action>> {
    let mut input = Input::new();
    let mut actions = Vec::new();
    for key in keys {
        let what = format!("{} (profile {})", key.redacted(), key.profiles.join(", "));
        if input.confirm(&format!(
            "awsx: move {what} into the keychain as a break-glass user?"
        )) {
            let user = ask_line("IAM user name: ")?;
            let user: IamUserName = user
                .parse()
                .map_err(|e| Error::Usage(format!("{user:?} is not an IAM user name: {e}")))?;
            let mfa_serial = ask_line("MFA device ARN: ")?;
            actions.push(Action::Enroll { user, mfa_serial });
        } else if input.confirm(&format!("awsx: delete {what} from the credentials file?")) {
            actions.push(Action::Delete);
        } else {
            actions.push(Action::Keep);
        }
    }
    Ok(actions)
}

fn ask_line(prompt: &str) -> Result<String> {
    eprint!("{prompt}");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Break-glass enrolment of `key` (as `awsx breakglass enroll` does it, audit log included).
fn enroll_key(
    ctx: &Context,
    args: &MigrateArgs,
    key: &LongLivedKey,
    user: &IamUserName,
    mfa_serial: &str,
) -> Result<String, BreakglassError> {
    let env = &ctx.env;
    let settings = Settings::load(env).map_err(|e| BreakglassError::Config(e.to_string()))?;
    let opened = awsx_keychain::open(settings.keychain, &settings.keychain_service)?;
    if let Some(w) = &opened.warning {
        eprintln!("awsx: warning: {w}");
    }
    enroll::check_durable(&opened, args.allow_volatile)?;
    let secret = key.secret_access_key.clone().ok_or_else(|| {
        BreakglassError::Input(format!(
            "profile {} has no aws_secret_access_key for this key",
            key.profiles[0]
        ))
    })?;
    let enrolled = enroll::enroll_recorded(
        env,
        opened.store.as_ref(),
        user,
        mfa_serial,
        OffsetDateTime::now_utc(),
        |_| Ok((key.access_key_id.clone(), secret)),
    )?;
    for w in &enrolled.warnings {
        eprintln!("awsx: warning: {w}");
    }
    Ok(enrolled.key.user_arn)
}

/// A profile `aws login` wrote: `login_session = <principal ARN>` (the SDKs' login provider).
struct LoginSessionProfile {
    name: ProfileName,
    arn: String,
    region: Option<Region>,
    /// The AWS CLI's plaintext session file for `arn`, and whether it exists.
    cache: PathBuf,
    cached: bool,
}

/// The config file's `aws login` profiles. A profile that also has `credential_process`
/// (the SDKs would run that first) is left alone, with a note.
fn login_session_profiles(ctx: &Context, doc: &Document) -> Vec<LoginSessionProfile> {
    let mut found = Vec::new();
    for name in profile_names(doc) {
        let Some(section) = doc.profile_sections(name.as_str()).last() else {
            continue;
        };
        let Some(arn) = section
            .get("login_session")
            .map(|e| e.value.trim().to_owned())
        else {
            continue;
        };
        if section.get("credential_process").is_some() {
            eprintln!(
                "awsx: profile {name} has both login_session and credential_process; left as it is."
            );
            continue;
        }
        let region = section
            .get("region")
            .and_then(|e| e.value.trim().parse().ok());
        let cache = awsx_console::cli_cache_path(&ctx.env, &arn);
        let cached = cache.is_file();
        found.push(LoginSessionProfile {
            name,
            arn,
            region,
            cache,
            cached,
        });
    }
    found
}

/// `[profile P]` of `aws login` as an awsx console profile: `login_session` becomes
/// `awsx_login_session` (the SDKs must not find `login_session`, or their login provider
/// would read the CLI's file instead of asking awsx) and `credential_process` runs awsx.
/// Every other key, comment and byte stays.
fn adopt(doc: &mut Document, p: &LoginSessionProfile, program: &str) -> Result<()> {
    let command = format!("{program} credential-process --profile {}", p.name);
    doc.set_profile_keys(
        &p.name,
        &[
            ("credential_process", command.as_str()),
            ("awsx_login_session", p.arn.as_str()),
        ],
    )?;
    doc.remove_profile_keys(p.name.as_str(), &["login_session"])?;
    Ok(())
}

/// Adopt every `aws login` profile: show the change (the whole of it with `--dry-run`),
/// import each session file into the keychain (awsx-console's import), rewrite the config
/// file once, atomically, for the profiles whose session was imported (or had no file), and
/// delete the imported files when asked. Returns how many profiles were found.
fn login_sessions(ctx: &Context, args: &MigrateArgs) -> Result<usize> {
    let env = &ctx.env;
    let mut file = ConfigFile::load_config(env)?;
    let found = login_session_profiles(ctx, file.doc());
    if found.is_empty() {
        return Ok(0);
    }
    let path = file.path().to_owned();
    let program = crate::sync::credential_process_program(env)?;
    let original = file.doc().render().to_owned();
    let mut preview = file.clone();
    for p in &found {
        adopt(preview.doc_mut(), p, &program)?;
    }
    let diff = masked_diff(
        &path.display().to_string(),
        &original,
        preview.doc().render(),
    );
    for p in &found {
        let session = if !p.cached {
            format!(
                "no AWS CLI session file ({}): run awsx login --console --profile {} afterwards",
                p.cache.display(),
                p.name
            )
        } else if args.delete_cli_cache {
            format!(
                "its AWS CLI session file {} goes into the keychain and is deleted",
                p.cache.display()
            )
        } else {
            format!(
                "its AWS CLI session file {} goes into the keychain (kept unless --delete-cli-cache)",
                p.cache.display()
            )
        };
        eprintln!(
            "awsx: aws login profile {} ({}) becomes an awsx console profile; {session}.",
            p.name, p.arn
        );
    }
    if args.dry_run {
        print!("{diff}");
        eprintln!("awsx: dry run: nothing was written or imported.");
        return Ok(found.len());
    }
    let terminal = std::io::stdin().is_terminal();
    if !args.yes {
        if !terminal {
            return Err(Error::Usage(format!(
                "without a terminal, pass --yes to let awsx migrate adopt the aws login profile(s) in {} (awsx migrate --dry-run shows the change)",
                path.display()
            )));
        }
        eprint!("{diff}");
        if !Input::new().confirm(&format!("awsx: rewrite {}?", path.display())) {
            eprintln!("awsx: {} is unchanged.", path.display());
            return Ok(found.len());
        }
    }

    // Import first: a profile is rewritten only once its session is in the keychain.
    let settings = Settings::load(env).map_err(|e| Error::Usage(e.to_string()))?;
    let (store, fallback) = super::common::open_store_with_fallback(&settings)?;
    let fast = FastTier::for_backend(
        store.backend(),
        settings.hot_tier,
        &settings.keychain_service,
    );
    let margin = awsx_creds::serve::margin(&settings);
    let cache_dir = env.cache_dir();
    let mut imported = Vec::new();
    let mut first_error = None;
    for p in &found {
        if !p.cached {
            imported.push(p);
            continue;
        }
        let region = match &p.region {
            Some(r) => r.clone(),
            None => "us-east-1"
                .parse()
                .map_err(|e| Error::Usage(format!("{e}")))?,
        };
        let result = awsx_console::import_cli_cache(
            env,
            store.as_ref(),
            fast.as_ref().and_then(FastTier::hot),
            margin,
            &p.name,
            &region,
            &p.arn,
        )
        .and_then(|session| match session {
            Some((session, _)) => session
                .remember(&cache_dir, store.as_ref(), fallback.clone())
                .map(|()| true),
            None => Ok(false),
        });
        match result {
            Ok(_) => {
                eprintln!(
                    "awsx: imported the console session of {} (profile {}) into the {}.",
                    p.arn,
                    p.name,
                    store.backend()
                );
                imported.push(p);
            }
            Err(e) => {
                eprintln!(
                    "awsx: profile {} was not adopted and stays as it is: {e}",
                    p.name
                );
                first_error.get_or_insert(e);
            }
        }
    }
    if !imported.is_empty() {
        for p in &imported {
            adopt(file.doc_mut(), p, &program)?;
        }
        file.save()?;
        let names: Vec<String> = imported.iter().map(|p| p.name.to_string()).collect();
        eprintln!(
            "awsx: rewrote profile(s) {} in {}; the rest of the file is unchanged.",
            names.join(", "),
            path.display()
        );
    }
    let files: Vec<&PathBuf> = imported
        .iter()
        .filter(|p| p.cached)
        .map(|p| &p.cache)
        .collect();
    if !files.is_empty() {
        let delete = args.delete_cli_cache
            || (terminal
                && Input::new().confirm(
                    "awsx: delete the AWS CLI's plaintext copies of these sessions (the keychain now holds them)?",
                ));
        for f in files {
            if !delete {
                eprintln!(
                    "awsx: {} still holds the session in plaintext; delete it (or run awsx migrate --delete-cli-cache) once you stop using aws login there.",
                    f.display()
                );
            } else if let Err(e) = std::fs::remove_file(f) {
                eprintln!("awsx: warning: cannot delete {}: {e}", f.display());
            } else {
                eprintln!("awsx: deleted {}.", f.display());
            }
        }
    }
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(found.len()),
    }
}
