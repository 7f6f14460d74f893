//! `awsx status`: which keychain, whether the hot tier is on, each SSO session's token
//! state and the role credentials cached for it. Never a secret.
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::StatusArgs;
use crate::cmd::login::human_duration;
use crate::cmd::{Context, common};
use crate::error::{Error, Result};
use awsx_config::settings::Settings;
use awsx_config::{ConfigFile, SsoSession};
use awsx_creds::RoleCredentials;
use awsx_creds::tier::FastTier;
use awsx_keychain::{self as store, Backend, EntryName, SecretStore};
use awsx_sso::SessionSpec;

/// `--json` output, schema version 1 (documented in the README).
#[derive(Serialize)]
struct Status {
    version: u8,
    keychain: String,
    hot_tier: bool,
    sessions: Vec<SessionStatus>,
}

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
    /// `valid`, `expired` or `none`.
    token: &'static str,
    expires_at: Option<String>,
    refreshable: bool,
    roles: Vec<RoleStatus>,
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
    };
    let mut other_portal: Vec<Option<String>> = Vec::new();
    for name in SsoSession::names(file.doc()) {
        let Some(session) = SsoSession::find(file.doc(), &name)? else {
            continue;
        };
        let spec = SessionSpec::from_config(&session);
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
        };
        let read = common::open_session_store(ctx, &settings, &name).and_then(|opened| {
            let sessions = common::sessions(ctx, &settings, opened.store.as_ref());
            let stored = sessions.stored_token(&name)?;
            let entries = opened.store.list()?;
            let roles = cached_roles(opened.store.as_ref(), &entries, &name, now)?;
            Ok((opened, stored, roles))
        });
        let mut portal_note = None;
        match read {
            Ok((opened, stored, roles)) => {
                entry.keychain = Some(opened.store.backend().id().to_owned());
                entry.keychain_note = opened
                    .record
                    .as_ref()
                    .and_then(|r| r.fallback.clone())
                    .or(opened.warning);
                match stored {
                    Some(t) if !t.is_for(&spec.start_url, &spec.region) => {
                        // A login to another portal (the start URL changed since): not this one's.
                        portal_note = Some(format!("{} in {}", t.start_url, t.region));
                    }
                    Some(t) => {
                        entry.token = if t.is_valid(now) { "valid" } else { "expired" };
                        entry.expires_at = Some(t.expires_at.to_rfc3339());
                        entry.refreshable = t.refresh_token.is_some();
                        entry.roles = roles;
                    }
                    None => {}
                }
            }
            Err(err) => {
                entry.keychain_note = Some(err.to_string());
                first_error.get_or_insert(err);
            }
        }
        other_portal.push(portal_note);
        status.sessions.push(entry);
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
    if status.sessions.is_empty() {
        println!(
            "no SSO session configured; run awsx configure --start-url URL --sso-region REGION"
        );
    }
    for (s, other) in status.sessions.iter().zip(&other_portal) {
        let token = match (s.token, &s.expires_at) {
            ("valid", Some(at)) => {
                let left = awsx_core::types::Expiration::parse_rfc3339(at)
                    .map(|e| human_duration(e.remaining(now)))
                    .unwrap_or_default();
                let renew = if s.refreshable { ", renews itself" } else { "" };
                format!("logged in until {at} ({left} left{renew})")
            }
            ("expired", _) if s.refreshable => {
                "token expired; renews itself at next use".to_owned()
            }
            ("expired", _) => format!("token expired; run awsx login --sso-session {}", s.name),
            _ if s.keychain.is_none() => "cannot tell: its keychain cannot be reached".to_owned(),
            _ => match other {
                Some(other) => format!(
                    "not logged in to {} (the stored login is to {other}); run awsx login --sso-session {}",
                    s.start_url, s.name
                ),
                None => format!(
                    "not logged in to {}; run awsx login --sso-session {}",
                    s.start_url, s.name
                ),
            },
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
    match first_error {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Role credentials cached for `session` that have not expired (expiry only, read from
/// each entry; the secret never leaves this function).
fn cached_roles(
    store: &dyn SecretStore,
    entries: &[EntryName],
    session: &awsx_core::types::SsoSessionName,
    now: OffsetDateTime,
) -> Result<Vec<RoleStatus>> {
    let mut roles = Vec::new();
    for entry in entries {
        let EntryName::Role {
            session: s,
            account,
            role,
        } = entry
        else {
            continue;
        };
        if s != session {
            continue;
        }
        let Ok(Some(raw)) = store.get(entry) else {
            continue;
        };
        let Ok(creds) = serde_json::from_str::<RoleCredentials>(raw.expose()) else {
            continue;
        };
        if creds.expiration.remaining(now) > time::Duration::ZERO {
            roles.push(RoleStatus {
                account_id: account.to_string(),
                role_name: role.to_string(),
                expires_at: creds.expiration.to_rfc3339(),
            });
        }
    }
    roles.sort_by(|a, b| (&a.account_id, &a.role_name).cmp(&(&b.account_id, &b.role_name)));
    Ok(roles)
}
