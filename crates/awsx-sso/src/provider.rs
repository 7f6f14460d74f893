//! Where an SSO profile's role credentials come from, cheapest first: the hot tier (kernel
//! keyutils, Linux), the keychain, then IAM Identity Center. A miss takes the role's lock
//! so that any number of processes missing at once make one GetRoleCredentials call; the
//! others wait and read what it stored.
use std::path::Path;

use std::time::Duration;

use time::OffsetDateTime;

use crate::lock::{self, Acquired, LockGuard};
use crate::{LoginUi, SessionSpec, Sessions, SsoError, portal};
use awsx_config::SsoProfile;
use awsx_core::secret::Secret;
use awsx_creds::RoleCredentials;
use awsx_creds::binding::{self, Binding, BoundRole, SessionRecord};
use awsx_creds::tier::entry_for;
use awsx_store::hot::HotTier;
use awsx_store::{EntryName, SecretStore, StoreError};

/// Take the lock of `profile`'s role: one process fetches, the others wait and re-read.
pub fn lock_role(
    cache_dir: &Path,
    wait: Duration,
    profile: &SsoProfile,
) -> Result<(LockGuard, Acquired), SsoError> {
    let path = lock::lock_path(
        cache_dir,
        "role",
        &[
            profile.session.name.as_str(),
            profile.account_id.as_str(),
            profile.role_name.as_str(),
        ],
    );
    let what = format!(
        "credentials for {} in account {}",
        profile.role_name, profile.account_id
    );
    Ok(lock::acquire(&path, lock::Holder::Fetch { what }, wait)?)
}

/// How a fetch ended, for `--verbose` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Keychain,
    /// Another process fetched them while this one waited for the lock.
    OtherProcess,
    Fetched,
}

pub struct RoleSource<'a> {
    pub sessions: &'a Sessions<'a>,
    pub hot: Option<&'a HotTier>,
    /// Role credentials with less than this left are renewed.
    pub margin: time::Duration,
}

impl RoleSource<'_> {
    fn store(&self) -> &dyn SecretStore {
        self.sessions.store
    }

    /// The binding `profile`'s cached credentials must carry to be served here.
    fn expected(&self, profile: &SsoProfile) -> Binding {
        let record = SessionRecord::read(&self.sessions.cache_dir, &profile.session.name);
        binding::expected(&profile.session, record.as_ref())
    }

    /// Fresh credentials from the keychain (copied into the hot tier), or `None`. A
    /// corrupt entry is discarded so the next fetch replaces it; one bound to another
    /// login or portal is not served (the next fetch replaces it too).
    pub fn cached(&self, profile: &SsoProfile) -> Result<Option<RoleCredentials>, StoreError> {
        let entry = &entry_for(profile);
        let raw = match self.store().get(entry) {
            Ok(Some(raw)) => raw,
            Ok(None) => return Ok(None),
            Err(err) if err.is_discardable_entry() => {
                self.store().delete(entry)?;
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        let Ok(bound) = serde_json::from_str::<BoundRole>(raw.expose()) else {
            tracing::warn!(entry = %entry, "discarding a keychain entry that does not parse");
            self.store().delete(entry)?;
            return Ok(None);
        };
        if !bound
            .binding
            .as_ref()
            .is_some_and(|b| b.matches(&self.expected(profile)))
        {
            tracing::debug!(entry = %entry, "cached credentials belong to another login: not served");
            return Ok(None);
        }
        let creds = bound.creds;
        if !creds.is_fresh(OffsetDateTime::now_utc(), self.margin) {
            return Ok(None);
        }
        if let Some(hot) = self.hot {
            hot.put(
                entry,
                &raw,
                creds.expiration,
                creds.effective_margin(self.margin),
            );
        }
        Ok(Some(creds))
    }

    /// Fresh credentials for `profile`: from the keychain, or fetched once for everyone.
    /// With `login`, a missing or dead SSO session starts the device flow through it
    /// (auto-login); without, it is `SsoError::LoginRequired`.
    pub async fn role_credentials(
        &self,
        profile: &SsoProfile,
        login: Option<&mut dyn LoginUi>,
    ) -> Result<(RoleCredentials, Origin), SsoError> {
        if let Some(creds) = self.cached(profile)? {
            return Ok((creds, Origin::Keychain));
        }
        let (_guard, acquired) =
            lock_role(&self.sessions.cache_dir, self.sessions.lock_wait, profile)?;
        self.role_credentials_locked(profile, acquired, login).await
    }

    /// `role_credentials` for a caller that already holds the role's lock.
    pub async fn role_credentials_locked(
        &self,
        profile: &SsoProfile,
        acquired: Acquired,
        login: Option<&mut dyn LoginUi>,
    ) -> Result<(RoleCredentials, Origin), SsoError> {
        if let Some(creds) = self.cached(profile)? {
            let origin = match acquired {
                Acquired::AfterWaiting => Origin::OtherProcess,
                Acquired::Immediately => Origin::Keychain,
            };
            return Ok((creds, origin));
        }
        let spec = SessionSpec::from_config(&profile.session);
        let creds = match self.fetch(&spec, profile).await {
            Err(SsoError::LoginRequired { .. }) if login.is_some() => {
                let ui = login.expect("checked above");
                // A person is in the loop now: the call's deadline no longer applies.
                awsx_core::deadline::lift();
                self.sessions.login(&spec, false, ui).await?;
                self.fetch(&spec, profile).await?
            }
            other => other?,
        };
        Ok((creds, Origin::Fetched))
    }

    async fn fetch(
        &self,
        spec: &SessionSpec,
        profile: &SsoProfile,
    ) -> Result<RoleCredentials, SsoError> {
        let token = self.sessions.usable_token(spec).await?;
        let client = self.sessions.portal_client(&spec.region).await?;
        let entry = entry_for(profile);
        let result = portal::role_credentials(
            &client,
            &spec.name,
            &token,
            &profile.account_id,
            &profile.role_name,
        )
        .await;
        let creds = match result {
            Ok(creds) => creds,
            Err(err @ SsoError::LoginRequired { .. }) => {
                // The portal no longer accepts the token (revoked, or the session ended
                // elsewhere): keep nothing that cannot work.
                self.store().delete(&EntryName::sso_token(&spec.name))?;
                return Err(err);
            }
            Err(err @ SsoError::NoAccess { .. }) => {
                self.store().delete(&entry)?;
                if let Some(hot) = self.hot {
                    hot.remove(&entry);
                }
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        // Bound to the login whose token fetched them (see `sso::binding`).
        let bound = BoundRole {
            creds,
            binding: Some(token.binding()),
        };
        let json = Secret::new(
            serde_json::to_string(&bound).map_err(|_| SsoError::BadReply {
                operation: "GetRoleCredentials",
                what: "credentials that cannot be serialised",
            })?,
        );
        let creds = bound.creds;
        self.store().set(&entry, &json, Some(creds.expiration))?;
        if let Some(hot) = self.hot {
            hot.put(
                &entry,
                &json,
                creds.expiration,
                creds.effective_margin(self.margin),
            );
        }
        Ok(creds)
    }
}
