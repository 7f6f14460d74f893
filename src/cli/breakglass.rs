//! `awsx breakglass …`: kept in its own file so that it merges cleanly with the other
//! subcommands of `cli.rs`.
use clap::{Args, Subcommand};

use awsx_core::types::{AccountId, IamUserName, ProfileName, RoleName};

/// Break-glass access: assume an account's break-glass role with MFA when SSO is down.
///
/// `awsx breakglass PROFILE --reason "INC-123: IdP outage"` asks for the MFA code of the
/// profile's break-glass IAM user (on the terminal, or one line of stdin), assumes the
/// role with STS AssumeRole (SourceIdentity naming you, the reason as a session tag, 1 h
/// at most), records the attempt in the audit log, runs the notify hook, and caches the
/// session in the keychain. `credential-process` and `exec` then serve it until one minute
/// before it ends (warning in the last 15 minutes), and exit 3 afterwards: a new session
/// needs a new MFA code and reason. Nothing of IAM Identity Center is used.
///
/// The profile in ~/.aws/config:
///   [profile prod-breakglass]
///   credential_process = awsx credential-process --profile prod-breakglass
///   awsx_breakglass_role_arn = arn:aws:iam::500000000005:role/BreakGlass
///   awsx_breakglass_user = breakglass-alice
///   # optional: the MFA device (default: the enrolled one), who you are to AWS
///   # (default: your user name), the session length (default and cap: 1h)
///   awsx_mfa_serial = arn:aws:iam::100000000001:mfa/breakglass-alice
///   awsx_breakglass_identity = alice@example.com
///   awsx_breakglass_duration = 30m
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    verbatim_doc_comment
)]
#[command(
    after_help = "Exit codes: 0 session granted, 1 AWS refused or failed (wrong MFA code, trust policy), \
2 usage or configuration (no reason, not enrolled), 3 (status) no valid session, 4 keychain unavailable."
)]
pub struct BreakglassArgs {
    #[command(subcommand)]
    pub command: Option<BreakglassCommand>,

    #[command(flatten)]
    pub assume: AssumeArgs,
}

#[derive(Debug, Subcommand)]
pub enum BreakglassCommand {
    /// Same as `awsx breakglass PROFILE …`, for a profile named like a subcommand.
    Assume(AssumeArgs),
    Enroll(EnrollArgs),
    Log(LogArgs),
    Policy(PolicyArgs),
    Status(BreakglassStatusArgs),
    Check(CheckArgs),
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
pub struct AssumeArgs {
    /// The break-glass profile (also --profile).
    #[arg(
        value_name = "PROFILE",
        required_unless_present = "profile_flag",
        conflicts_with = "profile_flag"
    )]
    pub profile: Option<ProfileName>,

    #[arg(long = "profile", value_name = "PROFILE", hide = true)]
    pub profile_flag: Option<ProfileName>,

    /// Why: an incident or ticket and what happened. Required; it goes into the audit log
    /// in full and, sanitised, into the session tag BreakGlassReason that CloudTrail shows.
    #[arg(long, short = 'r', value_name = "TEXT")]
    pub reason: Option<String>,

    /// Session length, e.g. 30m (default: the profile's awsx_breakglass_duration, else 1h;
    /// at most 1h, at least 15m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,

    /// Run `sh -c COMMAND` with the audit event as JSON on stdin (overrides the
    /// breakglass_notify_command setting). Its failure is only a warning.
    #[arg(long, value_name = "COMMAND")]
    pub notify_command: Option<String>,

    /// For a user enrolled with --console, over SSH: print the sign-in URL to open on any
    /// device and read the code its page shows, instead of opening a browser here.
    #[arg(long)]
    pub remote: bool,
}

impl AssumeArgs {
    pub fn profile(&self) -> Option<&ProfileName> {
        self.profile.as_ref().or(self.profile_flag.as_ref())
    }
}

/// Store a break-glass IAM user's access key in the keychain, or (--console) enrol the
/// user for console sign-in, with no key at all.
///
/// With --console: the user signs in through the browser once (AWS Sign-In, as `aws login`
/// does; --remote for SSH), which proves the console sign-in works; awsx stores only the
/// user's ARN and MFA device. `awsx breakglass PROFILE` then signs in the same way and
/// assumes the role with the MFA code. The user needs the AWS managed policy
/// SignInLocalDevelopmentAccess (see `awsx breakglass policy --console`).
///
/// Otherwise: reads the access key id and the secret access key from the terminal without echo, or
/// as two lines of stdin when it is not a terminal (never from the command line). Checks
/// the key with STS GetCallerIdentity, records its creation date (IAM ListAccessKeys), and
/// stores both in the keychain entry breakglass-key:USER. Refuses the kernel keyring,
/// which forgets at reboot, unless --allow-volatile. If the same key sits in
/// ~/.aws/credentials, offers to remove it there (keeping the rest of the file as is).
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The break-glass IAM user (in the management account).
    #[arg(long, value_name = "NAME")]
    pub user: IamUserName,

    /// The user's virtual MFA device, arn:aws:iam::ACCOUNT:mfa/NAME.
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: String,

    /// Accept a keychain that loses the key at reboot (kernel keyutils).
    #[arg(long)]
    pub allow_volatile: bool,

    /// Remove the key from ~/.aws/credentials without asking.
    #[arg(long, conflicts_with = "console")]
    pub remove_from_credentials: bool,

    /// Keyless: the source credentials come from the user's console sign-in; no access key
    /// is read or stored.
    #[arg(long)]
    pub console: bool,

    /// With --console, over SSH: print the sign-in URL and read the code its page shows.
    #[arg(long, requires = "console")]
    pub remote: bool,

    /// With --console: the sign-in endpoint's region (default us-east-1).
    #[arg(long, value_name = "REGION", requires = "console")]
    pub region: Option<String>,
}

/// Show the break-glass audit log (every attempt, granted or not).
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Print {"version":1,"path":…,"events":[…]}; each event has the fields of one log
    /// line: version, time, event, result, error_code, error, os_user, host, identity,
    /// profile, role_arn, iam_user, mfa_serial, reason, session_name, assumed_role_arn,
    /// access_key_id, duration_seconds, expiration, awsx_version.
    #[arg(long)]
    pub json: bool,
}

/// Print the IAM policies that set up break-glass, ready to paste.
///
/// Prints {"trust_policy": …, "user_policy": …} on stdout; with --only, just that one
/// policy document. The trust policy goes on the break-glass role in every account; the
/// user policy on the break-glass users in the management account.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The management account, where the break-glass IAM users live.
    #[arg(long, value_name = "ID")]
    pub management_account: AccountId,

    /// The break-glass IAM users.
    #[arg(long, value_name = "NAME", num_args = 1.., required = true)]
    pub users: Vec<IamUserName>,

    /// The break-glass role's name in every account.
    #[arg(long, value_name = "NAME", default_value = "BreakGlass")]
    pub role_name: RoleName,

    /// Largest aws:MultiFactorAuthAge the trust policy accepts, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub max_mfa_age: u64,

    /// The AWS partition: aws, aws-us-gov or aws-cn.
    #[arg(long, default_value = "aws")]
    pub partition: String,

    /// The users are keyless (enroll --console): the user policy allows AWS Sign-In's
    /// signin:AuthorizeOAuth2Access and signin:CreateOAuth2Token (what the AWS managed
    /// policy SignInLocalDevelopmentAccess grants) instead of managing access keys. The
    /// trust policy is the same for both: MFA is proven by the code sent with AssumeRole.
    #[arg(long)]
    pub console: bool,

    /// Print only one policy document.
    #[arg(long, value_parser = ["trust", "user"])]
    pub only: Option<String>,
}

/// Show enrolled users and break-glass sessions; with PROFILE, exit 3 unless it has one.
#[derive(Debug, Args)]
pub struct BreakglassStatusArgs {
    #[arg(value_name = "PROFILE")]
    pub profile: Option<ProfileName>,
}

/// Drill: check that each enrolled key still works and is not too old (90 days).
#[derive(Debug, Args)]
pub struct CheckArgs {}

/// Replace a user's enrolled key with a new one (IAM CreateAccessKey, verify, then
/// DeleteAccessKey of the old one). The keychain is updated only once the new key works.
#[derive(Debug, Args)]
pub struct RotateArgs {
    #[arg(long, value_name = "NAME")]
    pub user: IamUserName,
}

/// `3600`, `3600s`, `30m`, `1h`.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    awsx_core::types::parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration; use e.g. 30m or 1h"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("30m").unwrap().as_secs(), 1800);
        assert_eq!(parse_duration("1h").unwrap().as_secs(), 3600);
        assert_eq!(parse_duration("900").unwrap().as_secs(), 900);
        assert!(parse_duration("1d").is_err());
    }
}
