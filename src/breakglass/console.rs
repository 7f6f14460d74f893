//! Keyless break-glass: the source credentials of AssumeRole come from a console sign-in of
//! the break-glass IAM user (AWS Sign-In's OAuth 2.0 API, the one `aws login` uses) instead
//! of an access key kept in the keychain. Nothing secret is enrolled: the keychain entry
//! `breakglass-key:<user>` only says that the user signs in through the console, with which
//! MFA device and ARN.
//!
//! Why AssumeRole still carries SerialNumber and TokenCode: no AWS document says that the
//! credentials of a console sign-in carry `aws:MultiFactorAuthPresent` when the sign-in
//! used MFA (docs/breakglass.md, "Keyless break-glass", has the sources). So the role's
//! MFA-requiring trust policy is met the documented way, by STS checking the TOTP code in
//! the AssumeRole call itself, exactly as for an enrolled key.
//!
//! The source is a live `awsx login --console` session of that user when there is one
//! (awsx-console serves it, refreshing it if need be); else a sign-in through the browser
//! made for this one AssumeRole (awsx-console's login: same device, the browser coming back
//! to a loopback listener on 127.0.0.1, or with `--remote` cross device, the user pasting the
//! code the page shows), whose refresh token and DPoP key are dropped when the command ends.
//! Neither touches IAM Identity Center.
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::BreakglassError;
use awsx_core::env::Env;
use awsx_core::secret::Secret;
use awsx_core::types::{IamUserName, ProfileName, Region};
use awsx_creds::RoleCredentials;
use awsx_keychain::{EntryName, SecretStore};

/// The value of `source` in a console enrolment's entry.
pub const SOURCE_CONSOLE: &str = "console";

/// A break-glass user enrolled for console sign-in: no secret, only who and which MFA device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleEnrolment {
    /// Always [`SOURCE_CONSOLE`]; tells this entry from a [`super::key::StoredKey`].
    pub source: String,
    pub user: IamUserName,
    /// The user's MFA device; a profile's `awsx_mfa_serial` takes precedence.
    pub mfa_serial: String,
    /// `arn:aws:iam::ACCOUNT:user/NAME`: a sign-in as anyone else is refused.
    pub user_arn: String,
    #[serde(with = "time::serde::rfc3339")]
    pub enrolled: OffsetDateTime,
}

impl ConsoleEnrolment {
    pub fn new(
        user: IamUserName,
        mfa_serial: String,
        user_arn: String,
        now: OffsetDateTime,
    ) -> Self {
        ConsoleEnrolment {
            source: SOURCE_CONSOLE.to_owned(),
            user,
            mfa_serial,
            user_arn,
            enrolled: now,
        }
    }

    /// Create or replace the user's entry (replacing an enrolled key, if there was one).
    pub fn save(&self, store: &dyn SecretStore) -> Result<(), BreakglassError> {
        let json = serde_json::to_string(self).map_err(|e| {
            BreakglassError::Config(format!("cannot encode the enrolment entry: {e}"))
        })?;
        store.set(
            &EntryName::breakglass_key(&self.user),
            &Secret::new(json),
            None,
        )?;
        Ok(())
    }

    /// The management account, from the user's ARN.
    pub fn account(&self) -> Option<&str> {
        self.user_arn.split(':').nth(4)
    }
}

pub use awsx_console::Flow;

/// Where keyless break-glass gets console credentials; the command layer implements it
/// (only it prints, and it knows how `credential-process` serves console profiles).
pub trait ConsoleSource: awsx_console::LoginUi {
    /// Credentials of a live `awsx login --console` session of `principal_arn` (refreshed
    /// if need be), and the profile that holds it; `None` when there is none to use.
    fn live_session(&mut self, principal_arn: &str) -> Option<(ProfileName, RoleCredentials)>;
}

/// Credentials of a console sign-in, and whose they are.
pub struct ConsoleCredentials {
    /// The signed-in principal (the id token's `sub`).
    pub principal_arn: String,
    pub credentials: aws_credential_types::Credentials,
    /// The `awsx login --console` profile whose live session gave them; `None` when awsx
    /// signed in through the browser for this one command.
    pub live_profile: Option<ProfileName>,
}

impl std::fmt::Debug for ConsoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleCredentials")
            .field("principal_arn", &self.principal_arn)
            .field("live_profile", &self.live_profile)
            .finish_non_exhaustive()
    }
}

fn sdk_credentials(c: &RoleCredentials) -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(
        c.access_key_id.clone(),
        c.secret_access_key.expose().clone(),
        Some(c.session_token.expose().clone()),
        None,
        "awsx-breakglass-console",
    )
}

/// The user's console credentials: from a live console session of `principal_arn` when
/// there is one, else from a sign-in through the browser made for this command only (see
/// [`sign_in`]). The caller checks whose they are ([`check_principal`]). The live session
/// is asked for outside the runtime (serving it may start one of its own to refresh).
#[allow(clippy::too_many_arguments)]
pub fn source_credentials(
    rt: &tokio::runtime::Runtime,
    env: &Env,
    label: &ProfileName,
    region: &Region,
    principal_arn: &str,
    flow: Flow,
    timeout: Duration,
    source: &mut dyn ConsoleSource,
) -> Result<ConsoleCredentials, BreakglassError> {
    if let Some((profile, creds)) = source.live_session(principal_arn) {
        return Ok(ConsoleCredentials {
            principal_arn: principal_arn.to_owned(),
            credentials: sdk_credentials(&creds),
            live_profile: Some(profile),
        });
    }
    rt.block_on(sign_in(env, label, region, flow, timeout, source))
}

/// Sign in through the browser (awsx-console's login: same device, or cross device with a
/// pasted code) and return the session's credentials. The session is not saved: its refresh
/// token and DPoP key are dropped with it. `label` only names it in messages.
pub async fn sign_in(
    env: &Env,
    label: &ProfileName,
    region: &Region,
    flow: Flow,
    timeout: Duration,
    ui: &mut dyn awsx_console::LoginUi,
) -> Result<ConsoleCredentials, BreakglassError> {
    let session = awsx_console::login(env, label, region, flow, ui, timeout)
        .await
        .map_err(|e| match e {
            awsx_console::ConsoleError::Denied => BreakglassError::SigninDenied,
            other => BreakglassError::Signin(other.to_string()),
        })?;
    let creds = session.credentials.as_ref().ok_or_else(|| {
        BreakglassError::Signin("AWS Sign-In returned no credentials; sign in again".into())
    })?;
    Ok(ConsoleCredentials {
        principal_arn: session.principal_arn.clone(),
        credentials: sdk_credentials(creds),
        live_profile: None,
    })
}

/// The sign-in must be the enrolled user's: refused (before any use) otherwise.
pub fn check_principal(
    expected_arn: &str,
    signed_in: &ConsoleCredentials,
) -> Result<(), BreakglassError> {
    if signed_in.principal_arn == expected_arn {
        Ok(())
    } else {
        Err(BreakglassError::WrongPrincipal {
            expected: expected_arn.to_owned(),
            signed_in: signed_in.principal_arn.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_keychain::memory::MemoryStore;

    #[test]
    fn a_console_enrolment_holds_no_secret_and_round_trips() {
        let store = MemoryStore::default();
        let user: IamUserName = "breakglass-alice".parse().unwrap();
        let serial = "arn:aws:iam::100000000001:mfa/breakglass-alice";
        let arn = "arn:aws:iam::100000000001:user/breakglass-alice".to_owned();
        let e = ConsoleEnrolment::new(
            user.clone(),
            serial.into(),
            arn,
            OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        );
        e.save(&store).unwrap();
        let raw = store
            .get(&EntryName::breakglass_key(&user))
            .unwrap()
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(raw.expose()).unwrap();
        assert_eq!(json["source"], "console");
        assert!(json.get("secret_access_key").is_none());
        assert_eq!(e.account(), Some("100000000001"));
    }
}
