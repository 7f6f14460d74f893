//! `awsx logout`: end SSO sessions at Identity Center and remove what awsx keeps for them
//! (token, client registration, every cached role credential) from the keychain and the
//! hot tier. `--all --purge` removes every awsx entry, break-glass ones included.
use std::collections::BTreeSet;

use crate::cli::LogoutArgs;
use crate::cmd::{Context, common};
use crate::config::{ConfigFile, SsoSession};
use crate::error::Result;
use crate::settings::Settings;
use crate::store::SecretStore;
use crate::store::hot::HotTier;
use crate::types::SsoSessionName;

pub fn run(ctx: &Context, args: LogoutArgs) -> Result<()> {
    let settings = Settings::load(&ctx.env)?;
    let single = if args.all {
        None
    } else {
        Some(common::resolve_session(ctx, &args.session)?)
    };
    let store = common::open_store(ctx, &settings)?;
    let targets: Vec<(SsoSessionName, Option<SsoSession>)> = match single {
        Some(session) => vec![(session.name.clone(), Some(session))],
        None => all_sessions(ctx, store.as_ref())?,
    };
    let sessions = common::sessions(ctx, &settings, store.as_ref());
    let hot = HotTier::open(&settings.keychain_service);
    let runtime = crate::aws::runtime()?;

    for (name, config) in &targets {
        let region = config.as_ref().map(|s| &s.region);
        let (removed, portal_ok) = runtime.block_on(sessions.logout(name, region))?;
        if let Some(hot) = &hot {
            for entry in &removed {
                hot.remove(entry);
            }
        }
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

    if args.purge {
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
    Ok(())
}

/// Every session configured, plus any that has entries in the keychain but is no longer
/// in the config file (so `--all` leaves nothing behind).
fn all_sessions(
    ctx: &Context,
    store: &dyn SecretStore,
) -> Result<Vec<(SsoSessionName, Option<SsoSession>)>> {
    let file = ConfigFile::load_config(&ctx.env)?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for name in SsoSession::names(file.doc()) {
        let session = SsoSession::find(file.doc(), &name)?;
        seen.insert(name.clone());
        out.push((name, session));
    }
    for entry in store.list()? {
        if let Some(name) = entry.sso_session().cloned()
            && seen.insert(name.clone())
        {
            out.push((name, None));
        }
    }
    Ok(out)
}
