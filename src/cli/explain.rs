//! `awsx explain`: what an AWS credential error means and what to check, in order.
use clap::Args;

/// Explain an AWS credential error: what it means, and its causes in the order to check.
///
/// Recognises AccessDenied on sts:AssumeRole, "Unable to locate credentials" (and the
/// SDKs' NoCredentialProviders, "Could not load credentials from any providers"),
/// ExpiredToken, InvalidClientTokenId, SignatureDoesNotMatch and "The SSO session
/// associated with this profile has expired", as the AWS CLI, boto3 and the Rust, Go,
/// JavaScript and Java SDKs print them.
///
/// It then looks at what awsx can see: the profile's credential chain as an SDK walks it
/// (its credential_process run for real, the AssumeRole of role chaining, STS
/// GetCallerIdentity), credentials in the environment, the SSO login and the clock. For
/// AccessDenied on AssumeRole it gives the three usual causes in order (the role's trust
/// policy, the caller's sts:AssumeRole permission, a service control policy), each with the
/// policy statement to check, filled in with the ARNs of the message.
///
/// The error text comes from the arguments, from stdin when there are none and stdin is
/// not a terminal (aws s3 ls 2>&1 | awsx explain), or, with --last, from awsx's own last
/// failure (credential-process, export and exec record theirs). A command run by awsx exec
/// keeps its errors on the terminal: pipe them in to have them explained.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  aws sts get-caller-identity --profile deploy 2>&1 | awsx explain --profile deploy
  awsx explain 'Unable to locate credentials. You can configure credentials by running \"aws configure\".'
  awsx explain --last

Output: what the error means, the profile's credential chain as awsx sees it, then the causes \
in the order to check: ✔ awsx ruled it out, ✖ awsx found it, ! check it yourself; each with its fix.

Exit codes: 0 explained, 1 the text is not an error awsx explain recognises, 2 nothing to \
explain (no text given, or --last with no failure recorded).")]
pub struct ExplainArgs {
    /// The error message; several arguments are joined with spaces. Read from stdin when absent.
    #[arg(value_name = "ERROR", conflicts_with = "last")]
    pub text: Vec<String>,
    /// Explain awsx's own last failure (of credential-process, export or exec).
    #[arg(long)]
    pub last: bool,
    /// The profile to look at [default: the failure's or the message's, else AWS_PROFILE, else default].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Print {"version":1,"error","diagnosis","profile","message","seen","causes":[{"id","status","title","summary","fix"?,"snippet"?}],"last"?} on stdout.
    #[arg(long)]
    pub json: bool,
}
