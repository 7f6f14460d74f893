//! What several commands share: the settings, the keychain, the session manager, and
//! resolving which SSO session or profile a command is about.
use std::sync::Arc;

use crate::cli::SessionSelector;
use crate::cmd::Context;
use crate::error::{Error, Result};
use awsx_config::settings::Settings;
use awsx_config::{AwsxProfile, ConfigFile, SsoSession};
use awsx_core::types::{ProfileName, SsoSessionName};
use awsx_creds::binding::{self, SessionRecord};
use awsx_keychain::{self as store, SecretStore};
use awsx_sso::{SessionSpec, Sessions};

/// The keychain as the settings choose it. `auto`'s fallback warning goes to stderr once.
pub fn open_store(settings: &Settings) -> Result<Arc<dyn SecretStore>> {
    Ok(open_store_with_fallback(settings)?.0)
}

/// [`open_store`], and the fallback warning it printed (login remembers it for `status`
/// and `doctor`).
pub fn open_store_with_fallback(
    settings: &Settings,
) -> Result<(Arc<dyn SecretStore>, Option<String>)> {
    let opened = store::open(settings.keychain, &settings.keychain_service)?;
    if let Some(warning) = &opened.warning {
        eprintln!("awsx: warning: {warning}");
    }
    Ok((opened.store, opened.warning))
}

/// The keychain of one SSO session, and what this HOME remembers of its login.
pub struct SessionStore {
    pub store: Arc<dyn SecretStore>,
    pub record: Option<SessionRecord>,
    /// `auto`'s fallback warning, when it had to probe (no login remembered here). Only
    /// `login` prints it; other commands explain it (`status`, `doctor`).
    pub warning: Option<String>,
}

/// Open the keychain that holds `session`: an explicit choice as always; with `auto`,
/// exactly the backend the login remembered (no D-Bus probe when that is keyutils, and no
/// fallback: if it cannot be reached the error says how to fix it, exit 4); with nothing
/// remembered, `auto`'s probe.
pub fn open_session_store(
    ctx: &Context,
    settings: &Settings,
    session: &SsoSessionName,
) -> Result<SessionStore> {
    let choice = settings.keychain;
    let record = SessionRecord::read(&ctx.env.cache_dir(), session);
    let opened = match binding::session_backend(choice, record.as_ref()) {
        Some(backend) => store::open_backend(backend, &settings.keychain_service)?,
        None => store::open(choice, &settings.keychain_service)?,
    };
    Ok(SessionStore {
        store: opened.store,
        record,
        warning: opened.warning,
    })
}

/// The session manager over `store`, with the settings' margin and lock wait.
pub fn sessions<'a>(
    ctx: &'a Context,
    settings: &Settings,
    store: &'a dyn SecretStore,
) -> Sessions<'a> {
    Sessions {
        env: &ctx.env,
        store,
        cache_dir: ctx.env.cache_dir(),
        margin: awsx_creds::serve::margin(settings),
        lock_wait: settings.lock_wait,
    }
}

/// A profile name given on the command line, else `AWS_PROFILE`.
pub fn profile_name(ctx: &Context, given: Option<&str>) -> Result<ProfileName> {
    let (name, origin) = match (given, ctx.env.var("AWS_PROFILE")) {
        (Some(name), _) => (name, "the profile name"),
        (None, Some(name)) if !name.is_empty() => (name, "AWS_PROFILE"),
        _ => {
            return Err(Error::Usage(
                "no profile given; pass --profile NAME (or set AWS_PROFILE)".to_owned(),
            ));
        }
    };
    name.parse()
        .map_err(|e| Error::Usage(format!("{origin} {name:?} is not valid: {e}")))
}

/// A `--profile NAME` the user gave, checked like [`profile_name`]; `None` when none was
/// given (these commands look at more than one profile then, and never at AWS_PROFILE alone).
pub fn given_profile_name(ctx: &Context, given: Option<&str>) -> Result<Option<ProfileName>> {
    given.map(|name| profile_name(ctx, Some(name))).transpose()
}

/// The SSO session a command is about: `--sso-session`, the session of `--profile`, the
/// session of `AWS_PROFILE`, or the only one configured.
pub fn resolve_session(ctx: &Context, selector: &SessionSelector) -> Result<SsoSession> {
    let file = ConfigFile::load_config(&ctx.env)?;
    let doc = file.doc();
    if let Some(name) = &selector.sso_session {
        let name: SsoSessionName = name
            .parse()
            .map_err(|e| Error::Usage(format!("--sso-session {name:?} is not valid: {e}")))?;
        return SsoSession::find(doc, &name)?.ok_or_else(|| {
            Error::Usage(format!(
                "there is no [sso-session {name}] in {}; {}",
                doc.path().display(),
                known_sessions(doc)
            ))
        });
    }
    let profile = match &selector.profile {
        Some(name) => Some(profile_name(ctx, Some(name))?),
        None => ctx
            .env
            .var("AWS_PROFILE")
            .filter(|p| !p.is_empty())
            .and_then(|p| p.parse::<ProfileName>().ok()),
    };
    if let Some(name) = profile {
        match AwsxProfile::resolve(doc, &name)? {
            AwsxProfile::Sso(p) => return Ok(p.session),
            AwsxProfile::BreakGlass(_) => {
                return Err(Error::Usage(format!(
                    "profile {name} is a break-glass profile, which needs no SSO login; use awsx breakglass {name} --reason ..."
                )));
            }
            AwsxProfile::Console(_) => {
                return Err(Error::Usage(format!(
                    "profile {name} is a console sign-in profile, not an SSO one; use awsx login --console --profile {name}"
                )));
            }
        }
    }
    let names = SsoSession::names(doc);
    match names.as_slice() {
        [only] => SsoSession::find(doc, only)?
            .ok_or_else(|| Error::Usage(format!("[sso-session {only}] disappeared while reading"))),
        _ => Err(Error::Usage(format!(
            "which SSO session? pass --sso-session NAME or --profile NAME; {}",
            known_sessions(doc)
        ))),
    }
}

fn known_sessions(doc: &awsx_config::Document) -> String {
    let names = SsoSession::names(doc);
    if names.is_empty() {
        "none is configured yet: run awsx configure --start-url URL --sso-region REGION".to_owned()
    } else {
        let list: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
        format!("configured: {}", list.join(", "))
    }
}

/// `resolve_session` as the spec the SSO layer works with.
pub fn session_spec(ctx: &Context, selector: &SessionSelector) -> Result<SessionSpec> {
    Ok(SessionSpec::from_config(&resolve_session(ctx, selector)?))
}
