//! The names of the keychains awsx can use: what `AWSX_KEYCHAIN` and the `keychain` setting
//! say ([`BackendChoice`]) and which implementation holds a login ([`Backend`]). They live
//! here, below both the settings and the keychain layer, because both speak them.
use std::fmt;
use std::str::FromStr;

use crate::types::InvalidValue;

/// The keychain service name when neither `keychain_service` nor `AWSX_KEYCHAIN_SERVICE` sets one.
pub const DEFAULT_SERVICE: &str = "awsx";

/// A keychain implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    SecretService,
    Keyutils,
    MacosKeychain,
    WindowsCredentialManager,
    /// The in-memory store of tests; no `AWSX_KEYCHAIN` value names it.
    Memory,
}

impl Backend {
    /// The `AWSX_KEYCHAIN` value that selects this backend.
    pub fn id(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::Keyutils => "keyutils",
            Backend::MacosKeychain => "macos",
            Backend::WindowsCredentialManager => "windows",
            Backend::Memory => "memory",
        }
    }

    /// The backend an `AWSX_KEYCHAIN` value (other than `auto`) names.
    pub fn from_id(id: &str) -> Option<Backend> {
        [
            Backend::SecretService,
            Backend::Keyutils,
            Backend::MacosKeychain,
            Backend::WindowsCredentialManager,
        ]
        .into_iter()
        .find(|b| b.id() == id)
    }

    /// Whether entries survive a reboot. `breakglass enroll` refuses a volatile store
    /// unless asked, because the break-glass key cannot be fetched again.
    pub fn is_durable(self) -> bool {
        match self {
            Backend::SecretService | Backend::MacosKeychain | Backend::WindowsCredentialManager => {
                true
            }
            Backend::Keyutils => false,
            Backend::Memory => false,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::SecretService => "Secret Service",
            Backend::Keyutils => "kernel keyring (keyutils)",
            Backend::MacosKeychain => "macOS Keychain",
            Backend::WindowsCredentialManager => "Windows Credential Manager",
            Backend::Memory => "in-memory test store",
        })
    }
}

/// What the user asked for in `AWSX_KEYCHAIN` or the `keychain` setting of config.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// The platform's keychain; on Linux the Secret Service if it answers, else keyutils.
    #[default]
    Auto,
    SecretService,
    Keyutils,
    Macos,
    Windows,
}

impl BackendChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::SecretService => "secret-service",
            BackendChoice::Keyutils => "keyutils",
            BackendChoice::Macos => "macos",
            BackendChoice::Windows => "windows",
        }
    }

    /// The one backend an explicit choice names (`None` for `auto`).
    pub fn explicit_backend(self) -> Option<Backend> {
        match self {
            BackendChoice::Auto => None,
            BackendChoice::SecretService => Some(Backend::SecretService),
            BackendChoice::Keyutils => Some(Backend::Keyutils),
            BackendChoice::Macos => Some(Backend::MacosKeychain),
            BackendChoice::Windows => Some(Backend::WindowsCredentialManager),
        }
    }
}

impl FromStr for BackendChoice {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        [
            BackendChoice::Auto,
            BackendChoice::SecretService,
            BackendChoice::Keyutils,
            BackendChoice::Macos,
            BackendChoice::Windows,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| InvalidValue {
            what: "keychain",
            value: s.to_owned(),
            reason: "use one of auto, secret-service, keyutils, macos, windows",
        })
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
