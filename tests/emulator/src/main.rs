//! `awsx-emulator`: serve the emulated AWS endpoints on 127.0.0.1 until told to stop.
//! The first stdout line is the base URL, so a script can read it and go on.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use awsx_emulator::{Emulator, Fixture};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "awsx-emulator",
    about = "Serve an emulated IAM Identity Center, STS, IAM and console federation on 127.0.0.1"
)]
struct Args {
    /// World to serve (TOML); the built-in startup organisation when absent.
    #[arg(long, value_name = "FILE")]
    fixture: Option<PathBuf>,
    /// Port to listen on; 0 lets the OS choose.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Approve every device code as the fixture's first user after SECONDS (0: at the first poll).
    #[arg(long, value_name = "SECONDS")]
    auto_approve: Option<f64>,
    /// After the URL, print `export AWS_ENDPOINT_URL_…=…` lines for a shell to eval.
    #[arg(long)]
    print_env: bool,
    /// Exit when standard input reaches end of file (the parent went away).
    #[arg(long)]
    exit_on_stdin_close: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let fixture = match &args.fixture {
        Some(path) => match Fixture::load(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("awsx-emulator: cannot load fixture {}: {e}", path.display());
                return std::process::ExitCode::from(2);
            }
        },
        None => Fixture::default(),
    };
    let auto_approve = match args.auto_approve.map(Duration::try_from_secs_f64) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => {
            eprintln!("awsx-emulator: bad --auto-approve: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let emulator = match Emulator::builder()
        .fixture(fixture)
        .auto_approve(auto_approve)
        .port(args.port)
        .start()
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!(
                "awsx-emulator: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            );
            return std::process::ExitCode::from(1);
        }
    };
    let url = emulator.url();
    let mut out = std::io::stdout().lock();
    let mut lines = vec![url.clone()];
    if args.print_env {
        for var in [
            "AWS_ENDPOINT_URL_SSO",
            "AWS_ENDPOINT_URL_SSO_OIDC",
            "AWS_ENDPOINT_URL_STS",
            "AWS_ENDPOINT_URL_IAM",
            "AWS_ENDPOINT_URL_SIGNIN",
        ] {
            lines.push(format!("export {var}={url}"));
        }
        lines.push(format!("export AWSX_SIGNIN_ENDPOINT={url}/federation"));
    }
    for line in lines {
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            return std::process::ExitCode::from(1);
        }
    }
    drop(out);
    wait_for_stop(args.exit_on_stdin_close);
    drop(emulator);
    std::process::ExitCode::SUCCESS
}

/// Blocks until SIGINT, SIGTERM or (when asked) end of stdin.
fn wait_for_stop(exit_on_stdin_close: bool) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async move {
        let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
        if exit_on_stdin_close {
            std::thread::spawn(move || {
                let mut sink = [0u8; 4096];
                let mut stdin = std::io::stdin();
                while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
                let _ = eof_tx.send(());
            });
        }
        let stdin_closed = async move {
            if exit_on_stdin_close {
                let _ = eof_rx.await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
            () = stdin_closed => {}
        }
    });
}
