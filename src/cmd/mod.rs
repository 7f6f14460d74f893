//! One module per subcommand; `run` is only a dispatch. Commands render (stderr for people,
//! stdout only for machine-read output); the library below them never prints.
use crate::cli::{Cli, Command};
use crate::error::Result;
use awsx_core::env::Env;
use awsx_core::exit::HasExitCode;

pub mod breakglass;
pub mod common;
pub mod complete_profiles;
pub mod completions;
pub mod configure;
pub mod console;
pub mod credential_process;
pub mod credentials;
pub mod doctor;
pub mod exec;
pub mod exec_server;
pub mod explain;
pub mod export;
pub mod init;
pub mod input;
pub mod login;
pub mod login_console;
pub mod login_ui;
pub mod logout;
pub mod man;
pub mod migrate;
pub mod scan;
pub mod status;
pub mod sync;
pub mod use_;
pub mod whoami;

/// What every command gets: the environment read once, and the global flags.
#[derive(Debug)]
pub struct Context {
    pub env: Env,
    pub verbose: bool,
}

pub fn run(cli: Cli) -> Result<()> {
    let env = Env::from_process();
    init_logging(&env, cli.verbose);
    let ctx = Context {
        env,
        verbose: cli.verbose,
    };
    match cli.command {
        Command::Configure(args) => configure::run(&ctx, args),
        Command::Login(args) => login::run(&ctx, args),
        Command::Logout(args) => logout::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::CredentialProcess(args) => {
            let profile = args.profile.clone();
            let result = credential_process::run(&ctx, args);
            record_failure(&ctx, "credential-process", profile, result)
        }
        Command::Export(args) => {
            let profile = args.name.clone().or(args.profile.clone());
            let result = export::run(&ctx, args);
            record_failure(&ctx, "export", profile, result)
        }
        Command::Scan(args) => scan::run(&ctx, args),
        Command::Breakglass(args) => breakglass::run(&ctx, args),
        Command::Completions(args) => completions::run(&ctx, args),
        Command::Man(args) => man::run(&ctx, args),
        Command::Doctor(args) => doctor::run(&ctx, args),
        Command::Explain(args) => explain::run(&ctx, args),
        Command::Migrate(args) => migrate::run(&ctx, args),
        Command::Init(args) => init::run(&ctx, args),
        Command::Use(args) => use_::run(&ctx, args),
        Command::Sync(args) => sync::run(&ctx, args),
        Command::Exec(args) => {
            let profile = args.name.clone().or(args.profile.clone());
            // Only awsx's own failure comes back here: the command's errors are its own
            // (on Unix awsx has become the command), and stay on its terminal.
            let result = exec::run(&ctx, args);
            record_failure(&ctx, "exec", profile, result)
        }
        Command::Console(args) => console::run(&ctx, args),
        Command::Whoami(args) => whoami::run(&ctx, args),
    }
}

/// When a credential-serving command fails, leave a record for `awsx explain --last`
/// (only then: a success writes nothing). Failing to write it is logged, never shown: the
/// command's own error is what the caller must see.
fn record_failure(
    ctx: &Context,
    command: &str,
    profile: Option<String>,
    result: Result<()>,
) -> Result<()> {
    // doctor and explain run credential_process to probe a profile: their probe's failure
    // must not replace the record of what the user's own tools hit.
    if let Err(err) = &result
        && !crate::doctor::chain::is_probe(&ctx.env)
    {
        let profile = profile.or_else(|| ctx.env.var("AWS_PROFILE").map(str::to_owned));
        let record = crate::explain::record::FailureRecord::new(
            command,
            profile.as_deref(),
            err.exit_code() as u8,
            &err.to_string(),
        );
        if let Err(e) = record.save(&ctx.env) {
            tracing::debug!(error = %e, "cannot record the failure for awsx explain --last");
        }
    }
    result
}

/// `--verbose` or `AWSX_LOG=debug` (or `target=level` lists, such as
/// `awsx=debug,aws_smithy_runtime=debug`) logs to stderr. awsx's own secrets are wrapped in
/// `Secret`, whose Debug and Display redact them; the crates below awsx are held to debug
/// (see [`at_most_debug_below_awsx`]), so logs never carry one.
fn init_logging(env: &Env, verbose: bool) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let targets = match (verbose, env.var("AWSX_LOG")) {
        // A bare level is about awsx, not every crate below it.
        (_, Some(level @ ("error" | "warn" | "info" | "debug" | "trace"))) => {
            format!("awsx={level}")
        }
        (_, Some(targets)) if !targets.is_empty() => targets.to_owned(),
        (true, _) => "awsx=debug".to_owned(),
        _ => return,
    };
    // Targets, not EnvFilter: the same `target=level` syntax without span and field
    // filters, and without the regex DFA compiler EnvFilter links in (134 KB measured).
    let filter = targets.parse::<Targets>().unwrap_or_else(|e| {
        eprintln!("awsx: ignoring AWSX_LOG={targets:?} ({e}); logging awsx=debug");
        Targets::new().with_target("awsx", tracing::Level::DEBUG)
    });
    let filter = at_most_debug_below_awsx(&filter);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(ScrubbedStderr::default)
                // Colours for a person at a terminal, not for a log file or a pipe.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(filter)
        .try_init();
}

/// stderr for one log line, which goes out when the line is complete with every secret
/// this process holds taken out (see [`awsx_core::secret::scrub`]): an event may quote a
/// server's reply, and a reply may echo the token it was sent.
#[derive(Default)]
struct ScrubbedStderr(Vec<u8>);

impl std::io::Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ScrubbedStderr {
    fn drop(&mut self) {
        let text = awsx_core::secret::scrub(&String::from_utf8_lossy(&self.0));
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
    }
}

/// `filter` with every target but awsx's own held to debug. At trace the SDK's runtime
/// logs whole requests and replies, headers and bodies: the SSO bearer token
/// (`x-amz-sso_bearer_token`), the device code, role credentials. Nothing awsx could redact
/// there, so those levels are not offered.
fn at_most_debug_below_awsx(
    filter: &tracing_subscriber::filter::Targets,
) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};

    // awsx's crates: `awsx` (this one) and `awsx_*` (awsx_core, awsx_sso, …).
    let is_awsx = |target: &str| {
        target == "awsx" || target.starts_with("awsx::") || target.starts_with("awsx_")
    };
    let mut capped = Targets::new().with_targets(filter.iter().map(|(target, level)| {
        let level = if is_awsx(target) {
            level
        } else {
            level.min(LevelFilter::DEBUG)
        };
        (target.to_owned(), level)
    }));
    if let Some(default) = filter.default_level() {
        capped = capped.with_default(default.min(LevelFilter::DEBUG));
        // A bare default covers awsx too: keep its level for awsx.
        if !filter.iter().any(|(target, _)| is_awsx(target)) {
            capped = capped.with_target("awsx", default);
        }
    }
    capped
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;

    use super::at_most_debug_below_awsx;

    fn capped(directives: &str) -> Targets {
        at_most_debug_below_awsx(&directives.parse().unwrap())
    }

    #[test]
    fn the_sdk_and_other_crates_never_log_at_trace() {
        let f = capped("awsx=trace,aws_smithy_runtime=trace,hyper=trace");
        assert!(f.would_enable("awsx::cmd::login", &Level::TRACE));
        assert!(!f.would_enable("aws_smithy_runtime::client", &Level::TRACE));
        assert!(f.would_enable("aws_smithy_runtime::client", &Level::DEBUG));
        assert!(!f.would_enable("hyper_util::client", &Level::TRACE));
    }

    #[test]
    fn a_trace_default_stays_trace_for_awsx_only() {
        let f = capped("trace");
        assert!(f.would_enable("awsx", &Level::TRACE));
        assert!(!f.would_enable("aws_sdk_sso", &Level::TRACE));
        assert!(f.would_enable("aws_sdk_sso", &Level::DEBUG));
        let f = capped("trace,awsx=info");
        assert!(
            !f.would_enable("awsx", &Level::DEBUG),
            "awsx's own level wins"
        );
    }

    #[test]
    fn quieter_levels_are_kept_as_given() {
        let f = capped("awsx=off,aws_smithy_runtime=info");
        assert!(!f.would_enable("awsx", &Level::ERROR));
        assert!(f.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(!f.would_enable("aws_smithy_runtime", &Level::DEBUG));
    }
}
