//! Errors of the SSO layer (OIDC device flow, token lifecycle, portal).
use awsx_core::exit::{ExitCode, HasExitCode};
use awsx_core::types::{AccountId, RoleName, SsoSessionName};

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error(
        "not logged in to sso-session {session} (or the session expired); run: awsx login --sso-session {session}"
    )]
    LoginRequired { session: SsoSessionName },
    #[error(
        "not logged in to sso-session {session}, and auto-login needs a terminal (there is none here); run: awsx login --sso-session {session}"
    )]
    LoginRequiredNoTerminal { session: SsoSessionName },
    #[error("the login request was denied in the browser; run awsx login again and approve it")]
    Denied,
    #[error(
        "the login code expired before it was approved; run awsx login again and approve it within {minutes} minutes"
    )]
    DeviceCodeExpired { minutes: i64 },
    #[error(
        "the browser login was not completed within {seconds} seconds, so awsx stopped waiting and saved nothing; run awsx login again (or awsx login --device-code to sign in on another device)"
    )]
    BrowserTimedOut { seconds: u64 },
    #[error(
        "the browser's sign-in answer did not carry the state this login sent (another login's, or a forged redirect), so awsx stopped without using it and saved nothing; run awsx login again"
    )]
    BrowserStateMismatch,
    #[error(
        "IAM Identity Center did not authorize the browser login ({error}); saved nothing; run awsx login again, or awsx login --device-code"
    )]
    AuthorizeFailed { error: String },
    #[error(
        "the browser login cannot receive the sign-in redirect: {what}; run awsx login --device-code instead"
    )]
    Loopback { what: String },
    #[error(
        "no access to role {role} in account {account}: the portal says the role is not assigned to you any more; run awsx sync to update your profiles, or ask your administrator"
    )]
    NoAccess { account: AccountId, role: RoleName },
    #[error(
        "IAM Identity Center is throttling requests (TooManyRequests) and retries ran out; wait a minute and try again"
    )]
    Throttled,
    #[error(
        "IAM Identity Center {operation} failed: {message}; check your network and the sso-session's region and start URL, then try again"
    )]
    Service {
        operation: &'static str,
        message: String,
    },
    #[error(
        "IAM Identity Center {operation} returned a reply awsx cannot use ({what}); try again, and report it if it persists"
    )]
    BadReply {
        operation: &'static str,
        what: &'static str,
    },
    #[error(
        "IAM Identity Center {operation} returned credentials that had already expired when they arrived; check this machine's clock (awsx doctor compares it with AWS's), then try again"
    )]
    ExpiredOnArrival { operation: &'static str },
    #[error(
        "the AWS CLI's token cache entry {} is unreadable ({what}); run awsx login without --import-aws-cli",
        path.display()
    )]
    AwsCliCache {
        path: std::path::PathBuf,
        what: String,
    },
    #[error(transparent)]
    Setup(#[from] awsx_aws::SetupError),
    #[error(transparent)]
    Store(#[from] awsx_store::StoreError),
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
}

impl HasExitCode for SsoError {
    fn exit_code(&self) -> ExitCode {
        match self {
            SsoError::LoginRequired { .. } | SsoError::LoginRequiredNoTerminal { .. } => {
                ExitCode::LoginRequired
            }
            SsoError::Store(err) => err.exit_code(),
            // Another process is logging in (3) or fetching (1) and did not finish in time.
            SsoError::Lock(err) => err.exit_code(),
            _ => ExitCode::Failure,
        }
    }
}

pub(crate) use awsx_aws::describe_sdk_error as describe;
