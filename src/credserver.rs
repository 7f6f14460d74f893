//! The local credential endpoint of `awsx exec --server`: the container credentials
//! protocol that every AWS SDK speaks (the one ECS and EKS Pod Identity use), served on
//! 127.0.0.1 so that a long-running process asks awsx for fresh credentials whenever its
//! SDK wants them, instead of holding environment credentials that expire under it.
//!
//! The protocol, as the SDKs implement it: the process finds the endpoint in
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` (plain HTTP is accepted for loopback addresses only)
//! and sends `GET` with the header `Authorization: <AWS_CONTAINER_AUTHORIZATION_TOKEN>`; the
//! reply is `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "AccountId"}`.
//!
//! Rules that keep it safe:
//! - It listens on 127.0.0.1 only, on a port the kernel picks, and answers one path.
//! - Every request must carry the bearer token, a fresh 256-bit random value that only the
//!   child's environment holds: a missing token is 401, a wrong one 403, and neither says
//!   anything else. The comparison takes the same time whatever the value.
//! - Requests are bounded: 8 KiB of request head, 5 s to send it, 64 connections at once.
//! - It keeps nothing: each request asks the [`Source`] (awsx's normal path: hot tier,
//!   keychain, single-flight refresh), so what it serves is always fresh.
//!
//! Library code: it never prints. Failures to serve come back to the caller through
//! [`Source`]'s error type, which the command renders.
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;

use awsx_core::secret::Secret;
use awsx_core::types::AccountId;
use awsx_creds::RoleCredentials;

/// The one path the endpoint answers.
pub const PATH: &str = "/awsx/v1/credentials";

/// The largest request head read (request line and headers); SDK requests are a few
/// hundred bytes.
const MAX_HEAD: usize = 8 * 1024;

/// How long a client may take to send its request, and to read the reply.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; more wait in the kernel's backlog. A burst of SDK clients
/// in one process makes a handful; this bounds threads if something misbehaves.
const MAX_CONNECTIONS: usize = 64;

/// Where the endpoint's credentials come from, per request.
pub trait Source: Send + Sync + 'static {
    /// Fresh credentials, or why there are none (rendered into the error reply).
    fn credentials(&self) -> Result<Served, Failure>;
}

/// What one request is answered with.
pub struct Served {
    pub credentials: RoleCredentials,
    pub account_id: Option<AccountId>,
}

/// Why a request could not be served: the message (already safe to show: it holds no
/// secret) and a short code for the reply's `Code` field.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
}

/// A running endpoint. Dropping it does not stop the accept thread: the endpoint lives as
/// long as the awsx process, which exits when the command does.
pub struct Endpoint {
    addr: SocketAddr,
    token: Secret<String>,
}

impl Endpoint {
    /// Bind 127.0.0.1 on a free port and serve `source` on a background thread.
    pub fn start(source: Arc<dyn Source>) -> io::Result<Endpoint> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let token = Secret::new(random_token()?);
        let expected = token.clone();
        std::thread::Builder::new()
            .name("awsx-credential-endpoint".into())
            .spawn(move || accept_loop(&listener, &expected, &source))?;
        Ok(Endpoint { addr, token })
    }

    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    pub fn token(&self) -> &Secret<String> {
        &self.token
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

fn accept_loop(listener: &TcpListener, token: &Secret<String>, source: &Arc<dyn Source>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if active.load(Ordering::Acquire) >= MAX_CONNECTIONS {
            let _ = reply(&stream, 503, &error_body("Busy", "too many connections"));
            continue;
        }
        active.fetch_add(1, Ordering::AcqRel);
        let (token, source, done) = (token.clone(), Arc::clone(source), Arc::clone(&active));
        let spawned = std::thread::Builder::new()
            .name("awsx-credential-request".into())
            .spawn(move || {
                handle(&stream, &token, source.as_ref());
                done.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            active.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// The reply to a request, decided from its head alone (status and body).
fn respond(head: &[u8], token: &Secret<String>, source: &dyn Source) -> (u16, String) {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return (400, error_body("BadRequest", "malformed request")),
    }
    // The token first: without it, nothing about the endpoint is revealed.
    let given = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("authorization"))
        .map(|h| h.value);
    match given {
        None => return (401, error_body("Unauthorized", "missing Authorization")),
        Some(value) if !same_secret(value, token.expose().as_bytes()) => {
            return (403, error_body("Forbidden", "wrong Authorization"));
        }
        Some(_) => {}
    }
    let path = request.path.unwrap_or("");
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if path != PATH {
        return (404, error_body("NotFound", "no such path"));
    }
    if request.method != Some("GET") {
        return (405, error_body("MethodNotAllowed", "use GET"));
    }
    match source.credentials() {
        Ok(served) => (200, success_body(&served)),
        Err(failure) => (500, error_body(failure.code, &failure.message)),
    }
}

fn handle(stream: &TcpStream, token: &Secret<String>, source: &dyn Source) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let (status, body) = match read_head(stream) {
        Ok(Some(head)) => respond(&head, token, source),
        Ok(None) => (431, error_body("BadRequest", "request head too large")),
        // Timed out or gone: nobody to answer.
        Err(_) => return,
    };
    let _ = reply(stream, status, &body);
}

/// The request head (up to and including the blank line), or `None` when it is larger
/// than [`MAX_HEAD`]. A body, which a GET does not have, is never read.
fn read_head(mut stream: &TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&chunk[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            return Ok(Some(head));
        }
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
    }
}

fn reply(mut stream: &TcpStream, status: u16, body: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    // One write, so a client never sees a reply in pieces; no keep-alive, so each request
    // is one connection and one thread.
    let message = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(message.as_bytes())?;
    stream.flush()
}

fn success_body(served: &Served) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Reply<'a> {
        access_key_id: &'a str,
        secret_access_key: &'a str,
        token: &'a str,
        expiration: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        account_id: Option<&'a str>,
    }
    let creds = &served.credentials;
    serde_json::to_string(&Reply {
        access_key_id: &creds.access_key_id,
        secret_access_key: creds.secret_access_key.expose(),
        token: creds.session_token.expose(),
        expiration: creds.expiration.to_rfc3339(),
        account_id: served.account_id.as_ref().map(AccountId::as_str),
    })
    .unwrap_or_default()
}

/// `{"Code": …, "Message": …}`, the shape of the container endpoints' own errors.
fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({ "Code": code, "Message": message }).to_string()
}

/// Compare a presented token with the expected one in time that depends only on the
/// lengths, so that timing does not reveal how much of a guess was right.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// 32 bytes from the operating system's CSPRNG, as 64 hex digits (a header-safe value).
fn random_token() -> io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(io::Error::other)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_core::types::Expiration;

    struct Fixed(Result<(), Failure>);

    impl Source for Fixed {
        fn credentials(&self) -> Result<Served, Failure> {
            self.0.clone()?;
            Ok(Served {
                credentials: RoleCredentials {
                    access_key_id: "ASIAEXAMPLE".into(),
                    secret_access_key: Secret::new("sekrit".into()),
                    session_token: Secret::new("tok".into()),
                    expiration: Expiration::from_unix_seconds(1_800_000_000).unwrap(),
                    received_at: None,
                },
                account_id: Some("200000000002".parse().unwrap()),
            })
        }
    }

    fn token() -> Secret<String> {
        Secret::new("t0ken".into())
    }

    fn ask(head: &str, source: &dyn Source) -> (u16, serde_json::Value) {
        let (status, body) = respond(head.as_bytes(), &token(), source);
        (status, serde_json::from_str(&body).unwrap())
    }

    #[test]
    fn the_right_token_gets_the_container_credentials_document() {
        let (status, json) = ask(
            &format!("GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: t0ken\r\n\r\n"),
            &Fixed(Ok(())),
        );
        assert_eq!(status, 200);
        assert_eq!(json["AccessKeyId"], "ASIAEXAMPLE");
        assert_eq!(json["SecretAccessKey"], "sekrit");
        assert_eq!(json["Token"], "tok");
        assert_eq!(json["Expiration"], "2027-01-15T08:00:00Z");
        assert_eq!(json["AccountId"], "200000000002");
    }

    #[test]
    fn a_missing_or_wrong_token_gets_401_or_403_and_nothing_else() {
        let source = Fixed(Ok(()));
        let (status, json) = ask(&format!("GET {PATH} HTTP/1.1\r\n\r\n"), &source);
        assert_eq!((status, json["Code"].as_str()), (401, Some("Unauthorized")));
        for wrong in ["t0kem", "t0ke", "T0KEN", "", "t0ken0", "Bearer t0ken"] {
            let (status, json) = ask(
                &format!("GET {PATH} HTTP/1.1\r\nAuthorization: {wrong}\r\n\r\n"),
                &source,
            );
            assert_eq!(status, 403, "{wrong:?}");
            assert!(json.get("AccessKeyId").is_none());
        }
        // Even for another path: nothing is revealed without the token.
        let (status, _) = ask("GET /other HTTP/1.1\r\n\r\n", &source);
        assert_eq!(status, 401);
    }

    #[test]
    fn only_get_on_the_one_path_is_served() {
        let source = Fixed(Ok(()));
        let (status, _) = ask(
            "GET /latest/meta-data HTTP/1.1\r\nAuthorization: t0ken\r\n\r\n",
            &source,
        );
        assert_eq!(status, 404);
        let (status, _) = ask(
            &format!("POST {PATH} HTTP/1.1\r\nAuthorization: t0ken\r\n\r\n"),
            &source,
        );
        assert_eq!(status, 405);
        let (status, _) = ask("NOT HTTP\r\n\r\n", &source);
        assert_eq!(status, 400);
    }

    #[test]
    fn a_failure_is_a_500_with_its_code_and_message() {
        let source = Fixed(Err(Failure {
            code: "LoginRequired",
            message: "run awsx login --sso-session acme".into(),
        }));
        let (status, json) = ask(
            &format!("GET {PATH} HTTP/1.1\r\nAuthorization: t0ken\r\n\r\n"),
            &source,
        );
        assert_eq!(status, 500);
        assert_eq!(json["Code"], "LoginRequired");
        assert_eq!(json["Message"], "run awsx login --sso-session acme");
    }

    #[test]
    fn tokens_are_random_and_header_safe() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn comparison_needs_every_byte() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"ab", b"abc"));
    }
}
