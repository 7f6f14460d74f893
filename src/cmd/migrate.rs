//! `awsx migrate`: move each long-lived key of the credentials file into the keychain as a
//! break-glass user (the break-glass enrolment path: STS GetCallerIdentity, then the
//! keychain), or delete it; then rewrite the file atomically, keeping every other byte.
//! Human output goes to stderr, except `--dry-run`'s diff (the result asked for) on stdout.
use std::io::{BufRead, IsTerminal};

use time::OffsetDateTime;

use super::Context;
use crate::breakglass::enroll;
use crate::breakglass::{BreakglassError, credfile};
use crate::cli::MigrateArgs;
use crate::cmd::input::Input;
use crate::error::{Error, Result};
use awsx_config::ConfigFile;
use awsx_config::migrate::{Action, Flags, LongLivedKey, long_lived_keys, masked_diff};
use awsx_config::settings::Settings;
use awsx_core::types::IamUserName;

pub fn run(ctx: &Context, args: MigrateArgs) -> Result<()> {
    let mut file = ConfigFile::load_credentials(&ctx.env)?;
    let path = file.path().to_owned();
    let keys = long_lived_keys(file.doc());
    if keys.is_empty() {
        eprintln!(
            "awsx: no long-lived access key (AKIA…) in {}; nothing to migrate.",
            path.display()
        );
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
