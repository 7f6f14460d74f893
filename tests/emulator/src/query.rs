//! The awsQuery protocol that STS and IAM share on `POST /`: form parameters in, XML out,
//! every request SigV4-signed. Which service a request is for comes from its credential
//! scope (`…/sts/aws4_request` or `…/iam/aws4_request`), as both live on one port here.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::ids;
use crate::ops::{Fault, Op};
use crate::sigv4::{self, ParseError};
use crate::world::{Key, Shared};
use crate::{iam, sts};

/// How far a request's signing time may be from the emulator's clock (AWS: 5 minutes).
const MAX_SKEW: time::Duration = time::Duration::minutes(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Sts,
    Iam,
}

impl Service {
    pub fn namespace(self) -> &'static str {
        match self {
            Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
            Service::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
        }
    }

    fn op(self, action: &str) -> Option<Op> {
        Some(match (self, action) {
            (Service::Sts, "AssumeRole") => Op::AssumeRole,
            (Service::Sts, "GetSessionToken") => Op::GetSessionToken,
            (Service::Sts, "GetCallerIdentity") => Op::GetCallerIdentity,
            (Service::Iam, "CreateAccessKey") => Op::CreateAccessKey,
            (Service::Iam, "DeleteAccessKey") => Op::DeleteAccessKey,
            (Service::Iam, "ListAccessKeys") => Op::ListAccessKeys,
            (Service::Iam, "GetUser") => Op::GetUser,
            _ => return None,
        })
    }
}

/// An awsQuery error: `<ErrorResponse><Error><Type/><Code/><Message/></Error>…`.
#[derive(Debug, Clone)]
pub struct QueryError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `Sender` (the caller's fault) or `Receiver`.
    pub sender: bool,
}

impl QueryError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> QueryError {
        QueryError {
            status,
            code,
            message: message.into(),
            sender: status.is_client_error(),
        }
    }

    pub fn access_denied(message: impl Into<String>) -> QueryError {
        QueryError::new(StatusCode::FORBIDDEN, "AccessDenied", message)
    }

    pub fn validation(message: impl Into<String>) -> QueryError {
        QueryError::new(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    fn respond(&self, service: Service) -> Response {
        let request_id = ids::request_id();
        let body = format!(
            "<ErrorResponse xmlns=\"{}\">\n  <Error>\n    <Type>{}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
            service.namespace(),
            if self.sender { "Sender" } else { "Receiver" },
            self.code,
            escape(&self.message),
            request_id,
        );
        xml_response(self.status, body, &request_id)
    }
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<Name>escaped value</Name>`
pub fn el(name: &str, value: &str) -> String {
    format!("<{name}>{}</{name}>", escape(value))
}

/// ISO 8601 as STS and IAM print it.
pub fn iso8601(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

/// The body's RequestId and the `x-amzn-RequestId` header agree, as on AWS.
fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// The success envelope: `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>`.
pub fn success(service: Service, action: &str, result: Option<&str>) -> Response {
    let request_id = ids::request_id();
    let result = result
        .map(|r| format!("  <{action}Result>\n{r}\n  </{action}Result>\n"))
        .unwrap_or_default();
    xml_response(
        StatusCode::OK,
        format!(
            "<{action}Response xmlns=\"{}\">\n{result}  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n",
            service.namespace(),
            request_id
        ),
        &request_id,
    )
}

/// The request's parameters, from the query string and the form body.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A verified caller.
pub struct Caller {
    pub key: Key,
}

/// `POST /` and `GET /`: STS or IAM, by signature scope.
pub async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = sigv4::query_pairs(uri.query());
    let mut params = query.clone();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        params.extend(form_urlencoded::parse(&body).into_owned());
    }
    let params = Params(params);
    let signed = sigv4::parse(&headers, &query);
    let service = match &signed {
        Ok(s) if s.service == "iam" => Service::Iam,
        _ => Service::Sts,
    };
    let Some(action) = params.get("Action").map(str::to_string) else {
        return QueryError::new(StatusCode::BAD_REQUEST, "MissingAction", "Missing Action")
            .respond(service);
    };
    let Some(op) = service.op(&action) else {
        let version = match service {
            Service::Sts => "2011-06-15",
            Service::Iam => "2010-05-08",
        };
        return QueryError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!("Could not find operation {action} for version {version}"),
        )
        .respond(service);
    };
    if let Some(fault) = shared.enter(op).await
        && let Some(response) = fault_response(service, fault)
    {
        return response;
    }
    let now = shared.now();
    let caller = match signed {
        Err(ParseError::Missing) => Err(QueryError::new(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )),
        Err(ParseError::Incomplete(m)) => Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            m,
        )),
        Ok(s) => authenticate(&shared, now, &method, &uri, &query, &headers, &s, &body),
    };
    let caller = match caller {
        Ok(c) => c,
        Err(e) => return e.respond(service),
    };
    let result = match service {
        Service::Sts => sts::handle(&shared, now, op, &params, &caller),
        Service::Iam => iam::handle(&shared, now, op, &params, &caller),
    };
    match result {
        Ok(r) => r,
        Err(e) => e.respond(service),
    }
}

/// The error a fault stands for, or `None` for the faults that only shape portal replies
/// (STS and IAM serve those requests normally).
fn fault_response(service: Service, fault: Fault) -> Option<Response> {
    Some(match fault {
        Fault::Throttle => {
            QueryError::new(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded").respond(service)
        }
        Fault::ServerError | Fault::EchoSecret => {
            let code = match service {
                Service::Sts => "InternalFailure",
                Service::Iam => "ServiceFailure",
            };
            QueryError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                code,
                "We encountered an internal error. Please try again.",
            )
            .respond(service)
        }
        Fault::MalformedBody => xml_response(
            StatusCode::OK,
            "<AssumeRoleResponse><Ass".into(),
            &ids::request_id(),
        ),
        Fault::Hang
        | Fault::RepeatNextToken
        | Fault::HugeField { .. }
        | Fault::ExpiredCredentials => return None,
    })
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

#[allow(clippy::too_many_arguments)]
fn authenticate(
    shared: &Shared,
    now: OffsetDateTime,
    method: &Method,
    uri: &Uri,
    query: &[(String, String)],
    headers: &HeaderMap,
    signed: &sigv4::SignedRequest,
    body: &[u8],
) -> Result<Caller, QueryError> {
    let Some(key) = shared.world().keys.get(&signed.access_key_id).cloned() else {
        return Err(QueryError::new(
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            INVALID_TOKEN,
        ));
    };
    if key.session_token.as_deref() != signed.security_token.as_deref() {
        return Err(QueryError::new(
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            INVALID_TOKEN,
        ));
    }
    // The session token is checked before the signature: AWS must decode the token to learn
    // the session's secret, so an expired session is ExpiredToken even from a skewed client.
    if key.expires_at.is_some_and(|e| e <= now) {
        return Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "ExpiredToken",
            "The security token included in the request is expired",
        ));
    }
    let canonical =
        sigv4::canonical_request(method.as_str(), uri.path(), query, headers, signed, body);
    let expected = sigv4::signature(&key.secret, signed, &canonical);
    if !sigv4::signatures_match(&expected, &signed.signature) {
        return Err(QueryError::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    let fmt = sigv4::format_amz_date;
    if signed.time < now - MAX_SKEW {
        return Err(QueryError::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            format!(
                "Signature expired: {} is now earlier than {} ({} - 5 min.)",
                fmt(signed.time),
                fmt(now - MAX_SKEW),
                fmt(now)
            ),
        ));
    }
    if signed.time > now + MAX_SKEW {
        return Err(QueryError::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            format!(
                "Signature not yet current: {} is still later than {} ({} + 5 min.)",
                fmt(signed.time),
                fmt(now + MAX_SKEW),
                fmt(now)
            ),
        ));
    }
    Ok(Caller { key })
}
