//! `awsx status`: which keychain, whether the hot tier is on, each SSO session's token
//! state and the role credentials cached for it. Never a secret.
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::StatusArgs;
use crate::cmd::login::human_duration;
use crate::cmd::{Context, common};
use crate::error::{Error, Result};
use awsx_config::settings::Settings;
use awsx_config::{AwsxProfile, ConfigFile, ConsoleProfile, SsoSession};
use awsx_console::Console;
use awsx_core::exit::HasExitCode;
use awsx_creds::console::ConsoleRecord;
use awsx_creds::tier::FastTier;
use awsx_keychain::{self as store, Backend};
use awsx_sso::status::{self, TokenState};

/// `--json` output, schema version 1 (documented in the README).
#[derive(Serialize)]
struct Status {
    version: u8,
    keychain: String,
    hot_tier: bool,
    sessions: Vec<SessionStatus>,
    /// Console sign-in sessions (`awsx login --console`), one per profile.
    console_sessions: Vec<ConsoleStatus>,
}

#[derive(Serialize)]
struct ConsoleStatus {
    profile: String,
    /// The signed-in principal the profile names (`awsx_login_session`).
    principal_arn: String,
    region: Option<String>,
    /// The keychain that holds it, or null when it cannot be opened.
    keychain: Option<String>,
    /// `signed-in` or `none`.
    session: &'static str,
    signed_in_at: Option<String>,
    /// When AWS Sign-In stops refreshing it (12 hours after sign-in).
    session_ends_at: Option<String>,
    /// When the cached credentials expire (renewed automatically before then).
    credentials_expire_at: Option<String>,
    #[serde(skip)]
    unreachable: bool,
}

/// AWS Sign-In refreshes a console session for up to 12 hours after sign-in.
const CONSOLE_SESSION_HOURS: i64 = 12;

#[derive(Serialize)]
struct SessionStatus {
    name: String,
    start_url: String,
    region: String,
    /// The keychain that holds this session's login (`auto` remembers it at login), or
    /// null when it cannot be opened.
    keychain: Option<String>,
    /// Why `auto` chose that keychain at login, when it had to settle for second best.
    keychain_note: Option<String>,
    /// `valid`, `expired` or `none` ([`TokenState::word`]).
    token: &'static str,
    expires_at: Option<String>,
    refreshable: bool,
    roles: Vec<RoleStatus>,
    #[serde(skip)]
    state: TokenState,
}

#[derive(Serialize)]
struct RoleStatus {
    account_id: String,
    role_name: String,
    expires_at: String,
}

pub fn run(ctx: &Context, args: StatusArgs) -> Result<()> {
    let settings = Settings::load(&ctx.env)?;
    let file = ConfigFile::load_config(&ctx.env)?;
    // What a session never logged in to would use (auto probes here, as login will).
    let default = store::open(settings.keychain, &settings.keychain_service);
    let (default_backend, default_note) = match &default {
        Ok(opened) => (Some(opened.backend()), opened.warning.clone()),
        Err(_) => (None, None),
    };
    let hot_tier = default_backend.is_some_and(|b| {
        FastTier::for_backend(b, settings.hot_tier, &settings.keychain_service)
            .is_some_and(|t| t.hot().is_some())
    });
    let now = OffsetDateTime::now_utc();
    let mut first_error: Option<Error> = None;

    let mut status = Status {
        version: 1,
        keychain: default_backend
            .map_or("unavailable", Backend::id)
            .to_owned(),
        hot_tier,
        sessions: Vec::new(),
        console_sessions: Vec::new(),
    };
    for name in SsoSession::names(file.doc()) {
        let Some(session) = SsoSession::find(file.doc(), &name)? else {
            continue;
        };
        let mut entry = SessionStatus {
            name: name.to_string(),
            start_url: session.start_url.to_string(),
            region: session.region.to_string(),
            keychain: None,
            keychain_note: None,
            token: "none",
            expires_at: None,
            refreshable: false,
            roles: Vec::new(),
            state: TokenState::None,
        };
        let read = common::open_session_store(ctx, &settings, &name).and_then(|opened| {
            let sessions = common::sessions(ctx, &settings, opened.store.as_ref());
            let stored = sessions.stored_token(&name)?;
            let entries = opened.store.list()?;
            let roles = status::cached_roles(opened.store.as_ref(), &entries, &name, now);
            Ok((opened, stored, roles))
        });
        match read {
            Ok((opened, stored, roles)) => {
                entry.keychain = Some(opened.store.backend().id().to_owned());
                entry.keychain_note = opened
                    .record
                    .as_ref()
                    .and_then(|r| r.fallback.clone())
                    .or(opened.warning);
                let state =
                    TokenState::of(stored.as_ref(), &session.start_url, &session.region, now);
                entry.token = state.word();
                entry.expires_at = state.expires_at().map(|e| e.to_rfc3339());
                entry.refreshable = state.refreshable();
                if state.is_this_portal() {
                    entry.roles = roles
                        .into_iter()
                        .map(|r| RoleStatus {
                            account_id: r.account_id.to_string(),
                            role_name: r.role_name.to_string(),
                            expires_at: r.expires_at.to_rfc3339(),
                        })
                        .collect();
                }
                entry.state = state;
            }
            Err(err) => {
                entry.keychain_note = Some(err.to_string());
                first_error.get_or_insert(err);
            }
        }
        status.sessions.push(entry);
    }

    for name in awsx_config::profile::profile_names(file.doc()) {
        let Ok(AwsxProfile::Console(profile)) = AwsxProfile::resolve(file.doc(), &name) else {
            continue;
        };
        status
            .console_sessions
            .push(console_status(ctx, &settings, &profile, &mut first_error));
    }

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&status).unwrap_or_default()
        );
        return Ok(());
    }
    match (&default, &default_note) {
        (Ok(opened), None) => println!("keychain: {}", opened.backend()),
        (Ok(opened), Some(note)) => println!("keychain: {} ({note})", opened.backend()),
        (Err(e), _) => println!("keychain: unavailable ({e})"),
    }
    println!(
        "hot tier: {}",
        match default_backend {
            _ if status.hot_tier => "on (kernel keyutils)",
            Some(Backend::Keyutils) =>
                "not needed (the keychain is keyutils: hits read it directly)",
            _ => "off",
        }
    );
    if status.sessions.is_empty() && status.console_sessions.is_empty() {
        println!(
            "no SSO session configured; run awsx configure --start-url URL --sso-region REGION"
        );
    }
    for s in &status.sessions {
        let token = match &s.state {
            TokenState::Valid {
                expires_at,
                refreshable,
            } => {
                let left = human_duration(expires_at.remaining(now));
                let renew = if *refreshable { ", renews itself" } else { "" };
                format!(
                    "logged in until {} ({left} left{renew})",
                    expires_at.to_rfc3339()
                )
            }
            TokenState::Expired {
                refreshable: true, ..
            } => "token expired; renews itself at next use".to_owned(),
            TokenState::Expired { .. } => {
                format!("token expired; run awsx login --sso-session {}", s.name)
            }
            _ if s.keychain.is_none() => "cannot tell: its keychain cannot be reached".to_owned(),
            // A login to another portal (the start URL changed since): not this one's.
            TokenState::OtherPortal { start_url, region } => format!(
                "not logged in to {} (the stored login is to {start_url} in {region}); run awsx login --sso-session {}",
                s.start_url, s.name
            ),
            TokenState::None => format!(
                "not logged in to {}; run awsx login --sso-session {}",
                s.start_url, s.name
            ),
        };
        println!(
            "sso-session {} ({}, {}): {token}",
            s.name, s.start_url, s.region
        );
        match (&s.keychain, &s.keychain_note) {
            (Some(k), Some(note))
                if Some(k.as_str()) != default_backend.map(Backend::id)
                    || default_note.is_none() =>
            {
                println!("  keychain: {k}, chosen at login because {note}")
            }
            (Some(k), None) if Some(k.as_str()) != default_backend.map(Backend::id) => {
                println!("  keychain: {k} (where it logged in)")
            }
            (None, Some(note)) => println!("  keychain: {note}"),
            _ => {}
        }
        for r in &s.roles {
            println!(
                "  {} in {}: credentials until {}",
                r.role_name, r.account_id, r.expires_at
            );
        }
    }
    for c in &status.console_sessions {
        let state = match (&c.session_ends_at, &c.credentials_expire_at) {
            (Some(ends), creds) => {
                let left = awsx_core::types::Expiration::parse_rfc3339(ends)
                    .map(|e| e.remaining(now))
                    .unwrap_or_default();
                let creds = creds
                    .as_deref()
                    .map(|at| format!("; credentials until {at}"))
                    .unwrap_or_default();
                if left > time::Duration::ZERO {
                    format!(
                        "signed in as {} until {ends} ({} left){creds}",
                        c.principal_arn,
                        human_duration(left)
                    )
                } else {
                    format!(
                        "the sign-in session of {} ended at {ends}; run awsx login --console --profile {}",
                        c.principal_arn, c.profile
                    )
                }
            }
            (None, _) if c.unreachable => "cannot tell: its keychain cannot be reached".to_owned(),
            (None, _) => format!(
                "not signed in; run awsx login --console --profile {}",
                c.profile
            ),
        };
        println!("console profile {}: {state}", c.profile);
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// What the keychain its login chose holds for a console profile (never a secret).
fn console_status(
    ctx: &Context,
    settings: &Settings,
    profile: &ConsoleProfile,
    first_error: &mut Option<Error>,
) -> ConsoleStatus {
    let mut out = ConsoleStatus {
        profile: profile.profile.to_string(),
        principal_arn: profile.login_session.clone(),
        region: profile.region.as_ref().map(ToString::to_string),
        keychain: None,
        session: "none",
        signed_in_at: None,
        session_ends_at: None,
        credentials_expire_at: None,
        unreachable: false,
    };
    let Some(record) = ConsoleRecord::read(&ctx.env.cache_dir(), &profile.profile) else {
        // Never signed in from this HOME.
        return out;
    };
    let backend = settings
        .keychain
        .explicit_backend()
        .unwrap_or(record.backend);
    let opened = match store::open_backend(backend, &settings.keychain_service) {
        Ok(opened) => opened,
        Err(e) => {
            out.unreachable = true;
            first_error.get_or_insert(e.into());
            return out;
        }
    };
    out.keychain = Some(backend.id().to_owned());
    let console = Console {
        env: &ctx.env,
        store: opened.store.as_ref(),
        hot: None,
        cache_dir: ctx.env.cache_dir(),
        margin: awsx_creds::serve::margin(settings),
        lock_wait: settings.lock_wait,
    };
    match console.session(profile) {
        Ok(session) => {
            out.session = "signed-in";
            out.signed_in_at =
                Some(awsx_core::types::Expiration::new(session.signed_in_at).to_rfc3339());
            out.session_ends_at = Some(
                awsx_core::types::Expiration::new(
                    session.signed_in_at + time::Duration::hours(CONSOLE_SESSION_HOURS),
                )
                .to_rfc3339(),
            );
            out.credentials_expire_at = session
                .credentials
                .as_ref()
                .map(|c| c.expiration.to_rfc3339());
        }
        Err(e) if e.exit_code() == awsx_core::exit::ExitCode::LoginRequired => {}
        Err(e) => {
            first_error.get_or_insert(e.into());
        }
    }
    out
}
