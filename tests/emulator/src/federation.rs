//! Console federation (`signin.aws.amazon.com/federation`): getSigninToken turns temporary
//! credentials into a sign-in token; login redirects a browser to the console destination.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::ids;
use crate::ops::{Fault, Op};
use crate::sigv4::query_pairs;
use crate::world::{Shared, SigninToken};

/// Sign-in tokens are good for 15 minutes.
const SIGNIN_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

fn error_page(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
        format!(
            "<!DOCTYPE html><html><head><title>Amazon Web Services Sign-In</title></head>\
             <body><h1>{}</h1><p>{message}</p></body></html>",
            status.canonical_reason().unwrap_or("Error")
        ),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    session_id: String,
    session_key: String,
    session_token: String,
}

pub async fn federation(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let params = query_pairs(q.as_deref());
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let op = match get("Action") {
        Some("getSigninToken") => Op::GetSigninToken,
        Some("login") => Op::ConsoleLogin,
        _ => return error_page(StatusCode::BAD_REQUEST, "Unsupported Action"),
    };
    match shared.enter(op).await {
        Some(Fault::Throttle) => {
            return error_page(StatusCode::TOO_MANY_REQUESTS, "Rate exceeded");
        }
        Some(Fault::ServerError | Fault::EchoSecret) => {
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Internal Failure");
        }
        Some(Fault::MalformedBody) => {
            return (StatusCode::OK, "{\"SigninTok").into_response();
        }
        Some(
            Fault::Hang
            | Fault::RepeatNextToken
            | Fault::HugeField { .. }
            | Fault::ExpiredCredentials,
        )
        | None => {}
    }
    let now = shared.now();
    if op == Op::GetSigninToken {
        let Some(session) = get("Session").and_then(|s| serde_json::from_str::<Session>(s).ok())
        else {
            return error_page(StatusCode::BAD_REQUEST, "Invalid Session parameter");
        };
        if let Some(d) = get("SessionDuration")
            && !d.parse::<u64>().is_ok_and(|d| (900..=43200).contains(&d))
        {
            return error_page(StatusCode::BAD_REQUEST, "Invalid SessionDuration");
        }
        let mut w = shared.world();
        let valid = w.keys.get(&session.session_id).is_some_and(|k| {
            k.secret == session.session_key
                && k.session_token.as_deref() == Some(session.session_token.as_str())
                && k.expires_at.is_some_and(|e| e > now)
        });
        if !valid {
            return error_page(
                StatusCode::BAD_REQUEST,
                "The credentials are invalid or expired; federation requires temporary credentials.",
            );
        }
        let token = w.issue(ids::opaque("", 400));
        w.signin_tokens.insert(
            token.clone(),
            SigninToken {
                expires_at: now + SIGNIN_TOKEN_LIFETIME,
            },
        );
        let mut resp = json!({ "SigninToken": token }).to_string().into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return resp;
    }
    let valid = get("SigninToken").is_some_and(|t| {
        shared
            .world()
            .signin_tokens
            .get(t)
            .is_some_and(|s| s.expires_at > now)
    });
    let destination =
        get("Destination").filter(|d| d.starts_with("https://") || d.starts_with("http://"));
    match (valid, destination.map(HeaderValue::from_str)) {
        (true, Some(Ok(location))) => {
            let mut resp = StatusCode::FOUND.into_response();
            resp.headers_mut().insert(header::LOCATION, location);
            resp
        }
        (true, _) => error_page(StatusCode::BAD_REQUEST, "Invalid Destination"),
        (false, _) => error_page(
            StatusCode::BAD_REQUEST,
            "Your request included an invalid sign-in token. Sign-in tokens expire 15 minutes after they are created.",
        ),
    }
}
