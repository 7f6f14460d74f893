//! AWS Sign-In's OAuth 2.0 endpoints behind `aws login` (console credentials for local
//! development): the browser's `GET /v1/authorize` (PKCE with `code_challenge_method=SHA-256`)
//! and `POST /v1/token` (CreateOAuth2Token, restJson1, unsigned) whose every request carries a
//! DPoP proof (RFC 9449, ES256). Refresh tokens are bound to the proof key's RFC 7638
//! thumbprint and rotate on every refresh. The credentials are session credentials of the
//! signed-in IAM user (or root) that the emulator's STS accepts.
//!
//! Wire facts come from the Signin service model (botocore `data/signin/2023-01-01`), the
//! `aws-sdk-signin` serializers, aws-config's `login` provider, botocore's `LoginProvider` and
//! the AWS CLI v2's `aws login`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::ids;
use crate::oidc::{bad_page, escape, html_page, redirect};
use crate::ops::{Fault, Op};
use crate::sigv4::query_pairs;
use crate::world::{Decision, Principal, Shared, World, secs};

/// `aws login`'s client for a browser on the same machine (loopback redirect).
pub const SAME_DEVICE: &str = "arn:aws:signin:::devtools/same-device";
/// `aws login --remote`'s client: the browser shows a code to paste into the terminal.
pub const CROSS_DEVICE: &str = "arn:aws:signin:::devtools/cross-device";
/// Where the cross-device flow's browser lands (the AWS CLI builds it from the base URL).
const CONFIRMATION_PATH: &str = "/v1/sessions/confirmation";
/// How far a DPoP proof's `iat` may be from the real clock, either way (RFC 9449 §11.1
/// leaves the window to the server; seconds to minutes is what it suggests).
const IAT_WINDOW_SECONDS: i64 = 300;
/// How long an authorization request stays answerable on the consent page.
const AUTHORIZE_LIFETIME: Duration = Duration::from_secs(600);
/// How long an authorization code may wait for its CreateOAuth2Token.
const AUTH_CODE_LIFETIME: Duration = Duration::from_secs(300);
/// The service's words for a grant it will not honour (a rotated-out, revoked, unknown or
/// spent refresh token or code), seen in aws/aws-cli#10613.
const BAD_GRANT: &str =
    "The provided authorization grant is invalid, expired, revoked, or malformed";
/// Its words for a sign-in session past its end, seen in aws/aws-cli#10330.
const SESSION_EXPIRED: &str = "The refresh token has expired.";

/// Who signs in on the emulated console, and how the session behaves. Settable through
/// `Emulator::set_signin` and `POST /_emulator/signin/config`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SigninConfig {
    /// An IAM user of the fixture by name, or `root` (the root user of `root_account`).
    pub principal: String,
    /// The account whose root user `principal = "root"` is; empty: the first IAM user's
    /// account.
    pub root_account: String,
    /// Whether the console sign-in used MFA.
    pub mfa: bool,
    /// Lifetime of each set of credentials (`expiresIn`; the service says at most 900).
    pub credentials_seconds: u64,
    /// The sign-in session: refresh tokens die this long after the sign-in, however often
    /// they rotate (the AWS CLI guide: "refresh these credentials for up to 12 hours").
    pub session_seconds: u64,
    /// Whether the credentials count as MFA-authenticated for `aws:MultiFactorAuthPresent`
    /// when the sign-in used MFA. No AWS document establishes that they do, so the default
    /// is the conservative `false`: the key is absent and a role requiring MFA refuses them
    /// unless AssumeRole itself carries SerialNumber and TokenCode.
    pub mfa_in_credentials: bool,
    /// Whether the principal may call CreateOAuth2Token. IAM users need the
    /// `SignInLocalDevelopmentAccess` managed policy (signin:AuthorizeOAuth2Access,
    /// signin:CreateOAuth2Token); `false` models a user without it: 403 INSUFFICIENT_PERMISSIONS.
    pub permitted: bool,
}

impl Default for SigninConfig {
    fn default() -> Self {
        SigninConfig {
            principal: String::new(),
            root_account: String::new(),
            mfa: true,
            credentials_seconds: 900,
            session_seconds: 12 * 3600,
            mfa_in_credentials: false,
            permitted: true,
        }
    }
}

/// A browser's `GET /v1/authorize` awaiting Allow or Deny.
#[derive(Clone, Debug)]
pub struct SigninAuthorization {
    pub decision: Decision,
    pub created: OffsetDateTime,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub challenge: String,
    /// Set by the consent page's MFA box; `None` takes the configured one.
    pub mfa: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct SigninCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub principal: Principal,
    pub mfa: bool,
    pub expires_at: OffsetDateTime,
    pub used: bool,
}

#[derive(Clone, Debug)]
pub struct SigninRefreshToken {
    pub principal: Principal,
    pub mfa: bool,
    pub signed_in_at: OffsetDateTime,
    pub client_id: String,
    /// RFC 7638 thumbprint of the key the code exchange was proven with (`cnf.jkt`).
    pub jkt: String,
    pub session_expires: OffsetDateTime,
    pub valid: bool,
    /// The principal's password changed since the sign-in: USER_CREDENTIALS_CHANGED.
    pub credentials_changed: bool,
}

/// Sign-In's part of the world.
#[derive(Default)]
pub struct SigninState {
    pub config: SigninConfig,
    pub authorizations: std::collections::HashMap<String, SigninAuthorization>,
    pub codes: std::collections::HashMap<String, SigninCode>,
    pub refresh_tokens: std::collections::HashMap<String, SigninRefreshToken>,
    /// Every DPoP `jti` seen, so a replayed proof is refused.
    pub seen_jti: std::collections::HashSet<String>,
    /// CreateOAuth2Token calls that got as far as naming their grant type, by grant type.
    pub token_calls: std::collections::BTreeMap<String, u64>,
}

/// A live refresh token, as the control API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveSigninSession {
    pub refresh_token: String,
    pub principal_arn: String,
    pub client_id: String,
    pub jkt: String,
    pub session_expires: i64,
}

/// The sign-in errors, with the status each takes (the model's AccessDeniedException is
/// 401 for TOKEN_EXPIRED / AUTHCODE_EXPIRED and 403 for the other two).
///
/// Messages the real service was seen to send (aws/aws-cli issues #10330 and #10613):
/// "The refresh token has expired." (AccessDeniedException) and "The provided authorization
/// grant is invalid, expired, revoked, or malformed" (ValidationException, INVALID_REQUEST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigninError {
    TokenExpired,
    AuthcodeExpired,
    UserCredentialsChanged,
    InsufficientPermissions,
    InvalidRequest,
    TooManyRequests,
    ServerError,
}

impl SigninError {
    fn parts(self) -> (StatusCode, &'static str, &'static str) {
        use SigninError::*;
        match self {
            TokenExpired => (
                StatusCode::UNAUTHORIZED,
                "AccessDeniedException",
                "TOKEN_EXPIRED",
            ),
            AuthcodeExpired => (
                StatusCode::UNAUTHORIZED,
                "AccessDeniedException",
                "AUTHCODE_EXPIRED",
            ),
            UserCredentialsChanged => (
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                "USER_CREDENTIALS_CHANGED",
            ),
            InsufficientPermissions => (
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                "INSUFFICIENT_PERMISSIONS",
            ),
            InvalidRequest => (
                StatusCode::BAD_REQUEST,
                "ValidationException",
                "INVALID_REQUEST",
            ),
            TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsError",
                "INVALID_REQUEST",
            ),
            ServerError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerException",
                "server_error",
            ),
        }
    }

    /// `x-amzn-ErrorType` names the error (the SDKs read it before the body) and the body
    /// is `{"error": <OAuth2ErrorCode>, "message": …}`, both members the model requires.
    pub fn respond(self, message: &str) -> Response {
        let (status, name, code) = self.parts();
        reply(
            status,
            Some(name),
            json!({ "error": code, "message": message }).to_string(),
        )
    }
}

fn reply(status: StatusCode, error_type: Option<&str>, body: String) -> Response {
    crate::rest_json::reply(status, error_type, "com.amazonaws.signin", body)
}

/// Counting, latency and injected faults, in Sign-In's shapes. Sign-In is not part of
/// Identity Center: an Identity Center outage leaves it up.
async fn gate(shared: &Shared, op: Op) -> Option<Response> {
    match shared.enter(op).await? {
        Fault::Throttle => Some(SigninError::TooManyRequests.respond("Too many requests")),
        Fault::ServerError | Fault::EchoSecret => {
            Some(SigninError::ServerError.respond("An internal error occurred"))
        }
        Fault::MalformedBody => Some(reply(
            StatusCode::OK,
            None,
            "{\"accessToken\": {\"accessKeyId\": \"trunc".into(),
        )),
        Fault::Hang
        | Fault::RepeatNextToken
        | Fault::HugeField { .. }
        | Fault::ExpiredCredentials => None,
    }
}

impl SigninState {
    /// The principal the configuration names, checked against the fixture.
    fn configured_principal(&self, w: &World) -> Result<Principal, String> {
        principal_named(w, &self.config.principal, &self.config.root_account)
    }
}

/// `name` as a principal of `w`: an IAM user of the fixture, or `root`; empty means the
/// fixture's first IAM user.
fn principal_named(w: &World, name: &str, root_account: &str) -> Result<Principal, String> {
    let first = w.fixture.iam_users.first();
    if name == "root" {
        let account = if root_account.is_empty() {
            first.map(|u| u.account_id.clone()).unwrap_or_default()
        } else {
            root_account.to_string()
        };
        if account.is_empty() {
            return Err("no account for the root user".into());
        }
        return Ok(Principal::Root { account });
    }
    let user = if name.is_empty() {
        first
    } else {
        w.fixture.iam_user(name)
    };
    match user {
        Some(u) => Ok(Principal::IamUser {
            account: u.account_id.clone(),
            name: u.name.clone(),
        }),
        None => Err(format!("no IAM user named {name:?} in the fixture")),
    }
}

// ---------------------------------------------------------------------------------------
// The browser side
// ---------------------------------------------------------------------------------------

fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", query_string(pairs))
}

/// `http://127.0.0.1:PORT/…`, `http://localhost:PORT/…` or `http://[::1]:PORT/…`: a native
/// app's loopback redirect (RFC 8252 §7.3), any port.
fn is_loopback_redirect(uri: &str) -> bool {
    ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
        .iter()
        .any(|p| {
            uri.strip_prefix(p).is_some_and(|rest| {
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                digits > 0 && rest[digits..].starts_with('/')
            })
        })
}

/// The base URL the client reached us on (`http://` + Host), which is what it puts in the
/// cross-device redirect URI and in a proof's `htu`.
fn base_from_host(shared: &Shared, headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| shared.base_url.clone(), |h| format!("http://{h}"))
}

/// `GET /v1/authorize`: checks the request (response_type=code, a devtools client id,
/// `code_challenge_method=SHA-256` with a 43-character unpadded base64url challenge,
/// `scope=openid`, a state, and a redirect URI the client may use: loopback for same-device,
/// the confirmation page for cross-device) and shows the sign-in and consent page. Its
/// buttons `#allow` and `#deny` post to `/v1/authorize/consent`. With auto-approve it goes
/// straight on as the configured principal. Errors in the request are shown on the page,
/// never redirected.
pub async fn authorize(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Some(r) = gate(&shared, Op::AuthorizeOAuth2Access).await {
        return r;
    }
    let params = query_pairs(q.as_deref());
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (client_id, redirect_uri, state) = (get("client_id"), get("redirect_uri"), get("state"));
    let (challenge, method) = (get("code_challenge"), get("code_challenge_method"));
    if get("response_type") != "code" {
        return bad_page("unsupported_response_type: response_type must be code");
    }
    if client_id != SAME_DEVICE && client_id != CROSS_DEVICE {
        return bad_page("invalid_client: unknown client_id");
    }
    if method != "SHA-256" {
        return bad_page("invalid_request: code_challenge_method must be SHA-256");
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return bad_page(
            "invalid_request: code_challenge must be the unpadded base64url SHA-256 of the verifier",
        );
    }
    if !get("scope").split(' ').any(|s| s == "openid") {
        return bad_page("invalid_scope: scope must include openid");
    }
    if state.is_empty() {
        return bad_page("invalid_request: state is required");
    }
    let confirmation = format!("{}{CONFIRMATION_PATH}", base_from_host(&shared, &headers));
    let redirect_ok = if client_id == SAME_DEVICE {
        is_loopback_redirect(&redirect_uri)
    } else {
        redirect_uri == confirmation
    };
    if !redirect_ok {
        return bad_page("invalid_request: redirect_uri is not allowed for this client");
    }
    let now = shared.now();
    let (id, choices, configured, mfa) = {
        let mut w = shared.world();
        let id = ids::user_code();
        let config = w.signin.config.clone();
        w.signin.authorizations.insert(
            id.clone(),
            SigninAuthorization {
                decision: Decision::Pending,
                created: now,
                client_id: client_id.clone(),
                redirect_uri,
                state,
                challenge,
                mfa: None,
            },
        );
        let mut choices: Vec<String> = w.fixture.iam_users.iter().map(|u| u.name.clone()).collect();
        choices.push("root".into());
        let configured = match w.signin.configured_principal(&w) {
            Ok(Principal::Root { .. }) => "root".to_string(),
            Ok(Principal::IamUser { name, .. }) => name,
            _ => String::new(),
        };
        (id, choices, configured, config.mfa)
    };
    if let Some(delay) = shared.auto_approve {
        tokio::time::sleep(delay).await;
        set_decision(&shared, &id, Decision::Approved(configured), None);
        return finish(&shared, &id);
    }
    let options: String = choices
        .iter()
        .map(|u| {
            let selected = if *u == configured { " selected" } else { "" };
            format!("<option value=\"{0}\"{selected}>{0}</option>", escape(u))
        })
        .collect();
    let checked = if mfa { " checked" } else { "" };
    html_page(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>AWS Sign-In: allow access</title></head>\
             <body><h1>Allow the AWS CLI and SDKs to use your console session?</h1>\
             <p>Client: <code id=\"client\">{client}</code></p>\
             <form method=\"post\" action=\"/v1/authorize/consent\">\
             <input type=\"hidden\" name=\"authorization\" value=\"{id}\">\
             <label>Signed in as <select name=\"principal\" id=\"principal\">{options}</select></label>\
             <label><input type=\"checkbox\" name=\"mfa\" id=\"mfa\" value=\"true\"{checked}> signed in with MFA</label>\
             <p><button type=\"submit\" name=\"action\" value=\"allow\" id=\"allow\">Allow</button>\
             <button type=\"submit\" name=\"action\" value=\"deny\" id=\"deny\">Deny</button></p>\
             </form></body></html>",
            client = escape(&client_id),
        ),
    )
}

fn set_decision(shared: &Shared, id: &str, decision: Decision, mfa: Option<bool>) {
    if let Some(a) = shared.world().signin.authorizations.get_mut(id)
        && a.decision == Decision::Pending
    {
        a.decision = decision;
        if mfa.is_some() {
            a.mfa = mfa;
        }
    }
}

/// `POST /v1/authorize/consent` (the consent page's form).
pub async fn consent(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let id = get("authorization");
    let decision = match get("action").as_str() {
        "allow" => {
            let principal = get("principal");
            let known = {
                let w = shared.world();
                principal_named(&w, &principal, &w.signin.config.root_account).is_ok()
            };
            if !known {
                return bad_page("unknown principal");
            }
            Decision::Approved(principal)
        }
        "deny" => Decision::Denied,
        _ => return bad_page("choose Allow or Deny"),
    };
    set_decision(&shared, &id, decision, Some(get("mfa") == "true"));
    finish(&shared, &id)
}

/// Ends an authorization request: same-device redirects to the loopback URI with `code`
/// and `state` (or `error=access_denied`); cross-device goes to the confirmation page,
/// which shows the code to paste.
fn finish(shared: &Shared, id: &str) -> Response {
    let now = shared.now();
    let mut w = shared.world();
    let Some(a) = w.signin.authorizations.remove(id) else {
        return bad_page("this authorization request is unknown or already answered");
    };
    if now >= a.created + AUTHORIZE_LIFETIME {
        return bad_page("authorization request expired");
    }
    match a.decision {
        Decision::Pending => {
            w.signin.authorizations.insert(id.to_string(), a);
            bad_page("the authorization request has not been answered")
        }
        Decision::Denied => redirect(&with_query(
            &a.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied the request"),
                ("state", &a.state),
            ],
        )),
        Decision::Approved(name) => {
            let principal = match principal_named(&w, &name, &w.signin.config.root_account) {
                Ok(p) => p,
                Err(e) => return bad_page(&e),
            };
            let mfa = a.mfa.unwrap_or(w.signin.config.mfa);
            let code = w.issue(ids::opaque("", 48));
            w.signin.codes.insert(
                code.clone(),
                SigninCode {
                    client_id: a.client_id,
                    redirect_uri: a.redirect_uri.clone(),
                    challenge: a.challenge,
                    principal,
                    mfa,
                    expires_at: now + AUTH_CODE_LIFETIME,
                    used: false,
                },
            );
            redirect(&with_query(
                &a.redirect_uri,
                &[("code", &code), ("state", &a.state)],
            ))
        }
    }
}

/// `GET /v1/sessions/confirmation`: where the cross-device flow's browser lands. Shows the
/// verification code the AWS CLI asks for: standard base64 of `state=…&code=…`.
pub async fn confirmation(RawQuery(q): RawQuery) -> Response {
    let params = query_pairs(q.as_deref());
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !get("error").is_empty() {
        return html_page(
            StatusCode::OK,
            format!(
                "<!DOCTYPE html><html><body><h1 id=\"error\">Access denied</h1><p>{}</p></body></html>",
                escape(&get("error_description"))
            ),
        );
    }
    let (code, state) = (get("code"), get("state"));
    if code.is_empty() || state.is_empty() {
        return bad_page("missing code or state");
    }
    let verification = STANDARD.encode(query_string(&[("state", &state), ("code", &code)]));
    html_page(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html><html><body><h1>Enter this code in your terminal</h1>\
             <pre id=\"verification-code\">{}</pre></body></html>",
            escape(&verification)
        ),
    )
}

// ---------------------------------------------------------------------------------------
// DPoP (RFC 9449)
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ProofHeader {
    typ: Option<String>,
    alg: Option<String>,
    jwk: Option<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    /// A private key in the proof is an error (RFC 9449 §4.3 step 7).
    d: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<serde_json::Number>,
}

/// A checked proof: the key's thumbprint and the proof's id.
struct Proof {
    jkt: String,
    jti: String,
}

/// RFC 7638 thumbprint of a P-256 JWK: SHA-256 over the required members in lexical order.
pub fn jwk_thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    ids::base64url(&Sha256::digest(canonical.as_bytes()))
}

/// RFC 9449 §4.3 step 9 / RFC 3986 §6.2.2-6.2.3: scheme and host compared case-blind, the
/// default port dropped, no query or fragment.
fn normalise_htu(u: &str) -> Option<String> {
    let u = u.split(['?', '#']).next()?;
    let (scheme, rest) = u.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = authority.to_ascii_lowercase();
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_string(),
        _ => authority,
    };
    Some(format!("{scheme}://{authority}{path}"))
}

/// Checks the `DPoP` header of a request to `expected_htu` (RFC 9449 §4.3): one well-formed
/// JWT, `typ` dpop+jwt, `alg` ES256, a public P-256 `jwk`, a valid signature by it, `htm`
/// POST, `htu` the request's URL, `iat` within the window of the real clock, and a `jti`
/// never seen before. Records the `jti`.
fn check_proof(
    shared: &Shared,
    headers: &HeaderMap,
    expected_htu: &str,
) -> Result<Proof, Response> {
    let bad = |m: &str| Err(SigninError::InvalidRequest.respond(m));
    let values: Vec<_> = headers.get_all("dpop").iter().collect();
    let proof = match values.as_slice() {
        [] => return bad("Missing DPoP proof"),
        [one] => match one.to_str() {
            Ok(s) => s.to_string(),
            Err(_) => return bad("Invalid DPoP proof"),
        },
        _ => return bad("More than one DPoP proof"),
    };
    let parts: Vec<&str> = proof.split('.').collect();
    let [h64, p64, s64] = parts.as_slice() else {
        return bad("Invalid DPoP proof: not a JWS in compact form");
    };
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).ok();
    let (Some(hbytes), Some(pbytes), Some(sig)) = (decode(h64), decode(p64), decode(s64)) else {
        return bad("Invalid DPoP proof: not base64url");
    };
    let Ok(head) = serde_json::from_slice::<ProofHeader>(&hbytes) else {
        return bad("Invalid DPoP proof: malformed header");
    };
    let Ok(claims) = serde_json::from_slice::<ProofClaims>(&pbytes) else {
        return bad("Invalid DPoP proof: malformed claims");
    };
    if head.typ.as_deref() != Some("dpop+jwt") {
        return bad("Invalid DPoP proof: typ must be dpop+jwt");
    }
    if head.alg.as_deref() != Some("ES256") {
        return bad("Invalid DPoP proof: unsupported alg");
    }
    let Some(jwk) = head.jwk else {
        return bad("Invalid DPoP proof: missing jwk");
    };
    if jwk.d.is_some() {
        return bad("Invalid DPoP proof: jwk contains a private key");
    }
    if jwk.kty.as_deref() != Some("EC") || jwk.crv.as_deref() != Some("P-256") {
        return bad("Invalid DPoP proof: jwk must be an EC P-256 key");
    }
    let (Some(x), Some(y)) = (jwk.x, jwk.y) else {
        return bad("Invalid DPoP proof: jwk lacks x or y");
    };
    let (Some(xb), Some(yb)) = (decode(&x), decode(&y)) else {
        return bad("Invalid DPoP proof: jwk coordinates are not base64url");
    };
    if xb.len() != 32 || yb.len() != 32 {
        return bad("Invalid DPoP proof: jwk coordinates must be 32 bytes");
    }
    let point = p256::EncodedPoint::from_affine_coordinates(
        p256::FieldBytes::from_slice(&xb),
        p256::FieldBytes::from_slice(&yb),
        false,
    );
    let Ok(key) = VerifyingKey::from_encoded_point(&point) else {
        return bad("Invalid DPoP proof: jwk is not a point on P-256");
    };
    let Ok(signature) = Signature::from_slice(&sig) else {
        return bad("Invalid DPoP proof: signature must be 64 bytes (r||s)");
    };
    let signing_input = format!("{h64}.{p64}");
    if key.verify(signing_input.as_bytes(), &signature).is_err() {
        return bad("Invalid DPoP proof: signature verification failed");
    }
    if claims.htm.as_deref() != Some("POST") {
        return bad("Invalid DPoP proof: htm does not match the request method");
    }
    let htu_ok = claims
        .htu
        .as_deref()
        .and_then(normalise_htu)
        .zip(normalise_htu(expected_htu))
        .is_some_and(|(a, b)| a == b);
    if !htu_ok {
        return bad("Invalid DPoP proof: htu does not match the request URI");
    }
    let Some(iat) = claims.iat.as_ref().and_then(serde_json::Number::as_i64) else {
        return bad("Invalid DPoP proof: missing or invalid iat");
    };
    // The real clock, not the emulator's advanceable one: a proof is fresh relative to
    // when the client sent it, and clients sign with the machine's clock.
    let real_now = OffsetDateTime::now_utc().unix_timestamp();
    if (real_now - iat).abs() > IAT_WINDOW_SECONDS {
        return bad("Invalid DPoP proof: iat is outside the acceptable window");
    }
    let Some(jti) = claims.jti.filter(|j| !j.is_empty()) else {
        return bad("Invalid DPoP proof: missing jti");
    };
    if !shared.world().signin.seen_jti.insert(jti.clone()) {
        return bad("Invalid DPoP proof: jti has already been used");
    }
    Ok(Proof {
        jkt: jwk_thumbprint(&x, &y),
        jti,
    })
}

// ---------------------------------------------------------------------------------------
// CreateOAuth2Token
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    client_id: Option<String>,
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

/// `POST /v1/token` (CreateOAuth2Token).
pub async fn create_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = gate(&shared, Op::CreateOAuth2Token).await {
        return r;
    }
    let invalid = |m: &str| SigninError::InvalidRequest.respond(m);
    let Ok(req) = serde_json::from_slice::<TokenRequest>(&body) else {
        return invalid("Request body is not a valid CreateOAuth2Token request");
    };
    let Some(grant) = req.grant_type.clone() else {
        return invalid("grantType is required");
    };
    *shared
        .world()
        .signin
        .token_calls
        .entry(grant.clone())
        .or_default() += 1;
    let Some(client_id) = req.client_id.clone() else {
        return invalid("clientId is required");
    };
    if client_id != SAME_DEVICE && client_id != CROSS_DEVICE {
        return invalid("Unknown clientId");
    }
    let htu = format!("{}/v1/token", base_from_host(&shared, &headers));
    let proof = match check_proof(&shared, &headers, &htu) {
        Ok(p) => p,
        Err(r) => return r,
    };
    tracing::debug!(jti = %proof.jti, grant = %grant, "sign-in token request");
    if !shared.world().signin.config.permitted {
        return SigninError::InsufficientPermissions
            .respond("User is not authorized to perform: signin:CreateOAuth2Token");
    }
    match grant.as_str() {
        "authorization_code" => code_grant(&shared, &req, &client_id, &proof),
        "refresh_token" => refresh_grant(&shared, &req, &client_id, &proof),
        _ => invalid("grantType must be authorization_code or refresh_token"),
    }
}

fn code_grant(shared: &Shared, req: &TokenRequest, client_id: &str, proof: &Proof) -> Response {
    let invalid = |m: &str| SigninError::InvalidRequest.respond(m);
    let (Some(code), Some(verifier)) = (req.code.as_deref(), req.code_verifier.as_deref()) else {
        return invalid("code and codeVerifier are required for grantType authorization_code");
    };
    let now = shared.now();
    let mut w = shared.world();
    let Some(c) = w.signin.codes.get(code).cloned() else {
        return invalid(BAD_GRANT);
    };
    if c.used {
        return invalid(BAD_GRANT);
    }
    if c.expires_at <= now {
        return SigninError::AuthcodeExpired.respond("The authorization code has expired.");
    }
    if let Some(c) = w.signin.codes.get_mut(code) {
        // Spent by this attempt whatever its outcome, like every single-use code.
        c.used = true;
    }
    if c.client_id != client_id {
        return invalid("The authorization code was issued to another client");
    }
    if req.redirect_uri.as_deref() != Some(c.redirect_uri.as_str()) {
        return invalid("redirectUri does not match the authorization request");
    }
    if ids::base64url(&Sha256::digest(verifier.as_bytes())) != c.challenge {
        return invalid("codeVerifier does not match the code challenge");
    }
    let session = SigninRefreshToken {
        principal: c.principal.clone(),
        mfa: c.mfa,
        signed_in_at: now,
        client_id: client_id.to_string(),
        jkt: proof.jkt.clone(),
        session_expires: now + secs(w.signin.config.session_seconds),
        valid: true,
        credentials_changed: false,
    };
    let id_token = id_token(&w, &c.principal, client_id, now);
    issue(&mut w, session, now, Some(id_token))
}

fn refresh_grant(shared: &Shared, req: &TokenRequest, client_id: &str, proof: &Proof) -> Response {
    let Some(token) = req.refresh_token.as_deref() else {
        return SigninError::InvalidRequest
            .respond("refreshToken is required for grantType refresh_token");
    };
    let now = shared.now();
    let mut w = shared.world();
    let Some(rt) = w.signin.refresh_tokens.get(token).cloned() else {
        return SigninError::InvalidRequest.respond(BAD_GRANT);
    };
    // A session past its end has expired, rotated-out tokens of it included; a rotated-out
    // or revoked token of a live session is a bad grant.
    if rt.session_expires <= now {
        return SigninError::TokenExpired.respond(SESSION_EXPIRED);
    }
    if rt.credentials_changed {
        return SigninError::UserCredentialsChanged
            .respond("The user's credentials have changed since the sign-in.");
    }
    if !rt.valid {
        return SigninError::InvalidRequest.respond(BAD_GRANT);
    }
    if rt.client_id != client_id {
        return SigninError::InvalidRequest
            .respond("The refresh token was issued to another client");
    }
    if rt.jkt != proof.jkt {
        return SigninError::InvalidRequest.respond(
            "Invalid DPoP proof: the key does not match the key the refresh token is bound to",
        );
    }
    if let Some(old) = w.signin.refresh_tokens.get_mut(token) {
        old.valid = false;
    }
    issue(&mut w, rt, now, None)
}

/// Mints the credentials and the next refresh token of `session` and answers.
fn issue(
    w: &mut World,
    session: SigninRefreshToken,
    now: OffsetDateTime,
    id_token: Option<String>,
) -> Response {
    let lifetime = w.signin.config.credentials_seconds;
    let mfa_at =
        (session.mfa && w.signin.config.mfa_in_credentials).then_some(session.signed_in_at);
    let key = w.mint_session(session.principal.clone(), now, secs(lifetime), mfa_at, None);
    let refresh = w.issue(ids::opaque("", 300));
    w.signin.refresh_tokens.insert(
        refresh.clone(),
        SigninRefreshToken {
            valid: true,
            ..session
        },
    );
    let mut body = json!({
        "accessToken": {
            "accessKeyId": key.access_key_id,
            "secretAccessKey": key.secret,
            "sessionToken": key.session_token,
        },
        "tokenType": "aws_sigv4",
        "expiresIn": lifetime,
        "refreshToken": refresh,
    });
    if let Some(t) = id_token {
        body["idToken"] = json!(t);
    }
    reply(StatusCode::OK, None, body.to_string())
}

/// The OpenID Connect ID token of the code exchange: `sub` is the signed-in principal's
/// ARN, which the AWS CLI stores as the profile's `login_session` (and takes the account id
/// from). Signed ES256 with the emulator's own key.
fn id_token(w: &World, principal: &Principal, client_id: &str, now: OffsetDateTime) -> String {
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": "awsx-emulator"});
    let claims = json!({
        "iss": "https://signin.aws.amazon.com",
        "sub": principal.arn(),
        "aud": client_id,
        "iat": now.unix_timestamp(),
        "exp": now.unix_timestamp() + w.signin.config.credentials_seconds as i64,
    });
    let input = format!(
        "{}.{}",
        ids::base64url(header.to_string().as_bytes()),
        ids::base64url(claims.to_string().as_bytes())
    );
    let signature: Signature = id_token_key().sign(input.as_bytes());
    format!("{input}.{}", ids::base64url(&signature.to_bytes()))
}

fn id_token_key() -> &'static SigningKey {
    static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        loop {
            let bytes: [u8; 32] = std::array::from_fn(|_| fastrand::u8(..));
            if let Ok(k) = SigningKey::from_slice(&bytes) {
                break k;
            }
        }
    })
}

// ---------------------------------------------------------------------------------------
// The test's levers
// ---------------------------------------------------------------------------------------

impl Shared {
    pub fn signin_config(&self) -> SigninConfig {
        self.world().signin.config.clone()
    }

    pub fn set_signin_config(&self, config: SigninConfig) -> Result<(), String> {
        let mut w = self.world();
        principal_named(&w, &config.principal, &config.root_account)?;
        w.signin.config = config;
        Ok(())
    }

    /// CreateOAuth2Token calls by grant type (`authorization_code`, `refresh_token`, or
    /// whatever else was sent).
    pub fn signin_token_calls(&self) -> std::collections::BTreeMap<String, u64> {
        self.world().signin.token_calls.clone()
    }

    pub fn reset_signin_token_calls(&self) {
        self.world().signin.token_calls.clear();
    }

    /// Refresh tokens that would be honoured now.
    pub fn live_signin_sessions(&self) -> Vec<LiveSigninSession> {
        let now = self.now();
        let w = self.world();
        let mut live: Vec<LiveSigninSession> = w
            .signin
            .refresh_tokens
            .iter()
            .filter(|(_, t)| t.valid && !t.credentials_changed && t.session_expires > now)
            .map(|(token, t)| LiveSigninSession {
                refresh_token: token.clone(),
                principal_arn: t.principal.arn(),
                client_id: t.client_id.clone(),
                jkt: t.jkt.clone(),
                session_expires: t.session_expires.unix_timestamp(),
            })
            .collect();
        live.sort_by(|a, b| a.refresh_token.cmp(&b.refresh_token));
        live
    }

    /// Revokes every sign-in session: from now on their refresh tokens are bad grants (400
    /// ValidationException INVALID_REQUEST).
    pub fn revoke_signin_sessions(&self) {
        for t in self.world().signin.refresh_tokens.values_mut() {
            t.valid = false;
        }
    }

    /// The console password of IAM user `user` changed: refreshing any of its sign-in
    /// sessions answers 403 USER_CREDENTIALS_CHANGED from now on.
    pub fn signin_password_changed(&self, user: &str) {
        for t in self.world().signin.refresh_tokens.values_mut() {
            if matches!(&t.principal, Principal::IamUser { name, .. } if name == user) {
                t.credentials_changed = true;
            }
        }
    }

    /// Decides a pending `/v1/authorize` by its id: `Some(principal)` approves as that IAM
    /// user (or `root`), `None` denies. Returns false when there is no such pending request.
    pub fn decide_signin(&self, id: &str, principal: Option<&str>) -> Result<bool, String> {
        let mut w = self.world();
        if !w.signin.authorizations.contains_key(id) {
            return Ok(false);
        }
        if let Some(p) = principal {
            principal_named(&w, p, &w.signin.config.root_account)?;
        }
        let Some(a) = w.signin.authorizations.get_mut(id) else {
            return Ok(false);
        };
        if a.decision != Decision::Pending {
            return Err(format!(
                "authorization {id:?} was already approved or denied"
            ));
        }
        a.decision = match principal {
            Some(p) => Decision::Approved(p.to_string()),
            None => Decision::Denied,
        };
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_normalisation_follows_rfc3986() {
        assert_eq!(
            normalise_htu("HTTPS://Signin.AWS.amazon.com:443/v1/token?x=1#f").as_deref(),
            Some("https://signin.aws.amazon.com/v1/token")
        );
        assert_eq!(
            normalise_htu("http://127.0.0.1:80/v1/token").as_deref(),
            Some("http://127.0.0.1/v1/token")
        );
        assert_ne!(
            normalise_htu("http://127.0.0.1:8080/v1/token"),
            normalise_htu("http://127.0.0.1:8080/v1/Token")
        );
    }

    #[test]
    fn thumbprint_matches_rfc9449_example() {
        // RFC 9449 §4.1's example proof key and the `jkt` §6.1 gives for it.
        assert_eq!(
            jwk_thumbprint(
                "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
                "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"
            ),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn loopback_redirects_need_a_port_and_a_path() {
        assert!(is_loopback_redirect("http://127.0.0.1:4711/oauth/callback"));
        assert!(is_loopback_redirect("http://localhost:1/oauth/callback"));
        assert!(!is_loopback_redirect("http://127.0.0.1/oauth/callback"));
        assert!(!is_loopback_redirect(
            "http://127.0.0.1.evil.example:80/oauth/callback"
        ));
        assert!(!is_loopback_redirect("https://example.com/oauth/callback"));
    }
}
