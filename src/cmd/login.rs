//! `awsx login`: the browser flow (authorization code with PKCE) where a browser can be
//! opened here, else the device-code flow, for one SSO session; or an import from the AWS
//! CLI's cache. Ctrl-C or the browser timeout while waiting leaves the keychain as it was:
//! the token is written only once the login has succeeded.
use time::OffsetDateTime;

use crate::cli::LoginArgs;
use crate::cmd::Context;
use crate::cmd::common;
use crate::cmd::login_ui::{FlowChoice, TerminalUi};
use crate::error::{Error, Result};
use awsx_config::settings::Settings;
use awsx_sso::{LoginOutcome, SsoToken};

pub fn run(ctx: &Context, args: LoginArgs) -> Result<()> {
    if args.console {
        return crate::cmd::login_console::run(ctx, args);
    }
    let settings = Settings::load(&ctx.env)?;
    if let Some(warning) = settings.margin_warning() {
        eprintln!("awsx: warning: {warning}");
    }
    let spec = common::session_spec(ctx, &args.session)?;
    // Login decides the keychain (with `auto`: the Secret Service if it answers, else
    // keyutils, with the one warning the user sees about it) and remembers it for the
    // session, with the login's id, in this HOME's session record: every later command
    // opens exactly that keychain (see `sso::binding`).
    let (store, fallback) = common::open_store_with_fallback(&settings)?;
    let sessions = common::sessions(ctx, &settings, store.as_ref());

    if args.import_aws_cli {
        return match sessions.import_aws_cli(&spec)? {
            Some(token) => {
                sessions.remember(&spec, &token, fallback);
                eprintln!(
                    "Imported the AWS CLI's token for sso-session {} into the keychain; {}",
                    spec.name,
                    validity(&token)
                );
                Ok(())
            }
            None => Err(Error::Usage(format!(
                "the AWS CLI has no valid token for sso-session {} (looked in {}); run awsx login --sso-session {}",
                spec.name,
                ctx.env.aws_cli_sso_cache_dir().display(),
                spec.name
            ))),
        };
    }

    let choice = match (args.browser, args.device_code, args.no_browser) {
        (true, _, _) => FlowChoice::Browser,
        (_, _, true) => FlowChoice::NoBrowser,
        (_, true, _) => FlowChoice::DeviceCode,
        _ => FlowChoice::Auto,
    };
    let mut ui = TerminalUi::for_login(&ctx.env, &settings, choice);
    let runtime = awsx_aws::runtime()?;
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = sessions.login(&spec, args.force, &mut ui) => Some(outcome),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    ui.finish();
    match outcome {
        None => {
            eprintln!("Login cancelled; nothing was saved.");
            // 128 + SIGINT, as a shell reports a process ended by Ctrl-C.
            std::process::exit(130);
        }
        Some(Ok(LoginOutcome::AlreadyLoggedIn(token))) => {
            sessions.remember(&spec, &token, fallback);
            eprintln!(
                "Already logged in to sso-session {}; {} (use --force to log in again).",
                spec.name,
                validity(&token)
            );
        }
        Some(Ok(LoginOutcome::LoggedIn(token) | LoginOutcome::Imported(token))) => {
            sessions.remember(&spec, &token, fallback);
            eprintln!(
                "Logged in to sso-session {}; {}.",
                spec.name,
                validity(&token)
            );
        }
        Some(Err(err)) => return Err(err.into()),
    }
    Ok(())
}

/// "valid until 18:04 UTC (7h 59m), renews itself" — never the token itself.
pub fn validity(token: &SsoToken) -> String {
    let left = token.expires_at.remaining(OffsetDateTime::now_utc());
    let renew = if token.refresh_token.is_some() {
        ", renewed automatically"
    } else {
        ""
    };
    format!(
        "the token is valid until {} ({}){renew}",
        token.expires_at,
        human_duration(left)
    )
}

pub fn human_duration(d: time::Duration) -> String {
    let secs = d.whole_seconds().max(0);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m"),
        _ => format!("{h}h {m}m"),
    }
}
