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
    Config(#[from] crate::config::Error),
    /// Writing machine-read output (completions, man pages) failed.
    #[error("cannot write {what}: {source}")]
    Output {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage(_) => ExitCode::Usage,
            Error::Scan(err) => err.exit_code(),
            Error::Config(err) => err.exit_code(),
            Error::Output { .. } => ExitCode::Failure,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
