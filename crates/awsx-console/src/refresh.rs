//! Credentials of a console profile: cached, or refreshed once for every waiting process.
use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use crate::{ConsoleError, ConsoleSession};
use awsx_config::ConsoleProfile;
use awsx_core::env::Env;
use awsx_creds::RoleCredentials;
use awsx_creds::console::ConsoleRecord;
use awsx_signin::TokenError;
use awsx_sso::lock::{self, Holder, LockError};
use awsx_store::SecretStore;
use awsx_store::hot::HotTier;

/// What serving a console profile needs: the keychain holding its session, the hot tier in
/// front of it (if any), the refresh margin and how long to wait for another process.
pub struct Console<'a> {
    pub env: &'a Env,
    pub store: &'a dyn SecretStore,
    pub hot: Option<&'a HotTier>,
    pub cache_dir: PathBuf,
    pub margin: time::Duration,
    /// How long a process waits for another one's refresh (design: 15 s).
    pub lock_wait: Duration,
}

impl Console<'_> {
    /// The profile's session as this HOME's login made it, or "log in".
    pub fn session(&self, profile: &ConsoleProfile) -> Result<ConsoleSession, ConsoleError> {
        let name = &profile.profile;
        let not_logged_in = || ConsoleError::NotLoggedIn {
            profile: name.clone(),
        };
        let record = ConsoleRecord::read(&self.cache_dir, name).ok_or_else(not_logged_in)?;
        let session = crate::load(self.store, name)?.ok_or_else(not_logged_in)?;
        if session.login != record.login {
            // Another HOME's (or an older) login of this profile: never served here.
            return Err(not_logged_in());
        }
        if session.principal_arn != profile.login_session {
            return Err(ConsoleError::LoginRequired {
                profile: name.clone(),
                reason: format!(
                    "profile {name} names {} but its console session is of {}",
                    profile.login_session, session.principal_arn
                ),
            });
        }
        Ok(session)
    }

    /// Fresh credentials from the keychain (copied to the hot tier), or `None`; no network.
    pub fn cached(
        &self,
        profile: &ConsoleProfile,
    ) -> Result<Option<RoleCredentials>, ConsoleError> {
        let session = self.session(profile)?;
        Ok(session.fresh_credentials(self.margin).map(|creds| {
            self.copy_to_hot(&session, creds);
            creds.clone()
        }))
    }

    /// Fresh credentials for `profile`: from the keychain when they have more than their
    /// effective margin left, else from a refresh. One process refreshes; the others wait
    /// on the profile's lock and then find its result in the keychain.
    pub async fn credentials(
        &self,
        profile: &ConsoleProfile,
    ) -> Result<RoleCredentials, ConsoleError> {
        if let Some(creds) = self.cached(profile)? {
            return Ok(creds);
        }
        let name = &profile.profile;
        let path = lock::lock_path(&self.cache_dir, "console", &[name.as_str()]);
        let (_guard, _how) = lock::acquire(
            &path,
            Holder::Session {
                session: format!("console:{name}"),
            },
            self.lock_wait,
        )
        .map_err(|e| match e {
            LockError::TimedOut { waited_secs, .. } => ConsoleError::Busy {
                profile: name.clone(),
                waited_secs,
            },
            other => ConsoleError::Lock(other),
        })?;
        // Re-read under the lock: the holder before us has probably refreshed.
        let mut session = self.session(profile)?;
        if let Some(creds) = session.fresh_credentials(self.margin) {
            self.copy_to_hot(&session, creds);
            return Ok(creds.clone());
        }
        let sent_token = session.refresh_token.clone();
        let request = session.refresh_request(OffsetDateTime::now_utc())?;
        tracing::debug!(profile = %name, "refreshing console sign-in credentials");
        match crate::login::send(self.env, &session.endpoint, request).await {
            Ok(grant) => {
                session.apply(grant, OffsetDateTime::now_utc());
                session.save(self.store, self.hot, self.margin)?;
                Ok(session
                    .credentials
                    .clone()
                    .expect("a refresh sets the credentials"))
            }
            Err(ConsoleError::Token(err)) if refused_grant(&err) => {
                // A rotated-out token is refused as INVALID_REQUEST, not TOKEN_EXPIRED: if
                // another client rotated it meanwhile, its result is in the keychain.
                if let Ok(latest) = self.session(profile)
                    && latest.refresh_token != sent_token
                    && let Some(creds) = latest.fresh_credentials(self.margin)
                {
                    return Ok(creds.clone());
                }
                Err(ConsoleError::LoginRequired {
                    profile: name.clone(),
                    reason: login_required_reason(&err),
                })
            }
            Err(other) => Err(other),
        }
    }

    fn copy_to_hot(&self, session: &ConsoleSession, creds: &RoleCredentials) {
        if let Some(hot) = self.hot {
            let entry = awsx_store::EntryName::console_creds(&session.profile);
            let bound = awsx_core::secret::Secret::new(
                serde_json::to_string(&awsx_creds::console::BoundConsole {
                    creds: creds.clone(),
                    binding: Some(session.binding()),
                })
                .unwrap_or_default(),
            );
            hot.put(
                &entry,
                &bound,
                creds.expiration,
                creds.effective_margin(self.margin),
            );
        }
    }
}

/// A refresh the service will never grant: the session ended, the password changed, or the
/// refresh token was already used (rotated) or revoked.
fn refused_grant(err: &TokenError) -> bool {
    match err {
        TokenError::LoginRequired { .. } => true,
        TokenError::BadRequest { code, .. } => code == "INVALID_REQUEST",
        _ => false,
    }
}

fn login_required_reason(err: &TokenError) -> String {
    match err {
        TokenError::BadRequest { .. } => "AWS Sign-In refused the session's refresh token (already used, revoked or expired: the console session has ended)".to_owned(),
        other => {
            // "… ; sign in again with `awsx login --console`": keep the reason only.
            let text = other.to_string();
            text.split("; sign in again").next().unwrap_or(&text).to_owned()
        }
    }
}
