//! macOS and Windows: keyring-core's native stores behind one thin adapter. These cannot be
//! built or tested on the Linux CI; they stay small so that they are right by reading.
use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::{CredentialStore, Error as KeyringError};

use super::{Backend, EntryName, SecretStore, StoreError};
use awsx_core::secret::Secret;
use awsx_core::types::Expiration;

pub(super) struct NativeStore {
    pub(super) store: Arc<CredentialStore>,
    pub(super) service: String,
    pub(super) backend: Backend,
    /// The store-specific search spec that finds (at least) this service's entries.
    pub(super) search: Vec<(&'static str, String)>,
}

impl NativeStore {
    fn error(&self, e: KeyringError) -> StoreError {
        match e {
            KeyringError::NoStorageAccess(inner) => StoreError::NotPermitted {
                backend: self.backend,
                detail: inner.to_string(),
            },
            other => StoreError::Backend {
                backend: self.backend,
                detail: other.to_string(),
            },
        }
    }

    fn entry(&self, name: &EntryName) -> Result<keyring_core::Entry, StoreError> {
        self.store
            .build(&self.service, &name.to_string(), None)
            .map_err(|e| self.error(e))
    }
}

impl SecretStore for NativeStore {
    fn get(&self, name: &EntryName) -> Result<Option<Secret<String>>, StoreError> {
        match self.entry(name)?.get_password() {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(KeyringError::BadEncoding(_)) => Err(StoreError::NotUtf8 {
                backend: self.backend,
                name: name.clone(),
            }),
            Err(e) => Err(self.error(e)),
        }
    }

    fn set(
        &self,
        name: &EntryName,
        value: &Secret<String>,
        _expires: Option<Expiration>,
    ) -> Result<(), StoreError> {
        self.entry(name)?
            .set_password(value.expose())
            .map_err(|e| self.error(e))
    }

    fn delete(&self, name: &EntryName) -> Result<bool, StoreError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    fn list(&self) -> Result<Vec<EntryName>, StoreError> {
        let spec: HashMap<&str, &str> = self.search.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let found = self.store.search(&spec).map_err(|e| self.error(e))?;
        let mut names: Vec<EntryName> = found
            .iter()
            .filter_map(|e| e.get_specifiers())
            .filter(|(service, _)| *service == self.service)
            .filter_map(|(_, user)| user.parse().ok())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn backend(&self) -> Backend {
        self.backend
    }
}
