//! Replies of the restJson1 services (SSO OIDC, the SSO portal): a JSON body, the request
//! id, and on errors `x-amzn-errortype` naming the error in the service's Coral namespace,
//! which the SDKs read before the body.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ids;

/// `namespace` is the service's Coral namespace, e.g. `com.amazonaws.sso.oidc`.
pub fn reply(
    status: StatusCode,
    error_type: Option<&str>,
    namespace: &str,
    body: String,
) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&ids::request_id()) {
        h.insert("x-amzn-requestid", v);
    }
    if let Some(name) = error_type {
        let value = format!("{name}:http://internal.amazon.com/coral/{namespace}/");
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert("x-amzn-errortype", v);
        }
    }
    resp
}
