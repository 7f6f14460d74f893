//! The process exit codes awsx documents (README, "Exit codes"). Scripts and the AWS SDKs
//! that run `awsx credential-process` tell failures apart by these numbers, so they never change.

/// What the process tells its caller when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// The command did what was asked.
    Success = 0,
    /// An operation failed: network, an AWS error, a file that could not be written.
    Failure = 1,
    /// The command line or a configuration file is wrong.
    Usage = 2,
    /// No valid session and no terminal to log in from.
    LoginRequired = 3,
    /// The keychain is unreachable, locked or not answering.
    KeychainUnavailable = 4,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// Every layer's error says which exit code it means.
pub trait HasExitCode {
    fn exit_code(&self) -> ExitCode;
}
