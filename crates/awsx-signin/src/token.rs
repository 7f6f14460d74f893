//! CreateOAuth2Token (`POST /v1/token`), sans-IO: the requests for both grants and the reply,
//! typed.
//!
//! Sources: botocore's Sign-In model (data/signin/2023-01-01/service-2.json: rest-json, the
//! body is the `tokenInput` / `tokenOutput` payload itself, `noAuth`), aws-sdk-signin 1.33.0's
//! serializers (`ser_create_o_auth2_token_request_body`: camelCase keys `clientId`, `grantType`,
//! `code`, `redirectUri`, `codeVerifier`, `refreshToken`; `Content-Type: application/json`) and
//! error parsing (`json_errors.rs`: the error name from `x-amzn-errortype`, else the body's
//! `code` / `__type`, trimmed at `:` and after `#`; the OAuth 2.0 code in the body's `error`),
//! the AWS CLI's `_exchange_auth_code_for_access_token` (code grant: `redirectUri` sent in both
//! flows, the login session is the id token's `sub`, the account id that ARN's account) and
//! botocore's `LoginCredentialFetcher.refresh_credentials` (refresh grant; TOKEN_EXPIRED and
//! USER_CREDENTIALS_CHANGED mean "log in again"; the account id and id token are kept).

use crate::authorize::{AuthCode, AuthorizeRequest, ClientId};
use crate::b64url_decode;
use crate::dpop::{DpopKey, KeyError};
use crate::endpoint::Endpoint;
use crate::secret::Secret;
use serde::Deserialize;
use std::fmt;
use time::{Duration, OffsetDateTime};

/// An HTTP request for the caller's connector to send as is.
pub struct TokenHttpRequest {
    pub method: &'static str,
    pub url: String,
    /// `Content-Type` and `DPoP`. The connector adds `Content-Length`, `Host`, `User-Agent`.
    pub headers: Vec<(&'static str, String)>,
    /// JSON; it carries the refresh token or the code and verifier.
    pub body: Secret<Vec<u8>>,
}

impl fmt::Debug for TokenHttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenHttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

fn token_request(
    endpoint: &Endpoint,
    body: serde_json::Value,
    key: &DpopKey,
    now: OffsetDateTime,
) -> Result<TokenHttpRequest, KeyError> {
    let url = endpoint.token_url();
    let proof = key.proof("POST", &url, now)?;
    Ok(TokenHttpRequest {
        method: "POST",
        headers: vec![
            ("Content-Type", "application/json".to_owned()),
            ("DPoP", proof),
        ],
        url,
        body: Secret::new(body.to_string().into_bytes()),
    })
}

/// The `authorization_code` grant: `{"clientId","grantType","code","redirectUri","codeVerifier"}`.
pub fn authorization_code_request(
    endpoint: &Endpoint,
    authorize: &AuthorizeRequest,
    code: &AuthCode,
    key: &DpopKey,
    now: OffsetDateTime,
) -> Result<TokenHttpRequest, KeyError> {
    // serde_json's map keeps keys sorted; the order of JSON members carries no meaning.
    let body = serde_json::json!({
        "clientId": authorize.client_id().as_str(),
        "grantType": "authorization_code",
        "code": code.0.as_str(),
        "redirectUri": authorize.redirect_uri(),
        "codeVerifier": authorize.pkce().verifier().as_str(),
    });
    token_request(endpoint, body, key, now)
}

/// The `refresh_token` grant: `{"clientId","grantType","refreshToken"}`.
pub fn refresh_request(
    endpoint: &Endpoint,
    client_id: ClientId,
    refresh_token: &Secret<String>,
    key: &DpopKey,
    now: OffsetDateTime,
) -> Result<TokenHttpRequest, KeyError> {
    let body = serde_json::json!({
        "clientId": client_id.as_str(),
        "grantType": "refresh_token",
        "refreshToken": refresh_token.as_str(),
    });
    token_request(endpoint, body, key, now)
}

/// Short-lived credentials (at most 15 minutes: the model's `ExpiresIn` max is 900).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Secret<String>,
    /// now + `expiresIn`, as both SDKs compute it (the reply has no timestamp).
    pub expiration: OffsetDateTime,
}

/// A successful CreateOAuth2Token reply.
#[derive(Debug)]
pub struct TokenGrant {
    pub credentials: Credentials,
    /// The rotated refresh token: the previous one must not be used again.
    pub refresh_token: Secret<String>,
    /// `aws_sigv4`.
    pub token_type: String,
    /// Only on the code grant. A JWT whose `sub` is the signed-in principal's ARN.
    pub id_token: Option<Secret<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireGrant {
    access_token: WireCredentials,
    token_type: String,
    expires_in: i64,
    refresh_token: Secret<String>,
    id_token: Option<Secret<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCredentials {
    access_key_id: String,
    secret_access_key: Secret<String>,
    session_token: Secret<String>,
}

#[derive(Deserialize, Default)]
struct WireError {
    error: Option<String>,
    message: Option<String>,
    code: Option<String>,
    #[serde(rename = "__type")]
    type_: Option<String>,
}

/// What went wrong at the token endpoint. Messages carry the service's error code and
/// message, never a token, key or credential.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The refresh token expired or was already used (rotated), the password changed, or the
    /// authorization code expired: only a new sign-in helps (awsx exit 3).
    #[error("{} ({code}); sign in again with `awsx login --console`", login_required_reason(.code))]
    LoginRequired {
        code: String,
        message: Option<String>,
    },
    /// The principal may not use Sign-In for local development.
    #[error(
        "the signed-in principal may not create sign-in credentials (INSUFFICIENT_PERMISSIONS); attach the AWS managed policy SignInLocalDevelopmentAccess (signin:CreateOAuth2Token) to it, then sign in again"
    )]
    InsufficientPermissions,
    #[error("AWS Sign-In rejected the request ({code}{}); this is a bug in awsx or a changed API: run with --verbose and report it", message_suffix(.message))]
    BadRequest {
        code: String,
        message: Option<String>,
    },
    #[error("AWS Sign-In is throttling requests (HTTP 429); wait a minute and try again")]
    Throttled,
    #[error("AWS Sign-In failed (HTTP {status}{}); try again later", message_suffix(.message))]
    Server {
        status: u16,
        message: Option<String>,
    },
    #[error("AWS Sign-In answered HTTP {status} with {error_type:?}{}; try again, and report it if it persists", message_suffix(.message))]
    Unexpected {
        status: u16,
        error_type: Option<String>,
        message: Option<String>,
    },
    /// A 2xx whose body is not a token reply (position only: the body holds secrets).
    #[error(
        "AWS Sign-In's reply is not a token reply ({0}); try again, and report it if it persists"
    )]
    InvalidReply(String),
}

fn login_required_reason(code: &str) -> &'static str {
    match code {
        "AUTHCODE_EXPIRED" => {
            "the sign-in took too long: its authorization code expired or was already used"
        }
        "USER_CREDENTIALS_CHANGED" => "the console password changed since this session signed in",
        _ => "the console sign-in session has ended",
    }
}

fn message_suffix(message: &Option<String>) -> String {
    message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default()
}

impl TokenError {
    pub fn is_login_required(&self) -> bool {
        matches!(self, Self::LoginRequired { .. })
    }
}

/// Parses the token endpoint's reply. `error_type` is the `x-amzn-errortype` header if any;
/// `now` is when the request was sent (the credentials' lifetime counts from it).
pub fn parse_token_response(
    status: u16,
    error_type: Option<&str>,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<TokenGrant, TokenError> {
    if (200..300).contains(&status) {
        let wire: WireGrant = serde_json::from_slice(body).map_err(|e| {
            // serde_json's message may quote a value; keep only the kind and position.
            TokenError::InvalidReply(format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if wire.expires_in <= 0 {
            return Err(TokenError::InvalidReply("expiresIn is not positive".into()));
        }
        return Ok(TokenGrant {
            credentials: Credentials {
                access_key_id: wire.access_token.access_key_id,
                secret_access_key: wire.access_token.secret_access_key,
                session_token: wire.access_token.session_token,
                expiration: now + Duration::seconds(wire.expires_in),
            },
            refresh_token: wire.refresh_token,
            token_type: wire.token_type,
            id_token: wire.id_token,
        });
    }
    Err(classify_error(status, error_type, body))
}

fn classify_error(status: u16, error_type: Option<&str>, body: &[u8]) -> TokenError {
    let wire: WireError = serde_json::from_slice(body).unwrap_or_default();
    let error_type = error_type
        .map(str::to_owned)
        .or(wire.code)
        .or(wire.type_)
        .map(|t| sanitize_error_type(&t).to_owned());
    let message = wire.message.map(|m| printable(&m));
    let code = wire.error.unwrap_or_default();
    match code.as_str() {
        "TOKEN_EXPIRED" | "USER_CREDENTIALS_CHANGED" | "AUTHCODE_EXPIRED" | "invalid_grant" => {
            return TokenError::LoginRequired { code, message };
        }
        "INSUFFICIENT_PERMISSIONS" => return TokenError::InsufficientPermissions,
        _ => {}
    }
    match (error_type.as_deref(), status) {
        (Some("TooManyRequestsError"), _) | (_, 429) => TokenError::Throttled,
        (Some("InternalServerException"), _) | (_, 500..=599) => {
            TokenError::Server { status, message }
        }
        (Some("ValidationException"), _) | (_, 400) => TokenError::BadRequest {
            code: if code.is_empty() {
                "INVALID_REQUEST".into()
            } else {
                code
            },
            message,
        },
        (Some("AccessDeniedException"), _) | (_, 401) => TokenError::LoginRequired {
            code: if code.is_empty() {
                "AccessDeniedException".into()
            } else {
                code
            },
            message,
        },
        _ => TokenError::Unexpected {
            status,
            error_type,
            message,
        },
    }
}

/// aws-smithy's `sanitize_error_code`: drop a `:...` suffix and a `...#` namespace.
fn sanitize_error_type(error_type: &str) -> &str {
    let error_type = error_type.split(':').next().unwrap_or_default();
    error_type.rsplit('#').next().unwrap_or_default()
}

/// A server message for a terminal: one line, no control characters, at most 300 characters.
fn printable(message: &str) -> String {
    message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}

/// The signed-in principal, from the id token (the AWS CLI's
/// `_extract_login_session_from_id_token`, `_extract_account_id_from_login_session`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The `sub` claim: the principal's ARN (`arn:aws:iam::123456789012:user/Admin`,
    /// `...:root`, `arn:aws:sts::...:assumed-role/...`): the AWS CLI's `login_session`.
    pub arn: String,
    pub account_id: String,
}

/// Why the id token does not name a principal.
#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    #[error("the sign-in id token is not a JWT with a JSON payload; sign in again")]
    Malformed,
    #[error("the sign-in id token has no `sub` claim; sign in again")]
    NoSubject,
    #[error(
        "the sign-in id token's subject {0:?} is not an ARN with a 12-digit account id; sign in again"
    )]
    NotAnArn(String),
}

/// Reads `sub` from the JWT's payload without verifying its signature (the token came over TLS
/// straight from Sign-In, as for the CLI, which does the same).
pub fn principal_from_id_token(id_token: &str) -> Result<Principal, IdTokenError> {
    let mut parts = id_token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed);
    };
    let bytes = b64url_decode(payload).map_err(|_| IdTokenError::Malformed)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| IdTokenError::Malformed)?;
    let arn = claims["sub"].as_str().ok_or(IdTokenError::NoSubject)?;
    principal_from_arn(arn)
}

/// Splits the account id out of a login session ARN.
pub fn principal_from_arn(arn: &str) -> Result<Principal, IdTokenError> {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    match fields.as_slice() {
        ["arn", _partition, _service, _region, account, _resource]
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(Principal {
                arn: arn.to_owned(),
                account_id: (*account).to_owned(),
            })
        }
        _ => Err(IdTokenError::NotAnArn(arn.to_owned())),
    }
}

/// Everything a console sign-in session needs, as awsx keeps it (keychain) and as the AWS CLI
/// cache file holds it.
#[derive(Debug)]
pub struct Session {
    /// The principal's ARN (the AWS CLI's `login_session`, awsx's `awsx_login_session`).
    pub login_session: String,
    pub account_id: String,
    pub client_id: ClientId,
    pub credentials: Credentials,
    pub refresh_token: Secret<String>,
    pub token_type: Option<String>,
    pub id_token: Option<Secret<String>>,
    pub dpop_key: DpopKey,
}

/// The code grant's reply lacks what a session needs.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(
        "AWS Sign-In's reply to the code exchange has no id token, so the signed-in principal is unknown; sign in again"
    )]
    NoIdToken,
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
}

impl Session {
    /// The session the code grant made, with the key that signed its proof.
    pub fn from_code_grant(
        grant: TokenGrant,
        client_id: ClientId,
        dpop_key: DpopKey,
    ) -> Result<Self, SessionError> {
        let id_token = grant.id_token.ok_or(SessionError::NoIdToken)?;
        let principal = principal_from_id_token(id_token.as_str())?;
        Ok(Self {
            login_session: principal.arn,
            account_id: principal.account_id,
            client_id,
            credentials: grant.credentials,
            refresh_token: grant.refresh_token,
            token_type: Some(grant.token_type),
            id_token: Some(id_token),
            dpop_key,
        })
    }

    /// The refresh request for this session, proof signed with its key.
    pub fn refresh_request(
        &self,
        endpoint: &Endpoint,
        now: OffsetDateTime,
    ) -> Result<TokenHttpRequest, KeyError> {
        refresh_request(
            endpoint,
            self.client_id,
            &self.refresh_token,
            &self.dpop_key,
            now,
        )
    }

    /// Takes a refresh grant: new credentials and the rotated refresh token; the principal,
    /// account id, id token and key stay (as both SDKs do).
    pub fn apply_refresh(&mut self, grant: TokenGrant) {
        self.credentials = grant.credentials;
        self.refresh_token = grant.refresh_token;
        if grant.id_token.is_some() {
            self.id_token = grant.id_token;
        }
        self.token_type = Some(grant.token_type);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpop::tests::SDK_TEST_KEY;
    use crate::dpop::verify_proof;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_763_510_400).unwrap()
    }

    fn jwt(claims: &str) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            crate::b64url(claims.as_bytes())
        )
    }

    #[test]
    fn refresh_request_is_what_the_sdks_send() {
        let key = DpopKey::from_sec1_pem(SDK_TEST_KEY).unwrap();
        let endpoint = Endpoint::for_region("us-east-1");
        let request = refresh_request(
            &endpoint,
            ClientId::SameDevice,
            &Secret::from("rt-1"),
            &key,
            now(),
        )
        .unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.url,
            "https://us-east-1.signin.aws.amazon.com/v1/token"
        );
        assert_eq!(
            request.headers[0],
            ("Content-Type", "application/json".to_owned())
        );
        let body: serde_json::Value = serde_json::from_slice(request.body.expose()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"clientId": "arn:aws:signin:::devtools/same-device",
                "grantType": "refresh_token", "refreshToken": "rt-1"})
        );
        let (name, proof) = &request.headers[1];
        assert_eq!(*name, "DPoP");
        let proof = verify_proof(proof).unwrap();
        assert_eq!(
            (proof.htm.as_str(), proof.htu.as_str()),
            ("POST", request.url.as_str())
        );
        assert_eq!(
            (proof.iat, proof.jkt),
            (now().unix_timestamp(), key.thumbprint())
        );
        let shown = format!("{request:?}");
        assert!(!shown.contains("rt-1"), "{shown}");
    }

    #[test]
    fn code_request_carries_code_verifier_and_redirect_uri() {
        let key = DpopKey::generate().unwrap();
        let endpoint = Endpoint::new("http://127.0.0.1:7000").unwrap();
        for authorize in [
            AuthorizeRequest::same_device(4242).unwrap(),
            AuthorizeRequest::cross_device(&endpoint).unwrap(),
        ] {
            let code = AuthCode(Secret::from("the-code"));
            let request =
                authorization_code_request(&endpoint, &authorize, &code, &key, now()).unwrap();
            let body: serde_json::Value = serde_json::from_slice(request.body.expose()).unwrap();
            assert_eq!(
                body,
                serde_json::json!({
                    "clientId": authorize.client_id().as_str(),
                    "grantType": "authorization_code",
                    "code": "the-code",
                    "redirectUri": authorize.redirect_uri(),
                    "codeVerifier": authorize.pkce().verifier().as_str(),
                })
            );
            assert_eq!(request.url, "http://127.0.0.1:7000/v1/token");
        }
    }

    #[test]
    fn code_grant_reply_makes_a_session_named_by_the_id_token() {
        let body = serde_json::json!({
            "accessToken": {"accessKeyId": "ASIAEXAMPLE", "secretAccessKey": "sk", "sessionToken": "st"},
            "tokenType": "aws_sigv4",
            "expiresIn": 900,
            "refreshToken": "rt-1",
            "idToken": jwt(r#"{"sub":"arn:aws:iam::123456789012:user/Admin","iss":"x"}"#),
        })
        .to_string();
        let grant = parse_token_response(200, None, body.as_bytes(), now()).unwrap();
        assert_eq!(grant.credentials.expiration, now() + Duration::seconds(900));
        let shown = format!("{grant:?}");
        for secret in ["\"sk\"", "\"st\"", "rt-1"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let key = DpopKey::generate().unwrap();
        let mut session = Session::from_code_grant(grant, ClientId::SameDevice, key).unwrap();
        assert_eq!(
            session.login_session,
            "arn:aws:iam::123456789012:user/Admin"
        );
        assert_eq!(session.account_id, "123456789012");
        assert_eq!(session.credentials.access_key_id, "ASIAEXAMPLE");
        assert_eq!(session.credentials.secret_access_key.as_str(), "sk");

        let refreshed = serde_json::json!({
            "accessToken": {"accessKeyId": "ASIANEW", "secretAccessKey": "sk2", "sessionToken": "st2"},
            "tokenType": "aws_sigv4", "expiresIn": 600, "refreshToken": "rt-2",
        })
        .to_string();
        let later = now() + Duration::minutes(14);
        session
            .apply_refresh(parse_token_response(200, None, refreshed.as_bytes(), later).unwrap());
        assert_eq!(session.refresh_token.as_str(), "rt-2");
        assert_eq!(session.credentials.access_key_id, "ASIANEW");
        assert_eq!(
            session.credentials.expiration,
            later + Duration::seconds(600)
        );
        assert_eq!(session.account_id, "123456789012");
        assert!(session.id_token.is_some());
    }

    #[test]
    fn code_grant_without_id_token_is_refused() {
        let body = r#"{"accessToken":{"accessKeyId":"A","secretAccessKey":"s","sessionToken":"t"},"tokenType":"aws_sigv4","expiresIn":900,"refreshToken":"r"}"#;
        let grant = parse_token_response(200, None, body.as_bytes(), now()).unwrap();
        let err =
            Session::from_code_grant(grant, ClientId::SameDevice, DpopKey::generate().unwrap());
        assert!(matches!(err, Err(SessionError::NoIdToken)));
    }

    #[test]
    fn id_token_subjects() {
        let root =
            principal_from_id_token(&jwt(r#"{"sub":"arn:aws:iam::000000000000:root"}"#)).unwrap();
        assert_eq!(root.account_id, "000000000000");
        let role =
            principal_from_arn("arn:aws:sts::111122223333:assumed-role/Admin/alice").unwrap();
        assert_eq!(role.account_id, "111122223333");
        assert!(matches!(
            principal_from_id_token(&jwt(r#"{"aud":"x"}"#)),
            Err(IdTokenError::NoSubject)
        ));
        assert!(matches!(
            principal_from_id_token("a.b"),
            Err(IdTokenError::Malformed)
        ));
        assert!(matches!(
            principal_from_arn("user/Admin"),
            Err(IdTokenError::NotAnArn(_))
        ));
    }

    #[test]
    fn service_errors_map_to_what_the_user_must_do() {
        let err = |status, header: Option<&str>, body: &str| {
            parse_token_response(status, header, body.as_bytes(), now()).unwrap_err()
        };
        let expired = err(
            401,
            Some("AccessDeniedException"),
            r#"{"error":"TOKEN_EXPIRED","message":"Refresh token expired"}"#,
        );
        assert!(expired.is_login_required());
        assert_eq!(
            expired.to_string(),
            "the console sign-in session has ended (TOKEN_EXPIRED); sign in again with `awsx login --console`"
        );
        let late = err(
            401,
            Some("AccessDeniedException"),
            r#"{"error":"AUTHCODE_EXPIRED","message":"m"}"#,
        );
        assert!(
            late.to_string().starts_with("the sign-in took too long"),
            "{late}"
        );
        assert!(
            expired.to_string().contains("awsx login --console"),
            "{expired}"
        );
        for code in [
            "TOKEN_EXPIRED",
            "USER_CREDENTIALS_CHANGED",
            "AUTHCODE_EXPIRED",
            "invalid_grant",
        ] {
            let body = format!(r#"{{"error":"{code}","message":"m"}}"#);
            assert!(err(403, None, &body).is_login_required(), "{code}");
        }
        // The error name may come from the body, namespaced, as aws-smithy accepts it.
        let denied = err(
            403,
            None,
            r#"{"__type":"com.amazonaws.signin#AccessDeniedException:http://x","error":"INSUFFICIENT_PERMISSIONS","message":"m"}"#,
        );
        assert!(matches!(denied, TokenError::InsufficientPermissions));
        assert!(denied.to_string().contains("SignInLocalDevelopmentAccess"));
        assert!(matches!(
            err(
                429,
                Some("TooManyRequestsError"),
                r#"{"error":"INVALID_REQUEST","message":"slow down"}"#
            ),
            TokenError::Throttled
        ));
        let bad = err(
            400,
            Some("ValidationException"),
            r#"{"error":"INVALID_REQUEST","message":"bad grantType"}"#,
        );
        assert!(matches!(bad, TokenError::BadRequest { .. }));
        assert!(bad.to_string().contains("bad grantType"), "{bad}");
        let server = err(
            500,
            Some("InternalServerException"),
            r#"{"error":"server_error","message":"oops"}"#,
        );
        assert!(matches!(server, TokenError::Server { status: 500, .. }));
        assert!(matches!(
            err(502, None, "<html>"),
            TokenError::Server {
                status: 502,
                message: None
            }
        ));
        assert!(matches!(
            err(418, None, ""),
            TokenError::Unexpected { status: 418, .. }
        ));
    }

    #[test]
    fn a_garbled_reply_never_quotes_its_body() {
        // A secret where a number belongs: serde_json would quote it in its message.
        let body = r#"{"accessToken":{"accessKeyId":"A","secretAccessKey":"s","sessionToken":"t"},"tokenType":"aws_sigv4","expiresIn":"SECRETSECRET","refreshToken":"r"}"#;
        let err = parse_token_response(200, None, body.as_bytes(), now()).unwrap_err();
        assert!(matches!(err, TokenError::InvalidReply(_)));
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("SECRETSECRET"), "{shown}");
    }
}
