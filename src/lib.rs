//! awsx: SSO device-code login, short-lived role credentials cached in the OS keychain,
//! `credential_process` for every AWS SDK, and account switching in the shell.
//!
//! Library code never prints; `cmd::*` renders. stdout is reserved for machine-read output.
pub mod aws;
pub mod cli;
pub mod cmd;
pub mod complete;
pub mod config;
pub mod creds;
pub mod env;
pub mod error;
pub mod exit;
pub mod history;
pub mod lock;
pub mod scan;
pub mod secret;
pub mod settings;
pub mod shell;
pub mod sso;
pub mod store;
pub mod sync;
pub mod types;

use clap::Parser;
use exit::HasExitCode;

/// Parse the command line, run the command, and turn the outcome into an exit code.
pub fn main() -> std::process::ExitCode {
    // `COMPLETE=<shell> awsx …` is the shell asking for completions (see `complete`).
    clap_complete::CompleteEnv::with_factory(<cli::Cli as clap::CommandFactory>::command)
        .complete();
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => exit::ExitCode::Success.into(),
        Err(err) => {
            eprintln!("awsx: {err}");
            err.exit_code().into()
        }
    }
}
