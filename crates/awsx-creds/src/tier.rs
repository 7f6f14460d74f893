//! The fast tier: where a cache hit is answered without D-Bus, a runtime or the network,
//! and the one policy deciding it ([`FastTier`], [`fast_hit`]). The front binary and every
//! command of `awsx-main` that serves credentials ask it, so both decide a hit alike.
use std::path::Path;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::RoleCredentials;
use crate::binding::{self, Binding, BoundRole, SessionRecord};
use awsx_config::SsoProfile;
use awsx_core::secret::Secret;
use awsx_store::hot::HotTier;
use awsx_store::{Backend, BackendChoice, EntryName, SecretStore};

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
            Backend::Keyutils => keyutils_store(service).map(FastTier::Keychain),
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

    pub(crate) fn get(&self, entry: &EntryName) -> Option<Secret<String>> {
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

/// keyutils as a keychain (Linux only): the fast tier when it holds the session.
#[cfg(all(target_os = "linux", not(awsx_portable)))]
fn keyutils_store(service: &str) -> Option<Arc<dyn SecretStore>> {
    tracing::debug!(backend = "keyutils", "opening the keychain the login chose");
    let store = awsx_store::keyutils::KeyutilsStore::open(service).ok()?;
    Some(Arc::new(store))
}

#[cfg(any(not(target_os = "linux"), awsx_portable))]
fn keyutils_store(_service: &str) -> Option<Arc<dyn SecretStore>> {
    None
}
