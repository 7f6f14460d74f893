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

/// The outage and error faults as a reply (`Err`), else the fault that shapes the reply
/// (`Ok(Some)`: the handler applies it) or none.
async fn gate(shared: &Shared, op: Op, headers: &HeaderMap) -> Result<Option<Fault>, Response> {
    let fault = shared.enter(op).await;
    if shared.outage() {
        return Err((StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response());
    }
    let Some(fault) = fault else {
        return Ok(None);
    };
    Err(match fault {
        Fault::Throttle => error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "HTTP 429 Unknown Code",
        ),
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            "An internal error occurred",
        ),
        Fault::MalformedBody => respond(
            StatusCode::OK,
            None,
            "{\"roleCredentials\": {\"accessKeyId\": ".into(),
        ),
        Fault::EchoSecret => {
            let token = headers
                .get("x-amz-sso_bearer_token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            invalid_request(&format!("Invalid bearer token {token} for this request"))
        }
        // `enter` never returns it.
        Fault::Hang => (StatusCode::GATEWAY_TIMEOUT, "").into_response(),
        Fault::RepeatNextToken | Fault::HugeField { .. } | Fault::ExpiredCredentials => {
            return Ok(Some(fault));
        }
    })
}

/// A well-formed GetRoleCredentials reply whose `accessKeyId` is `bytes` long, produced
/// as it is sent (64 KiB at a time, chunked), so the emulator can serve gigabytes.
fn huge_credentials(bytes: u64, expiration_millis: i64) -> Response {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    struct Huge {
        head: Option<axum::body::Bytes>,
        left: u64,
        tail: Option<axum::body::Bytes>,
    }
    impl http_body::Body for Huge {
        type Data = axum::body::Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            static CHUNK: [u8; 64 * 1024] = [b'A'; 64 * 1024];
            let next = if let Some(head) = self.head.take() {
                Some(head)
            } else if self.left > 0 {
                let n = self.left.min(CHUNK.len() as u64);
                self.left -= n;
                Some(axum::body::Bytes::from_static(&CHUNK[..n as usize]))
            } else {
                self.tail.take()
            };
            Poll::Ready(next.map(|b| Ok(http_body::Frame::data(b))))
        }
    }
    let head = "{\"roleCredentials\":{\"accessKeyId\":\"";
    let tail = format!(
        "\",\"secretAccessKey\":\"{}\",\"sessionToken\":\"{}\",\"expiration\":{expiration_millis}}}}}",
        "s".repeat(40),
        "t".repeat(400),
    );
    // Chunked, with no Content-Length: the client learns the size only by reading.
    let mut resp = respond(StatusCode::OK, None, String::new());
    resp.headers_mut()
        .remove(axum::http::header::CONTENT_LENGTH);
    *resp.body_mut() = axum::body::Body::new(Huge {
        head: Some(head.into()),
        left: bytes,
        tail: Some(tail.into()),
    });
    resp
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
    let shape = match gate(&shared, Op::GetRoleCredentials, &headers).await {
        Ok(shape) => shape,
        Err(r) => return r,
    };
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
    let mut expiration = key.expires_at.unwrap_or(now);
    match shape {
        Some(Fault::HugeField { bytes }) => {
            return huge_credentials(
                bytes,
                (expiration.unix_timestamp_nanos() / 1_000_000) as i64,
            );
        }
        Some(Fault::ExpiredCredentials) => expiration = now - time::Duration::hours(1),
        _ => {}
    }
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
    let shape = match gate(&shared, Op::ListAccounts, &headers).await {
        Ok(shape) => shape,
        Err(r) => return r,
    };
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
    match page_or_loop(&accounts, &q, shape) {
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
    let shape = match gate(&shared, Op::ListAccountRoles, &headers).await {
        Ok(shape) => shape,
        Err(r) => return r,
    };
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
    match page_or_loop(&roles, &q, shape) {
        Ok((list, next)) => respond(
            StatusCode::OK,
            None,
            json!({"roleList": list, "nextToken": next}).to_string(),
        ),
        Err(r) => r,
    }
}

/// `page`, or under `RepeatNextToken` the first page with the same token, whatever was sent.
fn page_or_loop<T: Clone>(
    items: &[T],
    q: &[(String, String)],
    shape: Option<Fault>,
) -> Result<(Vec<T>, Option<String>), Response> {
    if shape != Some(Fault::RepeatNextToken) {
        return page(items, q);
    }
    let first: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| k != "next_token")
        .cloned()
        .collect();
    let (list, _) = page(items, &first)?;
    Ok((list, Some(ids::base64url(b"awsx-emulator-page:again"))))
}

pub async fn logout(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&shared, Op::Logout, &headers).await {
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
