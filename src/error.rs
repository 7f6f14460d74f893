//! The top-level error: one variant per layer, each of which knows its exit code and
//! already says what the user should do next.
use crate::exit::{ExitCode, HasExitCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asked for something impossible.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Scan(#[from] crate::scan::ScanError),
    #[error(transparent)]
    Breakglass(#[from] crate::breakglass::BreakglassError),
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage(_) => ExitCode::Usage,
            Error::Scan(err) => err.exit_code(),
            Error::Breakglass(err) => err.exit_code(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
