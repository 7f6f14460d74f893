//! `awsx exec [PROFILE] -- CMD ARGS…`: run a command with a profile's credentials in its
//! environment. Secrets go into the child's environment, never its argv.
//!
//! On Unix awsx `exec`s the command (the process becomes it), so the exit code, signals and
//! job control are the command's own with nothing in between. Elsewhere it spawns the
//! command, waits and exits with its code. A command that cannot be found exits 127 and one
//! that cannot be run 126, as `env` and the shells do.
//!
//! With `--server` the credentials stay out of the environment: awsx serves them from a
//! local endpoint ([`crate::credserver`]) for as long as the command runs (see
//! [`exec_server`](super::exec_server)).
use std::ffi::OsStr;
use std::process::Command;

use crate::cli::ExecArgs;
use crate::cmd::{Context, common, credentials, exec_server};
use crate::error::{Error, Result};
use awsx_config::AwsxProfile;

pub fn run(ctx: &Context, args: ExecArgs) -> Result<()> {
    let given = args.name.as_deref().or(args.profile.as_deref());
    let name = common::profile_name(ctx, given)?;
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::Usage(
            "no command given; usage: awsx exec NAME -- CMD ARGS...".to_owned(),
        ));
    };
    // Resolved before the command starts, with --server too: an unknown profile or a
    // needed login fails here, not at the command's first AWS call.
    let (creds, profile) = credentials::for_profile(ctx, &name)?;
    let region = match &profile {
        AwsxProfile::Sso(p) => p.region.as_ref().map(|r| r.to_string()),
        AwsxProfile::BreakGlass(p) => p.region.as_ref().map(|r| r.to_string()),
        AwsxProfile::Console(p) => p.region.as_ref().map(|r| r.to_string()),
    };
    let mut command = Command::new(program);
    command
        .args(rest)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE")
        .env("AWSX_PROFILE", name.as_str());
    if let Some(region) = &region {
        command
            .env("AWS_REGION", region)
            .env("AWS_DEFAULT_REGION", region);
    }
    if args.server {
        drop(creds);
        let code = exec_server::run(ctx, name, &profile, command)?;
        std::process::exit(code)
    }
    command
        .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.expose())
        .env("AWS_SESSION_TOKEN", creds.session_token.expose())
        .env("AWS_CREDENTIAL_EXPIRATION", creds.expiration.to_rfc3339());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Only returns on failure.
        failed_to_start(program, &command.exec())
    }
    #[cfg(not(unix))]
    {
        match command.status() {
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(err) => failed_to_start(program, &err),
        }
    }
}

/// The command could not be started: 127 when it does not exist, 126 otherwise, as `env`
/// and the shells say it.
pub(super) fn failed_to_start(program: &OsStr, err: &std::io::Error) -> ! {
    let (code, why) = match err.kind() {
        std::io::ErrorKind::NotFound => (127, "command not found".to_owned()),
        std::io::ErrorKind::PermissionDenied => (126, "permission denied".to_owned()),
        _ => (126, err.to_string()),
    };
    eprintln!("awsx exec: {}: {why}", program.to_string_lossy());
    std::process::exit(code)
}
