//! What can go wrong on the break-glass path, each in words that say what to do next, and
//! each with its documented exit code. No message carries a secret: access key ids (not
//! secret), ARNs, profile and user names, and AWS's own error text only.
use awsx_core::exit::{ExitCode, HasExitCode};
use awsx_core::types::{IamUserName, ProfileName};
use awsx_keychain::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BreakglassError {
    /// `--reason` missing or blank: refused before any network call.
    #[error(
        "a reason is required for break-glass access; run: awsx breakglass {profile} --reason \"INC-123: what happened\""
    )]
    MissingReason { profile: ProfileName },

    /// The profile exists but is not a break-glass profile.
    #[error(
        "profile {profile} is not a break-glass profile (no awsx_breakglass_role_arn); use awsx use {profile}, or add awsx_breakglass_role_arn, awsx_breakglass_user and awsx_mfa_serial to it"
    )]
    NotBreakglass { profile: ProfileName },

    /// Some value in the profile or on the command line cannot be used.
    #[error("{0}")]
    Config(String),

    /// No key for the profile's IAM user in the keychain.
    #[error(
        "break-glass user {user} is not enrolled in this keychain; run: awsx breakglass enroll --user {user} --mfa-serial arn:aws:iam::ACCOUNT:mfa/{user}"
    )]
    NotEnrolled { user: IamUserName },

    /// Input (key, MFA code, confirmation) could not be read or is malformed.
    #[error("{0}")]
    Input(String),

    /// `enroll` on a keychain that forgets at reboot, without `--allow-volatile`.
    #[error(
        "the {backend} loses its entries at reboot, and the break-glass key cannot be fetched again; unlock or start the Secret Service (AWSX_KEYCHAIN=secret-service), or pass --allow-volatile if you accept re-enrolling after every reboot"
    )]
    VolatileKeychain {
        backend: awsx_keychain::Backend,
        /// True when `auto` fell back to it because the durable keychain is unavailable.
        fell_back: bool,
    },

    /// The cached session is missing, expired or about to expire: a new, deliberate
    /// break-glass login is needed. Never renewed silently.
    #[error("{}", session_needed(.profile, .expired))]
    SessionNeeded { profile: ProfileName, expired: bool },

    /// STS or IAM refused or failed.
    #[error("{operation} failed: {code}: {message}{}", hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default())]
    Aws {
        operation: &'static str,
        /// AWS's error code (`AccessDenied`, `InvalidClientTokenId`, …) or a transport
        /// failure's short name; kept apart for the audit log.
        code: String,
        message: String,
        hint: Option<String>,
    },

    /// The console sign-in (keyless break-glass) failed; the text says why and what to do.
    #[error("console sign-in failed: {0}")]
    Signin(String),

    /// The browser's sign-in page was answered with Deny: nothing was assumed.
    #[error(
        "the console sign-in was denied in the browser, so no role was assumed; run the command again and choose Allow as the break-glass user"
    )]
    SigninDenied,

    /// The console was signed in as another principal than the enrolled break-glass user.
    #[error(
        "the console sign-in was made as {signed_in}, not as the break-glass user {expected}; nothing was assumed. Sign out of the AWS console in that browser (or use a private window), then run the command again and sign in as the break-glass user"
    )]
    WrongPrincipal { expected: String, signed_in: String },

    /// The audit log could not be written: break-glass is refused rather than unaudited.
    #[error(
        "cannot write the break-glass audit log {path}: {source}; fix its directory's permissions (break-glass access is not granted without an audit record)"
    )]
    Audit {
        path: std::path::PathBuf,
        source: std::io::Error,
    },

    /// `check` found keys that no longer work.
    #[error(
        "{failed} of {total} enrolled break-glass keys do not work; enroll a working key (awsx breakglass enroll) or rotate it"
    )]
    CheckFailed { failed: usize, total: usize },

    #[error(transparent)]
    Store(#[from] StoreError),

    #[error(transparent)]
    Setup(#[from] awsx_aws::SetupError),

    #[error(transparent)]
    ConfigFile(#[from] awsx_config::Error),
}

fn session_needed(profile: &ProfileName, expired: &bool) -> String {
    let what = if *expired {
        format!("break-glass session for {profile} expired")
    } else {
        format!("no break-glass session for {profile}")
    };
    format!("{what}; run: awsx breakglass {profile} --reason \"…\"")
}

impl BreakglassError {
    /// A short, stable code for the audit log's `error_code` field.
    pub fn audit_code(&self) -> String {
        match self {
            BreakglassError::MissingReason { .. } => "MissingReason".into(),
            BreakglassError::NotBreakglass { .. } => "NotBreakglass".into(),
            BreakglassError::Config(_) | BreakglassError::ConfigFile(_) => "Config".into(),
            BreakglassError::NotEnrolled { .. } => "NotEnrolled".into(),
            BreakglassError::Input(_) => "Input".into(),
            BreakglassError::VolatileKeychain { .. } => "VolatileKeychain".into(),
            BreakglassError::SessionNeeded { .. } => "SessionNeeded".into(),
            BreakglassError::Aws { code, .. } => code.clone(),
            BreakglassError::Signin(_) => "SigninFailed".into(),
            BreakglassError::SigninDenied => "SigninDenied".into(),
            BreakglassError::WrongPrincipal { .. } => "WrongPrincipal".into(),
            BreakglassError::Audit { .. } => "Audit".into(),
            BreakglassError::CheckFailed { .. } => "CheckFailed".into(),
            BreakglassError::Store(_) => "Keychain".into(),
            BreakglassError::Setup(_) => "Setup".into(),
        }
    }
}

impl HasExitCode for BreakglassError {
    fn exit_code(&self) -> ExitCode {
        match self {
            BreakglassError::MissingReason { .. }
            | BreakglassError::NotBreakglass { .. }
            | BreakglassError::Config(_)
            | BreakglassError::NotEnrolled { .. }
            | BreakglassError::Input(_) => ExitCode::Usage,
            BreakglassError::VolatileKeychain { fell_back, .. } => {
                if *fell_back {
                    ExitCode::KeychainUnavailable
                } else {
                    ExitCode::Usage
                }
            }
            BreakglassError::SessionNeeded { .. } => ExitCode::LoginRequired,
            BreakglassError::Aws { .. }
            | BreakglassError::Signin(_)
            | BreakglassError::SigninDenied
            | BreakglassError::WrongPrincipal { .. }
            | BreakglassError::Audit { .. }
            | BreakglassError::CheckFailed { .. }
            | BreakglassError::Setup(_) => ExitCode::Failure,
            BreakglassError::Store(e) => e.exit_code(),
            BreakglassError::ConfigFile(e) => e.exit_code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_session_is_exit_3_with_the_command_to_run() {
        let err = BreakglassError::SessionNeeded {
            profile: "prod-bg".parse().unwrap(),
            expired: true,
        };
        assert_eq!(err.exit_code(), ExitCode::LoginRequired);
        assert_eq!(
            err.to_string(),
            "break-glass session for prod-bg expired; run: awsx breakglass prod-bg --reason \"…\""
        );
    }

    #[test]
    fn usage_aws_and_keychain_failures_have_their_codes() {
        let reason = BreakglassError::MissingReason {
            profile: "p".parse().unwrap(),
        };
        assert_eq!(reason.exit_code(), ExitCode::Usage);
        let aws = BreakglassError::Aws {
            operation: "STS AssumeRole",
            code: "AccessDenied".into(),
            message: "m".into(),
            hint: Some("h".into()),
        };
        assert_eq!(aws.exit_code(), ExitCode::Failure);
        assert_eq!(aws.to_string(), "STS AssumeRole failed: AccessDenied: m; h");
        assert_eq!(aws.audit_code(), "AccessDenied");
        let volatile = BreakglassError::VolatileKeychain {
            backend: awsx_keychain::Backend::Keyutils,
            fell_back: true,
        };
        assert_eq!(volatile.exit_code(), ExitCode::KeychainUnavailable);
    }
}
