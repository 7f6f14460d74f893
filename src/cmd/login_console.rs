//! `awsx login --console --profile NAME [--region R] [--remote]`: a console sign-in through
//! AWS Sign-In (as `aws login`), kept in the keychain only, and `[profile NAME]` written so
//! that the AWS CLI and SDKs get its credentials through `awsx credential-process`.
//! A denied, failed or cancelled sign-in writes nothing: the keychain and the config file
//! are touched only once the code exchange has succeeded.
use std::io::{BufRead, IsTerminal, Read};

use time::OffsetDateTime;

use crate::cli::LoginArgs;
use crate::cmd::login::human_duration;
use crate::cmd::login_ui::{browser_timeout, open_in_browser, should_open_browser};
use crate::cmd::{Context, common};
use crate::error::{Error, Result};
use awsx_config::settings::Settings;
use awsx_config::{ConfigFile, Profile};
use awsx_console::{Flow, LoginUi};
use awsx_core::types::Region;
use awsx_creds::serve::margin;
use awsx_creds::tier::FastTier;

pub fn run(ctx: &Context, args: LoginArgs) -> Result<()> {
    let given = args.session.profile.as_deref();
    let name = common::profile_name(ctx, given)?;
    let mut file = ConfigFile::load_config(&ctx.env)?;
    let existing = Profile::find(file.doc(), &name)?;
    if let Some(p) = &existing
        && (p.get("awsx_sso_session").is_some() || p.get("awsx_breakglass_role_arn").is_some())
    {
        return Err(Error::Usage(format!(
            "profile {name} in {} is an awsx SSO or break-glass profile; choose another name for the console sign-in (awsx login --console --profile NEW-NAME)",
            file.path().display()
        )));
    }
    let region = region(ctx, &args, existing.as_ref())?;
    let settings = Settings::load(&ctx.env)?;
    let (store, fallback) = common::open_store_with_fallback(&settings)?;

    let flow = if args.remote {
        Flow::CrossDevice
    } else {
        Flow::SameDevice
    };
    let mut ui = ConsoleUi {
        ctx,
        open: should_open_browser(&ctx.env, &settings, false),
    };
    let runtime = awsx_aws::runtime()?;
    let timeout = browser_timeout(&ctx.env);
    let outcome = match flow {
        Flow::SameDevice => runtime.block_on(async {
            tokio::select! {
                outcome = awsx_console::login(&ctx.env, &name, &region, flow, &mut ui, timeout) => Some(outcome),
                _ = tokio::signal::ctrl_c() => None,
            }
        }),
        // The pasted code is read with a blocking read, during which a Ctrl-C handler could
        // never run: here Ctrl-C keeps its default and ends awsx at once (nothing is saved
        // before the code exchange either way).
        Flow::CrossDevice => Some(runtime.block_on(awsx_console::login(
            &ctx.env, &name, &region, flow, &mut ui, timeout,
        ))),
    };
    let session = match outcome {
        None => {
            eprintln!("Sign-in cancelled; nothing was saved.");
            std::process::exit(130);
        }
        Some(outcome) => outcome?,
    };

    let fast = FastTier::for_backend(
        store.backend(),
        settings.hot_tier,
        &settings.keychain_service,
    );
    session.save(
        store.as_ref(),
        fast.as_ref().and_then(FastTier::hot),
        margin(&settings),
    )?;
    session.remember(&ctx.env.cache_dir(), store.as_ref(), fallback)?;

    let program = crate::sync::credential_process_program(&ctx.env)?;
    let command = format!("{program} credential-process --profile {name}");
    let before = file.doc().render().to_owned();
    file.doc_mut().set_profile_keys(
        &name,
        &[
            ("credential_process", &command),
            ("awsx_login_session", &session.principal_arn),
            ("region", region.as_str()),
        ],
    )?;
    let wrote = file.doc().render() != before;
    file.save()?;

    let left = session
        .credentials
        .as_ref()
        .map(|c| human_duration(c.expiration.remaining(OffsetDateTime::now_utc())))
        .unwrap_or_default();
    eprintln!(
        "Signed in as {} (account {}); the session is in the {} keychain, credentials valid for {left}, renewed automatically for up to 12 hours.",
        session.principal_arn,
        session.account_id,
        store.backend().id()
    );
    if wrote {
        eprintln!(
            "Wrote [profile {name}] to {}: credential_process, awsx_login_session, region.",
            file.path().display()
        );
    } else {
        eprintln!(
            "[profile {name}] in {} was already set up like this.",
            file.path().display()
        );
    }
    eprintln!("Next: AWS_PROFILE={name} aws sts get-caller-identity");
    Ok(())
}

/// `--region`, else the profile's `region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`.
fn region(ctx: &Context, args: &LoginArgs, existing: Option<&Profile>) -> Result<Region> {
    let text = args
        .region
        .clone()
        .or_else(|| existing.and_then(|p| p.region()).map(str::to_owned))
        .or_else(|| {
            ["AWS_REGION", "AWS_DEFAULT_REGION"]
                .iter()
                .find_map(|v| ctx.env.var(v).filter(|r| !r.is_empty()).map(str::to_owned))
        })
        .ok_or_else(|| {
            Error::Usage(
                "which region? pass --region REGION (e.g. --region eu-west-1): console sign-in sessions are regional"
                    .to_owned(),
            )
        })?;
    text.trim()
        .parse()
        .map_err(|e: awsx_core::types::InvalidValue| {
            Error::Usage(format!("{e}; pass --region REGION"))
        })
}

/// The person's side: the browser, or the pasted code.
/// The most of a pasted sign-in code that is read.
const MAX_PASTED_CODE_BYTES: u64 = 64 * 1024;

struct ConsoleUi<'a> {
    ctx: &'a Context,
    /// Whether a browser can be opened here (`browser` setting, `$BROWSER`, a display).
    open: bool,
}

impl LoginUi for ConsoleUi<'_> {
    fn open_browser(&mut self, url: &str) {
        // The URL carries no secret (PKCE's challenge and the state only).
        let opened = if self.open {
            open_in_browser(&self.ctx.env, url)
        } else {
            Err(std::io::Error::other(
                "no browser here; or use --remote to sign in on another device",
            ))
        };
        match opened {
            Ok(()) => eprintln!(
                "Opened the AWS sign-in page in your browser. If it did not open, go to:\n  {url}"
            ),
            Err(e) => {
                eprintln!("Could not open a browser ({e}). Open this URL to sign in:\n  {url}")
            }
        }
        eprintln!("Waiting for the sign-in (Ctrl-C to cancel)...");
    }

    fn read_pasted_code(&mut self, url: &str) -> Option<String> {
        eprintln!(
            "On any device, open this URL and sign in:\n  {url}\nThen paste the code the page shows and press Enter."
        );
        if std::io::stdin().is_terminal() {
            eprint!("Code: ");
        }
        // A real code is a few hundred characters; a pasted file or an endless stream stops
        // here (and then fails to decode, with the error saying so).
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .take(MAX_PASTED_CODE_BYTES)
            .read_line(&mut line)
            .ok()?;
        Some(line)
    }
}
