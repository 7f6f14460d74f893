//! No hot tier outside Linux: the native keychain is the only tier there (macOS and
//! Windows keep their stores in-process fast enough; see the README's performance notes).
//! Type-checked on Linux with `--cfg awsx_portable` (see `store`), so its signatures keep
//! up with the Linux tier's.
use awsx_core::secret::Secret;
use awsx_core::types::Expiration;

use super::EntryName;

#[derive(Debug)]
pub struct HotTier;

impl HotTier {
    /// The same signature as Linux's `HotTier::open(service)`; there is no tier to open.
    pub fn open(_service: &str) -> Option<HotTier> {
        None
    }

    pub fn get(&self, _name: &EntryName) -> Option<Secret<String>> {
        None
    }

    pub fn put(
        &self,
        _name: &EntryName,
        _value: &Secret<String>,
        _expires_at: Expiration,
        _margin: time::Duration,
    ) {
    }

    pub fn remove(&self, _name: &EntryName) {}

    pub fn remove_session(&self, _session: &awsx_core::types::SsoSessionName) {}

    pub fn clear_all(&self) {}
}
