//! The command line, as clap derive types. `--help`, the shell completions and the man page
//! are all generated from these definitions, so they cannot drift apart.
use clap::{Parser, Subcommand};

/// SSO logins, keychain-cached short-lived AWS credentials and account switching.
///
/// awsx replaces static access keys on developer machines: log in through IAM Identity
/// Center once a day, and every AWS CLI and SDK call gets short-lived role credentials
/// from the OS keychain through `credential_process`.
#[derive(Debug, Parser)]
#[command(name = "awsx", version, about, long_about, propagate_version = true)]
#[command(after_help = "Exit codes: 0 success, 1 operation failed, 2 usage or configuration error, \
3 login required, 4 keychain unavailable.")]
pub struct Cli {
    /// Log what awsx does to stderr (secrets are always redacted). Same as AWSX_LOG=debug.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {}
