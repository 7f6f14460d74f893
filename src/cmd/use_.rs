//! `awsx use [NAME | - | --unset]`: switch the current shell to a profile.
//!
//! A program cannot change its parent shell's environment, so the `awsx` shell function
//! (`awsx init SHELL`) runs this with `AWSX_SHELL=<shell>` and evaluates what it prints on
//! stdout: assignments only, quoted for that shell. Everything for people goes to stderr
//! (and the picker draws there), so `$(awsx use)` captures nothing but code.
//!
//! What the function tracks, in exported variables (so two shells switch independently):
//! `AWS_PROFILE` and `AWSX_PROFILE` (the active profile, for prompts), `AWSX_BREAKGLASS=1`
//! for a break-glass profile, `AWSX_PREVIOUS_PROFILE` (for `use -`) and `AWSX_USE_REGION`
//! (the region awsx set, so that switching to a profile without one removes only that).
use std::io::IsTerminal;

use crate::cli::UseArgs;
use crate::cmd::login_ui::TerminalUi;
use crate::cmd::{Context, common, credentials};
use crate::error::{Error, Result};
use crate::shell::{self, Action, Shell};
use awsx_config::history::History;
use awsx_config::settings::Settings;
use awsx_config::{self as config, AwsxProfile, ConfigFile, SsoProfile};
use awsx_core::exit::HasExitCode;
use awsx_core::types::ProfileName;
use awsx_sso::{SessionSpec, SsoError};

/// Variables that carry credentials and beat AWS_PROFILE in every SDK.
const STALE_CREDENTIALS: [&str; 5] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
];

pub fn run(ctx: &Context, args: UseArgs) -> Result<()> {
    let Some(shell) = shell_of(ctx)? else {
        return Err(Error::Usage(
            "awsx use changes the current shell's environment, which needs the awsx shell function; \
             add `eval \"$(awsx init bash)\"` (or zsh) to your rc file, `awsx init fish | source` to \
             config.fish, or `Invoke-Expression (& awsx init powershell | Out-String)` to $PROFILE, \
             then open a new shell. In a script, use `awsx exec NAME -- CMD` or `export AWS_PROFILE=NAME`."
                .to_owned(),
        ));
    };
    // Only a valid profile name is carried over as AWSX_PREVIOUS_PROFILE: the shell's
    // AWS_PROFILE may hold anything (control characters included), and `use -` parses it anyway.
    let current = ctx
        .env
        .var("AWS_PROFILE")
        .filter(|v| v.parse::<ProfileName>().is_ok())
        .map(str::to_owned);
    if args.unset {
        let mut actions = vec![
            Action::Unset("AWS_PROFILE"),
            Action::Unset("AWSX_PROFILE"),
            Action::Unset("AWSX_BREAKGLASS"),
        ];
        actions.extend(region_actions(ctx, None));
        if let Some(current) = &current {
            actions.push(Action::Set("AWSX_PREVIOUS_PROFILE", current.clone()));
            eprintln!("awsx: no profile in this shell now (was {current})");
        }
        return emit(shell, &actions);
    }
    let given = args.name.as_deref().or(args.profile.as_deref());
    let name: ProfileName = match given {
        Some("-") => {
            let previous = ctx.env.var("AWSX_PREVIOUS_PROFILE").ok_or_else(|| {
                Error::Usage("there is no previous profile in this shell yet".to_owned())
            })?;
            parse_name(previous)?
        }
        Some(name) => parse_name(name)?,
        None => pick(ctx)?,
    };
    let settings = Settings::load(&ctx.env)?;
    let path = ctx.env.aws_config_file();
    let (region, breakglass) = match config::find_awsx_profile(&path, &name) {
        Ok(AwsxProfile::Sso(profile)) => {
            check_credentials(ctx, &settings, &name, &profile)?;
            (profile.region.map(|r| r.to_string()), false)
        }
        Ok(AwsxProfile::Console(profile)) => {
            // Switching works without a live session; say what to run if there is none.
            match credentials::for_profile(ctx, &name) {
                Ok(_) => {}
                Err(Error::Console(err))
                    if err.exit_code() == awsx_core::exit::ExitCode::LoginRequired =>
                {
                    eprintln!("awsx: warning: {err}");
                }
                Err(err) => return Err(err),
            }
            (profile.region.map(|r| r.to_string()), false)
        }
        Ok(AwsxProfile::BreakGlass(profile)) => {
            breakglass_banner(&name);
            // A break-glass session is never started here: it needs a reason and an MFA
            // code, deliberately. Say whether one is active.
            match credentials::for_profile(ctx, &name) {
                Ok((creds, _)) => eprintln!(
                    "awsx: break-glass session active until {}",
                    creds.expiration
                ),
                Err(Error::Breakglass(err))
                    if err.exit_code() == awsx_core::exit::ExitCode::LoginRequired =>
                {
                    eprintln!(
                        "awsx: no active break-glass session; start one with: awsx breakglass {name} --reason \"...\""
                    );
                }
                Err(err) => return Err(err),
            }
            (profile.region.map(|r| r.to_string()), true)
        }
        Err(config::Error::NotAwsx { .. }) => {
            eprintln!(
                "awsx: {name} is not an awsx profile (no awsx_sso_session); switching without checking its credentials"
            );
            (plain_region(ctx, &name), false)
        }
        Err(err) => return Err(err.into()),
    };

    let mut actions = vec![
        Action::Set("AWS_PROFILE", name.to_string()),
        Action::Set("AWSX_PROFILE", name.to_string()),
    ];
    if breakglass {
        actions.push(Action::Set("AWSX_BREAKGLASS", "1".to_owned()));
    } else if ctx.env.var("AWSX_BREAKGLASS").is_some() {
        actions.push(Action::Unset("AWSX_BREAKGLASS"));
    }
    if let Some(current) = current.filter(|c| c != name.as_str()) {
        actions.push(Action::Set("AWSX_PREVIOUS_PROFILE", current));
    }
    let stale: Vec<&str> = STALE_CREDENTIALS
        .into_iter()
        .filter(|k| ctx.env.var(k).is_some())
        .collect();
    if !stale.is_empty() {
        eprintln!(
            "awsx: removed {} from this shell: they would override the profile",
            stale.join(", ")
        );
        actions.extend(stale.into_iter().map(Action::Unset));
    }
    actions.extend(region_actions(ctx, region.as_deref()));
    let where_ = region.map(|r| format!(" ({r})")).unwrap_or_default();
    eprintln!("awsx: now using profile {name}{where_}");
    remember(ctx, &name);
    emit(shell, &actions)
}

fn shell_of(ctx: &Context) -> Result<Option<Shell>> {
    let Some(name) = ctx.env.var("AWSX_SHELL") else {
        return Ok(None);
    };
    Shell::from_name(name).map(Some).ok_or_else(|| {
        Error::Usage(format!(
            "AWSX_SHELL is {name:?}; the shell function sets bash, zsh, fish or powershell: re-run awsx init for your shell"
        ))
    })
}

fn parse_name(name: &str) -> Result<ProfileName> {
    name.parse()
        .map_err(|e| Error::Usage(format!("the profile name {name:?} is not valid: {e}")))
}

fn emit(shell: Shell, actions: &[Action]) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(shell::render(shell, actions).as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Set AWS_REGION and AWS_DEFAULT_REGION to the profile's region (a stale AWS_DEFAULT_REGION
/// beats the profile's own region in botocore), or remove the ones awsx set earlier.
fn region_actions(ctx: &Context, region: Option<&str>) -> Vec<Action> {
    match region {
        Some(r) => vec![
            Action::Set("AWS_REGION", r.to_owned()),
            Action::Set("AWS_DEFAULT_REGION", r.to_owned()),
            Action::Set("AWSX_USE_REGION", r.to_owned()),
        ],
        None => {
            let Some(ours) = ctx.env.var("AWSX_USE_REGION") else {
                return Vec::new();
            };
            let mut actions: Vec<Action> = ["AWS_REGION", "AWS_DEFAULT_REGION"]
                .into_iter()
                .filter(|k| ctx.env.var(k) == Some(ours))
                .map(Action::Unset)
                .collect();
            actions.push(Action::Unset("AWSX_USE_REGION"));
            actions
        }
    }
}

/// The `region` of a profile awsx does not serve.
fn plain_region(ctx: &Context, name: &ProfileName) -> Option<String> {
    let file = ConfigFile::load_config(&ctx.env).ok()?;
    config::Profile::find(file.doc(), name)
        .ok()
        .flatten()
        .and_then(|p| p.region().map(str::to_owned))
}

/// Fetch the profile's credentials (from the cache when fresh). When a login is needed and
/// the person is at a terminal, log in first, as `awsx login` would.
fn check_credentials(
    ctx: &Context,
    settings: &Settings,
    name: &ProfileName,
    profile: &SsoProfile,
) -> Result<()> {
    match credentials::for_profile(ctx, name) {
        Ok(_) => Ok(()),
        Err(Error::Sso(SsoError::LoginRequired { session })) if std::io::stderr().is_terminal() => {
            eprintln!("awsx: {name} needs a login to sso-session {session} first");
            let store = common::open_store(settings)?;
            let sessions = common::sessions(ctx, settings, store.as_ref());
            let spec = SessionSpec::from_config(&profile.session);
            let mut ui = TerminalUi::stderr(&ctx.env, settings, false);
            let runtime = awsx_aws::runtime()?;
            let outcome = runtime.block_on(sessions.login(&spec, false, &mut ui));
            ui.finish();
            outcome?;
            eprintln!("awsx: logged in to sso-session {session}");
            credentials::for_profile(ctx, name).map(|_| ())
        }
        Err(err) => Err(err),
    }
}

/// The fuzzy picker over every profile, most recent and frequent first. It draws on the
/// terminal through stderr; stdout stays for the shell code.
fn pick(ctx: &Context) -> Result<ProfileName> {
    if !std::io::stderr().is_terminal() {
        return Err(Error::Usage(
            "no profile given, and no terminal for the picker; run awsx use NAME".to_owned(),
        ));
    }
    let file = ConfigFile::load_config(&ctx.env)?;
    let names: Vec<String> = config::profile::profile_names(file.doc())
        .into_iter()
        .map(String::from)
        .collect();
    if names.is_empty() {
        return Err(Error::Usage(format!(
            "there are no profiles in {}; run awsx sync",
            file.path().display()
        )));
    }
    let history = History::load(&History::path(&ctx.env));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ranked = history.rank(&names, now);
    let current = ctx.env.var("AWS_PROFILE");
    let default = current
        .and_then(|c| ranked.iter().position(|n| *n == c))
        .filter(|_| ranked.len() > 1)
        .map_or(0, |i| usize::from(i == 0));
    let theme = dialoguer::theme::ColorfulTheme::default();
    let chosen = dialoguer::FuzzySelect::with_theme(&theme)
        .with_prompt("AWS profile")
        .items(&ranked)
        .default(default)
        .max_length(15)
        .interact_on_opt(&dialoguer::console::Term::stderr())
        .map_err(|e| Error::Usage(format!("the picker failed: {e}")))?;
    match chosen {
        Some(i) => parse_name(ranked[i]),
        None => Err(Error::Usage("no profile chosen".to_owned())),
    }
}

fn remember(ctx: &Context, name: &ProfileName) {
    let path = History::path(&ctx.env);
    let mut history = History::load(&path);
    history.record(
        name.as_str(),
        time::OffsetDateTime::now_utc().unix_timestamp(),
    );
    if let Err(err) = history.save(&path) {
        tracing::debug!(%err, "could not save the use history");
    }
}

/// Loud, on stderr: a break-glass profile is for incidents only.
fn breakglass_banner(name: &ProfileName) {
    let (on, off) = if std::io::stderr().is_terminal() {
        ("\x1b[1;97;41m", "\x1b[0m")
    } else {
        ("", "")
    };
    let line = "!".repeat(64);
    eprintln!("{on}{line}{off}");
    eprintln!("{on}{:<64}{off}", format!("!! BREAK-GLASS PROFILE {name}"));
    eprintln!(
        "{on}{:<64}{off}",
        "!! Emergency access: every action is audited. Switch back when done."
    );
    eprintln!("{on}{line}{off}");
}
