//! The OS keychains behind awsx's store: the Secret Service over D-Bus on Linux, the macOS
//! Keychain and the Windows Credential Manager, and the rules for choosing one ([`open`]).
//!
//! The store model (the [`SecretStore`] trait, entry names, errors, the kernel-keyring hot
//! tier and keyutils) is `awsx_store`, re-exported here so that the layers above see one
//! keychain API. It is a separate crate because the front `awsx` binary links it without
//! D-Bus: a cache hit never talks to the Secret Service.
//!
//! Library code never prints: a fallback warning comes back in [`OpenedStore::warning`].
//! `auto` probes only when nothing is remembered: `awsx login` decides, and the session
//! record (`awsx_creds::binding::SessionRecord`) remembers the backend, which later
//! commands open with [`open_backend`] — no probe, no fallback, exit 4 when it cannot be
//! reached.
#![forbid(unsafe_code)]
use std::fmt;
use std::sync::Arc;

pub use awsx_store::*;

// `--cfg awsx_portable` (RUSTFLAGS; .ci/run does it with `cargo check`) compiles the
// macOS/Windows side on Linux: the native store adapter instead of the Secret Service, so
// that CI type-checks the code those platforms build. The Apple and Windows store crates
// themselves only build for their targets: `apple.rs` and `windows.rs` stay unchecked, and
// such a build has no backend (every `connect` is UnsupportedPlatform); it is for
// checking, never for running.
#[cfg(all(target_os = "linux", not(awsx_portable)))]
mod secret_service;

#[cfg(target_os = "macos")]
mod apple;
#[cfg(any(target_os = "macos", target_os = "windows", awsx_portable))]
#[cfg_attr(awsx_portable, allow(dead_code))]
mod native;
#[cfg(target_os = "windows")]
mod windows;

/// An open keychain and, when `auto` had to settle for second best, a one-line warning
/// for the caller to show on stderr.
pub struct OpenedStore {
    pub store: Arc<dyn SecretStore>,
    pub warning: Option<String>,
}

impl OpenedStore {
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }
}

impl fmt::Debug for OpenedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedStore")
            .field("backend", &self.backend())
            .field("warning", &self.warning)
            .finish()
    }
}

/// Open the keychain `choice` names (the settings' `keychain`, which `AWSX_KEYCHAIN`
/// overrides: see `awsx_config::settings`), with its entries under `service` (the
/// settings' `keychain_service`).
///
/// An explicit choice never falls back: if that backend is unreachable the error says so
/// (exit 4). `auto` on Linux takes the Secret Service if it answers within
/// [`PROBE_TIMEOUT`], else keyutils with a warning. Never blocks longer than the probe.
pub fn open(choice: BackendChoice, service: &str) -> Result<OpenedStore, StoreError> {
    open_with(choice, &|backend| connect(backend, service))
}

/// Open exactly `backend`, with no probe of any other and no fallback: what every command
/// does for a session whose login remembered its keychain (see `sso::binding`). If it cannot
/// be reached the error says how to fix it (exit 4).
pub fn open_backend(backend: Backend, service: &str) -> Result<OpenedStore, StoreError> {
    tracing::debug!(
        backend = backend.id(),
        "opening the keychain the login chose"
    );
    Ok(OpenedStore {
        store: connect(backend, service)?,
        warning: None,
    })
}

type Connector<'a> = dyn Fn(Backend) -> Result<Arc<dyn SecretStore>, StoreError> + 'a;

/// The selection rules, apart from the platform so that unit tests can check them.
fn open_with(choice: BackendChoice, connect: &Connector<'_>) -> Result<OpenedStore, StoreError> {
    if let Some(backend) = choice.explicit_backend() {
        return Ok(OpenedStore {
            store: connect(backend)?,
            warning: None,
        });
    }
    let Some((first, second)) = auto_order() else {
        return Err(StoreError::Unavailable {
            backend: Backend::SecretService,
            detail: "awsx knows no keychain on this operating system".to_owned(),
        });
    };
    let first_err = match connect(first) {
        Ok(store) => {
            return Ok(OpenedStore {
                store,
                warning: None,
            });
        }
        Err(err) => err,
    };
    let Some(second) = second else {
        return Err(first_err);
    };
    match connect(second) {
        Ok(store) => Ok(OpenedStore {
            store,
            warning: Some(fallback_warning(first, &first_err, second)),
        }),
        // The first backend's error is the one worth fixing (and says how).
        Err(_) => Err(first_err),
    }
}

/// `auto`'s preference on this platform: the main keychain and what to settle for.
fn auto_order() -> Option<(Backend, Option<Backend>)> {
    if cfg!(target_os = "linux") {
        Some((Backend::SecretService, Some(Backend::Keyutils)))
    } else if cfg!(target_os = "macos") {
        Some((Backend::MacosKeychain, None))
    } else if cfg!(target_os = "windows") {
        Some((Backend::WindowsCredentialManager, None))
    } else {
        None
    }
}

fn fallback_warning(first: Backend, err: &StoreError, second: Backend) -> String {
    let why = match err {
        StoreError::Locked { .. } => "is locked",
        StoreError::Timeout { .. } => "is not answering",
        StoreError::Unavailable { .. } => "is not running",
        _ => "is not usable",
    };
    format!(
        "the {first} {why}; keeping short-lived credentials in the {second} (lost at reboot); \
         start/unlock the {first}, or set AWSX_KEYCHAIN={} to silence this",
        second.id()
    )
}

/// The real backends of this platform.
fn connect(backend: Backend, service: &str) -> Result<Arc<dyn SecretStore>, StoreError> {
    match backend {
        #[cfg(all(target_os = "linux", not(awsx_portable)))]
        Backend::SecretService => Ok(Arc::new(secret_service::SecretServiceStore::connect(
            service,
            PROBE_TIMEOUT,
            OPERATION_TIMEOUT,
        )?)),
        #[cfg(all(target_os = "linux", not(awsx_portable)))]
        Backend::Keyutils => Ok(Arc::new(awsx_store::keyutils::KeyutilsStore::open(
            service,
        )?)),
        #[cfg(target_os = "macos")]
        Backend::MacosKeychain => Ok(Arc::new(apple::open(service)?)),
        #[cfg(target_os = "windows")]
        Backend::WindowsCredentialManager => Ok(Arc::new(windows::open(service)?)),
        #[allow(unreachable_patterns)]
        other => {
            let _ = service;
            Err(StoreError::UnsupportedPlatform { backend: other })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_store::memory::MemoryStore;
    use std::cell::RefCell;

    type Failure = (Backend, fn(Backend) -> StoreError);

    /// A connector that records what was tried and fails for the listed backends.
    struct FakePlatform {
        tried: RefCell<Vec<Backend>>,
        failing: Vec<Failure>,
    }

    impl FakePlatform {
        fn new(failing: Vec<Failure>) -> Self {
            FakePlatform {
                tried: RefCell::new(Vec::new()),
                failing,
            }
        }

        fn connect(&self, backend: Backend) -> Result<Arc<dyn SecretStore>, StoreError> {
            self.tried.borrow_mut().push(backend);
            match self.failing.iter().find(|(b, _)| *b == backend) {
                Some((_, make)) => Err(make(backend)),
                None => Ok(Arc::new(MemoryStore::reporting(backend))),
            }
        }
    }

    fn unreachable(backend: Backend) -> StoreError {
        StoreError::Unavailable {
            backend,
            detail: "no owner for org.freedesktop.secrets".into(),
        }
    }

    fn locked(backend: Backend) -> StoreError {
        StoreError::Locked { backend }
    }

    #[test]
    fn explicit_choice_never_falls_back() {
        use awsx_core::exit::{ExitCode, HasExitCode};
        let platform = FakePlatform::new(vec![(Backend::SecretService, unreachable)]);
        let err = open_with(BackendChoice::SecretService, &|b| platform.connect(b)).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable { .. }));
        assert_eq!(err.exit_code(), ExitCode::KeychainUnavailable);
        assert_eq!(*platform.tried.borrow(), vec![Backend::SecretService]);
    }

    #[test]
    fn explicit_keyutils_is_used_without_a_warning() {
        let platform = FakePlatform::new(vec![]);
        let opened = open_with(BackendChoice::Keyutils, &|b| platform.connect(b)).unwrap();
        assert_eq!(opened.backend(), Backend::Keyutils);
        assert!(opened.warning.is_none());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn auto_prefers_the_secret_service_silently() {
        let platform = FakePlatform::new(vec![]);
        let opened = open_with(BackendChoice::Auto, &|b| platform.connect(b)).unwrap();
        assert_eq!(opened.backend(), Backend::SecretService);
        assert!(opened.warning.is_none());
        assert_eq!(*platform.tried.borrow(), vec![Backend::SecretService]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn auto_falls_back_to_keyutils_with_a_one_line_warning() {
        let platform = FakePlatform::new(vec![(Backend::SecretService, locked)]);
        let opened = open_with(BackendChoice::Auto, &|b| platform.connect(b)).unwrap();
        assert_eq!(opened.backend(), Backend::Keyutils);
        let warning = opened.warning.expect("a warning for the caller to print");
        assert!(!warning.contains('\n'), "{warning}");
        assert!(warning.contains("locked"), "{warning}");
        assert!(warning.contains("AWSX_KEYCHAIN=keyutils"), "{warning}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn auto_reports_the_secret_service_error_when_nothing_works() {
        let platform = FakePlatform::new(vec![
            (Backend::SecretService, locked),
            (Backend::Keyutils, unreachable),
        ]);
        let err = open_with(BackendChoice::Auto, &|b| platform.connect(b)).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn other_platforms_keychains_are_a_usage_error_here() {
        use awsx_core::exit::{ExitCode, HasExitCode};
        let err = open(BackendChoice::Macos, DEFAULT_SERVICE).unwrap_err();
        assert!(matches!(err, StoreError::UnsupportedPlatform { .. }));
        assert_eq!(err.exit_code(), ExitCode::Usage);
    }
}
