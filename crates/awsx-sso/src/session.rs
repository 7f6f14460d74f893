//! The token lifecycle of one SSO session: the cached token and client registration in the
//! keychain, refresh (single flight per session), the login (browser with PKCE, or device
//! code), import from the
//! AWS CLI's cache, and logout.
use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use super::error::SsoError;
use super::model::{ClientRegistration, DeviceAuthorization, SessionSpec, SsoToken};
use super::oidc::{self, RefreshFailure};
use super::pkce::{self, Pkce};
use super::portal;
use crate::lock::{self, Acquired};
use awsx_core::env::Env;
use awsx_core::secret::Secret;
use awsx_core::types::{Region, SsoSessionName};
use awsx_creds::binding::{LoginId, SessionRecord};
use awsx_store::{EntryName, SecretStore};

/// Which way a login gets the person's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFlow {
    /// Device code: a URL and a code, approved in any browser, on any device (SSH, headless).
    DeviceCode,
    /// Authorization code with PKCE: a browser on this machine opens the authorize URL and
    /// is redirected to a loopback listener; the wait ends after `timeout`.
    Browser { timeout: Duration },
}

/// How a login talks to the person: the library decides, the command renders.
pub trait LoginUi {
    /// The code to approve and where; the UI shows it and may open a browser.
    fn show_code(&mut self, device: &DeviceAuthorization);
    /// Called at each poll while waiting for approval.
    fn polled(&mut self, polls: u32);
    /// The flow to run. A UI that cannot open a browser keeps the device flow.
    fn flow(&self) -> LoginFlow {
        LoginFlow::DeviceCode
    }
    /// The browser login's authorize URL: the UI opens it in the browser and prints it.
    fn show_authorize(&mut self, url: &str) {
        let _ = url;
    }
    /// The browser came back with a code; CreateToken follows.
    fn authorized(&mut self) {}
}

/// What `login` did.
#[derive(Debug)]
pub enum LoginOutcome {
    /// A valid token was there already (and `force` was not given).
    AlreadyLoggedIn(SsoToken),
    LoggedIn(SsoToken),
    Imported(SsoToken),
}

/// The session manager: keychain, cache dir (locks), margins.
pub struct Sessions<'a> {
    pub env: &'a Env,
    pub store: &'a dyn SecretStore,
    pub cache_dir: PathBuf,
    /// Refresh a token when less than this remains.
    pub margin: time::Duration,
    /// How long a waiter waits for another process's login or refresh.
    pub lock_wait: Duration,
}

impl Sessions<'_> {
    /// The stored token of `spec`'s session, if it was issued for the portal and region
    /// `spec` names (see `sso::binding`): a token of another portal is "not logged in".
    /// A corrupt entry is discarded (it would only fail later).
    pub fn cached_token(&self, spec: &SessionSpec) -> Result<Option<SsoToken>, SsoError> {
        let token = self.stored_token(&spec.name)?;
        Ok(token.filter(|t| {
            let bound = t.is_for(&spec.start_url, &spec.region);
            if !bound {
                tracing::debug!(session = %spec.name, token_portal = %t.start_url, "the stored token is of another portal or region: not logged in");
            }
            bound
        }))
    }

    /// The stored token of `session` whatever it is bound to: for `logout`, which ends the
    /// login the token belongs to, and for `status`, which names it.
    pub fn stored_token(&self, session: &SsoSessionName) -> Result<Option<SsoToken>, SsoError> {
        self.read_json(&EntryName::sso_token(session))
    }

    /// The client registration of `spec`'s session, if it was registered in its region
    /// (registrations belong to a region's OIDC service, not to a portal).
    pub fn cached_registration(
        &self,
        spec: &SessionSpec,
    ) -> Result<Option<ClientRegistration>, SsoError> {
        let registration: Option<ClientRegistration> =
            self.read_json(&EntryName::sso_client(&spec.name))?;
        Ok(registration.filter(|r| r.region == spec.region))
    }

    /// An entry's JSON, or `None`. An entry that is not text or not the JSON expected is
    /// discarded: no awsx wrote it as it is, and keeping it would block the login or
    /// logout that replaces it.
    fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        name: &EntryName,
    ) -> Result<Option<T>, SsoError> {
        let raw = match self.store.get(name) {
            Ok(Some(raw)) => raw,
            Ok(None) => return Ok(None),
            Err(err) if err.is_discardable_entry() => {
                tracing::warn!(entry = %name, "discarding a keychain entry that is not text");
                self.store.delete(name)?;
                return Ok(None);
            }
            Err(err) => return Err(err.into()),
        };
        match serde_json::from_str(raw.expose()) {
            Ok(value) => Ok(Some(value)),
            Err(_) => {
                tracing::warn!(entry = %name, "discarding a keychain entry that does not parse");
                self.store.delete(name)?;
                Ok(None)
            }
        }
    }

    /// Remember in this HOME which login `token` is and which keychain holds it (the
    /// session record, see `sso::binding`). `fallback` is `auto`'s warning at login; when
    /// `None` an earlier one for the same keychain is kept. A record that cannot be written
    /// only costs speed (the hot tier does not answer without one), so it is not an error.
    pub fn remember(&self, spec: &SessionSpec, token: &SsoToken, fallback: Option<String>) {
        let old = SessionRecord::read(&self.cache_dir, &spec.name);
        let backend = self.store.backend();
        let fallback = fallback.or_else(|| {
            old.as_ref()
                .filter(|r| r.backend == backend)
                .and_then(|r| r.fallback.clone())
        });
        let record = SessionRecord::new(&token.binding(), backend, fallback);
        if old.as_ref() == Some(&record) {
            return;
        }
        if let Err(e) = record.write(&self.cache_dir, &spec.name) {
            tracing::warn!(session = %spec.name, error = %e, "cannot write the session record");
        }
    }

    fn write_json<T: serde::Serialize>(
        &self,
        name: &EntryName,
        value: &T,
        expires: Option<awsx_core::types::Expiration>,
    ) -> Result<(), SsoError> {
        let json = Secret::new(
            serde_json::to_string(value).map_err(|_| SsoError::BadReply {
                operation: "store",
                what: "unserialisable",
            })?,
        );
        self.store.set(name, &json, expires)?;
        Ok(())
    }

    /// Store a token. The expiry hint (keyutils turns it into a key timeout) is the access
    /// token's only when there is no refresh token: a refresh token outlives its access token.
    fn store_token(&self, session: &SsoSessionName, token: &SsoToken) -> Result<(), SsoError> {
        let hint = token.refresh_token.is_none().then_some(token.expires_at);
        self.write_json(&EntryName::sso_token(session), token, hint)
    }

    fn session_lock(
        &self,
        session: &SsoSessionName,
    ) -> Result<(lock::LockGuard, Acquired), SsoError> {
        let path = lock::lock_path(&self.cache_dir, "session", &[session.as_str()]);
        Ok(lock::acquire(
            &path,
            lock::Holder::Session {
                session: session.to_string(),
            },
            self.lock_wait,
        )?)
    }

    /// A token fresh enough to use now: the cached one, or a refreshed one. At most one
    /// process per session refreshes; the others wait for it and read what it stored.
    pub async fn usable_token(&self, spec: &SessionSpec) -> Result<SsoToken, SsoError> {
        let now = OffsetDateTime::now_utc();
        if let Some(token) = self.cached_token(spec)?
            && token.is_fresh(now, self.margin)
        {
            self.remember(spec, &token, None);
            return Ok(token);
        }
        let _guard = self.session_lock(&spec.name)?;
        let login_required = || SsoError::LoginRequired {
            session: spec.name.clone(),
        };
        let Some(token) = self.cached_token(spec)? else {
            return Err(login_required());
        };
        self.remember(spec, &token, None);
        let now = OffsetDateTime::now_utc();
        if token.is_fresh(now, self.margin) {
            return Ok(token);
        }
        let Some(registration) = self.cached_registration(spec)? else {
            return if token.is_valid(now) {
                Ok(token)
            } else {
                Err(login_required())
            };
        };
        if token.refresh_token.is_none()
            || registration.expires_at.remaining(now) <= time::Duration::ZERO
        {
            return if token.is_valid(now) {
                Ok(token)
            } else {
                Err(login_required())
            };
        }
        let client = self.oidc_client(&spec.region).await?;
        match oidc::refresh(&client, &registration, &token).await {
            Ok(mut fresh) => {
                // A refresh continues the same login.
                fresh.login = token.login.clone();
                self.store_token(&spec.name, &fresh)?;
                tracing::debug!(session = %spec.name, expires = %fresh.expires_at, "refreshed the SSO token");
                Ok(fresh)
            }
            Err(RefreshFailure::Rejected) => {
                // The refresh token is spent or revoked: keep nothing that cannot work.
                self.store.delete(&EntryName::sso_token(&spec.name))?;
                Err(login_required())
            }
            // A network or server failure: a token that still works is better than none.
            Err(RefreshFailure::Other(_)) if token.is_valid(now) => Ok(token),
            Err(RefreshFailure::Other(e)) => Err(e),
        }
    }

    async fn oidc_client(&self, region: &Region) -> Result<aws_sdk_ssooidc::Client, SsoError> {
        let config = awsx_aws::sdk_config(self.env, region, None).await?;
        Ok(aws_sdk_ssooidc::Client::new(&config))
    }

    pub async fn portal_client(&self, region: &Region) -> Result<aws_sdk_sso::Client, SsoError> {
        let config = awsx_aws::sdk_config(self.env, region, None).await?;
        Ok(aws_sdk_sso::Client::new(&config))
    }

    /// The login, in the flow `ui` chooses (browser with PKCE, or device code); the token is
    /// stored only once it is issued. Holds the session lock throughout, so concurrent logins (or
    /// auto-logins from many credential_process calls) open one browser tab, not many.
    pub async fn login(
        &self,
        spec: &SessionSpec,
        force: bool,
        ui: &mut dyn LoginUi,
    ) -> Result<LoginOutcome, SsoError> {
        let (_guard, acquired) = self.session_lock(&spec.name)?;
        let now = OffsetDateTime::now_utc();
        if let Some(token) = self.cached_token(spec)? {
            let someone_else_just_did_it =
                acquired == Acquired::AfterWaiting && token.is_fresh(now, self.margin);
            if someone_else_just_did_it || (!force && token.is_fresh(now, self.margin)) {
                return Ok(LoginOutcome::AlreadyLoggedIn(token));
            }
        }
        let client = self.oidc_client(&spec.region).await?;
        if let LoginFlow::Browser { timeout } = ui.flow() {
            let mut token = self.browser_login(&client, spec, timeout, ui).await?;
            token.login = Some(LoginId::new());
            self.store_token(&spec.name, &token)?;
            return Ok(LoginOutcome::LoggedIn(token));
        }
        let registration = match self.cached_registration(spec)? {
            Some(reg)
                if reg.usable_for(&spec.scopes, &spec.region, now) && reg.is_for_device_code() =>
            {
                reg
            }
            _ => {
                let reg = oidc::register_client(&client, &spec.scopes, &spec.region).await?;
                self.write_json(
                    &EntryName::sso_client(&spec.name),
                    &reg,
                    Some(reg.expires_at),
                )?;
                reg
            }
        };
        let device =
            oidc::start_device_authorization(&client, &registration, &spec.start_url, now).await?;
        ui.show_code(&device);
        let mut token =
            oidc::wait_for_approval(&client, &registration, &device, &spec.start_url, |n| {
                ui.polled(n)
            })
            .await?;
        token.login = Some(LoginId::new());
        self.store_token(&spec.name, &token)?;
        Ok(LoginOutcome::LoggedIn(token))
    }

    /// The authorization code grant with PKCE: a client registered for it (reused until it
    /// expires), a loopback listener on 127.0.0.1, the authorize URL for the browser, the
    /// redirect's code (its `state` checked), and CreateToken. Stores nothing but the client
    /// registration; the caller stores the token.
    async fn browser_login(
        &self,
        client: &aws_sdk_ssooidc::Client,
        spec: &SessionSpec,
        timeout: Duration,
        ui: &mut dyn LoginUi,
    ) -> Result<SsoToken, SsoError> {
        let now = OffsetDateTime::now_utc();
        let registration = match self.cached_registration(spec)? {
            Some(reg)
                if reg.usable_for(&spec.scopes, &spec.region, now) && reg.is_for_browser() =>
            {
                reg
            }
            _ => {
                let reg = oidc::register_client_for_browser(
                    client,
                    &spec.scopes,
                    &spec.region,
                    &spec.start_url,
                )
                .await?;
                self.write_json(
                    &EntryName::sso_client(&spec.name),
                    &reg,
                    Some(reg.expires_at),
                )?;
                reg
            }
        };
        let pkce = Pkce::generate()?;
        let state = pkce::new_state()?;
        let listener = pkce::Listener::bind().await?;
        let redirect_uri = listener.redirect_uri();
        let endpoint = oidc::authorize_endpoint(self.env, &spec.region);
        let url = pkce::AuthorizeRequest {
            endpoint: &endpoint,
            client_id: &registration.client_id,
            redirect_uri: &redirect_uri,
            state: &state,
            challenge: &pkce.challenge,
            scopes: &spec.scopes,
        }
        .url();
        ui.show_authorize(&url);
        let code = listener.wait_for_code(&state, timeout).await?;
        ui.authorized();
        oidc::exchange_code(
            client,
            &registration,
            &code,
            &pkce.verifier,
            &redirect_uri,
            &spec.start_url,
        )
        .await
    }

    /// Take a still-valid token (and its client registration, for refreshing) from the AWS
    /// CLI's cache. Read only: awsx never writes there. `None` when it has nothing usable.
    pub fn import_aws_cli(&self, spec: &SessionSpec) -> Result<Option<SsoToken>, SsoError> {
        let Some(found) = super::import::read_aws_cli_cache(self.env, spec)? else {
            return Ok(None);
        };
        let _guard = self.session_lock(&spec.name)?;
        if let Some(registration) = &found.registration {
            self.write_json(
                &EntryName::sso_client(&spec.name),
                registration,
                Some(registration.expires_at),
            )?;
        }
        let mut token = found.token;
        token.login = Some(LoginId::new());
        self.store_token(&spec.name, &token)?;
        Ok(Some(token))
    }

    /// Logout: tell Identity Center (best effort, in the region the token was issued in),
    /// then remove the token, the client registration and every role credential cached for
    /// the session, and this HOME's session record. Returns the removed keychain entries
    /// and whether the portal logout worked.
    pub async fn logout(
        &self,
        session: &SsoSessionName,
    ) -> Result<(Vec<EntryName>, bool), SsoError> {
        let mut portal_ok = false;
        if let Some(token) = self.stored_token(session)?
            && token.is_valid(OffsetDateTime::now_utc())
        {
            let client = self.portal_client(&token.region).await?;
            portal_ok = portal::logout(&client, &token).await.is_ok();
        }
        let mut removed = Vec::new();
        for name in self.store.list()? {
            if name.sso_session() == Some(session) && self.store.delete(&name)? {
                removed.push(name);
            }
        }
        SessionRecord::remove(&self.cache_dir, session);
        Ok((removed, portal_ok))
    }
}
