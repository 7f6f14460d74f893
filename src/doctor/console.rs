//! `console.PROFILE`: each console sign-in profile (`awsx login --console`): signed in from
//! this HOME, its keychain reachable, a refresh token stored, the session not past its
//! 12 hours, the credentials fresh (or renewable); and `console.PROFILE.endpoint`: the
//! sign-in endpoint answers. Never reads out a secret.
use time::OffsetDateTime;

use super::Check;
use awsx_config::settings::Settings;
use awsx_config::{AwsxProfile, ConsoleProfile, Document};
use awsx_console::Console;
use awsx_core::env::Env;
use awsx_creds::console::ConsoleRecord;

/// AWS Sign-In refreshes a console session for up to 12 hours after sign-in.
const SESSION_HOURS: i64 = 12;

pub fn checks(env: &Env, settings: &Settings, doc: &Document, checks: &mut Vec<Check>) {
    for name in awsx_config::profile::profile_names(doc) {
        if let Ok(AwsxProfile::Console(profile)) = AwsxProfile::resolve(doc, &name) {
            checks.extend(profile_checks(env, settings, &profile));
        }
    }
}

fn profile_checks(env: &Env, settings: &Settings, profile: &ConsoleProfile) -> Vec<Check> {
    let name = &profile.profile;
    let id = format!("console.{name}");
    let login = format!("run awsx login --console --profile {name}");
    let Some(record) = ConsoleRecord::read(&env.cache_dir(), name) else {
        return vec![Check::warn(
            id,
            format!("console profile {name}: not signed in from this HOME"),
            login,
        )];
    };
    let backend = settings
        .keychain
        .explicit_backend()
        .unwrap_or(record.backend);
    let opened = match awsx_keychain::open_backend(backend, &settings.keychain_service) {
        Ok(opened) => opened,
        Err(e) => {
            return vec![Check::fail(
                id,
                format!(
                    "console profile {name}: its session is kept in the {backend}, which cannot be reached"
                ),
                e.to_string(),
            )];
        }
    };
    let console = Console {
        env,
        store: opened.store.as_ref(),
        hot: None,
        cache_dir: env.cache_dir(),
        margin: awsx_creds::serve::margin(settings),
        lock_wait: settings.lock_wait,
    };
    let session = match console.session(profile) {
        Ok(session) => session,
        Err(e) => {
            return vec![Check::fail(
                id,
                format!("console profile {name}: no usable session in the {backend}"),
                e.to_string(),
            )];
        }
    };
    let now = OffsetDateTime::now_utc();
    let ends = session.signed_in_at + time::Duration::hours(SESSION_HOURS);
    let mut out = Vec::new();
    out.push(if session.refresh_token.expose().is_empty() {
        Check::fail(
            id.clone(),
            format!("console profile {name}: the stored session has no refresh token"),
            login.clone(),
        )
    } else if ends <= now {
        Check::warn(
            id.clone(),
            format!(
                "console profile {name}: the sign-in session of {} ended (12 hours after sign-in)",
                session.principal_arn
            ),
            login.clone(),
        )
    } else {
        let creds = match session.fresh_credentials(console.margin) {
            Some(c) => format!("credentials fresh until {}", c.expiration),
            None => "credentials renewed at the next use".to_owned(),
        };
        Check::ok(
            id.clone(),
            format!(
                "console profile {name}: signed in as {} in the {backend}, refresh token stored, {creds}; the session ends at {}",
                session.principal_arn,
                awsx_core::types::Expiration::new(ends)
            ),
        )
    });
    out.push(endpoint_check(env, &id, &session.endpoint));
    out
}

/// Any HTTP answer from the sign-in endpoint means it can be reached (no token is sent).
fn endpoint_check(env: &Env, id: &str, endpoint: &awsx_console::Endpoint) -> Check {
    let id = format!("{id}.endpoint");
    let probe = awsx_aws::runtime()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(awsx_aws::http_get(env, endpoint.as_str()))
                .map_err(|e| e.to_string())
        });
    match probe {
        Ok((status, _)) => Check::ok(
            id,
            format!("AWS Sign-In at {endpoint} answers (HTTP {status})"),
        ),
        Err(why) => Check::fail(
            id,
            format!("AWS Sign-In at {endpoint} cannot be reached: {why}"),
            "check the network (HTTPS_PROXY, AWS_CA_BUNDLE) or AWS_ENDPOINT_URL_SIGNIN",
        ),
    }
}
