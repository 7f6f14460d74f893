//! `awsx breakglass enroll`: verify a break-glass user's access key with STS, learn its
//! age from IAM, and keep it in the keychain (only a durable one, unless told otherwise).
use time::OffsetDateTime;

use super::BreakglassError;
use super::audit::{self, AuditEvent, AuditLog};
use super::console::{self, ConsoleEnrolment, Flow};
use super::key::{self, CreatedSource, StoredKey};
use super::remote::{self, Clients};
use awsx_core::env::Env;
use awsx_core::secret::Secret;
use awsx_core::types::IamUserName;
use awsx_keychain::{OpenedStore, SecretStore};

/// Refuse a keychain that forgets at reboot unless `allow_volatile`: the key cannot be
/// fetched again, so losing it would lock the user out on the bad day. Checked before the
/// key is typed.
pub fn check_durable(opened: &OpenedStore, allow_volatile: bool) -> Result<(), BreakglassError> {
    let backend = opened.backend();
    if backend.is_durable() || allow_volatile {
        Ok(())
    } else {
        Err(BreakglassError::VolatileKeychain {
            backend,
            fell_back: opened.warning.is_some(),
        })
    }
}

#[derive(Debug)]
pub struct EnrollRequest {
    pub user: IamUserName,
    pub mfa_serial: String,
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
}

#[derive(Debug)]
pub struct Enrolled {
    pub key: StoredKey,
    /// One line each for stderr.
    pub warnings: Vec<String>,
}

/// Check the request offline, then with STS (GetCallerIdentity must name this user) and
/// IAM (ListAccessKeys for the key's creation date, optional), then store it.
pub fn enroll(
    env: &Env,
    store: &dyn SecretStore,
    req: EnrollRequest,
    now: OffsetDateTime,
) -> Result<Enrolled, BreakglassError> {
    key::check_access_key_id(&req.access_key_id)?;
    key::check_secret(req.secret_access_key.expose())?;
    key::check_mfa_serial(&req.mfa_serial)?;
    let mut stored = StoredKey {
        user: req.user.clone(),
        access_key_id: req.access_key_id,
        secret_access_key: req.secret_access_key,
        mfa_serial: req.mfa_serial,
        user_arn: String::new(),
        created: now,
        created_source: CreatedSource::Enrolment,
        enrolled: now,
    };
    let mut warnings = Vec::new();
    let rt = awsx_aws::runtime()?;
    rt.block_on(async {
        let clients = Clients::new(env, None, stored.credentials()).await?;
        stored.user_arn = remote::caller_arn(&clients.sts).await?;
        check_user_arn(&stored.user_arn, &req.user)?;
        let mfa_account = stored.mfa_serial.split(':').nth(4);
        if mfa_account != stored.account() {
            return Err(BreakglassError::Input(format!(
                "MFA device {} is not in the account of {}; use the user's own MFA device ARN",
                stored.mfa_serial, stored.user_arn
            )));
        }
        match remote::list_access_keys(&clients.iam, &req.user).await {
            Ok(keys) => match keys
                .iter()
                .find(|k| k.access_key_id == stored.access_key_id)
                .and_then(|k| k.created)
            {
                Some(created) => {
                    stored.created = created;
                    stored.created_source = CreatedSource::Iam;
                }
                None => warnings.push(
                    "IAM did not list this key's creation date; its age is counted from today"
                        .to_owned(),
                ),
            },
            Err(e) => warnings.push(format!(
                "cannot read the key's creation date ({e}); its age is counted from today"
            )),
        }
        Ok::<_, BreakglassError>(())
    })?;
    stored.save(store)?;
    Ok(Enrolled {
        key: stored,
        warnings,
    })
}

/// GetCallerIdentity must say `arn:…:iam::ACCOUNT:user/[PATH/]USER`.
fn check_user_arn(arn: &str, user: &IamUserName) -> Result<(), BreakglassError> {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
    let name = resource
        .strip_prefix("user/")
        .and_then(|p| p.rsplit('/').next());
    match name {
        Some(n) if n == user.as_str() => Ok(()),
        Some(n) => Err(BreakglassError::Input(format!(
            "this key belongs to IAM user {n} ({arn}), not {user}; run again with --user {n}"
        ))),
        None => Err(BreakglassError::Input(format!(
            "this key is not an IAM user's long-term key (it is {arn}); enrol the break-glass user's own access key"
        ))),
    }
}

/// `enroll`, with its audit line written whatever the outcome: the one path that both
/// `awsx breakglass enroll` and `awsx migrate` take. `read_key` supplies the key id and
/// secret (from the terminal, stdin or the credentials file); it may note the key id on
/// the event before it fails (with [`AuditEvent::note_access_key_id`]), so that a
/// half-typed enrolment is audited too. The key id is checked before it is recorded: a
/// rejected one (a pasted secret, a CSV row with the secret in it) is recorded only by
/// its shape, and the secret is never recorded.
pub fn enroll_recorded(
    env: &Env,
    store: &dyn SecretStore,
    user: &IamUserName,
    mfa_serial: &str,
    now: OffsetDateTime,
    read_key: impl FnOnce(&mut AuditEvent) -> Result<(String, Secret<String>), BreakglassError>,
) -> Result<Enrolled, BreakglassError> {
    let mut log = AuditLog::open(&audit::path(env))?;
    let mut event = AuditEvent::new(audit::EventKind::Enroll, env, now);
    event.iam_user = Some(user.to_string());
    event.mfa_serial = Some(mfa_serial.to_owned());
    let result = read_key(&mut event).and_then(|(access_key_id, secret_access_key)| {
        event.note_access_key_id(&access_key_id);
        key::check_access_key_id(&access_key_id)?;
        enroll(
            env,
            store,
            EnrollRequest {
                user: user.clone(),
                mfa_serial: mfa_serial.to_owned(),
                access_key_id,
                secret_access_key,
            },
            now,
        )
    });
    match &result {
        Ok(_) => event.succeeded(),
        Err(e) => event.failed(e),
    }
    log.append(&event)?;
    result
}

/// `enroll --console`: the user signs in through the browser once, which proves that the
/// console sign-in works for local development (password, MFA, the SignInLocalDevelopmentAccess
/// policy) before the day it is needed; the signed-in ARN must be the named user's, in the MFA
/// device's account. Only the user's name, ARN and MFA device are stored (no secret); the
/// sign-in's credentials are checked with GetCallerIdentity and then dropped. Audited.
#[allow(clippy::too_many_arguments)]
pub fn enroll_console(
    env: &Env,
    store: &dyn SecretStore,
    user: &IamUserName,
    mfa_serial: &str,
    region: &awsx_core::types::Region,
    flow: Flow,
    timeout: std::time::Duration,
    ui: &mut dyn awsx_console::LoginUi,
    now: OffsetDateTime,
) -> Result<ConsoleEnrolment, BreakglassError> {
    let mut log = AuditLog::open(&audit::path(env))?;
    let mut event = AuditEvent::new(audit::EventKind::Enroll, env, now);
    event.iam_user = Some(user.to_string());
    event.mfa_serial = Some(mfa_serial.to_owned());
    event.source = Some("console-session".to_owned());
    let result = (|| {
        key::check_mfa_serial(mfa_serial)?;
        let rt = awsx_aws::runtime()?;
        // The session only names itself in messages; it is not saved.
        let label: awsx_core::types::ProfileName = format!("breakglass-{user}")
            .parse()
            .map_err(|e: awsx_core::types::InvalidValue| BreakglassError::Config(e.to_string()))?;
        let signed_in = rt.block_on(console::sign_in(env, &label, region, flow, timeout, ui))?;
        event.source_principal = Some(signed_in.principal_arn.clone());
        check_user_arn(&signed_in.principal_arn, user).map_err(|_| {
            BreakglassError::WrongPrincipal {
                expected: format!("IAM user {user}"),
                signed_in: signed_in.principal_arn.clone(),
            }
        })?;
        let account = signed_in.principal_arn.split(':').nth(4);
        if mfa_serial.split(':').nth(4) != account {
            return Err(BreakglassError::Input(format!(
                "MFA device {mfa_serial} is not in the account of {}; use the user's own MFA device ARN",
                signed_in.principal_arn
            )));
        }
        let caller = rt.block_on(async {
            let clients = Clients::new(env, None, signed_in.credentials.clone()).await?;
            remote::caller_arn(&clients.sts).await
        })?;
        if caller != signed_in.principal_arn {
            return Err(BreakglassError::WrongPrincipal {
                expected: signed_in.principal_arn.clone(),
                signed_in: caller,
            });
        }
        let enrolment = ConsoleEnrolment::new(
            user.clone(),
            mfa_serial.to_owned(),
            signed_in.principal_arn,
            now,
        );
        enrolment.save(store)?;
        Ok(enrolment)
    })();
    match &result {
        Ok(_) => event.succeeded(),
        Err(e) => event.failed(e),
    }
    log.append(&event)?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_must_belong_to_the_named_user() {
        let user: IamUserName = "breakglass-alice".parse().unwrap();
        assert!(check_user_arn("arn:aws:iam::100000000001:user/breakglass-alice", &user).is_ok());
        assert!(
            check_user_arn("arn:aws:iam::100000000001:user/ops/breakglass-alice", &user).is_ok()
        );
        let err = check_user_arn("arn:aws:iam::100000000001:user/breakglass-bob", &user)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--user breakglass-bob"), "{err}");
        assert!(check_user_arn("arn:aws:sts::1:assumed-role/R/s", &user).is_err());
    }

    #[test]
    fn a_volatile_keychain_is_refused_unless_allowed() {
        use awsx_keychain::Backend;
        use awsx_keychain::memory::MemoryStore;
        let opened = OpenedStore {
            store: std::sync::Arc::new(MemoryStore::reporting(Backend::Keyutils)),
            warning: None,
        };
        assert!(matches!(
            check_durable(&opened, false),
            Err(BreakglassError::VolatileKeychain {
                fell_back: false,
                ..
            })
        ));
        assert!(check_durable(&opened, true).is_ok());
        let durable = OpenedStore {
            store: std::sync::Arc::new(MemoryStore::reporting(Backend::SecretService)),
            warning: None,
        };
        assert!(check_durable(&durable, false).is_ok());
    }
}
