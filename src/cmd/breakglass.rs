//! `awsx breakglass`: renders the break-glass flows of `crate::breakglass` for people.
//! Human output goes to stderr; `log`, `policy` and `status` listings go to stdout.
use time::OffsetDateTime;

use super::Context;
use std::cell::RefCell;
use std::time::Duration;

use crate::breakglass::assume::{self, Request};
use crate::breakglass::audit::{self, AuditEvent, AuditLog};
use crate::breakglass::console::{ConsoleSource, Flow};
use crate::breakglass::enroll;
use crate::breakglass::key::CreatedSource;
use crate::breakglass::policy::{self, PolicyInput};
use crate::breakglass::{BreakglassError, CachedSession, cached_session, credfile, maintain};
use crate::cli::{
    AssumeArgs, BreakglassArgs, BreakglassCommand, BreakglassStatusArgs, CheckArgs, EnrollArgs,
    LogArgs, PolicyArgs, RotateArgs,
};
use crate::cmd::input::Input;
use crate::error::{Error, Result};
use awsx_config::profile::profile_names;
use awsx_config::settings::Settings;
use awsx_config::{AwsxProfile, ConfigFile};

pub fn run(ctx: &Context, args: BreakglassArgs) -> Result<()> {
    match args.command {
        None => assume(ctx, args.assume),
        Some(BreakglassCommand::Assume(a)) => assume(ctx, a),
        Some(BreakglassCommand::Enroll(a)) => enroll(ctx, a),
        Some(BreakglassCommand::Log(a)) => log(ctx, a),
        Some(BreakglassCommand::Policy(a)) => policy(a),
        Some(BreakglassCommand::Status(a)) => status(ctx, a),
        Some(BreakglassCommand::Check(a)) => check(ctx, a),
        Some(BreakglassCommand::Rotate(a)) => rotate(ctx, a),
    }
}

/// Global settings, as break-glass needs them (an unreadable file is a usage error).
fn settings(ctx: &Context) -> Result<Settings> {
    Settings::load(&ctx.env).map_err(|e| Error::Usage(e.to_string()))
}

fn warn(line: &str) {
    eprintln!("awsx: warning: {line}");
}

fn assume(ctx: &Context, args: AssumeArgs) -> Result<()> {
    let Some(profile) = args.profile().cloned() else {
        return Err(Error::Usage(
            "name the break-glass profile: awsx breakglass PROFILE --reason \"…\"".into(),
        ));
    };
    let settings = settings(ctx)?;
    let req = Request {
        profile,
        reason: args.reason,
        duration: args.duration,
        notify_command: args
            .notify_command
            .or_else(|| settings.breakglass_notify_command.clone()),
        keychain: settings.keychain,
        keychain_service: settings.keychain_service.clone(),
        flow: flow(args.remote),
        signin_timeout: signin_timeout(&ctx.env),
    };
    let input = RefCell::new(Input::new());
    let mut ui = TerminalSignin { ctx, input: &input };
    let mut read_code = |serial: &str| -> std::result::Result<String, BreakglassError> {
        let mut input = input.borrow_mut();
        if input.is_terminal() {
            eprintln!(
                "awsx: break-glass access to {} requested; this is recorded.",
                req.profile
            );
        }
        let code = input.secret(&format!("MFA code for {serial}: "), "MFA code")?;
        Ok(code.expose().clone())
    };
    let granted = assume::assume(
        &ctx.env,
        &req,
        OffsetDateTime::now_utc(),
        &mut ui,
        &mut read_code,
    )?;
    for w in &granted.warnings {
        warn(w);
    }
    if let Some(asked) = granted.capped_from {
        warn(&format!(
            "a break-glass session lasts 15 min to 1 h; asked for {} s, got {} s",
            asked.as_secs(),
            granted.duration.as_secs()
        ));
    }
    let s = &granted.session;
    let left = s
        .credentials
        .expiration
        .remaining(OffsetDateTime::now_utc())
        .whole_minutes();
    eprintln!(
        "awsx: BREAK-GLASS session for {} granted: {} until {} ({left} min), source identity {}.",
        granted.profile.profile, s.assumed_role_arn, s.credentials.expiration, s.source_identity
    );
    match (&granted.source_principal, &granted.source_profile) {
        (Some(principal), Some(profile)) => eprintln!(
            "awsx: source: console sign-in of {principal} (no access key), from the session of profile {profile}."
        ),
        (Some(principal), None) => eprintln!(
            "awsx: source: console sign-in of {principal} (no access key); the sign-in is not kept."
        ),
        _ => {}
    }
    eprintln!(
        "awsx: recorded in {}. Use it with AWS_PROFILE={} (credential_process serves it) or awsx use {}; it will not be renewed.",
        granted.audit_path.display(),
        granted.profile.profile,
        granted.profile.profile
    );
    Ok(())
}

fn flow(remote: bool) -> Flow {
    if remote {
        Flow::CrossDevice
    } else {
        Flow::SameDevice
    }
}

/// How long a console sign-in waits for the browser: `AWSX_BROWSER_LOGIN_TIMEOUT` seconds
/// (as `awsx login`), else 5 minutes.
fn signin_timeout(env: &awsx_core::env::Env) -> Duration {
    env.var("AWSX_BROWSER_LOGIN_TIMEOUT")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(Duration::from_secs(300), Duration::from_secs)
}

/// The console side of keyless break-glass, on the terminal: a live `awsx login --console`
/// session of the user when one serves, else the browser opened as for `awsx login`
/// (`$BROWSER` honoured) with the URL shown on stderr in case none opens; with `--remote`,
/// the pasted code is read like the MFA code (terminal without echo, or a line of stdin).
struct TerminalSignin<'a> {
    ctx: &'a Context,
    input: &'a RefCell<Input>,
}

impl awsx_console::LoginUi for TerminalSignin<'_> {
    fn open_browser(&mut self, url: &str) {
        eprintln!(
            "awsx: sign in to the AWS console as the break-glass user (with its MFA) in the browser; if none opens, open:\n{url}"
        );
        let settings = Settings::load(&self.ctx.env).unwrap_or_default();
        if !super::login_ui::should_open_browser(&self.ctx.env, &settings, false) {
            return;
        }
        if let Err(e) = super::login_ui::open_in_browser(&self.ctx.env, url) {
            warn(&format!(
                "cannot open a browser ({e}); open the URL above on this machine, or run again with --remote"
            ));
        }
    }

    fn read_pasted_code(&mut self, url: &str) -> Option<String> {
        eprintln!(
            "awsx: on any device, open this URL and sign in to the AWS console as the break-glass user (with its MFA):\n{url}\nthen paste the code the page shows."
        );
        match self
            .input
            .borrow_mut()
            .secret("Sign-in code: ", "sign-in code")
        {
            Ok(code) => Some(code.expose().clone()),
            Err(e) => {
                warn(&e.to_string());
                None
            }
        }
    }
}

impl ConsoleSource for TerminalSignin<'_> {
    fn live_session(
        &mut self,
        principal_arn: &str,
    ) -> Option<(awsx_core::types::ProfileName, awsx_creds::RoleCredentials)> {
        let settings = Settings::load(&self.ctx.env).ok()?;
        let file = ConfigFile::load_config(&self.ctx.env).ok()?;
        for name in profile_names(file.doc()) {
            let Ok(AwsxProfile::Console(p)) = AwsxProfile::resolve(file.doc(), &name) else {
                continue;
            };
            if p.login_session != principal_arn {
                continue;
            }
            match super::credentials::console_credentials(self.ctx, &settings, &p) {
                Ok(creds) => {
                    eprintln!(
                        "awsx: using the console sign-in session of profile {name} ({principal_arn})."
                    );
                    return Some((name, creds));
                }
                Err(e) => warn(&format!(
                    "the console session of profile {name} cannot be used ({e}); signing in through the browser instead"
                )),
            }
        }
        None
    }
}

fn enroll(ctx: &Context, args: EnrollArgs) -> Result<()> {
    let env = &ctx.env;
    let settings = settings(ctx)?;
    let opened = awsx_keychain::open(settings.keychain, &settings.keychain_service)
        .map_err(BreakglassError::from)?;
    if let Some(w) = &opened.warning {
        warn(w);
    }
    enroll::check_durable(&opened, args.allow_volatile)?;
    let now = OffsetDateTime::now_utc();
    if args.console {
        return enroll_console(ctx, &args, &opened, now);
    }
    let mut input = Input::new();
    if input.is_terminal() {
        eprintln!(
            "awsx: enrolling break-glass user {} into the {}; paste its access key (nothing is shown).",
            args.user,
            opened.backend()
        );
    }
    let enrolled = enroll::enroll_recorded(
        env,
        opened.store.as_ref(),
        &args.user,
        &args.mfa_serial,
        now,
        |event| {
            let id = input.secret("Access key ID: ", "access key id")?;
            event.access_key_id = Some(id.expose().clone());
            let secret = input.secret("Secret access key: ", "secret access key")?;
            Ok((id.into_inner(), secret))
        },
    )?;
    for w in &enrolled.warnings {
        warn(w);
    }
    let key = &enrolled.key;
    let created = match key.created_source {
        CreatedSource::Iam => format!("created {} (IAM)", key.created.date()),
        CreatedSource::Enrolment => {
            format!("enrolled {} (creation date unknown)", key.created.date())
        }
    };
    eprintln!(
        "awsx: enrolled {} ({}) in the {}: key {}, {created}.",
        key.user,
        key.user_arn,
        opened.backend(),
        key.access_key_id
    );
    offer_removal(
        ctx,
        &mut input,
        &key.access_key_id,
        args.remove_from_credentials,
    );
    eprintln!(
        "awsx: add a profile per account to ~/.aws/config, e.g.\n\n[profile prod-breakglass]\ncredential_process = awsx credential-process --profile prod-breakglass\nawsx_breakglass_role_arn = arn:aws:iam::ACCOUNT:role/BreakGlass\nawsx_breakglass_user = {}\nawsx_mfa_serial = {}\n",
        key.user, key.mfa_serial
    );
    Ok(())
}

fn enroll_console(
    ctx: &Context,
    args: &EnrollArgs,
    opened: &awsx_keychain::OpenedStore,
    now: OffsetDateTime,
) -> Result<()> {
    let input = RefCell::new(Input::new());
    let mut ui = TerminalSignin { ctx, input: &input };
    let region: awsx_core::types::Region = args
        .region
        .as_deref()
        .unwrap_or(crate::breakglass::remote::DEFAULT_REGION)
        .parse()
        .map_err(|e| Error::Usage(format!("--region: {e}")))?;
    let enrolled = enroll::enroll_console(
        &ctx.env,
        opened.store.as_ref(),
        &args.user,
        &args.mfa_serial,
        &region,
        flow(args.remote),
        signin_timeout(&ctx.env),
        &mut ui,
        now,
    )?;
    eprintln!(
        "awsx: enrolled {} ({}) for console sign-in in the {}: no access key is stored; break-glass signs in through the browser and asks for the MFA code of {}.",
        enrolled.user,
        enrolled.user_arn,
        opened.backend(),
        enrolled.mfa_serial
    );
    eprintln!(
        "awsx: add a profile per account to ~/.aws/config, e.g.\n\n[profile prod-breakglass]\ncredential_process = awsx credential-process --profile prod-breakglass\nawsx_breakglass_role_arn = arn:aws:iam::ACCOUNT:role/BreakGlass\nawsx_breakglass_user = {}\n",
        enrolled.user
    );
    Ok(())
}

/// The enrolled key also sits in the credentials file: remove it (asked, or flagged).
/// Failures here are warnings: the enrolment itself succeeded.
fn offer_removal(ctx: &Context, input: &mut Input, key_id: &str, without_asking: bool) {
    let (path, profiles) = match credfile::find(&ctx.env, key_id) {
        Ok(found) => found,
        Err(e) => return warn(&format!("cannot check the credentials file: {e}")),
    };
    if profiles.is_empty() {
        return;
    }
    let listed = profiles.join(", ");
    let question = format!(
        "awsx: key {key_id} is also in {} (profile {listed}). Remove it there?",
        path.display()
    );
    if !(without_asking || input.confirm(&question)) {
        warn(&format!(
            "key {key_id} is still in {} (profile {listed}); remove it, or run enroll again with --remove-from-credentials",
            path.display()
        ));
        return;
    }
    match credfile::remove(&ctx.env, key_id) {
        Ok(_) => eprintln!(
            "awsx: removed key {key_id} from {} (profile {listed}); the rest of the file is unchanged.",
            path.display()
        ),
        Err(e) => warn(&format!(
            "could not remove the key from the credentials file: {e}"
        )),
    }
}

fn log(ctx: &Context, args: LogArgs) -> Result<()> {
    let path = audit::path(&ctx.env);
    let (events, unreadable) = audit::read(&path)?;
    if unreadable > 0 {
        warn(&format!(
            "{unreadable} line(s) of {} could not be read and are not shown",
            path.display()
        ));
    }
    if args.json {
        let doc = serde_json::json!({
            "version": audit::SCHEMA_VERSION,
            "path": path.display().to_string(),
            "events": events,
        });
        println!("{doc}");
        return Ok(());
    }
    if events.is_empty() {
        eprintln!("awsx: no break-glass events in {}", path.display());
        return Ok(());
    }
    for e in &events {
        println!("{}", describe(e));
    }
    Ok(())
}

/// One event as one line for people.
fn describe(e: &AuditEvent) -> String {
    let time = e
        .time
        .replace_nanosecond(0)
        .unwrap_or(e.time)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    // Every field comes from a file anyone with the user's rights can edit, and the reason
    // is free text: nothing reaches the terminal unescaped.
    let who = match (&e.os_user, &e.identity) {
        (Some(u), Some(i)) if u != i => format!("{u} ({i})"),
        (Some(u), _) => u.clone(),
        (None, Some(i)) => i.clone(),
        (None, None) => "?".into(),
    };
    let what = match e.event {
        audit::EventKind::Assume => format!(
            "{} -> {}",
            e.profile.as_deref().unwrap_or("?"),
            e.role_arn.as_deref().unwrap_or("?")
        ),
        _ => format!(
            "{} {}",
            e.iam_user.as_deref().unwrap_or("?"),
            e.access_key_id.as_deref().unwrap_or("")
        ),
    };
    let outcome = match (&e.error_code, &e.expiration) {
        (Some(code), _) => format!("FAILED {code}"),
        (None, Some(exp)) => format!("ok until {exp}"),
        (None, None) => e.result.to_string(),
    };
    let reason = e
        .reason
        .as_deref()
        .map(|r| format!(" reason: {r}"))
        .unwrap_or_default();
    audit::visible(&format!(
        "{time} {} {who} {what} {outcome}{reason}",
        e.event
    ))
}

fn policy(args: PolicyArgs) -> Result<()> {
    if !matches!(args.partition.as_str(), "aws" | "aws-us-gov" | "aws-cn") {
        return Err(Error::Usage(format!(
            "unknown partition {:?}; use aws, aws-us-gov or aws-cn",
            args.partition
        )));
    }
    let input = PolicyInput {
        partition: args.partition,
        management_account: args.management_account,
        users: args.users,
        role_name: args.role_name,
        max_mfa_age_seconds: args.max_mfa_age,
        console: args.console,
    };
    let trust = policy::trust_policy(&input);
    let user = policy::user_policy(&input);
    let doc = match args.only.as_deref() {
        Some("trust") => trust,
        Some("user") => user,
        _ => serde_json::json!({ "trust_policy": trust, "user_policy": user }),
    };
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::Usage(format!("cannot print the policy: {e}")))?;
    println!("{text}");
    eprintln!(
        "awsx: trust_policy goes on role {} in every account; user_policy on the break-glass users in account {}.",
        input.role_name, input.management_account
    );
    if input.console {
        eprintln!(
            "awsx: keyless users: instead of the user policy's sign-in statement you may attach the AWS managed policy SignInLocalDevelopmentAccess; give each user a console password and an MFA device, and no access key."
        );
    }
    Ok(())
}

fn status(ctx: &Context, args: BreakglassStatusArgs) -> Result<()> {
    let env = &ctx.env;
    let settings = settings(ctx)?;
    let now = OffsetDateTime::now_utc();
    let opened = awsx_keychain::open(settings.keychain, &settings.keychain_service)
        .map_err(BreakglassError::from)?;
    if let Some(w) = &opened.warning {
        warn(w);
    }
    let store = opened.store.as_ref();
    if let Some(name) = args.profile {
        let profile = assume::load_profile(env, &name)?;
        let served = cached_session(store, &profile, now)?;
        println!(
            "{name}: break-glass session until {} ({} min left)",
            served.expiration,
            served.expiration.remaining(now).whole_minutes()
        );
        if let Some(w) = served.warning {
            warn(&w);
        }
        return Ok(());
    }
    for user in maintain::enrolled_users(store)? {
        match crate::breakglass::key::Enrolment::load(store, &user) {
            Ok(crate::breakglass::key::Enrolment::Console(c)) => {
                println!(
                    "enrolled: {user} (console sign-in as {}, no key)",
                    c.user_arn
                );
            }
            _ => println!("enrolled: {user}"),
        }
    }
    let file = ConfigFile::load_config(env).map_err(BreakglassError::from)?;
    for name in profile_names(file.doc()) {
        let Ok(AwsxProfile::BreakGlass(p)) = AwsxProfile::resolve(file.doc(), &name) else {
            continue;
        };
        let state = match CachedSession::load(store, &name)? {
            Some(s) if s.credentials.expiration.remaining(now) > time::Duration::seconds(60) => {
                format!(
                    "session until {} ({} min left, reason: {})",
                    s.credentials.expiration,
                    s.credentials.expiration.remaining(now).whole_minutes(),
                    audit::visible(&s.reason)
                )
            }
            Some(_) => "session expired".to_owned(),
            None => "no session".to_owned(),
        };
        println!("profile {name}: {} via {}: {state}", p.role_arn, p.user);
    }
    Ok(())
}

fn check(ctx: &Context, _args: CheckArgs) -> Result<()> {
    let settings = settings(ctx)?;
    let opened = awsx_keychain::open(settings.keychain, &settings.keychain_service)
        .map_err(BreakglassError::from)?;
    let results = maintain::check(&ctx.env, opened.store.as_ref(), OffsetDateTime::now_utc())?;
    let keyless = maintain::console_users(opened.store.as_ref())?;
    for c in &keyless {
        println!(
            "ok: {} signs in through the console ({}), no access key: nothing to check or rotate; run awsx breakglass PROFILE on a drill to prove the sign-in and MFA still work",
            c.user, c.user_arn
        );
    }
    if results.is_empty() && !keyless.is_empty() {
        return Ok(());
    }
    if results.is_empty() {
        eprintln!(
            "awsx: no break-glass user is enrolled in the {}",
            opened.backend()
        );
        return Ok(());
    }
    let mut failed = 0;
    for r in &results {
        let age = match r.age_source {
            CreatedSource::Iam => format!("{} days old", r.age_days),
            CreatedSource::Enrolment => format!("enrolled {} days ago", r.age_days),
        };
        match &r.works {
            Ok(arn) => println!(
                "ok: {} key {} works as {arn}, {age}",
                r.user, r.access_key_id
            ),
            Err(e) => {
                failed += 1;
                println!("FAILED: {} key {}: {e}", r.user, r.access_key_id);
            }
        }
        if r.age_days > maintain::MAX_KEY_AGE_DAYS {
            warn(&format!(
                "{}'s key is {} days old (over {}); run awsx breakglass rotate --user {}",
                r.user,
                r.age_days,
                maintain::MAX_KEY_AGE_DAYS,
                r.user
            ));
        }
        if !r.other_keys.is_empty() {
            warn(&format!(
                "{} has other access keys not held by awsx: {}; delete them unless you know their use",
                r.user,
                r.other_keys.join(", ")
            ));
        }
    }
    if failed > 0 {
        return Err(BreakglassError::CheckFailed {
            failed,
            total: results.len(),
        }
        .into());
    }
    Ok(())
}

fn rotate(ctx: &Context, args: RotateArgs) -> Result<()> {
    let env = &ctx.env;
    let settings = settings(ctx)?;
    let opened = awsx_keychain::open(settings.keychain, &settings.keychain_service)
        .map_err(BreakglassError::from)?;
    let mut log = AuditLog::open(&audit::path(env))?;
    let now = OffsetDateTime::now_utc();
    let mut event = AuditEvent::new(audit::EventKind::Rotate, env, now);
    event.iam_user = Some(args.user.to_string());
    let result = maintain::rotate(env, opened.store.as_ref(), &args.user, now);
    match &result {
        Ok(r) => {
            event.succeeded();
            event.access_key_id = Some(r.key.access_key_id.clone());
        }
        Err(e) => event.failed(e),
    }
    log.append(&event)?;
    let rotated = result?;
    eprintln!(
        "awsx: rotated {}'s break-glass key: {} replaces {} in the {}.",
        args.user,
        rotated.key.access_key_id,
        rotated.old_access_key_id,
        opened.backend()
    );
    if let Some(w) = &rotated.warning {
        warn(w);
    }
    Ok(())
}
