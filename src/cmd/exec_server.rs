//! `awsx exec --server [PROFILE] -- CMD…`: run CMD with a local credential endpoint instead
//! of environment credentials, so that a process that runs for hours (`terraform apply`, a
//! dev server, a notebook, a container on the host network) always has fresh credentials.
//!
//! CMD's environment names the endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`) and its
//! bearer token (`AWS_CONTAINER_AUTHORIZATION_TOKEN`); every SDK's default chain ends at
//! the container provider, so everything that would come before it is removed: static and
//! session keys, `AWS_PROFILE` (botocore's profile providers, credential_process included,
//! run first), web identity. Each request is served by awsx's normal path (hot tier,
//! keychain, single-flight refresh), so it is as fast and as fresh as `credential-process`.
//!
//! awsx stays CMD's parent: it exits with CMD's exit code (128+N when signal N ended CMD,
//! as shells report it) and forwards the signals sent to it. SIGINT and SIGQUIT typed at
//! the terminal already reach CMD, which is in the terminal's foreground process group
//! with awsx: those are forwarded only when awsx is not in that group, so a Ctrl-C is
//! never delivered twice (Terraform, for one, treats a second interrupt as "abort now").
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::cmd::{Context, credentials};
use crate::credserver::{self, Endpoint, Failure, Served};
use crate::error::{Error, Result};
use awsx_config::{AwsxProfile, ConfigFile};
use awsx_core::exit::{ExitCode, HasExitCode};
use awsx_core::types::{AccountId, ProfileName};

/// What would make an SDK in CMD take credentials from somewhere else than the endpoint
/// (each comes before the container provider in the SDKs' default chains), or would
/// point the container provider elsewhere.
const REMOVED: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// Start the endpoint, run `command` with it, and return the exit code to leave with.
pub fn run(
    ctx: &Context,
    name: ProfileName,
    profile: &AwsxProfile,
    mut command: Command,
) -> Result<i32> {
    let source = Arc::new(ProfileSource {
        ctx: Context {
            env: ctx.env.clone(),
            verbose: ctx.verbose,
        },
        account_id: awsx_creds::account_of(profile),
        name,
        last_failure: Mutex::new(None),
    });
    if let Some(outranking) = default_profile_credentials(ctx) {
        eprintln!(
            "awsx exec: warning: {outranking}: SDKs in the command take the default profile's \
             credentials before the endpoint's; remove them, or run the command with plain awsx exec"
        );
    }
    let endpoint = Endpoint::start(source).map_err(Error::Endpoint)?;
    for var in REMOVED {
        command.env_remove(var);
    }
    command
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url())
        .env(
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            endpoint.token().expose(),
        );
    tracing::debug!(url = %endpoint.url(), "credential endpoint listening");
    #[cfg(unix)]
    let forwarder = signals::Forwarder::install().map_err(Error::Endpoint)?;
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => super::exec::failed_to_start(command.get_program(), &err),
    };
    #[cfg(unix)]
    forwarder.deliver_to(child.id());
    let status = child.wait().map_err(Error::Endpoint)?;
    Ok(exit_code_of(status))
}

/// Keys that give a profile credentials of its own; with no AWS_PROFILE the SDKs read the
/// `default` profile, and every one of these comes before the container provider.
const CREDENTIAL_KEYS: &[&str] = &[
    "aws_access_key_id",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "role_arn",
    "web_identity_token_file",
    "login_session",
];

/// Where the default profile has credentials of its own (config or credentials file), said
/// for a warning; `None` when it has none or the files cannot be read (the endpoint works
/// either way).
fn default_profile_credentials(ctx: &Context) -> Option<String> {
    let files = [
        ConfigFile::load_config(&ctx.env).ok(),
        ConfigFile::load_credentials(&ctx.env).ok(),
    ];
    files.iter().flatten().find_map(|file| {
        let section = file.doc().profile_sections("default").last()?;
        let key = CREDENTIAL_KEYS.iter().find(|k| section.get(k).is_some())?;
        Some(format!(
            "the default profile in {} has {key}",
            file.path().display()
        ))
    })
}

/// The code a shell would report for CMD's end.
fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    status.code().unwrap_or(1)
}

/// The endpoint's source: the profile, served as `credential-process` serves it.
struct ProfileSource {
    ctx: Context,
    name: ProfileName,
    account_id: Option<AccountId>,
    /// The last failure said on stderr, so that an SDK retrying every second does not
    /// fill CMD's terminal with the same line.
    last_failure: Mutex<Option<String>>,
}

impl credserver::Source for ProfileSource {
    fn credentials(&self) -> std::result::Result<Served, Failure> {
        let served = credentials::for_profile(&self.ctx, &self.name);
        let mut last = self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
        match served {
            Ok((credentials, _)) => {
                if last.take().is_some() {
                    eprintln!("awsx exec: serving credentials for {} again", self.name);
                }
                Ok(Served {
                    credentials,
                    account_id: self.account_id.clone(),
                })
            }
            Err(err) => {
                let message = err.to_string();
                if last.as_deref() != Some(message.as_str()) {
                    eprintln!(
                        "awsx exec: cannot serve credentials for {}: {message}",
                        self.name
                    );
                    *last = Some(message.clone());
                }
                Err(Failure {
                    code: failure_code(&err),
                    message: format!("awsx: {message}"),
                })
            }
        }
    }
}

/// The reply's `Code`, from what the exit code of `credential-process` would have been.
fn failure_code(err: &Error) -> &'static str {
    match err.exit_code() {
        ExitCode::LoginRequired => "LoginRequired",
        ExitCode::KeychainUnavailable => "KeychainUnavailable",
        ExitCode::Usage => "ConfigurationError",
        ExitCode::Failure | ExitCode::Success => "CredentialsUnavailable",
    }
}

#[cfg(unix)]
mod signals {
    //! Forwarding the signals sent to awsx to CMD.
    use std::io::IsTerminal;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI32, Ordering};

    use rustix::process::{Pid, Signal, kill_process};
    use tokio::signal::unix::{SignalKind, signal};

    pub struct Forwarder {
        child: Arc<AtomicI32>,
        /// A signal that came before CMD existed, delivered as soon as it does.
        early: Arc<AtomicI32>,
    }

    impl Forwarder {
        /// Catch the signals to forward, before CMD starts so that none is lost.
        pub fn install() -> std::io::Result<Forwarder> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let child = Arc::new(AtomicI32::new(0));
            let early = Arc::new(AtomicI32::new(0));
            let terminal_delivers = terminal_delivers_to_child();
            let forwarded = [
                (SignalKind::terminate(), Signal::TERM, true),
                (SignalKind::hangup(), Signal::HUP, true),
                (SignalKind::user_defined1(), Signal::USR1, true),
                (SignalKind::user_defined2(), Signal::USR2, true),
                (SignalKind::interrupt(), Signal::INT, !terminal_delivers),
                (SignalKind::quit(), Signal::QUIT, !terminal_delivers),
            ];
            {
                let _context = runtime.enter();
                for (kind, sig, forward) in forwarded {
                    // Caught even when not forwarded: awsx must outlive CMD to report its
                    // exit code, and CMD decides what an interrupt means.
                    let mut stream = signal(kind)?;
                    let (child, early) = (Arc::clone(&child), Arc::clone(&early));
                    runtime.spawn(async move {
                        while stream.recv().await.is_some() {
                            if forward {
                                send(&child, &early, sig);
                            }
                        }
                    });
                }
            }
            std::thread::Builder::new()
                .name("awsx-signal-forwarder".into())
                .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
            Ok(Forwarder { child, early })
        }

        /// CMD is running as `pid`: forward to it from now on.
        pub fn deliver_to(&self, pid: u32) {
            let pid = i32::try_from(pid).unwrap_or(0);
            self.child.store(pid, Ordering::SeqCst);
            let early = self.early.swap(0, Ordering::SeqCst);
            if early != 0
                && let (Some(pid), Some(sig)) = (Pid::from_raw(pid), signal_from_raw(early))
            {
                let _ = kill_process(pid, sig);
            }
        }
    }

    fn send(child: &AtomicI32, early: &AtomicI32, sig: Signal) {
        match Pid::from_raw(child.load(Ordering::SeqCst)) {
            Some(pid) => {
                let _ = kill_process(pid, sig);
            }
            None => early.store(sig.as_raw(), Ordering::SeqCst),
        }
    }

    fn signal_from_raw(raw: i32) -> Option<Signal> {
        [
            Signal::TERM,
            Signal::HUP,
            Signal::USR1,
            Signal::USR2,
            Signal::INT,
            Signal::QUIT,
        ]
        .into_iter()
        .find(|s| s.as_raw() == raw)
    }

    /// Whether a Ctrl-C or Ctrl-\ at the terminal reaches CMD without awsx: awsx (and so
    /// CMD, which inherits its process group) is the terminal's foreground process group.
    fn terminal_delivers_to_child() -> bool {
        let stdin = std::io::stdin();
        stdin.is_terminal()
            && rustix::termios::tcgetpgrp(&stdin).is_ok_and(|fg| fg == rustix::process::getpgrp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_that_outranks_the_container_provider_is_left() {
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ] {
            assert!(REMOVED.contains(&var), "{var}");
        }
        assert!(!REMOVED.contains(&"AWS_REGION"));
    }
}
