//! `awsx init SHELL`: print the shell integration (the `awsx` function that applies
//! `awsx use` to the current shell). The script calls this binary by its absolute path, as
//! starship does, so it works whatever PATH the rc file sees.
use std::io::Write;

use crate::cli::InitArgs;
use crate::cmd::Context;
use crate::error::Result;
use crate::shell;

pub fn run(_ctx: &Context, args: InitArgs) -> Result<()> {
    let bin = awsx_path();
    let script = shell::init_script(args.shell, &bin);
    let mut out = std::io::stdout().lock();
    out.write_all(script.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// The `awsx` binary's absolute path, or plain `awsx` (found on PATH) when it cannot be told.
fn awsx_path() -> String {
    awsx_core::install::front_binary()
        .ok()
        .and_then(|p| p.into_os_string().into_string().ok())
        .unwrap_or_else(|| "awsx".to_owned())
}
