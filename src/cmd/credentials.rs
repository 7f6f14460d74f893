//! Serving a profile's credentials: what `credential-process` and `export` (and later
//! `exec`) share. The cheapest source wins: hot tier, keychain, then the network.
use std::time::Instant;

use crate::cmd::login_ui::TerminalUi;
use crate::cmd::{Context, common};
use crate::error::{Error, Result};
use awsx_config::settings::Settings;
use awsx_config::{AwsxProfile, ConsoleProfile, SsoProfile, find_awsx_profile_cached};
use awsx_console::{Console, ConsoleError};
use awsx_creds::RoleCredentials;
use awsx_creds::binding::{self, SessionRecord};
use awsx_creds::console::ConsoleRecord;
use awsx_creds::serve::console_fast_tier_hit;
use awsx_creds::serve::{fast_tier_hit, margin};
use awsx_creds::tier::{FastTier, entry_for};
use awsx_sso::provider::{self, Origin, RoleSource};
use awsx_sso::{LoginUi, SsoError};

use awsx_core::types::ProfileName;
use awsx_keychain::Backend;

/// Resolve `name` and return fresh credentials for it, with its region when it names one.
pub fn for_profile(ctx: &Context, name: &ProfileName) -> Result<(RoleCredentials, AwsxProfile)> {
    let started = Instant::now();
    let settings = Settings::load(&ctx.env)?;
    let profile = find_awsx_profile_cached(&ctx.env.cache_dir(), &ctx.env.aws_config_file(), name)?;
    let creds = match &profile {
        AwsxProfile::Sso(sso) => sso_credentials(ctx, &settings, sso)?,
        AwsxProfile::Console(console) => console_credentials(ctx, &settings, console)?,
        AwsxProfile::BreakGlass(breakglass) => {
            // Served from the keychain only, never renewed: a new session needs a person,
            // an MFA code and a reason (`awsx breakglass PROFILE --reason ...`).
            let store = common::open_store(&settings)?;
            let served = crate::breakglass::cached_session(
                store.as_ref(),
                breakglass,
                time::OffsetDateTime::now_utc(),
            )?;
            if let Some(warning) = &served.warning {
                eprintln!("awsx: warning: {warning}");
            }
            served.credentials
        }
    };
    tracing::debug!(
        elapsed_us = started.elapsed().as_micros() as u64,
        "served credentials"
    );
    Ok((creds, profile))
}

fn sso_credentials(
    ctx: &Context,
    settings: &Settings,
    profile: &SsoProfile,
) -> Result<RoleCredentials> {
    let entry = entry_for(profile);
    if let Some(creds) = fast_tier_hit(&ctx.env, settings, profile) {
        tracing::debug!(entry = %entry, "fast tier hit");
        return Ok(creds);
    }
    // A hot-tier miss in a storm of cold processes: queue on the role's lock before
    // touching the keychain, so that one process talks to D-Bus and the network while the
    // rest find its result in the hot tier. (Without a hot tier they read the keychain
    // first and queue only to fetch.) Whether there is one is known before opening the
    // keychain: its backend is the explicit choice or the one the login remembered.
    let choice = settings.keychain;
    let record = SessionRecord::read(&ctx.env.cache_dir(), &profile.session.name);
    let hot_in_front = settings.hot_tier
        && binding::session_backend(choice, record.as_ref()) != Some(Backend::Keyutils);
    let locked = if hot_in_front {
        let held = provider::lock_role(&ctx.env.cache_dir(), settings.lock_wait, profile)?;
        if let Some(creds) = fast_tier_hit(&ctx.env, settings, profile) {
            tracing::debug!(entry = %entry, "hot tier hit after waiting");
            return Ok(creds);
        }
        Some(held)
    } else {
        None
    };
    // The keychain this session's login chose (no probe, no fallback warning: `login`
    // gave that), or with no login remembered here, `auto`'s probe.
    let opened = common::open_session_store(ctx, settings, &profile.session.name)?;
    let fast = FastTier::for_backend(
        opened.store.backend(),
        settings.hot_tier,
        &settings.keychain_service,
    );
    let hot = fast.as_ref().and_then(FastTier::hot);
    let store = opened.store;
    let sessions = common::sessions(ctx, settings, store.as_ref());
    let source = RoleSource {
        sessions: &sessions,
        hot,
        margin: margin(settings),
    };
    // The profile's `awsx_auto_login`, else its session's, else the global setting. Never in
    // doctor's or explain's probe: `awsx doctor` must not start a device login at the user's
    // terminal (and wait for it); it reports "login required" and says how to log in.
    let session_auto_login = profile
        .session
        .awsx
        .get("awsx_auto_login")
        .and_then(|v| awsx_config::profile::parse_bool(v));
    let auto_login = profile
        .auto_login
        .or(session_auto_login)
        .unwrap_or(settings.auto_login)
        && !crate::doctor::chain::is_probe(&ctx.env);
    let mut tty_ui = if auto_login {
        TerminalUi::controlling_terminal(&ctx.env, settings)
    } else {
        None
    };
    let login = tty_ui.as_mut().map(|ui| ui as &mut dyn LoginUi);
    // A keychain hit needs no runtime: only a fetch (or a login) builds one.
    let cached = match &locked {
        Some(_) => None,
        None => source.cached(profile).map_err(SsoError::from)?,
    };
    let served = match (cached, locked) {
        (Some(creds), _) => Ok((creds, Origin::Keychain)),
        (None, Some((_guard, acquired))) => {
            awsx_aws::runtime()?.block_on(source.role_credentials_locked(profile, acquired, login))
        }
        (None, None) => awsx_aws::runtime()?.block_on(source.role_credentials(profile, login)),
    };
    match served {
        Ok((creds, origin)) => {
            tracing::debug!(entry = %entry, ?origin, "served role credentials");
            Ok(creds)
        }
        Err(SsoError::LoginRequired { session }) if auto_login && tty_ui.is_none() => {
            Err(Error::Sso(SsoError::LoginRequiredNoTerminal { session }))
        }
        Err(err) => Err(err.into()),
    }
}

/// A console sign-in profile (`awsx login --console`): the fast tier, then the keychain that
/// login chose, then a refresh through AWS Sign-In (one process at a time: see
/// `awsx_console::Console::credentials`).
pub(crate) fn console_credentials(
    ctx: &Context,
    settings: &Settings,
    profile: &ConsoleProfile,
) -> Result<RoleCredentials> {
    if let Some(creds) = console_fast_tier_hit(&ctx.env, settings, profile) {
        tracing::debug!(profile = %profile.profile, "fast tier hit (console)");
        return Ok(creds);
    }
    let cache_dir = ctx.env.cache_dir();
    let Some(record) = ConsoleRecord::read(&cache_dir, &profile.profile) else {
        return Err(ConsoleError::NotLoggedIn {
            profile: profile.profile.clone(),
        }
        .into());
    };
    let backend = settings
        .keychain
        .explicit_backend()
        .unwrap_or(record.backend);
    let opened = awsx_keychain::open_backend(backend, &settings.keychain_service)?;
    let fast = FastTier::for_backend(backend, settings.hot_tier, &settings.keychain_service);
    let console = Console {
        env: &ctx.env,
        store: opened.store.as_ref(),
        hot: fast.as_ref().and_then(FastTier::hot),
        cache_dir,
        margin: margin(settings),
        lock_wait: settings.lock_wait,
    };
    // A keychain hit needs no runtime: only a refresh builds one.
    if let Some(creds) = console.cached(profile)? {
        return Ok(creds);
    }
    Ok(awsx_aws::runtime()?.block_on(console.credentials(profile))?)
}
