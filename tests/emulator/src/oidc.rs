//! SSO OIDC (restJson1, unsigned): RegisterClient, StartDeviceAuthorization, CreateToken with
//! the device-code, refresh-token and authorization-code (PKCE) grants, and the browser's
//! `GET /authorize` for the latter.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::ids;
use crate::ops::{Fault, Op};
use crate::sigv4::query_pairs;
use crate::world::{AuthCode, Authorization, Client, Decision, DeviceAuth, Shared, secs};

/// The scope that makes Identity Center hand out refresh tokens.
const REFRESHABLE_SCOPE: &str = "sso:account:access";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The OIDC error shapes, named as the service names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcError {
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    AccessDenied,
    InvalidGrant,
    InvalidClient,
    InvalidRequest,
    UnsupportedGrantType,
    InternalServer,
}

impl OidcError {
    fn parts(self) -> (StatusCode, &'static str, &'static str) {
        use OidcError::*;
        match self {
            AuthorizationPending => (
                StatusCode::BAD_REQUEST,
                "AuthorizationPendingException",
                "authorization_pending",
            ),
            SlowDown => (StatusCode::BAD_REQUEST, "SlowDownException", "slow_down"),
            ExpiredToken => (
                StatusCode::BAD_REQUEST,
                "ExpiredTokenException",
                "expired_token",
            ),
            AccessDenied => (
                StatusCode::BAD_REQUEST,
                "AccessDeniedException",
                "access_denied",
            ),
            InvalidGrant => (
                StatusCode::BAD_REQUEST,
                "InvalidGrantException",
                "invalid_grant",
            ),
            InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "InvalidClientException",
                "invalid_client",
            ),
            InvalidRequest => (
                StatusCode::BAD_REQUEST,
                "InvalidRequestException",
                "invalid_request",
            ),
            UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "UnsupportedGrantTypeException",
                "unsupported_grant_type",
            ),
            InternalServer => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerException",
                "server_error",
            ),
        }
    }

    pub fn respond(self, description: &str) -> Response {
        let (status, name, error) = self.parts();
        json_response(
            status,
            Some(name),
            json!({ "error": error, "error_description": description }).to_string(),
        )
    }
}

fn json_response(status: StatusCode, error_type: Option<&str>, body: String) -> Response {
    crate::rest_json::reply(status, error_type, "com.amazonaws.sso.oidc", body)
}

fn ok(body: serde_json::Value) -> Response {
    json_response(StatusCode::OK, None, body.to_string())
}

/// The outage and fault handling every Identity Center handler starts with.
pub async fn gate(shared: &Shared, op: Op) -> Option<Response> {
    let fault = shared.enter(op).await;
    if shared.outage() {
        return Some((StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response());
    }
    match fault? {
        Fault::Throttle => Some(json_response(
            StatusCode::TOO_MANY_REQUESTS,
            Some("ThrottlingException"),
            json!({"message": "Rate exceeded"}).to_string(),
        )),
        Fault::ServerError | Fault::EchoSecret => {
            Some(OidcError::InternalServer.respond("An internal server error occurred"))
        }
        Fault::MalformedBody => Some(json_response(
            StatusCode::OK,
            None,
            "{\"accessToken\": \"trunc".into(),
        )),
        // Portal-only shapes: OIDC serves the request normally.
        Fault::Hang
        | Fault::RepeatNextToken
        | Fault::HugeField { .. }
        | Fault::ExpiredCredentials => None,
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body)
        .map_err(|e| OidcError::InvalidRequest.respond(&format!("Invalid request: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterClientRequest {
    client_name: Option<String>,
    client_type: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
}

pub async fn register_client(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    if let Some(r) = gate(&shared, Op::RegisterClient).await {
        return r;
    }
    let req: RegisterClientRequest = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.client_name.as_deref().unwrap_or("").is_empty() {
        return OidcError::InvalidRequest.respond("clientName is required");
    }
    if req.client_type.as_deref() != Some("public") {
        return OidcError::InvalidRequest.respond("Invalid client type");
    }
    let now = shared.now();
    let mut w = shared.world();
    let client_id = ids::opaque("", 22);
    let secret = w.issue(ids::opaque("eyJraWQiOiJrZXktMTU2", 600));
    let expires_at = now + secs(w.lifetimes.client_secret_seconds);
    w.clients.insert(
        client_id.clone(),
        Client {
            secret: secret.clone(),
            expires_at,
            scopes: req.scopes,
            redirect_uris: req.redirect_uris,
            grant_types: req.grant_types,
        },
    );
    ok(json!({
        "clientId": client_id,
        "clientSecret": secret,
        "clientIdIssuedAt": now.unix_timestamp(),
        "clientSecretExpiresAt": expires_at.unix_timestamp(),
    }))
}

/// Unknown client, wrong secret or expired secret: InvalidClientException.
fn check_client(
    shared: &Shared,
    id: Option<&str>,
    secret: Option<&str>,
) -> Result<Client, Response> {
    let now = shared.now();
    let w = shared.world();
    let Some(client) = id.and_then(|id| w.clients.get(id)) else {
        return Err(OidcError::InvalidClient.respond("Invalid client provided"));
    };
    if secret.is_some_and(|s| s != client.secret) || secret.is_none() {
        return Err(OidcError::InvalidClient.respond("Invalid client provided"));
    }
    if client.expires_at <= now {
        return Err(OidcError::InvalidClient.respond("Client secret has expired"));
    }
    Ok(client.clone())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartDeviceAuthorizationRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    start_url: Option<String>,
}

fn normalise_start_url(u: &str) -> &str {
    u.trim_end_matches(['/', '#'])
}

pub async fn start_device_authorization(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Response {
    if let Some(r) = gate(&shared, Op::StartDeviceAuthorization).await {
        return r;
    }
    let req: StartDeviceAuthorizationRequest = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some(start_url) = req.start_url else {
        return OidcError::InvalidRequest.respond("startUrl is required");
    };
    if let Err(r) = check_client(
        &shared,
        req.client_id.as_deref(),
        req.client_secret.as_deref(),
    ) {
        return r;
    }
    let now = shared.now();
    let mut w = shared.world();
    if normalise_start_url(&start_url) != normalise_start_url(&w.fixture.start_url) {
        return OidcError::InvalidRequest.respond("Invalid start url");
    }
    let device_code = w.issue(ids::opaque("", 64));
    let user_code = ids::user_code();
    let expires_in = w.lifetimes.device_code_seconds;
    let interval = w.lifetimes.poll_interval_seconds;
    let enforced = interval.max(w.lifetimes.enforced_poll_interval_seconds);
    w.devices.insert(
        device_code.clone(),
        DeviceAuth {
            client_id: req.client_id.unwrap_or_default(),
            user_code: user_code.clone(),
            created: now,
            expires_at: now + secs(expires_in),
            interval: enforced,
            last_poll: None,
            decision: Decision::Pending,
            consumed: false,
        },
    );
    let uri = format!("{}/device", shared.base_url);
    ok(json!({
        "deviceCode": device_code,
        "userCode": user_code,
        "verificationUri": uri,
        "verificationUriComplete": format!("{uri}?user_code={user_code}"),
        "expiresIn": expires_in,
        "interval": interval,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTokenRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
    device_code: Option<String>,
    refresh_token: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

pub async fn create_token(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    if let Some(r) = gate(&shared, Op::CreateToken).await {
        return r;
    }
    let req: CreateTokenRequest = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let client = match check_client(
        &shared,
        req.client_id.as_deref(),
        req.client_secret.as_deref(),
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let client_id = req.client_id.clone().unwrap_or_default();
    let refreshable = client.scopes.iter().any(|s| s == REFRESHABLE_SCOPE);
    let result = match req.grant_type.as_deref() {
        Some(DEVICE_GRANT) => device_code_grant(&shared, &client_id, refreshable, &req),
        Some("refresh_token") => refresh_token_grant(&shared, &client_id, &req),
        Some("authorization_code") => {
            authorization_code_grant(&shared, &client_id, refreshable, &req)
        }
        Some(_) => Err(OidcError::UnsupportedGrantType.respond("Unsupported grant type")),
        None => Err(OidcError::InvalidRequest.respond("grantType is required")),
    };
    match result {
        Ok((access, refresh)) => {
            let expires_in = shared.world().lifetimes.access_token_seconds;
            let mut body = json!({
                "accessToken": access,
                "tokenType": "Bearer",
                "expiresIn": expires_in,
            });
            if let Some(r) = refresh {
                body["refreshToken"] = json!(r);
            }
            ok(body)
        }
        Err(r) => r,
    }
}

type Tokens = (String, Option<String>);

fn device_code_grant(
    shared: &Shared,
    client_id: &str,
    refreshable: bool,
    req: &CreateTokenRequest,
) -> Result<Tokens, Response> {
    let Some(code) = req.device_code.as_deref() else {
        return Err(OidcError::InvalidRequest.respond("deviceCode is required"));
    };
    let now = shared.now();
    let mut w = shared.world();
    let first_user = w.fixture.users.first().map(|u| u.name.clone());
    let Some(dev) = w.devices.get_mut(code) else {
        return Err(OidcError::InvalidGrant.respond("Invalid grant provided"));
    };
    if dev.client_id != client_id || dev.consumed {
        return Err(OidcError::InvalidGrant.respond("Invalid grant provided"));
    }
    if dev.expires_at <= now {
        return Err(OidcError::ExpiredToken.respond("Device code has expired"));
    }
    if let (Some(delay), Decision::Pending, Some(user)) =
        (shared.auto_approve, &dev.decision, first_user)
        && now >= dev.created + delay
    {
        dev.decision = Decision::Approved(user);
    }
    match dev.decision.clone() {
        Decision::Denied => Err(OidcError::AccessDenied.respond("Access denied")),
        Decision::Pending => {
            let too_fast = dev
                .last_poll
                .is_some_and(|last| now - last < time::Duration::seconds(dev.interval as i64));
            dev.last_poll = Some(now);
            if too_fast {
                dev.interval += 5;
                Err(OidcError::SlowDown.respond("Client is polling too quickly"))
            } else {
                Err(OidcError::AuthorizationPending.respond("Authorization is still pending"))
            }
        }
        Decision::Approved(user) => {
            dev.consumed = true;
            Ok(w.mint_tokens(&user, client_id, now, refreshable, None))
        }
    }
}

fn refresh_token_grant(
    shared: &Shared,
    client_id: &str,
    req: &CreateTokenRequest,
) -> Result<Tokens, Response> {
    let Some(token) = req.refresh_token.as_deref() else {
        return Err(OidcError::InvalidRequest.respond("refreshToken is required"));
    };
    let now = shared.now();
    let mut w = shared.world();
    let Some(rt) = w.refresh_tokens.get_mut(token) else {
        return Err(OidcError::InvalidGrant.respond("Invalid grant provided"));
    };
    if !rt.valid || rt.client_id != client_id || rt.session_expires <= now {
        return Err(OidcError::InvalidGrant.respond("Invalid grant provided"));
    }
    // Rotation: the presented refresh token dies, a new one carries the same session end.
    rt.valid = false;
    let (user, session_expires) = (rt.user.clone(), rt.session_expires);
    Ok(w.mint_tokens(&user, client_id, now, true, Some(session_expires)))
}

fn authorization_code_grant(
    shared: &Shared,
    client_id: &str,
    refreshable: bool,
    req: &CreateTokenRequest,
) -> Result<Tokens, Response> {
    let (Some(code), Some(redirect_uri), Some(verifier)) = (
        req.code.as_deref(),
        req.redirect_uri.as_deref(),
        req.code_verifier.as_deref(),
    ) else {
        return Err(
            OidcError::InvalidRequest.respond("code, redirectUri and codeVerifier are required")
        );
    };
    let now = shared.now();
    let mut w = shared.world();
    let Some(ac) = w.auth_codes.get_mut(code) else {
        return Err(OidcError::InvalidGrant.respond("Invalid grant provided"));
    };
    let challenge = ids::base64url(&Sha256::digest(verifier.as_bytes()));
    if ac.used
        || ac.client_id != client_id
        || ac.redirect_uri != redirect_uri
        || ac.expires_at <= now
        || ac.challenge != challenge
    {
        return Err(OidcError::InvalidGrant.respond("Invalid grant provided"));
    }
    ac.used = true;
    let user = ac.user.clone();
    Ok(w.mint_tokens(&user, client_id, now, refreshable, None))
}

/// RFC 8252: a loopback redirect URI matches whatever port the client picked. A client
/// registered without redirect URIs has none to match.
fn redirect_allowed(registered: &[String], uri: &str) -> bool {
    fn without_port(u: &str) -> String {
        for host in ["http://127.0.0.1", "http://localhost", "http://[::1]"] {
            if let Some(rest) = u.strip_prefix(host) {
                let path = rest
                    .strip_prefix(':')
                    .map_or(rest, |r| r.trim_start_matches(|c: char| c.is_ascii_digit()));
                return format!("{host}{path}");
            }
        }
        u.to_string()
    }
    registered
        .iter()
        .any(|r| without_port(r) == without_port(uri))
}

pub(crate) fn html_page(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

pub(crate) fn bad_page(msg: &str) -> Response {
    html_page(
        StatusCode::BAD_REQUEST,
        format!(
            "<!DOCTYPE html><html><body><h1 id=\"error\">Error</h1><p>{}</p></body></html>",
            escape(msg)
        ),
    )
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(v) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            r
        }
        Err(_) => bad_page("invalid redirect_uri"),
    }
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", s.finish())
}

/// How long an authorization request stays answerable on the consent page.
const AUTHORIZE_LIFETIME: Duration = Duration::from_secs(600);
/// How long an authorization code may wait for its CreateToken.
const AUTH_CODE_LIFETIME: Duration = Duration::from_secs(300);

/// `GET /authorize`: checks the request as the service does (response_type, S256 PKCE, a
/// known unexpired client whose registered redirect URIs match, loopback ports aside) and
/// shows the sign-in and consent page, whose Allow and Deny buttons post to
/// `/authorize/consent`. With auto-approve it redirects with a code as the first user
/// once the delay has passed, without a page. Errors in the request itself are shown in
/// the browser, never redirected (the redirect URI is not trusted yet).
pub async fn authorize(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&shared, Op::Authorize).await {
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
        return bad_page("unsupported response_type");
    }
    if challenge.is_empty() || method != "S256" {
        return bad_page("PKCE with code_challenge_method=S256 is required");
    }
    let now = shared.now();
    let (id, users) = {
        let mut w = shared.world();
        match w.clients.get(&client_id) {
            None => return bad_page("invalid_client: unknown client_id"),
            Some(c) if c.expires_at <= now => {
                return bad_page("invalid_client: the client's registration has expired");
            }
            Some(c) if !c.grant_types.iter().any(|g| g == "authorization_code") => {
                return bad_page(
                    "unauthorized_client: the client is not registered for the authorization_code grant",
                );
            }
            Some(c) if !redirect_allowed(&c.redirect_uris, &redirect_uri) => {
                return bad_page("invalid_request: redirect_uri is not registered for this client");
            }
            Some(_) => {}
        }
        let id = ids::user_code();
        w.authorizations.insert(
            id.clone(),
            Authorization {
                decision: Decision::Pending,
                created: now,
                client_id: client_id.clone(),
                redirect_uri: redirect_uri.clone(),
                state,
                challenge,
            },
        );
        let users: Vec<String> = w.fixture.users.iter().map(|u| u.name.clone()).collect();
        (id, users)
    };
    if let Some(delay) = shared.auto_approve {
        tokio::time::sleep(delay).await;
        if let Some(user) = users.first() {
            set_decision(&shared, &id, Decision::Approved(user.clone()));
        }
        return finish(&shared, &id);
    }
    let options: String = users
        .iter()
        .map(|u| format!("<option value=\"{0}\">{0}</option>", escape(u)))
        .collect();
    html_page(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>AWS access portal: allow access</title></head>\
             <body><h1>Allow {client} to access your data?</h1>\
             <form method=\"post\" action=\"/authorize/consent\">\
             <input type=\"hidden\" name=\"authorization\" value=\"{id}\">\
             <label>Signed in as <select name=\"user\" id=\"user\">{options}</select></label>\
             <p><button type=\"submit\" name=\"action\" value=\"allow\" id=\"allow\">Allow access</button>\
             <button type=\"submit\" name=\"action\" value=\"deny\" id=\"deny\">Deny</button></p>\
             </form></body></html>",
            client = escape(&client_id),
        ),
    )
}

fn set_decision(shared: &Shared, id: &str, decision: Decision) {
    if let Some(a) = shared.world().authorizations.get_mut(id)
        && a.decision == Decision::Pending
    {
        a.decision = decision;
    }
}

/// `POST /authorize/consent` (the consent page's form): Allow as the chosen user, or Deny.
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
            let user = get("user");
            if shared.world().fixture.user(&user).is_none() {
                return bad_page("unknown user");
            }
            Decision::Approved(user)
        }
        "deny" => Decision::Denied,
        _ => return bad_page("choose Allow or Deny"),
    };
    set_decision(&shared, &id, decision);
    finish(&shared, &id)
}

/// Ends an authorization request by its decision: a redirect with `code` and `state`, or
/// with `error=access_denied`; an unknown, expired or undecided request is an error page.
fn finish(shared: &Shared, id: &str) -> Response {
    let now = shared.now();
    let mut w = shared.world();
    let Some(a) = w.authorizations.get(id).cloned() else {
        return bad_page("this authorization request is unknown or already answered");
    };
    if now >= a.created + AUTHORIZE_LIFETIME {
        w.authorizations.remove(id);
        return bad_page("authorization request expired");
    }
    match a.decision {
        Decision::Pending => bad_page("the authorization request has not been answered"),
        Decision::Denied => {
            w.authorizations.remove(id);
            redirect(&with_query(
                &a.redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_description", "The user denied the request"),
                    ("state", &a.state),
                ],
            ))
        }
        Decision::Approved(user) => {
            w.authorizations.remove(id);
            let code = w.issue(ids::opaque("", 48));
            w.auth_codes.insert(
                code.clone(),
                AuthCode {
                    client_id: a.client_id,
                    redirect_uri: a.redirect_uri.clone(),
                    challenge: a.challenge,
                    user,
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

/// `GET /device`: the verification page a person would open; here it only names the code.
pub async fn device_page(RawQuery(q): RawQuery) -> Response {
    let code = query_pairs(q.as_deref())
        .into_iter()
        .find(|(k, _)| k == "user_code")
        .map(|(_, v)| v)
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>();
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!DOCTYPE html><html><body><h1>awsx-emulator device verification</h1>\
             <p>User code: <code>{code}</code>. Approve it through the control API \
             (POST /_emulator/approve).</p></body></html>"
        ),
    )
        .into_response()
}
