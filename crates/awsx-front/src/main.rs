//! `awsx`: answers a `credential-process` cache hit itself, and hands every other command
//! line to `awsx-main`, installed next to it (see `front` for why).
//!
//! This package's dependencies are the point: awsx-core, awsx-store, awsx-config and
//! awsx-creds, never the AWS SDK, tokio, D-Bus, clap, hyper or rustls (CI checks it with
//! `cargo tree`), so that the process every AWS call waits for starts about as fast as `cat`.
#![forbid(unsafe_code)]
use std::io::Write;

mod front;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| "awsx".into());
    let args: Vec<_> = args.collect();
    if let Some(json) = front::serve(&args, &awsx_core::env::Env::from_process()) {
        let mut out = std::io::stdout().lock();
        return match writeln!(out, "{json}").and_then(|()| out.flush()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    let err = front::hand_over(&arg0, &args);
    eprintln!(
        "awsx: cannot run {}: {err}; awsx and {} are installed side by side: reinstall awsx",
        awsx_core::install::main_binary()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| awsx_core::install::MAIN_BINARY.to_owned()),
        awsx_core::install::MAIN_BINARY
    );
    // A broken installation is a configuration error (2), not a failed operation (1): a
    // script retrying on 1 would retry forever.
    ExitCode::from(awsx_core::exit::ExitCode::Usage as u8)
}
