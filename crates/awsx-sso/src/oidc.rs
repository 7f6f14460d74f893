//! The SSO OIDC calls: RegisterClient, StartDeviceAuthorization, and CreateToken for the
//! device-code and refresh-token grants.
use std::time::Duration;

use aws_sdk_ssooidc::Client;
use aws_sdk_ssooidc::operation::create_token::CreateTokenError;
use time::OffsetDateTime;

use super::error::{SsoError, describe};
use super::model::{ClientRegistration, DeviceAuthorization, SsoToken};
use awsx_core::secret::Secret;
use awsx_core::types::{Expiration, Region, StartUrl};

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const REFRESH_GRANT: &str = "refresh_token";
pub use super::model::ACCOUNT_ACCESS_SCOPE;
/// The longest an access token is believed to live, whatever `expiresIn` says (Identity
/// Center issues 1 h access tokens, renewed with the refresh token): an absurd `expiresIn`
/// would otherwise keep a token awsx cannot vouch for in the keychain for weeks.
pub const MAX_TOKEN_LIFETIME: time::Duration = time::Duration::hours(12);
/// Access and refresh tokens longer than this are refused (real ones are about 1,000 to
/// 2,000 characters).
pub const MAX_TOKEN_LENGTH: usize = 8192;
/// RFC 8628: on slow_down the client adds five seconds to its polling interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

pub async fn register_client(
    client: &Client,
    scopes: &[String],
    region: &Region,
) -> Result<ClientRegistration, SsoError> {
    let out = client
        .register_client()
        .client_name(format!("awsx-{}", hostname_hint()))
        .client_type("public")
        .set_scopes(Some(scopes.to_vec()))
        .send()
        .await
        .map_err(|e| SsoError::Service {
            operation: "RegisterClient",
            message: describe(&e),
        })?;
    registration_from(&out, scopes, region, Vec::new())
}

/// What awsx keeps of a RegisterClient reply.
fn registration_from(
    out: &aws_sdk_ssooidc::operation::register_client::RegisterClientOutput,
    scopes: &[String],
    region: &Region,
    grant_types: Vec<String>,
) -> Result<ClientRegistration, SsoError> {
    let bad = |what| SsoError::BadReply {
        operation: "RegisterClient",
        what,
    };
    Ok(ClientRegistration {
        client_id: out.client_id().ok_or(bad("no clientId"))?.to_owned(),
        client_secret: Secret::new(
            out.client_secret()
                .ok_or(bad("no clientSecret"))?
                .to_owned(),
        ),
        expires_at: Expiration::from_unix_seconds(out.client_secret_expires_at())
            .ok_or(bad("clientSecretExpiresAt out of range"))?,
        scopes: scopes.to_vec(),
        region: region.clone(),
        grant_types,
    })
}

/// A short, non-identifying client name suffix, so the Identity Center admin can tell awsx's
/// registrations apart from other tools'.
fn hostname_hint() -> &'static str {
    "cli"
}

pub async fn start_device_authorization(
    client: &Client,
    registration: &ClientRegistration,
    start_url: &StartUrl,
    now: OffsetDateTime,
) -> Result<DeviceAuthorization, SsoError> {
    let out = client
        .start_device_authorization()
        .client_id(&registration.client_id)
        .client_secret(registration.client_secret.expose())
        .start_url(start_url.as_str())
        .send()
        .await
        .map_err(|e| SsoError::Service {
            operation: "StartDeviceAuthorization",
            message: describe(&e),
        })?;
    let bad = |what| SsoError::BadReply {
        operation: "StartDeviceAuthorization",
        what,
    };
    Ok(DeviceAuthorization {
        device_code: Secret::new(out.device_code().ok_or(bad("no deviceCode"))?.to_owned()),
        user_code: out.user_code().ok_or(bad("no userCode"))?.to_owned(),
        verification_uri: out
            .verification_uri()
            .ok_or(bad("no verificationUri"))?
            .to_owned(),
        verification_uri_complete: out.verification_uri_complete().map(str::to_owned),
        expires_at: now + time::Duration::seconds(i64::from(out.expires_in().max(1))),
        // AWS sends 1; RFC 8628 says 5 when absent.
        interval: Duration::from_secs(
            u64::try_from(out.interval())
                .ok()
                .filter(|s| *s > 0)
                .unwrap_or(5),
        ),
    })
}

/// What one CreateToken poll said.
enum Poll {
    Pending,
    SlowDown,
    Done(SsoToken),
}

/// Poll CreateToken until the user approves, denies, or the code expires. `on_poll` is
/// called before each wait with the number of polls so far (for the spinner and for tests
/// that count them through the emulator).
pub async fn wait_for_approval(
    client: &Client,
    registration: &ClientRegistration,
    device: &DeviceAuthorization,
    start_url: &StartUrl,
    mut on_poll: impl FnMut(u32),
) -> Result<SsoToken, SsoError> {
    let mut interval = device.interval;
    let mut polls = 0u32;
    loop {
        tokio::time::sleep(interval).await;
        if OffsetDateTime::now_utc() >= device.expires_at {
            return Err(expired(device));
        }
        polls += 1;
        on_poll(polls);
        match poll_once(client, registration, device, start_url).await? {
            Poll::Done(token) => return Ok(token),
            Poll::Pending => {}
            Poll::SlowDown => interval += SLOW_DOWN_STEP,
        }
    }
}

fn expired(device: &DeviceAuthorization) -> SsoError {
    let minutes = (device.expires_at - OffsetDateTime::now_utc())
        .whole_minutes()
        .max(10);
    SsoError::DeviceCodeExpired { minutes }
}

async fn poll_once(
    client: &Client,
    registration: &ClientRegistration,
    device: &DeviceAuthorization,
    start_url: &StartUrl,
) -> Result<Poll, SsoError> {
    let issued_at = OffsetDateTime::now_utc();
    let result = client
        .create_token()
        .client_id(&registration.client_id)
        .client_secret(registration.client_secret.expose())
        .grant_type(DEVICE_CODE_GRANT)
        .device_code(device.device_code.expose())
        .send()
        .await;
    match result {
        Ok(out) => Ok(Poll::Done(token_from(
            out.access_token(),
            out.expires_in(),
            out.refresh_token(),
            start_url,
            &registration.region,
            issued_at,
        )?)),
        Err(err) => match err.as_service_error() {
            Some(e) if e.is_authorization_pending_exception() => Ok(Poll::Pending),
            Some(e) if e.is_slow_down_exception() => Ok(Poll::SlowDown),
            Some(e) if e.is_access_denied_exception() => Err(SsoError::Denied),
            Some(e) if e.is_expired_token_exception() => Err(expired(device)),
            _ => Err(create_token_failed(&err)),
        },
    }
}

fn create_token_failed(
    err: &aws_smithy_runtime_api::client::result::SdkError<
        CreateTokenError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> SsoError {
    SsoError::Service {
        operation: "CreateToken",
        message: describe(err),
    }
}

/// Why a refresh did not produce a token.
#[derive(Debug)]
pub enum RefreshFailure {
    /// The refresh token or the client is no longer accepted: a new login is needed.
    Rejected,
    /// Something else went wrong (network, 5xx); the caller decides.
    Other(SsoError),
}

pub async fn refresh(
    client: &Client,
    registration: &ClientRegistration,
    token: &SsoToken,
) -> Result<SsoToken, RefreshFailure> {
    let Some(refresh_token) = &token.refresh_token else {
        return Err(RefreshFailure::Rejected);
    };
    let issued_at = OffsetDateTime::now_utc();
    let out = client
        .create_token()
        .client_id(&registration.client_id)
        .client_secret(registration.client_secret.expose())
        .grant_type(REFRESH_GRANT)
        .refresh_token(refresh_token.expose())
        .send()
        .await
        .map_err(|err| match err.as_service_error() {
            Some(e)
                if e.is_invalid_grant_exception()
                    || e.is_expired_token_exception()
                    || e.is_invalid_client_exception()
                    || e.is_access_denied_exception()
                    || e.is_unauthorized_client_exception() =>
            {
                RefreshFailure::Rejected
            }
            _ => RefreshFailure::Other(create_token_failed(&err)),
        })?;
    let mut fresh = token_from(
        out.access_token(),
        out.expires_in(),
        out.refresh_token(),
        &token.start_url,
        &token.region,
        issued_at,
    )
    .map_err(RefreshFailure::Other)?;
    // Identity Center rotates refresh tokens; if a reply ever omits one, the old one stays.
    if fresh.refresh_token.is_none() {
        fresh.refresh_token = token.refresh_token.clone();
    }
    Ok(fresh)
}

fn token_from(
    access_token: Option<&str>,
    expires_in: i32,
    refresh_token: Option<&str>,
    start_url: &StartUrl,
    region: &Region,
    issued_at: OffsetDateTime,
) -> Result<SsoToken, SsoError> {
    let access_token = access_token
        .filter(|t| !t.is_empty())
        .ok_or(SsoError::BadReply {
            operation: "CreateToken",
            what: "no accessToken",
        })?;
    if expires_in <= 0 {
        return Err(SsoError::BadReply {
            operation: "CreateToken",
            what: "expiresIn is not positive",
        });
    }
    let sane = |t: &str| t.len() <= MAX_TOKEN_LENGTH && t.bytes().all(|b| b.is_ascii_graphic());
    let refresh_token = refresh_token.filter(|t| !t.is_empty());
    if !sane(access_token) || !refresh_token.is_none_or(sane) {
        return Err(SsoError::BadReply {
            operation: "CreateToken",
            what: "a token longer than 8,192 characters or not printable ASCII",
        });
    }
    let lifetime = time::Duration::seconds(i64::from(expires_in));
    if lifetime > MAX_TOKEN_LIFETIME {
        tracing::warn!(
            expires_in,
            "CreateToken's expiresIn exceeds 12 h; keeping the access token 12 h"
        );
    }
    Ok(SsoToken {
        access_token: Secret::new(access_token.to_owned()),
        expires_at: Expiration::new(issued_at + lifetime.min(MAX_TOKEN_LIFETIME)),
        refresh_token: refresh_token.map(|t| Secret::new(t.to_owned())),
        start_url: start_url.clone(),
        region: region.clone(),
        issued_at: Expiration::new(issued_at),
        login: None,
    })
}

/// The grant types of a client registered for the browser login (as the AWS CLI v2
/// registers it): such a client cannot run the device flow.
pub const AUTHORIZATION_CODE_GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];

/// RegisterClient for the authorization code grant with PKCE: the grant types, the loopback
/// redirect URI (without a port: RFC 8252 loopback redirects match on any port) and the
/// issuer URL, which is the session's start URL.
pub async fn register_client_for_browser(
    client: &Client,
    scopes: &[String],
    region: &Region,
    start_url: &StartUrl,
) -> Result<ClientRegistration, SsoError> {
    let out = client
        .register_client()
        .client_name(format!("awsx-{}", hostname_hint()))
        .client_type("public")
        .set_scopes(Some(scopes.to_vec()))
        .set_grant_types(Some(
            AUTHORIZATION_CODE_GRANT_TYPES
                .iter()
                .map(|g| (*g).to_owned())
                .collect(),
        ))
        .redirect_uris(super::pkce::REGISTERED_REDIRECT_URI)
        .issuer_url(start_url.as_str())
        .send()
        .await
        .map_err(|e| SsoError::Service {
            operation: "RegisterClient",
            message: describe(&e),
        })?;
    registration_from(
        &out,
        scopes,
        region,
        AUTHORIZATION_CODE_GRANT_TYPES
            .iter()
            .map(|g| (*g).to_owned())
            .collect(),
    )
}

/// CreateToken with the authorization code grant: the code from the redirect, the PKCE
/// verifier and the very redirect URI the authorize request carried (port included).
pub async fn exchange_code(
    client: &Client,
    registration: &ClientRegistration,
    code: &Secret<String>,
    verifier: &Secret<String>,
    redirect_uri: &str,
    start_url: &StartUrl,
) -> Result<SsoToken, SsoError> {
    let issued_at = OffsetDateTime::now_utc();
    let out = client
        .create_token()
        .client_id(&registration.client_id)
        .client_secret(registration.client_secret.expose())
        .grant_type("authorization_code")
        .code(code.expose())
        .code_verifier(verifier.expose())
        .redirect_uri(redirect_uri)
        .send()
        .await
        .map_err(|err| match err.as_service_error() {
            Some(e) if e.is_access_denied_exception() => SsoError::Denied,
            _ => create_token_failed(&err),
        })?;
    token_from(
        out.access_token(),
        out.expires_in(),
        out.refresh_token(),
        start_url,
        &registration.region,
        issued_at,
    )
}

/// The OIDC endpoint the browser's authorize request goes to: the one the SDK calls
/// (`AWS_ENDPOINT_URL_SSO_OIDC`, else `AWS_ENDPOINT_URL`), else the region's public one.
pub fn authorize_endpoint(env: &awsx_core::env::Env, region: &Region) -> String {
    ["AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|name| env.var(name).filter(|v| !v.trim().is_empty()))
        .map_or_else(
            || format!("https://oidc.{}.amazonaws.com", region.as_str()),
            |v| v.trim().trim_end_matches('/').to_owned(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(access: &str, expires_in: i32, refresh: Option<&str>) -> Result<SsoToken, SsoError> {
        token_from(
            Some(access),
            expires_in,
            refresh,
            &"https://d-1.awsapps.com/start".parse().unwrap(),
            &"us-east-1".parse().unwrap(),
            OffsetDateTime::UNIX_EPOCH + time::Duration::days(20000),
        )
    }

    #[test]
    fn token_lifetimes_are_clamped_and_sizes_checked() {
        let issued = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20000);
        let t = token("aoa", 3600, Some("aor")).unwrap();
        assert_eq!(t.expires_at.at(), issued + time::Duration::hours(1));
        // 400 days become 12 h.
        let t = token("aoa", 400 * 86400, Some("aor")).unwrap();
        assert_eq!(t.expires_at.at(), issued + MAX_TOKEN_LIFETIME);
        assert!(token("aoa", 0, None).is_err());
        assert!(token(&"a".repeat(8192), 3600, None).is_ok());
        assert!(token(&"a".repeat(8193), 3600, None).is_err());
        assert!(token("aoa", 3600, Some(&"r".repeat(8193))).is_err());
        assert!(token("ao\na", 3600, None).is_err());
    }
}
