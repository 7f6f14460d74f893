//! The keychain layer: one small trait ([`SecretStore`]) over the platform keychains, the
//! names of awsx's entries ([`EntryName`]), and the choice of backend ([`open`]).
//!
//! Backends: the Secret Service (gnome-keyring, KWallet) over D-Bus and the kernel keyutils
//! user keyring on Linux, the native keychains on macOS and Windows. On Linux a keyutils
//! [`hot`] tier can sit in front of any of them so that a `credential_process` cache hit
//! costs a few syscalls instead of a D-Bus round trip.
//!
//! Library code never prints: a fallback warning comes back in [`OpenedStore::warning`].
//!
//! `auto` probes only when nothing is remembered: `awsx login` decides, and the session
//! record (`sso::binding::SessionRecord`) remembers the backend, which later commands open
//! with [`open_backend`] — no probe, no fallback, exit 4 when it cannot be reached.
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use awsx_core::env::Env;
use awsx_core::secret::Secret;
use awsx_core::types::{
    AccountId, Expiration, IamUserName, InvalidValue, ProfileName, RoleName, SsoSessionName,
};

mod error;
pub use error::StoreError;
// The names of the keychains, shared with the settings: see `awsx_core::keychain`.
pub use awsx_core::keychain::{Backend, BackendChoice, DEFAULT_SERVICE};

// `--cfg awsx_portable` (RUSTFLAGS; .ci/run does it with `cargo check`) compiles the
// macOS/Windows side of this module on Linux: no hot tier (hot_none.rs) and the native
// store adapter instead of the Secret Service and keyutils, so that CI type-checks the code
// those platforms build. The Apple and Windows store crates themselves only build for their
// targets: `apple.rs` and `windows.rs` stay unchecked, and such a build has no backend
// (every `connect` is UnsupportedPlatform); it is for checking, never for running.
#[cfg(all(target_os = "linux", not(awsx_portable)))]
pub mod hot;
#[cfg(any(not(target_os = "linux"), awsx_portable))]
#[path = "hot_none.rs"]
pub mod hot;
#[cfg(all(target_os = "linux", not(awsx_portable)))]
mod keyutils;
#[cfg(all(target_os = "linux", not(awsx_portable)))]
mod secret_service;

#[cfg(target_os = "macos")]
mod apple;
#[cfg(any(target_os = "macos", target_os = "windows", awsx_portable))]
#[cfg_attr(awsx_portable, allow(dead_code))]
mod native;
#[cfg(target_os = "windows")]
mod windows;

#[cfg(test)]
pub mod memory;

/// How long `auto` waits for the Secret Service before it settles for keyutils, and how
/// long any backend may take to open.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one keychain operation may take once the backend is open. With the probe this
/// bounds every keychain failure at 5 s, well inside the Rust SDK's ~21 s
/// `credential_process` limit.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);

/// One keychain, seen through the operations awsx needs. Implementations are cheap to
/// share between threads (the single-flight code holds one across a network call).
pub trait SecretStore: Send + Sync {
    /// The entry's value, or `None` when there is no such entry.
    fn get(&self, name: &EntryName) -> Result<Option<Secret<String>>, StoreError>;

    /// Create or replace the entry. `expires` is a hint: keyutils sets the key's timeout
    /// from it so the kernel drops the key when it expires; other backends ignore it.
    fn set(
        &self,
        name: &EntryName,
        value: &Secret<String>,
        expires: Option<Expiration>,
    ) -> Result<(), StoreError>;

    /// Remove the entry; `false` when there was none.
    fn delete(&self, name: &EntryName) -> Result<bool, StoreError>;

    /// Every awsx entry of this service (for `logout --all --purge`). Entries whose user
    /// name awsx does not recognise are left out: they are not awsx's to remove.
    fn list(&self) -> Result<Vec<EntryName>, StoreError>;

    /// Which keychain this is (for `doctor`, `status` and `breakglass enroll`).
    fn backend(&self) -> Backend;
}

/// The user name of one awsx keychain entry (the service name is the store's). The text
/// forms are fixed by design.md because other tools (and older awsx) read them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryName {
    /// `sso-token:<session>`: the SSO access and refresh token of a session.
    SsoToken(SsoSessionName),
    /// `sso-client:<session>`: the OIDC client registration of a session.
    SsoClient(SsoSessionName),
    /// `role:<session>/<account>/<role>`: role credentials fetched through a session.
    Role {
        session: SsoSessionName,
        account: AccountId,
        role: RoleName,
    },
    /// `breakglass-key:<iam-user>`: the break-glass IAM user's access key.
    BreakglassKey(IamUserName),
    /// `breakglass-session:<profile>`: the short session assumed with it.
    BreakglassSession(ProfileName),
}

impl EntryName {
    pub fn sso_token(session: &SsoSessionName) -> Self {
        EntryName::SsoToken(session.clone())
    }

    pub fn sso_client(session: &SsoSessionName) -> Self {
        EntryName::SsoClient(session.clone())
    }

    pub fn role(session: &SsoSessionName, account: &AccountId, role: &RoleName) -> Self {
        EntryName::Role {
            session: session.clone(),
            account: account.clone(),
            role: role.clone(),
        }
    }

    pub fn breakglass_key(user: &IamUserName) -> Self {
        EntryName::BreakglassKey(user.clone())
    }

    pub fn breakglass_session(profile: &ProfileName) -> Self {
        EntryName::BreakglassSession(profile.clone())
    }

    /// The SSO session this entry belongs to, if any (for `logout SESSION`).
    pub fn sso_session(&self) -> Option<&SsoSessionName> {
        match self {
            EntryName::SsoToken(s) | EntryName::SsoClient(s) => Some(s),
            EntryName::Role { session, .. } => Some(session),
            EntryName::BreakglassKey(_) | EntryName::BreakglassSession(_) => None,
        }
    }
}

impl fmt::Display for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryName::SsoToken(s) => write!(f, "sso-token:{s}"),
            EntryName::SsoClient(s) => write!(f, "sso-client:{s}"),
            EntryName::Role {
                session,
                account,
                role,
            } => write!(f, "role:{session}/{account}/{role}"),
            EntryName::BreakglassKey(u) => write!(f, "breakglass-key:{u}"),
            EntryName::BreakglassSession(p) => write!(f, "breakglass-session:{p}"),
        }
    }
}

impl FromStr for EntryName {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let invalid = |reason| InvalidValue {
            what: "keychain entry name",
            value: s.to_owned(),
            reason,
        };
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| invalid("expected KIND:NAME"))?;
        Ok(match kind {
            "sso-token" => EntryName::SsoToken(rest.parse()?),
            "sso-client" => EntryName::SsoClient(rest.parse()?),
            // Session names cannot contain '/', so the split is unambiguous.
            "role" => {
                let mut parts = rest.split('/');
                let (Some(session), Some(account), Some(role), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err(invalid("expected role:SESSION/ACCOUNT/ROLE"));
                };
                EntryName::Role {
                    session: session.parse()?,
                    account: account.parse()?,
                    role: role.parse()?,
                }
            }
            "breakglass-key" => EntryName::BreakglassKey(rest.parse()?),
            "breakglass-session" => EntryName::BreakglassSession(rest.parse()?),
            _ => return Err(invalid("unknown kind of entry")),
        })
    }
}

/// The backend choice in force: `AWSX_KEYCHAIN` beats the `keychain` setting of
/// config.toml (`configured`), which beats `auto`.
pub fn resolve_choice(
    env: &Env,
    configured: Option<BackendChoice>,
) -> Result<BackendChoice, StoreError> {
    match env.var("AWSX_KEYCHAIN") {
        Some(value) => value.parse().map_err(|_| StoreError::InvalidChoice {
            value: value.to_owned(),
            source_name: "AWSX_KEYCHAIN",
        }),
        None => Ok(configured.unwrap_or_default()),
    }
}

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

/// Open the keychain that `AWSX_KEYCHAIN` (else `configured`, else `auto`) selects, with
/// its entries under `service` (the settings' `keychain_service`).
///
/// An explicit choice never falls back: if that backend is unreachable the error says so
/// (exit 4). `auto` on Linux takes the Secret Service if it answers within
/// [`PROBE_TIMEOUT`], else keyutils with a warning. Never blocks longer than the probe.
pub fn open(
    env: &Env,
    configured: Option<BackendChoice>,
    service: &str,
) -> Result<OpenedStore, StoreError> {
    let choice = resolve_choice(env, configured)?;
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
        Backend::Keyutils => Ok(Arc::new(keyutils::KeyutilsStore::open(service)?)),
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
    use super::memory::MemoryStore;
    use super::*;
    use std::cell::RefCell;

    fn session(s: &str) -> SsoSessionName {
        s.parse().unwrap()
    }

    #[test]
    fn entry_names_use_the_documented_forms_and_parse_back() {
        let s = session("corp");
        let names = [
            (EntryName::sso_token(&s), "sso-token:corp"),
            (EntryName::sso_client(&s), "sso-client:corp"),
            (
                EntryName::role(
                    &s,
                    &"123456789012".parse().unwrap(),
                    &"ReadOnly".parse().unwrap(),
                ),
                "role:corp/123456789012/ReadOnly",
            ),
            (
                EntryName::breakglass_key(&"bg-alice".parse().unwrap()),
                "breakglass-key:bg-alice",
            ),
            (
                EntryName::breakglass_session(&"prod".parse().unwrap()),
                "breakglass-session:prod",
            ),
        ];
        for (name, text) in names {
            assert_eq!(name.to_string(), text);
            assert_eq!(text.parse::<EntryName>().unwrap(), name);
        }
    }

    #[test]
    fn session_names_with_colons_survive_the_round_trip() {
        let name = EntryName::sso_token(&session("team:a"));
        assert_eq!(name.to_string().parse::<EntryName>().unwrap(), name);
    }

    #[test]
    fn malformed_entry_names_are_rejected() {
        for bad in [
            "",
            "sso-token",
            "sso-token:",
            "token:corp",
            "role:corp/123456789012",
            "role:corp/12345/Admin",
            "role:corp/123456789012/Admin/extra",
            "breakglass-key:has space",
        ] {
            assert!(bad.parse::<EntryName>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn entry_names_know_their_session() {
        let s = session("corp");
        assert_eq!(EntryName::sso_client(&s).sso_session(), Some(&s));
        let bg = EntryName::breakglass_session(&"prod".parse().unwrap());
        assert_eq!(bg.sso_session(), None);
    }

    #[test]
    fn environment_overrides_the_setting_which_overrides_auto() {
        let none = Env::from_vars::<_, &str, &str>([]);
        assert_eq!(resolve_choice(&none, None).unwrap(), BackendChoice::Auto);
        assert_eq!(
            resolve_choice(&none, Some(BackendChoice::Keyutils)).unwrap(),
            BackendChoice::Keyutils
        );
        let env = Env::from_vars([("AWSX_KEYCHAIN", "secret-service")]);
        assert_eq!(
            resolve_choice(&env, Some(BackendChoice::Keyutils)).unwrap(),
            BackendChoice::SecretService
        );
        // Empty counts as unset, like every other variable.
        let empty = Env::from_vars([("AWSX_KEYCHAIN", "")]);
        assert_eq!(
            resolve_choice(&empty, Some(BackendChoice::Keyutils)).unwrap(),
            BackendChoice::Keyutils
        );
    }

    #[test]
    fn unknown_choice_is_a_usage_error_naming_the_variable() {
        use awsx_core::exit::{ExitCode, HasExitCode};
        let env = Env::from_vars([("AWSX_KEYCHAIN", "pass")]);
        let err = resolve_choice(&env, None).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(err.to_string().contains("AWSX_KEYCHAIN"), "{err}");
    }

    #[test]
    fn choices_parse_from_their_documented_names() {
        for c in [
            BackendChoice::Auto,
            BackendChoice::SecretService,
            BackendChoice::Keyutils,
            BackendChoice::Macos,
            BackendChoice::Windows,
        ] {
            assert_eq!(c.as_str().parse::<BackendChoice>().unwrap(), c);
        }
    }

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
        let env = Env::from_vars([("AWSX_KEYCHAIN", "macos")]);
        let err = open(&env, None, DEFAULT_SERVICE).unwrap_err();
        assert!(matches!(err, StoreError::UnsupportedPlatform { .. }));
        assert_eq!(err.exit_code(), ExitCode::Usage);
    }

    #[test]
    fn errors_never_show_secrets_and_keychain_failures_exit_4() {
        use awsx_core::exit::{ExitCode, HasExitCode};
        let err = StoreError::Timeout {
            backend: Backend::SecretService,
            operation: "read an entry",
            after: OPERATION_TIMEOUT,
        };
        assert_eq!(err.exit_code(), ExitCode::KeychainUnavailable);
        assert!(err.to_string().contains("AWSX_KEYCHAIN=keyutils"), "{err}");
        let err = unreachable(Backend::SecretService);
        assert!(err.to_string().contains("not answering on D-Bus"), "{err}");
        let err = StoreError::NotUtf8 {
            backend: Backend::Keyutils,
            name: EntryName::sso_token(&session("corp")),
        };
        assert!(err.is_discardable_entry());
    }
}
