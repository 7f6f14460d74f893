//! Where an SSO profile's role credentials come from, cheapest first: the hot tier (kernel
//! keyutils, Linux), the keychain, then IAM Identity Center. A miss takes the role's lock
//! so that any number of processes missing at once make one GetRoleCredentials call; the
//! others wait and read what it stored.
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::RoleCredentials;
use crate::lock::{self, Acquired, LockGuard};
use crate::sso::binding::{self, Binding, BoundRole, SessionRecord};
use crate::sso::{LoginUi, SessionSpec, Sessions, SsoError, portal};
use awsx_config::SsoProfile;
use awsx_core::secret::Secret;
use awsx_keychain::hot::HotTier;
use awsx_keychain::{self as store, Backend, BackendChoice, EntryName, SecretStore, StoreError};

/// The keychain entry of a profile's role credentials.
pub fn entry_for(profile: &SsoProfile) -> EntryName {
    EntryName::role(
        &profile.session.name,
        &profile.account_id,
        &profile.role_name,
    )
}

/// Where a cache hit is answered without D-Bus or network. This is the one hot-tier
/// policy: the front binary, `credential-process`, `export` and `status` all ask it.
pub enum FastTier {
    /// The keyutils cache in front of a durable keychain.
    Hot(HotTier),
    /// The keychain itself, when it is keyutils: a read is already a few syscalls, and a
    /// second copy would only halve what fits in the user's kernel key quota.
    Keychain(Arc<dyn SecretStore>),
}

impl FastTier {
    /// The fast tier in front of `backend` (the keychain that holds the session), given the
    /// `hot_tier` setting and the keychain service name. `None`: every hit reads the keychain.
    pub fn for_backend(backend: Backend, hot_tier: bool, service: &str) -> Option<FastTier> {
        match backend {
            Backend::Keyutils => store::open_backend(Backend::Keyutils, service)
                .ok()
                .map(|opened| FastTier::Keychain(opened.store)),
            _ if hot_tier => HotTier::open(service).map(FastTier::Hot),
            _ => None,
        }
    }

    /// The hot tier to copy fetched credentials into (none when the keychain is itself the
    /// fast tier).
    pub fn hot(&self) -> Option<&HotTier> {
        match self {
            FastTier::Hot(hot) => Some(hot),
            FastTier::Keychain(_) => None,
        }
    }

    fn get(&self, entry: &EntryName) -> Option<Secret<String>> {
        match self {
            FastTier::Hot(hot) => hot.get(entry),
            FastTier::Keychain(store) => store.get(entry).ok().flatten(),
        }
    }
}

/// A cache hit: fresh credentials bound to this HOME's login of the profile's session,
/// from the fast tier, or `None`. This is the whole hot path — the session record (one
/// small file), then a few `keyctl` calls: no D-Bus, no runtime, no SDK. Without a session
/// record (this HOME never logged in to the session) there is no hit.
pub fn fast_hit(
    cache_dir: &Path,
    choice: BackendChoice,
    hot_tier: bool,
    service: &str,
    margin: time::Duration,
    profile: &SsoProfile,
) -> Option<RoleCredentials> {
    let record = SessionRecord::read(cache_dir, &profile.session.name)?;
    let backend = binding::session_backend(choice, Some(&record))?;
    if backend != record.backend {
        // The login was made in another keychain than the one now chosen.
        return None;
    }
    let tier = FastTier::for_backend(backend, hot_tier, service)?;
    tier_hit(
        &tier,
        profile,
        &binding::expected(&profile.session, Some(&record)),
        margin,
    )
}

/// A hit in `tier` for `profile`, bound to `expected` and fresh.
pub fn tier_hit(
    tier: &FastTier,
    profile: &SsoProfile,
    expected: &Binding,
    margin: time::Duration,
) -> Option<RoleCredentials> {
    let value = tier.get(&entry_for(profile))?;
    let creds = BoundRole::parse_for(value.expose(), expected)?;
    creds
        .is_fresh(OffsetDateTime::now_utc(), margin)
        .then_some(creds)
}

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
    pub fn role_credentials(
        &self,
        profile: &SsoProfile,
        login: Option<&mut dyn LoginUi>,
    ) -> Result<(RoleCredentials, Origin), SsoError> {
        if let Some(creds) = self.cached(profile)? {
            return Ok((creds, Origin::Keychain));
        }
        let (_guard, acquired) =
            lock_role(&self.sessions.cache_dir, self.sessions.lock_wait, profile)?;
        self.role_credentials_locked(profile, acquired, login)
    }

    /// `role_credentials` for a caller that already holds the role's lock.
    pub fn role_credentials_locked(
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
        let runtime = crate::aws::runtime()?;
        let creds = match runtime.block_on(self.fetch(&spec, profile)) {
            Err(SsoError::LoginRequired { .. }) if login.is_some() => {
                let ui = login.expect("checked above");
                // A person is in the loop now: the call's deadline no longer applies.
                awsx_core::deadline::lift();
                runtime.block_on(self.sessions.login(&spec, false, ui))?;
                runtime.block_on(self.fetch(&spec, profile))?
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
