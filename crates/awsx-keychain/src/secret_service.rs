//! The freedesktop Secret Service (gnome-keyring, KWallet) through keyring-core's pure-Rust
//! zbus store. Items carry the attributes `service` = the keychain service name and
//! `username` = the entry name, as every keyring-based tool does.
//!
//! Two things the store does not do, and awsx must:
//! - **Never hang.** A daemon that is frozen, or waiting on an unlock prompt, blocks a
//!   D-Bus call for as long as the bus allows (25 s and more). Every call therefore runs on
//!   a worker thread and is abandoned at a deadline; after one timeout the store fails fast
//!   instead of queueing behind the stuck call.
//! - **Never prompt.** The store unlocks locked items and collections with a prompt, which
//!   from `credential_process` nobody can see. Before it is used, awsx reads the default
//!   collection's `Locked` property itself (a plain property read, which never prompts) and
//!   reports a locked keychain as [`StoreError::Locked`].
//!
//! zbus reads `DBUS_SESSION_BUS_ADDRESS` from the process environment itself; it is the
//! one variable awsx cannot redirect through [`Env`](awsx_core::env::Env).
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use keyring_core::api::CredentialStoreApi;
use keyring_core::{Entry, Error as KeyringError};
use zbus_secret_service_keyring_store::Store;

use super::{Backend, EntryName, SecretStore, StoreError};
use awsx_core::secret::Secret;
use awsx_core::types::Expiration;

const BACKEND: Backend = Backend::SecretService;
const SECRETS_BUS_NAME: &str = "org.freedesktop.secrets";
const DEFAULT_COLLECTION: &str = "/org/freedesktop/secrets/aliases/default";

pub(super) struct SecretServiceStore {
    store: Arc<Store>,
    service: String,
    timeout: Duration,
    /// Set when a call missed its deadline: its worker may still hold the connection, so
    /// later calls would only queue behind it.
    stuck: Arc<AtomicBool>,
}

impl std::fmt::Debug for SecretServiceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretServiceStore")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl SecretServiceStore {
    /// Connect and check that the default collection exists and is unlocked, all within
    /// `probe`; later operations each get `timeout`.
    pub(super) fn connect(
        service: &str,
        probe: Duration,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let store = with_deadline(probe, "connect", || {
            check_default_collection()?;
            Store::new().map_err(|e| StoreError::Unavailable {
                backend: BACKEND,
                detail: e.to_string(),
            })
        })?;
        Ok(SecretServiceStore {
            store,
            service: service.to_owned(),
            timeout,
            stuck: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Run one store operation on a worker thread, giving up at the deadline.
    fn call<T: Send + 'static>(
        &self,
        operation: &'static str,
        op: impl FnOnce(&Store, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if self.stuck.load(Ordering::Relaxed) {
            return Err(StoreError::Timeout {
                backend: BACKEND,
                operation,
                after: self.timeout,
            });
        }
        let store = Arc::clone(&self.store);
        let service = self.service.clone();
        let result = with_deadline(self.timeout, operation, move || op(&store, &service));
        if matches!(result, Err(StoreError::Timeout { .. })) {
            self.stuck.store(true, Ordering::Relaxed);
        }
        result
    }
}

/// Run `op` on its own thread and wait at most `deadline` for it. A thread that misses
/// the deadline is left behind (blocked in D-Bus); it ends with the process.
fn with_deadline<T: Send + 'static>(
    deadline: Duration,
    operation: &'static str,
    op: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("awsx-secret-service".to_owned())
        .spawn(move || {
            let _ = tx.send(op());
        })
        .map_err(|e| StoreError::Backend {
            backend: BACKEND,
            detail: format!("cannot start a thread: {e}"),
        })?;
    match rx.recv_timeout(deadline) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(StoreError::Timeout {
            backend: BACKEND,
            operation,
            after: deadline,
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(StoreError::Backend {
            backend: BACKEND,
            detail: format!("the D-Bus worker failed while trying to {operation}"),
        }),
    }
}

/// Ask the daemon whether the default collection is locked, without any prompt. This is
/// also the probe: it fails when there is no bus, nobody owns `org.freedesktop.secrets`
/// (and nothing can be activated), or there is no default collection.
fn check_default_collection() -> Result<(), StoreError> {
    let unavailable = |detail: String| StoreError::Unavailable {
        backend: BACKEND,
        detail,
    };
    let conn = zbus::blocking::Connection::session()
        .map_err(|e| unavailable(format!("no D-Bus session bus: {e}")))?;
    let reply = conn
        .call_method(
            Some(SECRETS_BUS_NAME),
            DEFAULT_COLLECTION,
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &("org.freedesktop.Secret.Collection", "Locked"),
        )
        .map_err(|e| match &e {
            zbus::Error::MethodError(name, _, _)
                if name.as_str().ends_with("ServiceUnknown")
                    || name.as_str().ends_with("NameHasNoOwner") =>
            {
                unavailable(format!("nothing owns {SECRETS_BUS_NAME}"))
            }
            zbus::Error::MethodError(name, _, _)
                if name.as_str().ends_with("NoSuchObject")
                    || name.as_str().ends_with("UnknownObject")
                    || name.as_str().ends_with("UnknownMethod") =>
            {
                unavailable(
                    "there is no default keyring collection; create one (e.g. in \"Passwords \
                     and Keys\")"
                        .to_owned(),
                )
            }
            _ => unavailable(e.to_string()),
        })?;
    let value: zbus::zvariant::OwnedValue = reply
        .body()
        .deserialize()
        .map_err(|e| unavailable(format!("unexpected reply: {e}")))?;
    let locked = bool::try_from(&*value)
        .map_err(|e| unavailable(format!("unexpected Locked property: {e}")))?;
    if locked {
        return Err(StoreError::Locked { backend: BACKEND });
    }
    Ok(())
}

fn entry(store: &Store, service: &str, name: &EntryName) -> Result<Entry, StoreError> {
    // The label is what "Passwords and Keys" shows.
    let label = format!("{service}: {name}");
    let modifiers = HashMap::from([("label", label.as_str())]);
    store
        .build(service, &name.to_string(), Some(&modifiers))
        .map_err(store_error)
}

fn store_error(e: KeyringError) -> StoreError {
    match e {
        // The store reports a locked item, or a dismissed prompt, this way.
        KeyringError::NoStorageAccess(inner) => {
            let detail = inner.to_string();
            if detail.contains("locked") || detail.contains("prompt") {
                StoreError::Locked { backend: BACKEND }
            } else {
                StoreError::Unavailable {
                    backend: BACKEND,
                    detail,
                }
            }
        }
        other => StoreError::Backend {
            backend: BACKEND,
            detail: other.to_string(),
        },
    }
}

/// Remove every item of an ambiguous entry (two items with the same service and user:
/// written by another tool, or a crash between create and delete). Returns how many.
fn delete_all(entries: Vec<Entry>) -> Result<usize, StoreError> {
    let mut removed = 0;
    for e in entries {
        match e.delete_credential() {
            Ok(()) => removed += 1,
            Err(KeyringError::NoEntry) => {}
            Err(err) => return Err(store_error(err)),
        }
    }
    Ok(removed)
}

impl SecretStore for SecretServiceStore {
    fn get(&self, name: &EntryName) -> Result<Option<Secret<String>>, StoreError> {
        let name = name.clone();
        self.call("read an entry", move |store, service| {
            match entry(store, service, &name)?.get_password() {
                Ok(value) => Ok(Some(Secret::new(value))),
                Err(KeyringError::NoEntry) => Ok(None),
                Err(KeyringError::BadEncoding(_)) => Err(StoreError::NotUtf8 {
                    backend: BACKEND,
                    name,
                }),
                // Nobody can tell which copy is current: drop them all, fetch again.
                Err(KeyringError::Ambiguous(entries)) => delete_all(entries).map(|_| None),
                Err(e) => Err(store_error(e)),
            }
        })
    }

    fn set(
        &self,
        name: &EntryName,
        value: &Secret<String>,
        _expires: Option<Expiration>,
    ) -> Result<(), StoreError> {
        let name = name.clone();
        let value = value.clone();
        self.call("store an entry", move |store, service| {
            let entry = entry(store, service, &name)?;
            match entry.set_password(value.expose()) {
                Err(KeyringError::Ambiguous(entries)) => {
                    delete_all(entries)?;
                    entry.set_password(value.expose()).map_err(store_error)
                }
                other => other.map_err(store_error),
            }
        })
    }

    fn delete(&self, name: &EntryName) -> Result<bool, StoreError> {
        let name = name.clone();
        self.call("delete an entry", move |store, service| {
            match entry(store, service, &name)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(KeyringError::NoEntry) => Ok(false),
                Err(KeyringError::Ambiguous(entries)) => delete_all(entries).map(|n| n > 0),
                Err(e) => Err(store_error(e)),
            }
        })
    }

    fn list(&self) -> Result<Vec<EntryName>, StoreError> {
        self.call("list entries", |store, service| {
            let found = store
                .search(&HashMap::from([("service", service)]))
                .map_err(store_error)?;
            let mut names: Vec<EntryName> = found
                .iter()
                .filter_map(|e| e.get_specifiers())
                .filter(|(s, _)| s == service)
                .filter_map(|(_, user)| user.parse().ok())
                .collect();
            names.sort();
            names.dedup();
            Ok(names)
        })
    }

    fn backend(&self) -> Backend {
        BACKEND
    }
}
