//! What can go wrong with a keychain, in words that say what to do next. No message
//! carries a secret: only backend names, entry names (not secret) and the platform's
//! own error text, which describes the failure and never the payload.
use std::time::Duration;

use super::{Backend, EntryName};
use awsx_core::exit::{ExitCode, HasExitCode};

/// The escape hatch every Secret Service message offers: keyutils needs no daemon.
const USE_KEYUTILS: &str =
    "or set AWSX_KEYCHAIN=keyutils to keep short-lived credentials in the kernel keyring";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached at all (no daemon, no bus, syscall blocked).
    #[error("{}", unavailable_message(*.backend, .detail))]
    Unavailable { backend: Backend, detail: String },

    /// The keychain is there but locked; awsx never triggers an unlock prompt itself,
    /// because from `credential_process` nobody would see it.
    #[error("{}", locked_message(*.backend))]
    Locked { backend: Backend },

    /// The backend did not answer within the deadline (a frozen daemon, or one waiting
    /// for a prompt nobody can see).
    #[error(
        "the {backend} did not answer within {} s while trying to {operation}; it may be frozen \
         or waiting for an unlock prompt nobody can see: restart it (e.g. log out and in, or kill and \
         restart gnome-keyring-daemon), {USE_KEYUTILS}",
        .after.as_secs()
    )]
    Timeout {
        backend: Backend,
        operation: &'static str,
        after: Duration,
    },

    /// The backend refused access to an entry or to the keyring itself.
    #[error(
        "the {backend} refused access ({detail}); check that awsx runs as the user who stored \
         the entry, or remove the entry with `awsx logout` and log in again"
    )]
    NotPermitted { backend: Backend, detail: String },

    /// The kernel's per-user key quota is full (`/proc/sys/kernel/keys/maxbytes`).
    #[error(
        "the kernel keyring quota for this user is full (see /proc/sys/kernel/keys/maxbytes and \
         maxkeys); free space with `awsx logout --all` or `keyctl purge`, or ask an administrator \
         to raise kernel.keys.maxbytes"
    )]
    Quota { backend: Backend },

    /// The entry holds bytes that are not UTF-8: no awsx version wrote it. Callers treat
    /// this like a corrupt entry: discard it and fetch again.
    #[error(
        "the keychain entry {name} ({backend}) is not text; it will be replaced at the next \
         login (or remove it with `awsx logout`)"
    )]
    NotUtf8 { backend: Backend, name: EntryName },

    /// Any other failure the platform reported.
    #[error("the {backend} failed: {detail}; run `awsx doctor` to check the keychain")]
    Backend { backend: Backend, detail: String },

    /// A backend that exists only on another operating system.
    #[error(
        "the {backend} is not available on this operating system; set AWSX_KEYCHAIN=auto \
         (or unset it)"
    )]
    UnsupportedPlatform { backend: Backend },
}

fn unavailable_message(backend: Backend, detail: &str) -> String {
    match backend {
        Backend::SecretService => format!(
            "the Secret Service (gnome-keyring) is not answering on D-Bus ({detail}); \
             start/unlock it, {USE_KEYUTILS}"
        ),
        Backend::Keyutils => format!(
            "the kernel keyring (keyutils) is not usable here ({detail}); a container's seccomp \
             profile may block keyctl: set AWSX_KEYCHAIN=secret-service, or allow keyctl"
        ),
        other => format!("the {other} is not available ({detail}); run `awsx doctor`"),
    }
}

fn locked_message(backend: Backend) -> String {
    match backend {
        Backend::SecretService => format!(
            "the Secret Service's default keyring is locked and awsx will not open an unlock \
             prompt nobody may see; unlock it (log in to the desktop session, open \"Passwords and \
             Keys\", or run `gnome-keyring-daemon --unlock` and type the password), {USE_KEYUTILS}"
        ),
        other => format!("the {other} is locked; unlock it and try again"),
    }
}

impl StoreError {
    /// True when the entry should be thrown away and fetched again rather than reported.
    pub fn is_discardable_entry(&self) -> bool {
        matches!(self, StoreError::NotUtf8 { .. })
    }
}

impl HasExitCode for StoreError {
    fn exit_code(&self) -> ExitCode {
        match self {
            StoreError::Unavailable { .. }
            | StoreError::Locked { .. }
            | StoreError::Timeout { .. }
            | StoreError::NotPermitted { .. }
            | StoreError::Quota { .. }
            | StoreError::Backend { .. } => ExitCode::KeychainUnavailable,
            StoreError::NotUtf8 { .. } => ExitCode::Failure,
            StoreError::UnsupportedPlatform { .. } => ExitCode::Usage,
        }
    }
}
