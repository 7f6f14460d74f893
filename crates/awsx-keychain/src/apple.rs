//! macOS: the login keychain, through keyring-core's Apple native store (generic passwords
//! with service = the keychain service name, account = the entry name).
use super::native::NativeStore;
use super::{Backend, StoreError};

pub(super) fn open(service: &str) -> Result<NativeStore, StoreError> {
    let store = apple_native_keyring_store::keychain::Store::new().map_err(|e| {
        StoreError::Unavailable {
            backend: Backend::MacosKeychain,
            detail: e.to_string(),
        }
    })?;
    Ok(NativeStore {
        store,
        service: service.to_owned(),
        backend: Backend::MacosKeychain,
        search: vec![("service", service.to_owned())],
    })
}
