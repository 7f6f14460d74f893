//! The SSO portal (restJson1, unsigned, bearer token in `x-amz-sso_bearer_token`):
//! GetRoleCredentials, ListAccounts, ListAccountRoles, Logout.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ids;
use crate::ops::{Fault, Op};
use crate::sigv4::query_pairs;
use crate::world::{Principal, Shared, secs};

/// Page size when the caller does not send `max_result`.
const DEFAULT_PAGE: usize = 20;
/// The most the portal returns in one page whatever `max_result` asks for.
const MAX_PAGE: usize = 100;

fn respond(status: StatusCode, error_type: Option<&str>, body: String) -> Response {
    crate::rest_json::reply(status, error_type, "com.amazonaws.switchboard.portal", body)
}

fn error(status: StatusCode, name: &str, message: &str) -> Response {
    respond(
        status,
        Some(name),
        json!({ "message": message }).to_string(),
    )
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "UnauthorizedException",
        "Session token not found or invalid",
    )
}

fn invalid_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "InvalidRequestException", message)
}

async fn gate(shared: &Shared, op: Op, headers: &HeaderMap) -> Option<Response> {
    let fault = shared.enter(op).await;
    if shared.outage() {
        return Some((StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response());
    }
    match fault? {
        Fault::Throttle => Some(error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "HTTP 429 Unknown Code",
        )),
        Fault::ServerError => Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            "An internal error occurred",
        )),
        Fault::MalformedBody => Some(respond(
            StatusCode::OK,
            None,
            "{\"roleCredentials\": {\"accessKeyId\": ".into(),
        )),
        Fault::EchoSecret => {
            let token = headers
                .get("x-amz-sso_bearer_token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Some(invalid_request(&format!(
                "Invalid bearer token {token} for this request"
            )))
        }
    }
}

/// The user behind the request's bearer token.
fn bearer(shared: &Shared, headers: &HeaderMap) -> Result<(String, String), Response> {
    let Some(token) = headers
        .get("x-amz-sso_bearer_token")
        .and_then(|v| v.to_str().ok())
    else {
        return Err(unauthorized());
    };
    let now = shared.now();
    match shared.world().bearer_user(token, now) {
        Some(user) => Ok((user, token.to_string())),
        None => Err(unauthorized()),
    }
}

fn param(q: &[(String, String)], name: &str) -> Option<String> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// The opaque nextToken: an offset, dressed so nobody mistakes it for a number.
fn encode_token(offset: usize) -> String {
    ids::base64url(format!("awsx-emulator-page:{offset}").as_bytes())
}

fn decode_token(token: &str, len: usize) -> Option<usize> {
    (1..=len).find(|o| encode_token(*o) == token)
}

/// Slices one page out of `items` per `next_token`/`max_result`.
fn page<T: Clone>(
    items: &[T],
    q: &[(String, String)],
) -> Result<(Vec<T>, Option<String>), Response> {
    let size = match param(q, "max_result") {
        None => DEFAULT_PAGE,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_PAGE),
            _ => return Err(invalid_request("Invalid max_result")),
        },
    };
    let start = match param(q, "next_token").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match decode_token(&t, items.len()) {
            Some(o) => o,
            None => return Err(invalid_request("Invalid next token")),
        },
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| encode_token(end));
    Ok((items[start..end].to_vec(), next))
}

pub async fn get_role_credentials(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Some(r) = gate(&shared, Op::GetRoleCredentials, &headers).await {
        return r;
    }
    let (user, _) = match bearer(&shared, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let q = query_pairs(q.as_deref());
    let (Some(role), Some(account)) = (param(&q, "role_name"), param(&q, "account_id")) else {
        return invalid_request("role_name and account_id are required");
    };
    let now = shared.now();
    let mut w = shared.world();
    if !w.user_has_role(&user, &account, &role) {
        return error(StatusCode::FORBIDDEN, "ForbiddenException", "No access");
    }
    let principal = Principal::Role {
        role: format!(
            "AWSReservedSSO_{role}_{}",
            ids::sso_role_suffix(&account, &role)
        ),
        account,
        session: user,
    };
    let lifetime = secs(w.lifetimes.role_credentials_seconds);
    let key = w.mint_session(principal, now, lifetime, None, None);
    let expiration = key.expires_at.unwrap_or(now);
    respond(
        StatusCode::OK,
        None,
        json!({"roleCredentials": {
            "accessKeyId": key.access_key_id,
            "secretAccessKey": key.secret,
            "sessionToken": key.session_token,
            "expiration": (expiration.unix_timestamp_nanos() / 1_000_000) as i64,
        }})
        .to_string(),
    )
}

pub async fn list_accounts(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Some(r) = gate(&shared, Op::ListAccounts, &headers).await {
        return r;
    }
    let (user, _) = match bearer(&shared, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let q = query_pairs(q.as_deref());
    let accounts: Vec<serde_json::Value> = {
        let w = shared.world();
        let Some(u) = w.fixture.user(&user) else {
            return unauthorized();
        };
        w.fixture
            .accounts
            .iter()
            .filter(|a| u.assignments.get(&a.id).is_some_and(|r| !r.is_empty()))
            .map(|a| json!({"accountId": a.id, "accountName": a.name, "emailAddress": a.email}))
            .collect()
    };
    match page(&accounts, &q) {
        Ok((list, next)) => respond(
            StatusCode::OK,
            None,
            json!({"accountList": list, "nextToken": next}).to_string(),
        ),
        Err(r) => r,
    }
}

pub async fn list_account_roles(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Some(r) = gate(&shared, Op::ListAccountRoles, &headers).await {
        return r;
    }
    let (user, _) = match bearer(&shared, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let q = query_pairs(q.as_deref());
    let Some(account) = param(&q, "account_id") else {
        return invalid_request("account_id is required");
    };
    let roles: Vec<serde_json::Value> = {
        let w = shared.world();
        w.fixture
            .user(&user)
            .and_then(|u| u.assignments.get(&account))
            .map(|roles| {
                roles
                    .iter()
                    .map(|r| json!({"roleName": r, "accountId": account}))
                    .collect()
            })
            .unwrap_or_default()
    };
    match page(&roles, &q) {
        Ok((list, next)) => respond(
            StatusCode::OK,
            None,
            json!({"roleList": list, "nextToken": next}).to_string(),
        ),
        Err(r) => r,
    }
}

pub async fn logout(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(r) = gate(&shared, Op::Logout, &headers).await {
        return r;
    }
    let (_, token) = match bearer(&shared, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut w = shared.world();
    let refresh = w.access_tokens.get_mut(&token).and_then(|t| {
        t.revoked = true;
        t.refresh_token.clone()
    });
    if let Some(rt) = refresh.and_then(|r| w.refresh_tokens.get_mut(&r)) {
        rt.valid = false;
    }
    respond(StatusCode::OK, None, String::new())
}
