//! `awsx doctor` and `awsx migrate`: finding what stands between the user and working
//! credentials, and moving long-lived keys out of `~/.aws/credentials`.
use clap::Args;

/// Check the AWS setup and say how to fix what is wrong.
///
/// Checks the config and credentials files, every awsx profile and the awsx binary its
/// credential_process names, the keychain (and how long a read takes), the hot tier, each
/// SSO session's login, the clock against STS, environment variables that override
/// profiles, long-lived keys in the credentials file and the shell integration.
///
/// With --profile, also runs that profile's credential chain as an SDK would: environment
/// credentials, the profile, its credential_process (run for real; no secret is shown), an
/// AssumeRole when it chains through role_arn/source_profile, and STS GetCallerIdentity.
#[derive(Debug, Args)]
#[command(
    after_help = "Output: one line per check on stdout, ✔ ok, ! warning, ✖ failed, each failure followed by its fix.

Exit codes: 0 nothing failed (warnings allowed), 1 a check failed."
)]
pub struct DoctorArgs {
    /// Also run this profile's credential chain and show each step.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Print {"version":1,"checks":[{"id","status":"ok|fail|warn","summary","fix"?}]} on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Move long-lived access keys out of the credentials file.
///
/// For each long-lived key (AKIA…) in ~/.aws/credentials (or AWS_SHARED_CREDENTIALS_FILE),
/// either enrol it into the keychain as a break-glass IAM user (checked with STS
/// GetCallerIdentity first) or delete it; then rewrite the file atomically, keeping every
/// other byte. At a terminal awsx asks per key; without one, say what to do with flags.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  awsx migrate --dry-run
  awsx migrate --enroll-as breakglass-alice --mfa-serial arn:aws:iam::111122223333:mfa/breakglass-alice --profile bg --yes
  awsx migrate --delete old-ci --yes")]
pub struct MigrateArgs {
    /// Show what would change (a diff with secrets masked) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Rewrite the file without asking (required without a terminal).
    #[arg(short, long)]
    pub yes: bool,
    /// Enrol the key of --profile (or the only long-lived key) as this break-glass IAM user.
    #[arg(long, value_name = "USER", requires = "mfa_serial")]
    pub enroll_as: Option<String>,
    /// The break-glass user's MFA device ARN (with --enroll-as).
    #[arg(long, value_name = "ARN", requires = "enroll_as")]
    pub mfa_serial: Option<String>,
    /// The credentials-file profile whose key --enroll-as takes.
    #[arg(long, value_name = "PROFILE", requires = "enroll_as")]
    pub profile: Option<String>,
    /// Delete the long-lived key of this credentials-file profile (repeatable).
    #[arg(long, value_name = "PROFILE")]
    pub delete: Vec<String>,
    /// Allow enrolling into a keychain that forgets at reboot (kernel keyutils).
    #[arg(long)]
    pub allow_volatile: bool,
    /// After adopting `aws login` profiles, delete the AWS CLI's plaintext session files
    /// (~/.aws/login/cache/<sha256 of the ARN>.json) that were imported into the keychain.
    /// Without it, awsx asks at a terminal and otherwise keeps them.
    #[arg(long)]
    pub delete_cli_cache: bool,
}
