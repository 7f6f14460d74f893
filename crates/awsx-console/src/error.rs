use awsx_core::exit::{ExitCode, HasExitCode};
use awsx_core::types::ProfileName;

/// Why a console sign-in operation failed. Every message says what to do next; none quotes
/// a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(
        "profile {profile} has no console sign-in session in this keychain; run awsx login --console --profile {profile}"
    )]
    NotLoggedIn { profile: ProfileName },
    #[error("{reason}; run awsx login --console --profile {profile}")]
    LoginRequired {
        profile: ProfileName,
        reason: String,
    },
    #[error(
        "the sign-in was denied in the browser; nothing was saved (run awsx login --console again to retry)"
    )]
    Denied,
    #[error(
        "gave up after {waited_secs} s waiting for another awsx process that is refreshing the console session of profile {profile}; try again in a minute, or run awsx doctor"
    )]
    Busy {
        profile: ProfileName,
        waited_secs: u64,
    },
    #[error(
        "cannot reach AWS Sign-In at {endpoint}: {detail}; check the network (or AWS_ENDPOINT_URL_SIGNIN) and try again"
    )]
    Http { endpoint: String, detail: String },
    #[error(transparent)]
    Token(#[from] awsx_signin::TokenError),
    #[error(transparent)]
    Session(#[from] awsx_signin::SessionError),
    #[error("the sign-in could not be completed: {0}")]
    Authorize(#[from] awsx_signin::AuthorizeError),
    #[error(
        "cannot make the session's DPoP key or proof ({0}); try again, and report it if it persists"
    )]
    Key(#[from] awsx_signin::KeyError),
    #[error(transparent)]
    Endpoint(#[from] awsx_signin::EndpointError),
    #[error(transparent)]
    Browser(#[from] awsx_sso::SsoError),
    #[error(transparent)]
    Lock(awsx_sso::lock::LockError),
    #[error(transparent)]
    Store(#[from] awsx_store::StoreError),
    #[error(
        "the AWS CLI's login cache {path} cannot be used: {detail}; run awsx login --console --profile {profile} instead"
    )]
    CliCache {
        path: String,
        profile: ProfileName,
        detail: String,
    },
    #[error("cannot write {path}: {detail}; check that the directory is writable")]
    Io { path: String, detail: String },
}

impl HasExitCode for ConsoleError {
    fn exit_code(&self) -> ExitCode {
        match self {
            ConsoleError::NotLoggedIn { .. } | ConsoleError::LoginRequired { .. } => {
                ExitCode::LoginRequired
            }
            ConsoleError::Token(e) if e.is_login_required() => ExitCode::LoginRequired,
            ConsoleError::Session(_) => ExitCode::LoginRequired,
            ConsoleError::Endpoint(_) | ConsoleError::CliCache { .. } => ExitCode::Usage,
            ConsoleError::Browser(e) => e.exit_code(),
            ConsoleError::Lock(e) => e.exit_code(),
            ConsoleError::Store(e) => e.exit_code(),
            _ => ExitCode::Failure,
        }
    }
}
