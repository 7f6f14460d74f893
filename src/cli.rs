//! The command line, as clap derive types. `--help`, the shell completions and the man page
//! are all generated from these definitions, so they cannot drift apart.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod breakglass;
pub use breakglass::*;

/// SSO logins, keychain-cached short-lived AWS credentials and account switching.
///
/// awsx replaces static access keys on developer machines: log in through IAM Identity
/// Center once a day, and every AWS CLI and SDK call gets short-lived role credentials
/// from the OS keychain through `credential_process`.
#[derive(Debug, Parser)]
#[command(name = "awsx", version, about, long_about, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 operation failed, 2 usage or configuration error, \
3 login required, 4 keychain unavailable."
)]
pub struct Cli {
    /// Log what awsx does to stderr (secrets are always redacted). Same as AWSX_LOG=debug.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Scan(ScanArgs),
    Breakglass(BreakglassArgs),
}

/// Find AWS access keys in files and in the environment.
///
/// Reports access key IDs that are credentials (AKIA long-lived, ASIA temporary, ABIA STS
/// bearer token, ACCA context-specific), whether their 40-character secret access key sits
/// next to them (same line, or labelled `aws_secret_access_key`, `AWS_SECRET_ACCESS_KEY`,
/// `"SecretAccessKey"`, `secret_key` … within 5 lines), and labelled secrets found without
/// an ID. Keys are shown as `AKIA…WXYZ`; the full key and the secret are never printed.
///
/// With no PATH, scans the usual suspects in your home directory: ~/.aws/credentials
/// (or AWS_SHARED_CREDENTIALS_FILE), ~/.aws/config (or AWS_CONFIG_FILE), shell rc files and
/// histories (bash, zsh, fish, PowerShell), .env and .envrc files directly in HOME, ~/.s3cfg,
/// ~/.boto, ~/.passwd-s3fs and rclone.conf.
///
/// With PATHs, walks them in parallel, including hidden files and files that .gitignore
/// ignores (an ignored .env is still a key on your laptop; --respect-gitignore skips them
/// for speed). It skips .git directories, binary files (a NUL byte near the start) and
/// files over --max-filesize, and does not follow symlinks. A file named as PATH is always
/// searched, binary or not.
///
/// The process environment is scanned too (every variable, not only AWS_ACCESS_KEY_ID)
/// unless --no-env is given. AWS's documentation example keys (ending in EXAMPLE) are
/// skipped unless --include-examples is given.
#[derive(Debug, Args)]
#[command(
    after_help = "Output: one line per finding on stdout, `PATH:LINE: AKIA…WXYZ (long-lived access key id, \
with secret)`, sorted by path and line, environment first (`env:NAME: …`). A summary goes to stderr.

Exit codes: 0 no keys found, 1 keys found, 2 error (a PATH that does not exist, HOME unknown)."
)]
pub struct ScanArgs {
    /// Files or directories to scan (default: the usual suspects in your home directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Print findings as one JSON document on stdout: {"version":1,"findings":[{"source",
    /// "path","line","variable","kind","key_id_redacted","has_secret"}],"files_scanned",
    /// "skipped_binary","skipped_too_large","unreadable"}.
    #[arg(long)]
    pub json: bool,

    /// Skip what .gitignore, .git/info/exclude, the global gitignore and .ignore files
    /// exclude, as ripgrep does. Faster on trees full of build output, but misses keys in
    /// ignored files such as .env.
    #[arg(long)]
    pub respect_gitignore: bool,

    /// Search binary files too (by default a file with a NUL byte in its first 64 KiB is skipped).
    #[arg(long)]
    pub binary: bool,

    /// Follow symbolic links while walking.
    #[arg(short = 'L', long)]
    pub follow: bool,

    /// Skip files larger than this; suffixes K, M and G (powers of 1024) are allowed.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub max_filesize: u64,

    /// Report AWS's documentation example keys (AKIAIOSFODNN7EXAMPLE and others ending in EXAMPLE).
    #[arg(long)]
    pub include_examples: bool,

    /// Do not scan the process environment.
    #[arg(long)]
    pub no_env: bool,

    /// Number of threads for the walk (default: one per core).
    #[arg(
        short = 'j',
        long,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub threads: usize,
}

/// `64M` → 67108864. Sizes are small integers with an optional K/M/G suffix, as in ripgrep.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((i, 'K' | 'k')) => (&text[..i], 10),
        Some((i, 'M' | 'm')) => (&text[..i], 20),
        Some((i, 'G' | 'g')) => (&text[..i], 30),
        _ => (text, 0),
    };
    let n: u64 = digits.parse().map_err(|_| {
        format!(
            "{text:?} is not a size; use a number with an optional K, M or G suffix, such as 64M"
        )
    })?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
