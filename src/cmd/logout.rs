//! `awsx logout`: end SSO sessions at Identity Center and remove what awsx keeps for them
//! (token, client registration, every cached role credential, this HOME's session record)
//! from the keychain and the hot tier. `--all --purge` removes every awsx entry,
//! break-glass ones included.
//!
//! Each session is logged out of the keychain its login chose (the session record), not
//! whatever `auto` would probe now. Its hot-tier entries go first, whatever happens next:
//! when the keychain cannot be reached, the command says so and exits 4 rather than report
//! "logged out" while the keychain still holds the session.
use std::collections::BTreeSet;

use crate::cli::LogoutArgs;
use crate::cmd::{Context, common};
use crate::error::{Error, Result};
use awsx_config::settings::Settings;
use awsx_config::{AwsxProfile, ConfigFile, SsoSession};
use awsx_core::exit::{ExitCode, HasExitCode};
use awsx_core::types::{ProfileName, SsoSessionName};
use awsx_creds::console::ConsoleRecord;
use awsx_keychain::hot::HotTier;

pub fn run(ctx: &Context, args: LogoutArgs) -> Result<()> {
    let settings = Settings::load(&ctx.env)?;
    if !args.all
        && let Some(name) = &args.session.profile
    {
        let name = common::profile_name(ctx, Some(name))?;
        let file = ConfigFile::load_config(&ctx.env)?;
        if let Ok(AwsxProfile::Console(_)) = AwsxProfile::resolve(file.doc(), &name) {
            return console_logout(ctx, &settings, &name);
        }
    }
    let targets: Vec<SsoSessionName> = if args.all {
        all_sessions(ctx, &settings)?
    } else {
        vec![common::resolve_session(ctx, &args.session)?.name]
    };
    let hot = HotTier::open(&settings.keychain_service);
    let runtime = awsx_aws::runtime()?;
    let mut unreachable: Option<Error> = None;

    for name in &targets {
        if let Some(hot) = &hot {
            hot.remove_session(name);
        }
        let result = common::open_session_store(ctx, &settings, name).and_then(|opened| {
            let sessions = common::sessions(ctx, &settings, opened.store.as_ref());
            Ok(runtime.block_on(sessions.logout(name))?)
        });
        let (removed, portal_ok) = match result {
            Ok(done) => done,
            Err(err) if err.exit_code() == ExitCode::KeychainUnavailable => {
                eprintln!(
                    "awsx: sso-session {name} is no longer served from the hot tier, but the \
                     keychain that holds its login cannot be reached, so its token and \
                     credentials are still stored there; fix the keychain (below) and run \
                     awsx logout --sso-session {name} again"
                );
                unreachable.get_or_insert(err);
                continue;
            }
            Err(err) => return Err(err),
        };
        let ended = if portal_ok {
            "ended the session at IAM Identity Center"
        } else {
            "no live session to end at IAM Identity Center"
        };
        eprintln!(
            "Logged out of sso-session {name}: {ended}; removed {} keychain entr{}.",
            removed.len(),
            if removed.len() == 1 { "y" } else { "ies" }
        );
    }

    if args.all {
        // Console sign-in sessions too: every one in the keychain, configured or not.
        let listed = awsx_keychain::open(settings.keychain, &settings.keychain_service)
            .map_err(Error::from)
            .and_then(|opened| Ok(opened.store.list()?));
        let profiles: BTreeSet<ProfileName> = listed
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e.console_profile().cloned())
            .collect();
        for name in &profiles {
            console_logout(ctx, &settings, name)?;
        }
    }

    if args.purge {
        let store = common::open_store(&settings)?;
        let mut purged = 0;
        for entry in store.list()? {
            if store.delete(&entry)? {
                purged += 1;
            }
        }
        if let Some(hot) = &hot {
            hot.clear_all();
        }
        eprintln!(
            "Purged {purged} more awsx keychain entr{} (break-glass keys and sessions included).",
            if purged == 1 { "y" } else { "ies" }
        );
    } else if args.all
        && let Some(hot) = &hot
    {
        // Break-glass sessions stay in the keychain (they are not SSO's), but nothing
        // should linger in the hot tier after "log out of everything".
        hot.clear_all();
    }
    match unreachable {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Log out of a console sign-in session: delete its keychain entries (session, credentials),
/// its hot-tier copy and this HOME's record, from the keychain its login chose. AWS Sign-In
/// has no revoke operation, so nothing is ended at AWS: say so.
fn console_logout(ctx: &Context, settings: &Settings, name: &ProfileName) -> Result<()> {
    let cache_dir = ctx.env.cache_dir();
    let record = ConsoleRecord::read(&cache_dir, name);
    let opened = match settings
        .keychain
        .explicit_backend()
        .or(record.as_ref().map(|r| r.backend))
    {
        Some(backend) => awsx_keychain::open_backend(backend, &settings.keychain_service)?,
        None => awsx_keychain::open(settings.keychain, &settings.keychain_service)?,
    };
    let hot = HotTier::open(&settings.keychain_service);
    let removed = awsx_console::delete(opened.store.as_ref(), hot.as_ref(), &cache_dir, name)?;
    if removed {
        eprintln!(
            "Logged out of the console sign-in session of profile {name}: removed its refresh token, DPoP key and credentials from the keychain. \
             AWS Sign-In offers no way to revoke a session, so its refresh token stays valid at AWS until the session ends \
             (12 hours after sign-in), but no copy of it is left here; credentials already handed to programs expire within 15 minutes."
        );
    } else {
        eprintln!(
            "Profile {name} has no console sign-in session in the keychain; nothing to remove."
        );
    }
    Ok(())
}

/// Every session configured, plus any that has entries in the keychain `auto` (or the
/// choice) opens but is no longer in the config file (so `--all` leaves nothing behind).
/// A keychain that cannot be opened for that listing only narrows it to the configured
/// sessions; each of those is then logged out of its own keychain.
fn all_sessions(ctx: &Context, settings: &Settings) -> Result<Vec<SsoSessionName>> {
    let file = ConfigFile::load_config(&ctx.env)?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for name in SsoSession::names(file.doc()) {
        seen.insert(name.clone());
        out.push(name);
    }
    let listed = awsx_keychain::open(settings.keychain, &settings.keychain_service)
        .map_err(Error::from)
        .and_then(|opened| Ok(opened.store.list()?));
    match listed {
        Ok(entries) => {
            for entry in entries {
                if let Some(name) = entry.sso_session().cloned()
                    && seen.insert(name.clone())
                {
                    out.push(name);
                }
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "cannot list the keychain for sessions no longer configured")
        }
    }
    Ok(out)
}
