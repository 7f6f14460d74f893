//! An in-memory [`SecretStore`] for unit tests of the layers above the keychain (the
//! credential cache, logout, break-glass). Compiled only for tests: a store that forgets
//! everything when the process ends must never be what a user gets.
use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Backend, EntryName, SecretStore, StoreError};
use awsx_core::secret::Secret;
use awsx_core::types::Expiration;

type Entries = BTreeMap<EntryName, (Secret<String>, Option<Expiration>)>;

#[derive(Debug)]
pub struct MemoryStore {
    backend: Backend,
    entries: Mutex<Entries>,
    /// When set, every operation fails with this (e.g. to test exit code 4 paths).
    failure: Option<fn(Backend) -> StoreError>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::reporting(Backend::Memory)
    }

    /// A memory store that claims to be `backend` (for selection tests).
    pub fn reporting(backend: Backend) -> Self {
        MemoryStore {
            backend,
            entries: Mutex::new(BTreeMap::new()),
            failure: None,
        }
    }

    /// A store whose every operation fails like a locked keychain.
    pub fn locked() -> Self {
        MemoryStore {
            failure: Some(|backend| StoreError::Locked { backend }),
            ..MemoryStore::new()
        }
    }

    /// The expiry hint the entry was last stored with.
    pub fn expiry_of(&self, name: &EntryName) -> Option<Expiration> {
        self.lock().get(name).and_then(|(_, e)| *e)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A test that panicked while holding the lock has already failed; keep going.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn check(&self) -> Result<(), StoreError> {
        match self.failure {
            Some(make) => Err(make(self.backend)),
            None => Ok(()),
        }
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, name: &EntryName) -> Result<Option<Secret<String>>, StoreError> {
        self.check()?;
        Ok(self.lock().get(name).map(|(v, _)| v.clone()))
    }

    fn set(
        &self,
        name: &EntryName,
        value: &Secret<String>,
        expires: Option<Expiration>,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.lock().insert(name.clone(), (value.clone(), expires));
        Ok(())
    }

    fn delete(&self, name: &EntryName) -> Result<bool, StoreError> {
        self.check()?;
        Ok(self.lock().remove(name).is_some())
    }

    fn list(&self) -> Result<Vec<EntryName>, StoreError> {
        self.check()?;
        Ok(self.lock().keys().cloned().collect())
    }

    fn backend(&self) -> Backend {
        self.backend
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> EntryName {
        s.parse().unwrap()
    }

    #[test]
    fn set_get_delete_list_round_trip() {
        let store = MemoryStore::new();
        let token = name("sso-token:corp");
        assert!(store.get(&token).unwrap().is_none());
        store.set(&token, &Secret::new("v1".into()), None).unwrap();
        store.set(&token, &Secret::new("v2".into()), None).unwrap();
        assert_eq!(store.get(&token).unwrap().unwrap().expose(), "v2");
        store
            .set(&name("sso-client:corp"), &Secret::new("c".into()), None)
            .unwrap();
        assert_eq!(store.list().unwrap().len(), 2);
        assert!(store.delete(&token).unwrap());
        assert!(!store.delete(&token).unwrap());
        assert_eq!(store.list().unwrap(), vec![name("sso-client:corp")]);
    }

    #[test]
    fn keeps_the_expiry_hint() {
        let store = MemoryStore::new();
        let exp = Expiration::from_unix_seconds(1_900_000_000).unwrap();
        let role = name("role:corp/123456789012/Admin");
        store
            .set(&role, &Secret::new("x".into()), Some(exp))
            .unwrap();
        assert_eq!(store.expiry_of(&role), Some(exp));
    }

    #[test]
    fn a_locked_store_fails_every_operation() {
        let store = MemoryStore::locked();
        assert!(matches!(
            store.get(&name("sso-token:corp")),
            Err(StoreError::Locked { .. })
        ));
        assert!(store.list().is_err());
    }

    #[test]
    fn debug_output_hides_values() {
        let store = MemoryStore::new();
        store
            .set(
                &name("sso-token:corp"),
                &Secret::new("hunter2".into()),
                None,
            )
            .unwrap();
        assert!(!format!("{store:?}").contains("hunter2"));
    }
}
