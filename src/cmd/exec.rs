//! `awsx exec [PROFILE] -- CMD ARGS…`: run a command with a profile's credentials in its
//! environment. Secrets go into the child's environment, never its argv.
//!
//! On Unix awsx `exec`s the command (the process becomes it), so the exit code, signals and
//! job control are the command's own with nothing in between. Elsewhere it spawns the
//! command, waits and exits with its code. A command that cannot be found exits 127 and one
//! that cannot be run 126, as `env` and the shells do.
use std::process::Command;

use crate::cli::ExecArgs;
use crate::cmd::{Context, common, credentials};
use crate::config::AwsxProfile;
use crate::error::{Error, Result};

pub fn run(ctx: &Context, args: ExecArgs) -> Result<()> {
    let given = args.name.as_deref().or(args.profile.as_deref());
    let name = common::profile_name(ctx, given)?;
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::Usage(
            "no command given; usage: awsx exec NAME -- CMD ARGS...".to_owned(),
        ));
    };
    let (creds, profile) = credentials::for_profile(ctx, &name)?;
    let region = match &profile {
        AwsxProfile::Sso(p) => p.region.as_ref().map(|r| r.to_string()),
        AwsxProfile::BreakGlass(p) => p.region.as_ref().map(|r| r.to_string()),
    };
    let mut command = Command::new(program);
    command
        .args(rest)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE")
        .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.expose())
        .env("AWS_SESSION_TOKEN", creds.session_token.expose())
        .env("AWS_CREDENTIAL_EXPIRATION", creds.expiration.to_rfc3339())
        .env("AWSX_PROFILE", name.as_str());
    if let Some(region) = &region {
        command
            .env("AWS_REGION", region)
            .env("AWS_DEFAULT_REGION", region);
    }
    let shown = program.to_string_lossy();
    let failed = |err: std::io::Error| -> ! {
        let (code, why) = match err.kind() {
            std::io::ErrorKind::NotFound => (127, "command not found".to_owned()),
            std::io::ErrorKind::PermissionDenied => (126, "permission denied".to_owned()),
            _ => (126, err.to_string()),
        };
        eprintln!("awsx exec: {shown}: {why}");
        std::process::exit(code)
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Only returns on failure.
        failed(command.exec())
    }
    #[cfg(not(unix))]
    {
        match command.status() {
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(err) => failed(err),
        }
    }
}
