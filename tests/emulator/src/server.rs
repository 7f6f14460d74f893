//! The one router that puts every emulated endpoint on one port, and the `Date` header that
//! follows the emulator's (advanceable) clock.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use time::macros::format_description;

use crate::world::Shared;
use crate::{control, federation, oidc, portal, query, signin};

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        // SSO OIDC
        .route("/client/register", post(oidc::register_client))
        .route(
            "/device_authorization",
            post(oidc::start_device_authorization),
        )
        .route("/token", post(oidc::create_token))
        .route("/authorize", get(oidc::authorize))
        .route("/authorize/consent", post(oidc::consent))
        .route("/device", get(oidc::device_page))
        // SSO portal
        .route("/federation/credentials", get(portal::get_role_credentials))
        .route("/assignment/accounts", get(portal::list_accounts))
        .route("/assignment/roles", get(portal::list_account_roles))
        .route("/logout", post(portal::logout))
        // STS and IAM (awsQuery), told apart by the signature's scope
        .route("/", post(query::handle).get(query::handle))
        // AWS Sign-In (`aws login`)
        .route("/v1/authorize", get(signin::authorize))
        .route("/v1/authorize/consent", post(signin::consent))
        .route("/v1/sessions/confirmation", get(signin::confirmation))
        .route("/v1/token", post(signin::create_token))
        // Console federation
        .route("/federation", get(federation::federation))
        // Control API
        .route("/_emulator/approve", post(control::approve))
        .route("/_emulator/deny", post(control::deny))
        .route("/_emulator/pending", get(control::pending))
        .route(
            "/_emulator/counts",
            get(control::counts).delete(control::reset_counts),
        )
        .route("/_emulator/counts/reset", post(control::reset_counts))
        .route("/_emulator/latency", post(control::latency))
        .route(
            "/_emulator/fault",
            post(control::fault).delete(control::clear_faults),
        )
        .route("/_emulator/outage", post(control::outage))
        .route("/_emulator/clock", post(control::clock))
        .route(
            "/_emulator/lifetimes",
            get(control::get_lifetimes).post(control::set_lifetimes),
        )
        .route(
            "/_emulator/revoke-assignment",
            post(control::revoke_assignment),
        )
        .route(
            "/_emulator/revoke-refresh-tokens",
            post(control::revoke_refresh_tokens),
        )
        .route("/_emulator/totp", get(control::totp_code))
        .route("/_emulator/fixture", get(control::fixture))
        .route(
            "/_emulator/signin/config",
            get(control::get_signin_config).post(control::set_signin_config),
        )
        .route(
            "/_emulator/signin/token-calls",
            get(control::signin_token_calls).delete(control::reset_signin_token_calls),
        )
        .route(
            "/_emulator/signin/sessions",
            get(control::signin_sessions).delete(control::revoke_signin_sessions),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), date_header))
        .with_state(shared)
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

/// hyper stamps the real time on `Date`; replace it with the emulator's clock so a skew
/// check (awsx doctor) sees the advanced time.
async fn date_header(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let fmt = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    if let Ok(date) = shared.now().format(fmt)
        && let Ok(v) = HeaderValue::from_str(&date)
    {
        response.headers_mut().insert(header::DATE, v);
    }
    response
}
