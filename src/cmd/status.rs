//! `awsx status`: which keychain, whether the hot tier is on, each SSO session's token
//! state and the role credentials cached for it. Never a secret.
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::StatusArgs;
use crate::cmd::login::human_duration;
use crate::cmd::{Context, common};
use crate::config::{ConfigFile, SsoSession};
use crate::creds::RoleCredentials;
use crate::error::Result;
use crate::settings::Settings;
use crate::store::hot::HotTier;
use crate::store::{EntryName, SecretStore};

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
    let store = common::open_store(ctx, &settings)?;
    let sessions = common::sessions(ctx, &settings, store.as_ref());
    let hot_tier = settings.hot_tier
        && HotTier::open(&settings.keychain_service).is_some()
        && store.backend().is_durable();
    let entries = store.list()?;
    let now = OffsetDateTime::now_utc();

    let mut status = Status {
        version: 1,
        keychain: store.backend().id().to_owned(),
        hot_tier,
        sessions: Vec::new(),
    };
    for name in SsoSession::names(file.doc()) {
        let Some(session) = SsoSession::find(file.doc(), &name)? else {
            continue;
        };
        let token = sessions.cached_token(&name)?;
        let (state, expires_at, refreshable) = match &token {
            None => ("none", None, false),
            Some(t) => (
                if t.is_valid(now) { "valid" } else { "expired" },
                Some(t.expires_at.to_rfc3339()),
                t.refresh_token.is_some(),
            ),
        };
        status.sessions.push(SessionStatus {
            name: name.to_string(),
            start_url: session.start_url.to_string(),
            region: session.region.to_string(),
            token: state,
            expires_at,
            refreshable,
            roles: cached_roles(store.as_ref(), &entries, &name, now)?,
        });
    }

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&status).unwrap_or_default()
        );
        return Ok(());
    }
    println!("keychain: {}", store.backend());
    println!(
        "hot tier: {}",
        if status.hot_tier {
            "on (kernel keyutils)"
        } else {
            "off"
        }
    );
    if status.sessions.is_empty() {
        println!(
            "no SSO session configured; run awsx configure --start-url URL --sso-region REGION"
        );
    }
    for s in &status.sessions {
        let token = match (s.token, &s.expires_at) {
            ("valid", Some(at)) => {
                let left = crate::types::Expiration::parse_rfc3339(at)
                    .map(|e| human_duration(e.remaining(now)))
                    .unwrap_or_default();
                let renew = if s.refreshable { ", renews itself" } else { "" };
                format!("logged in until {at} ({left} left{renew})")
            }
            ("expired", _) if s.refreshable => {
                "token expired; renews itself at next use".to_owned()
            }
            ("expired", _) => format!("token expired; run awsx login --sso-session {}", s.name),
            _ => format!("not logged in; run awsx login --sso-session {}", s.name),
        };
        println!(
            "sso-session {} ({}, {}): {token}",
            s.name, s.start_url, s.region
        );
        for r in &s.roles {
            println!(
                "  {} in {}: credentials until {}",
                r.role_name, r.account_id, r.expires_at
            );
        }
    }
    Ok(())
}

/// Role credentials cached for `session` that have not expired (expiry only, read from
/// each entry; the secret never leaves this function).
fn cached_roles(
    store: &dyn SecretStore,
    entries: &[EntryName],
    session: &crate::types::SsoSessionName,
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
