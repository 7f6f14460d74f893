//! `awsx breakglass PROFILE --reason …`: check the reason, read the MFA code, AssumeRole
//! with the enrolled key, record the attempt, cache the session, run the notify hook.
//! Nothing of IAM Identity Center is touched, so this works while SSO is down.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::audit::{self, AuditEvent, AuditLog};
use super::console::{self, ConsoleSource, Flow};
use super::key::Enrolment;
use super::remote::{self, AssumeRequest, Clients};
use super::session::CachedSession;
use super::{BreakglassError, naming, notify};
use awsx_config::{AwsxProfile, BreakGlassProfile, ConfigFile};
use awsx_core::env::Env;
use awsx_core::types::ProfileName;
use awsx_keychain::{BackendChoice, SecretStore};

/// One break-glass request as the command line gives it.
#[derive(Debug, Clone)]
pub struct Request {
    pub profile: ProfileName,
    pub reason: Option<String>,
    /// `--duration`; else the profile's `awsx_breakglass_duration`; else 1 h. Capped at 1 h.
    pub duration: Option<Duration>,
    /// `--notify-command`, else the `breakglass_notify_command` setting.
    pub notify_command: Option<String>,
    /// The `keychain` setting (`AWSX_KEYCHAIN` beats it).
    pub keychain: BackendChoice,
    /// The `keychain_service` setting.
    pub keychain_service: String,
    /// For a user enrolled with `--console`: how the browser gives back the sign-in.
    pub flow: Flow,
    /// How long a console sign-in may take in the browser.
    pub signin_timeout: Duration,
}

/// A granted session and what the command should tell the user.
#[derive(Debug)]
pub struct Granted {
    pub profile: BreakGlassProfile,
    pub session: CachedSession,
    pub duration: Duration,
    /// The duration asked for, when it was cut to the allowed range.
    pub capped_from: Option<Duration>,
    pub audit_path: PathBuf,
    /// For a keyless user: the console sign-in's principal, the source of AssumeRole.
    pub source_principal: Option<String>,
    /// When the source was a live `awsx login --console` session: its profile.
    pub source_profile: Option<String>,
    /// One line each for stderr: keychain fallback, notify hook failure.
    pub warnings: Vec<String>,
}

/// Run one attempt. `read_code` is asked for the MFA code (given the device's ARN) only
/// after everything that can be checked offline has been. Every attempt that gets as far
/// as opening the audit log is recorded there, success or failure.
///
/// A user enrolled with `--console` first gets console credentials (`source`: a live
/// `awsx login --console` session of that user, else a browser sign-in); the MFA code
/// is asked for after that, so that it is fresh when AssumeRole checks it.
pub fn assume(
    env: &Env,
    req: &Request,
    now: OffsetDateTime,
    source: &mut dyn ConsoleSource,
    read_code: &mut dyn FnMut(&str) -> Result<String, BreakglassError>,
) -> Result<Granted, BreakglassError> {
    let mut event = AuditEvent::new(audit::EventKind::Assume, env, now);
    event.profile = Some(req.profile.to_string());
    event.reason = req.reason.clone();
    let audit_path = audit::path(env);
    let mut log = AuditLog::open(&audit_path)?;
    let mut warnings = Vec::new();
    let result = attempt(env, req, &mut event, &mut warnings, source, read_code);
    match &result {
        Ok(_) => event.succeeded(),
        Err(e) => event.failed(e),
    }
    // Recorded before the session is cached: an unrecorded session is never served.
    log.append(&event)?;
    let (profile, session, duration, capped_from, store) = result?;
    session.save(store.as_ref(), &profile.profile)?;
    if let Some(command) = &req.notify_command
        && let Err(warning) = notify::run(command, &event)
    {
        warnings.push(warning);
    }
    Ok(Granted {
        profile,
        session,
        duration,
        capped_from,
        audit_path,
        source_principal: event.source_principal.clone(),
        source_profile: event.source_profile.clone(),
        warnings,
    })
}

type Attempt = (
    BreakGlassProfile,
    CachedSession,
    Duration,
    Option<Duration>,
    Arc<dyn SecretStore>,
);

fn attempt(
    env: &Env,
    req: &Request,
    event: &mut AuditEvent,
    warnings: &mut Vec<String>,
    source: &mut dyn ConsoleSource,
    read_code: &mut dyn FnMut(&str) -> Result<String, BreakglassError>,
) -> Result<Attempt, BreakglassError> {
    let reason = req
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| BreakglassError::MissingReason {
            profile: req.profile.clone(),
        })?;
    let profile = load_profile(env, &req.profile)?;
    event.role_arn = Some(profile.role_arn.to_string());
    event.iam_user = Some(profile.user.to_string());
    let user = profile.user.clone();
    let raw_identity = match profile.identity.clone().or_else(|| naming::os_user(env)) {
        Some(id) => id,
        None => {
            return Err(BreakglassError::Config(format!(
                "cannot tell who you are (no USER variable); set awsx_breakglass_identity = you@example.com in profile {}",
                profile.profile
            )));
        }
    };
    let identity = naming::source_identity(&raw_identity)?;
    let session_name = naming::session_name(&identity);
    event.identity = Some(identity.clone());
    event.session_name = Some(session_name.clone());
    let requested = req.duration.or(profile.duration);
    let (duration, capped) = naming::capped_duration(requested);
    event.duration_seconds = Some(duration.as_secs());

    let opened = awsx_keychain::open(req.keychain, &req.keychain_service)?;
    warnings.extend(opened.warning.clone());
    let enrolment = Enrolment::load(opened.store.as_ref(), &user)?;
    let mfa_serial = profile
        .mfa_serial
        .as_ref()
        .map_or_else(|| enrolment.mfa_serial().to_owned(), ToString::to_string);
    event.mfa_serial = Some(mfa_serial.clone());

    let rt = awsx_aws::runtime()?;
    let source_credentials = match &enrolment {
        Enrolment::Key(key) => {
            event.source = Some("access-key".to_owned());
            key.credentials()
        }
        Enrolment::Console(enrolled) => {
            event.source = Some("console-session".to_owned());
            let region = match &profile.region {
                Some(r) => r.clone(),
                None => remote::DEFAULT_REGION.parse().map_err(
                    |e: awsx_core::types::InvalidValue| BreakglassError::Config(e.to_string()),
                )?,
            };
            let signed_in = console::source_credentials(
                &rt,
                env,
                &profile.profile,
                &region,
                &enrolled.user_arn,
                req.flow,
                req.signin_timeout,
                source,
            )?;
            event.source_principal = Some(signed_in.principal_arn.clone());
            event.source_profile = signed_in.live_profile.as_ref().map(ToString::to_string);
            console::check_principal(&enrolled.user_arn, &signed_in)?;
            signed_in.credentials
        }
    };
    let code = super::input::parse_totp(&read_code(&mfa_serial)?)?;

    let assumed = rt.block_on(async {
        let clients = Clients::new(env, profile.region.as_ref(), source_credentials).await?;
        remote::assume_role(
            &clients.sts,
            &AssumeRequest {
                role_arn: profile.role_arn.as_str(),
                session_name: &session_name,
                source_identity: &identity,
                mfa_serial: &mfa_serial,
                token_code: &code,
                reason_tag: &naming::reason_tag(reason),
                duration_seconds: duration.as_secs(),
            },
        )
        .await
    })?;
    event.assumed_role_arn = Some(assumed.assumed_role_arn.clone());
    event.access_key_id = Some(assumed.credentials.access_key_id.clone());
    event.expiration = Some(assumed.credentials.expiration.to_rfc3339());
    let session = CachedSession {
        credentials: assumed.credentials,
        role_arn: profile.role_arn.to_string(),
        assumed_role_arn: assumed.assumed_role_arn,
        session_name,
        source_identity: identity,
        reason: reason.to_owned(),
        started: event.time,
    };
    Ok((
        profile,
        session,
        duration,
        capped.then(|| requested.unwrap_or_default()),
        opened.store,
    ))
}

/// The break-glass profile `name` from the AWS config file.
pub fn load_profile(env: &Env, name: &ProfileName) -> Result<BreakGlassProfile, BreakglassError> {
    let file = ConfigFile::load_config(env)?;
    match AwsxProfile::resolve(file.doc(), name)? {
        AwsxProfile::BreakGlass(p) => Ok(p),
        AwsxProfile::Sso(_) | AwsxProfile::Console(_) => Err(BreakglassError::NotBreakglass {
            profile: name.clone(),
        }),
    }
}
