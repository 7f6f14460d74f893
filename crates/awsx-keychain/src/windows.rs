//! Windows: the Credential Manager, through keyring-core's Windows native store (generic
//! credentials named `<entry>.<service>`).
use super::native::NativeStore;
use super::{Backend, StoreError};

pub(super) fn open(service: &str) -> Result<NativeStore, StoreError> {
    let store =
        windows_native_keyring_store::Store::new().map_err(|e| StoreError::Unavailable {
            backend: Backend::WindowsCredentialManager,
            detail: e.to_string(),
        })?;
    Ok(NativeStore {
        store,
        service: service.to_owned(),
        backend: Backend::WindowsCredentialManager,
        // Every credential; `list` keeps the ones whose service is ours.
        search: Vec::new(),
    })
}
