//! The top-level error: one variant per layer, each of which knows its exit code and
//! already says what the user should do next.
use awsx_core::exit::{ExitCode, HasExitCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asked for something impossible.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Scan(#[from] crate::scan::ScanError),
    #[error(transparent)]
    Config(#[from] awsx_config::Error),
    #[error(transparent)]
    Settings(#[from] awsx_config::settings::Error),
    #[error(transparent)]
    Store(#[from] awsx_keychain::StoreError),
    #[error(transparent)]
    Sso(#[from] awsx_sso::SsoError),
    #[error(transparent)]
    Setup(#[from] awsx_aws::SetupError),
    #[error(transparent)]
    Console(#[from] awsx_console::ConsoleError),
    /// A call to AWS outside the SSO layer (STS, console federation) failed; the message
    /// says what to do.
    #[error("{operation} failed: {message}")]
    Remote {
        operation: &'static str,
        message: String,
    },
    /// Writing to stdout failed (the reader went away): nothing useful can be said.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Breakglass(#[from] crate::breakglass::BreakglassError),
    /// Writing machine-read output (completions, man pages) failed.
    #[error("cannot write {what}: {source}")]
    WriteOutput {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Doctor(#[from] crate::doctor::DoctorError),
    #[error(transparent)]
    Explain(#[from] crate::explain::ExplainError),
    /// `exec --server` could not start its local credential endpoint or wait for the command.
    #[error(
        "the local credential endpoint failed: {0}; run the command with plain `awsx exec` instead"
    )]
    Endpoint(#[source] std::io::Error),
}

/// A usage error: the user's installation, not an operation, is at fault.
impl From<crate::sync::UnquotableInstallPath> for Error {
    fn from(err: crate::sync::UnquotableInstallPath) -> Self {
        Error::Usage(err.to_string())
    }
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage(_) => ExitCode::Usage,
            Error::Scan(err) => err.exit_code(),
            Error::Config(err) => err.exit_code(),
            Error::Settings(err) => err.exit_code(),
            Error::Store(err) => err.exit_code(),
            Error::Sso(err) => err.exit_code(),
            Error::Console(err) => err.exit_code(),
            Error::Setup(_) | Error::Output(_) | Error::Remote { .. } => ExitCode::Failure,
            Error::Breakglass(err) => err.exit_code(),
            Error::Doctor(err) => err.exit_code(),
            Error::Explain(err) => err.exit_code(),
            Error::WriteOutput { .. } | Error::Endpoint(_) => ExitCode::Failure,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
