//! awsx's store model: one small trait ([`SecretStore`]) over the keychains, the names of
//! awsx's entries ([`EntryName`]) and their errors, with the stores that live in the Linux
//! kernel keyring: the [`hot`] tier, which sits in front of any keychain so that a
//! `credential_process` cache hit costs a few syscalls instead of a D-Bus round trip, and
//! [`keyutils`] as a keychain of its own. The OS keychains (Secret Service, macOS,
//! Windows) and the choice between them are `awsx_keychain`, one layer up: this crate is
//! what the front `awsx` binary links, so it must never pull in D-Bus.
#![forbid(unsafe_code)]
use std::fmt;
use std::str::FromStr;

use std::time::Duration;

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
pub mod keyutils;
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
    /// `console-session:<profile>`: a console sign-in session (`awsx login --console`): the
    /// DPoP private key, the refresh token and what the session is (principal, endpoint).
    ConsoleSession(ProfileName),
    /// `console-creds:<profile>`: that session's current short-lived credentials, bound to
    /// the login that made them (the entry the hot tier copies).
    ConsoleCreds(ProfileName),
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

    pub fn console_session(profile: &ProfileName) -> Self {
        EntryName::ConsoleSession(profile.clone())
    }

    pub fn console_creds(profile: &ProfileName) -> Self {
        EntryName::ConsoleCreds(profile.clone())
    }

    /// The console sign-in profile this entry belongs to, if any (for `logout --profile`).
    pub fn console_profile(&self) -> Option<&ProfileName> {
        match self {
            EntryName::ConsoleSession(p) | EntryName::ConsoleCreds(p) => Some(p),
            _ => None,
        }
    }

    /// The SSO session this entry belongs to, if any (for `logout SESSION`).
    pub fn sso_session(&self) -> Option<&SsoSessionName> {
        match self {
            EntryName::SsoToken(s) | EntryName::SsoClient(s) => Some(s),
            EntryName::Role { session, .. } => Some(session),
            EntryName::BreakglassKey(_)
            | EntryName::BreakglassSession(_)
            | EntryName::ConsoleSession(_)
            | EntryName::ConsoleCreds(_) => None,
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
            EntryName::ConsoleSession(p) => write!(f, "console-session:{p}"),
            EntryName::ConsoleCreds(p) => write!(f, "console-creds:{p}"),
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
            "console-session" => EntryName::ConsoleSession(rest.parse()?),
            "console-creds" => EntryName::ConsoleCreds(rest.parse()?),
            _ => return Err(invalid("unknown kind of entry")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            (
                EntryName::console_session(&"admin".parse().unwrap()),
                "console-session:admin",
            ),
            (
                EntryName::console_creds(&"admin".parse().unwrap()),
                "console-creds:admin",
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
            "console-session:",
            "console-creds:a]b",
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
        let console = EntryName::console_creds(&"admin".parse().unwrap());
        assert_eq!(console.sso_session(), None);
        assert_eq!(console.console_profile().map(|p| p.as_str()), Some("admin"));
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
        let err = StoreError::Unavailable {
            backend: Backend::SecretService,
            detail: "no owner for org.freedesktop.secrets".into(),
        };
        assert!(err.to_string().contains("not answering on D-Bus"), "{err}");
        let err = StoreError::NotUtf8 {
            backend: Backend::Keyutils,
            name: EntryName::sso_token(&session("corp")),
        };
        assert!(err.is_discardable_entry());
    }
}
