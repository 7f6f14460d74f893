//! `awsx credential-process --profile NAME`: the Version 1 JSON on stdout for the AWS CLI
//! and SDKs, nothing else there. Failures are one stderr line that the SDK shows the user.
use std::io::Write;

use crate::cli::CredentialProcessArgs;
use crate::cmd::{Context, common, credentials};
use crate::error::Result;

pub fn run(ctx: &Context, args: CredentialProcessArgs) -> Result<()> {
    // One bound for everything this call may wait for (see `awsx_core::deadline`).
    awsx_core::deadline::start(awsx_core::deadline::CREDENTIAL_PROCESS);
    let name = common::profile_name(ctx, args.profile.as_deref())?;
    let (creds, profile) = credentials::for_profile(ctx, &name)?;
    let account = awsx_creds::account_of(&profile);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", creds.to_process_json(account.as_ref()))?;
    out.flush()?;
    Ok(())
}
