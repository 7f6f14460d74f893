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
//! The sign-in is made for this one AssumeRole: same device (the browser comes back to a
//! loopback listener on 127.0.0.1) or, with `--remote`, cross device (the user pastes the
//! code the browser shows). Its refresh token and DPoP key are dropped when the command
//! ends; nothing of it is stored. It does not touch IAM Identity Center.
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::BreakglassError;
use awsx_core::env::Env;
use awsx_core::secret::Secret;
use awsx_core::types::IamUserName;
use awsx_keychain::{EntryName, SecretStore};
use awsx_signin::{
    AuthCode, AuthorizeRequest, DpopKey, Endpoint, authorization_code_request,
    parse_token_response, principal_from_id_token,
};

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

/// How the browser comes back with the sign-in's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The browser on this machine redirects to a listener on 127.0.0.1.
    SameDevice,
    /// `--remote` (SSH): the user opens the URL anywhere and pastes the code it shows.
    CrossDevice,
}

/// What the command layer does for a sign-in: library code never prints.
pub trait SigninUi {
    /// Same device: open `url` in the browser (and show it, in case none opens).
    fn open(&mut self, url: &str);
    /// Cross device: show `url` and read the code the user pastes.
    fn paste_code(&mut self, url: &str) -> Result<Secret<String>, BreakglassError>;
}

/// Credentials of a console sign-in, and whose they are.
pub struct ConsoleCredentials {
    /// The signed-in principal (the id token's `sub`).
    pub principal_arn: String,
    pub credentials: aws_credential_types::Credentials,
    pub expiration: OffsetDateTime,
}

impl std::fmt::Debug for ConsoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleCredentials")
            .field("principal_arn", &self.principal_arn)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// The sign-in endpoint: `AWS_ENDPOINT_URL_SIGNIN`, else `https://{region}.signin.aws.amazon.com`.
pub fn endpoint(env: &Env, region: &str) -> Result<Endpoint, BreakglassError> {
    Endpoint::resolve(region, env.var("AWS_ENDPOINT_URL_SIGNIN")).map_err(|e| {
        BreakglassError::Config(format!(
            "AWS_ENDPOINT_URL_SIGNIN: {e}; unset it or give an https URL"
        ))
    })
}

/// Sign in through the browser and exchange the code for credentials. The caller checks
/// whose they are ([`check_principal`]): a browser whose console is already signed in as
/// someone else gives credentials of the wrong principal.
pub async fn sign_in(
    env: &Env,
    region: &str,
    flow: Flow,
    timeout: Duration,
    ui: &mut dyn SigninUi,
) -> Result<ConsoleCredentials, BreakglassError> {
    let endpoint = endpoint(env, region)?;
    let signin_failed = |e: &dyn std::fmt::Display| BreakglassError::Signin(e.to_string());
    let (authorize, code) = match flow {
        Flow::SameDevice => {
            let listener = awsx_sso::pkce::Listener::bind()
                .await
                .map_err(|e| signin_failed(&e))?;
            let port = port_of(&listener.redirect_uri())
                .ok_or_else(|| BreakglassError::Signin("no loopback port".into()))?;
            let authorize = AuthorizeRequest::same_device(port).map_err(|e| signin_failed(&e))?;
            ui.open(&authorize.url(&endpoint));
            let code = listener
                .wait_for_code(authorize.state(), timeout)
                .await
                .map_err(|e| match e {
                    awsx_sso::SsoError::Denied => BreakglassError::SigninDenied,
                    other => signin_failed(&other),
                })?;
            (
                authorize,
                AuthCode(awsx_signin::Secret::new(code.expose().clone())),
            )
        }
        Flow::CrossDevice => {
            let authorize =
                AuthorizeRequest::cross_device(&endpoint).map_err(|e| signin_failed(&e))?;
            let pasted = ui.paste_code(&authorize.url(&endpoint))?;
            let code = authorize
                .accept_pasted_code(pasted.expose())
                .map_err(|e| signin_failed(&e))?;
            (authorize, code)
        }
    };
    let key = DpopKey::generate().map_err(|e| signin_failed(&e))?;
    let now = OffsetDateTime::now_utc();
    let request = authorization_code_request(&endpoint, &authorize, &code, &key, now)
        .map_err(|e| signin_failed(&e))?;
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let reply = awsx_aws::http_post(env, &request.url, &headers, request.body.expose().clone())
        .await
        .map_err(|e| BreakglassError::Signin(format!("AWS Sign-In could not be reached: {e}")))?;
    let error_type = reply.header("x-amzn-errortype").map(str::to_owned);
    let body = awsx_signin::Secret::new(reply.body);
    let grant = parse_token_response(reply.status, error_type.as_deref(), body.expose(), now)
        .map_err(|e| signin_failed(&e))?;
    let id_token = grant.id_token.as_ref().ok_or_else(|| {
        BreakglassError::Signin(
            "AWS Sign-In's reply names no signed-in principal (no id token); sign in again".into(),
        )
    })?;
    let principal = principal_from_id_token(id_token.as_str()).map_err(|e| signin_failed(&e))?;
    let c = grant.credentials;
    Ok(ConsoleCredentials {
        principal_arn: principal.arn,
        expiration: c.expiration,
        credentials: aws_credential_types::Credentials::new(
            c.access_key_id,
            c.secret_access_key.as_str().to_owned(),
            Some(c.session_token.as_str().to_owned()),
            None,
            "awsx-breakglass-console",
        ),
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

/// `http://127.0.0.1:PORT/oauth/callback` → PORT.
fn port_of(redirect_uri: &str) -> Option<u16> {
    let rest = redirect_uri.strip_prefix("http://127.0.0.1:")?;
    rest.split('/').next()?.parse().ok()
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

    #[test]
    fn the_loopback_port_comes_from_the_redirect_uri() {
        assert_eq!(port_of("http://127.0.0.1:4711/oauth/callback"), Some(4711));
        assert_eq!(port_of("https://example.com/x"), None);
    }
}
