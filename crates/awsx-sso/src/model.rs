//! An IAM Identity Center session as configured ([`SessionSpec`]), and what awsx keeps
//! about it: the client registration and the token, each stored whole, as JSON, in one
//! keychain entry (`sso-client:<session>`, `sso-token:<session>`).
//!
//! This module uses no other module of the crate; `oidc`, `session` and `import` build on it.
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use awsx_core::secret::Secret;
use awsx_core::types::{Expiration, Region, SsoSessionName, StartUrl};
use awsx_creds::binding::{Binding, LoginId};

/// The scope that makes Identity Center grant a refresh token (and lets it list accounts).
pub const ACCOUNT_ACCESS_SCOPE: &str = "sso:account:access";

/// An `[sso-session]` as awsx uses it.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub name: SsoSessionName,
    pub start_url: StartUrl,
    pub region: Region,
    /// Registration scopes; always includes `sso:account:access`.
    pub scopes: Vec<String>,
}

impl SessionSpec {
    /// The session as configured, with `sso:account:access` always among the scopes: it is
    /// what makes Identity Center grant a refresh token.
    pub fn from_config(session: &awsx_config::SsoSession) -> Self {
        let mut scopes = session.registration_scopes.clone();
        if !scopes.iter().any(|s| s == ACCOUNT_ACCESS_SCOPE) {
            scopes.insert(0, ACCOUNT_ACCESS_SCOPE.to_owned());
        }
        SessionSpec {
            name: session.name.clone(),
            start_url: session.start_url.clone(),
            region: session.region.clone(),
            scopes,
        }
    }
}

/// The OIDC client awsx registered for a session (RegisterClient). Reused until its
/// secret expires (90 days at AWS), so a daily login costs no registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientRegistration {
    pub client_id: String,
    pub client_secret: Secret<String>,
    pub expires_at: Expiration,
    pub scopes: Vec<String>,
    pub region: Region,
    /// The grant types it was registered for; empty is RegisterClient's default (device
    /// code and refresh token), which is what registrations stored by older awsx have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
}

impl ClientRegistration {
    /// Usable for a new device flow: not expiring within the hour it might take, and
    /// registered for the scopes now wanted.
    pub fn usable_for(&self, scopes: &[String], region: &Region, now: OffsetDateTime) -> bool {
        self.expires_at.remaining(now) > time::Duration::hours(1)
            && &self.region == region
            && scopes.iter().all(|s| self.scopes.contains(s))
    }

    /// Whether this client may run the browser login (authorization code grant); a client
    /// registered for the device flow may not, and one registered for the browser login
    /// may not run the device flow. A session keeps one registration, the one its token
    /// was issued to (its refreshes need that client): a login with the other flow
    /// registers anew and replaces it.
    pub fn is_for_browser(&self) -> bool {
        self.grant_types.iter().any(|g| g == "authorization_code")
    }

    /// Whether this client may run the device flow: registered with RegisterClient's
    /// default grant types, or explicitly for the device code grant.
    pub fn is_for_device_code(&self) -> bool {
        self.grant_types.is_empty()
            || self
                .grant_types
                .iter()
                .any(|g| g == "urn:ietf:params:oauth:grant-type:device_code")
    }
}

/// An SSO access token and, when granted, the refresh token that renews it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SsoToken {
    pub access_token: Secret<String>,
    pub expires_at: Expiration,
    pub refresh_token: Option<Secret<String>>,
    pub start_url: StartUrl,
    pub region: Region,
    /// When this token was obtained (login or refresh); for `status`.
    pub issued_at: Expiration,
    /// The login this token belongs to: minted at login, kept by refreshes; role
    /// credentials fetched with the token carry it (see `sso::binding`). Absent in tokens
    /// stored by older awsx.
    #[serde(default)]
    pub login: Option<LoginId>,
}

impl SsoToken {
    /// Whether this token was issued for `spec`'s portal and region: a token of another
    /// portal (the session's `sso_start_url` changed) is never used.
    pub fn is_for(&self, start_url: &StartUrl, region: &Region) -> bool {
        self.start_url.is_same_portal(start_url) && &self.region == region
    }

    /// What role credentials fetched with this token are bound to.
    pub fn binding(&self) -> Binding {
        Binding {
            start_url: self.start_url.clone(),
            region: self.region.clone(),
            login: self.login.clone(),
        }
    }

    /// Fresh: more than `margin` left at `now`.
    pub fn is_fresh(&self, now: OffsetDateTime, margin: time::Duration) -> bool {
        self.expires_at.remaining(now) > margin
    }

    /// Still accepted by the portal at all (for commands that can live with a token near expiry).
    pub fn is_valid(&self, now: OffsetDateTime) -> bool {
        self.expires_at.remaining(now) > time::Duration::seconds(30)
    }
}

/// What the user must do to approve a device login.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub device_code: Secret<String>,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_at: OffsetDateTime,
    pub interval: std::time::Duration,
}
