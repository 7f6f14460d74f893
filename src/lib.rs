//! awsx: SSO device-code login, short-lived role credentials cached in the OS keychain,
//! `credential_process` for every AWS SDK, and account switching in the shell.
//!
//! Library code never prints; `cmd::*` renders. stdout is reserved for machine-read output.
#![forbid(unsafe_code)]
pub mod breakglass;
pub mod cli;
pub mod cmd;
pub mod credserver;
pub mod doctor;
pub mod error;
pub mod explain;
pub mod scan;
pub mod shell;
pub mod sync;

use awsx_core::exit::{self, HasExitCode};
use awsx_core::{env, secret};
use clap::Parser;

/// Parse the command line, run the command, and turn the outcome into an exit code.
pub fn main() -> std::process::ExitCode {
    // The completion scripts' callback runs before clap: see `cmd::complete_profiles`.
    let outcome = if std::env::args_os().nth(1).as_deref()
        == Some(std::ffi::OsStr::new(cmd::complete_profiles::SUBCOMMAND))
    {
        cmd::complete_profiles::run(&env::Env::from_process())
    } else {
        cmd::run(cli::Cli::parse())
    };
    match outcome {
        Ok(()) => exit::ExitCode::Success.into(),
        Err(err) => {
            // Scrubbed by value: a message may quote a server's reply that echoed a secret.
            eprintln!("awsx: {}", secret::scrub(&err.to_string()));
            err.exit_code().into()
        }
    }
}
