//! The cache-hit answer, the same in both binaries: the front `awsx` gives it and exits;
//! `awsx-main` tries it first and fetches only when it is `None`.
use awsx_config::settings::Settings;
use awsx_config::{AwsxProfile, ConsoleProfile, SsoProfile, find_awsx_profile_cached};
use awsx_core::env::Env;
use awsx_core::types::ProfileName;

use crate::RoleCredentials;
use crate::tier;

/// The refresh margin the settings ask for, as the freshness rules take it.
pub fn margin(settings: &Settings) -> time::Duration {
    time::Duration::try_from(settings.refresh_margin).unwrap_or(time::Duration::minutes(15))
}

/// Fresh credentials for `profile` from the fast tier (the hot tier, or keyutils when that
/// is the session's keychain), bound to this HOME's login of its session, or `None`.
pub fn fast_tier_hit(
    env: &Env,
    settings: &Settings,
    profile: &SsoProfile,
) -> Option<RoleCredentials> {
    tier::fast_hit(
        &env.cache_dir(),
        settings.keychain,
        settings.hot_tier,
        &settings.keychain_service,
        margin(settings),
        profile,
    )
}

/// The Version 1 `credential_process` JSON for `name` when its credentials are a fast-tier
/// hit; `None` for anything else (a miss, a break-glass profile, a file awsx cannot read),
/// which the caller answers the long way.
pub fn cached_process_json(env: &Env, name: &ProfileName) -> Option<String> {
    let settings = Settings::load(env).ok()?;
    let profile = find_awsx_profile_cached(&env.cache_dir(), &env.aws_config_file(), name).ok()?;
    match profile {
        AwsxProfile::Sso(profile) => fast_tier_hit(env, &settings, &profile)
            .map(|creds| creds.to_process_json(Some(&profile.account_id))),
        AwsxProfile::Console(profile) => console_fast_tier_hit(env, &settings, &profile)
            .map(|creds| creds.to_process_json(profile.account_id().as_ref())),
        // Break-glass sessions are served from the keychain only.
        AwsxProfile::BreakGlass(_) => None,
    }
}

/// [`fast_tier_hit`] for a console sign-in profile.
pub fn console_fast_tier_hit(
    env: &Env,
    settings: &Settings,
    profile: &ConsoleProfile,
) -> Option<RoleCredentials> {
    crate::console::fast_hit(
        &env.cache_dir(),
        settings.keychain,
        settings.hot_tier,
        &settings.keychain_service,
        margin(settings),
        profile,
    )
}
