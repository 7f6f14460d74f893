//! The browser side of the authorization code grant with PKCE (RFC 7636, RFC 8252): the
//! verifier and its S256 challenge, the `state`, the authorize URL on the OIDC endpoint, and
//! the loopback listener that receives the browser's redirect.
//!
//! Wire facts, as the AWS CLI v2 (`SSOTokenFetcherAuth`, `AuthCodeFetcher`) sends them: the
//! client is registered with the redirect URI `http://127.0.0.1/oauth/callback` (no port:
//! loopback redirects match on any port, RFC 8252 §7.3); the authorize URL is
//! `<oidc endpoint>/authorize?response_type=code&client_id&redirect_uri&state&
//! code_challenge_method=S256&scopes=<space separated>&code_challenge=<base64url, no padding>`
//! with the redirect URI carrying the listener's port. Unlike the AWS CLI, which listens on
//! every interface, awsx listens on 127.0.0.1 only.
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::error::SsoError;
use awsx_core::secret::Secret;

/// The redirect URI registered with RegisterClient (the port is the listener's, per login).
pub const REGISTERED_REDIRECT_URI: &str = "http://127.0.0.1/oauth/callback";
const CALLBACK_PATH: &str = "/oauth/callback";
/// How long `awsx login` waits for the browser's redirect (overridable with
/// `AWSX_BROWSER_LOGIN_TIMEOUT`, in seconds).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How long one connection may take to send its request head (a stalled or idle browser
/// connection must not block the real redirect).
const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// A PKCE verifier (kept secret until CreateToken) and its S256 challenge (sent in the URL).
pub struct Pkce {
    pub verifier: Secret<String>,
    pub challenge: String,
}

impl Pkce {
    /// 64 characters of the RFC 7636 unreserved set from the OS CSPRNG (256 random bits,
    /// base64url), as long as the AWS CLI's.
    pub fn generate() -> Result<Self, SsoError> {
        let verifier = base64url(&random_bytes::<48>()?);
        let challenge = challenge_of(&verifier);
        Ok(Pkce {
            verifier: Secret::new(verifier),
            challenge,
        })
    }
}

/// RFC 7636 §4.2: `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`, without padding.
pub fn challenge_of(verifier: &str) -> String {
    base64url(&Sha256::digest(verifier.as_bytes()))
}

/// A fresh, unguessable `state` (128 random bits, hex).
pub fn new_state() -> Result<String, SsoError> {
    Ok(random_bytes::<16>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn random_bytes<const N: usize>() -> Result<[u8; N], SsoError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SsoError::Loopback {
        what: format!("no randomness from the OS ({e})"),
    })?;
    Ok(bytes)
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// Everything the authorize URL carries.
pub struct AuthorizeRequest<'a> {
    /// The OIDC endpoint (`AWS_ENDPOINT_URL_SSO_OIDC` or `https://oidc.<region>.amazonaws.com`).
    pub endpoint: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub challenge: &'a str,
    pub scopes: &'a [String],
}

impl AuthorizeRequest<'_> {
    /// The URL the browser opens. Holds nothing secret: the challenge is public by design,
    /// and `state` only protects this one login's redirect.
    pub fn url(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client_id)
            .append_pair("redirect_uri", self.redirect_uri)
            .append_pair("state", self.state)
            .append_pair("code_challenge_method", "S256")
            .append_pair("scopes", &self.scopes.join(" "))
            .append_pair("code_challenge", self.challenge);
        format!(
            "{}/authorize?{}",
            self.endpoint.trim_end_matches('/'),
            query.finish()
        )
    }
}

/// The loopback listener: 127.0.0.1 only, a port the OS picks. Dropping it closes it.
pub struct Listener {
    inner: TcpListener,
    port: u16,
}

impl Listener {
    pub async fn bind() -> Result<Self, SsoError> {
        let inner = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| SsoError::Loopback {
                what: format!("cannot listen on 127.0.0.1 ({e})"),
            })?;
        let port = inner
            .local_addr()
            .map_err(|e| SsoError::Loopback {
                what: format!("no local address ({e})"),
            })?
            .port();
        Ok(Listener { inner, port })
    }

    /// The redirect URI of this login: the registered one with this listener's port.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Wait for the browser's redirect to `/oauth/callback`, answer it with a page that says
    /// what happened, and return the authorization code. Other paths (a favicon request)
    /// get a 404 and the wait goes on. Consumes the listener: it is closed when this returns.
    pub async fn wait_for_code(
        self,
        expected_state: &str,
        timeout: Duration,
    ) -> Result<Secret<String>, SsoError> {
        let wait = async {
            loop {
                let Ok((stream, _)) = self.inner.accept().await else {
                    // Out of file descriptors, say: do not spin while it lasts.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                if let Some(result) = handle(stream, expected_state).await {
                    return result;
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => result,
            Err(_) => Err(SsoError::BrowserTimedOut {
                seconds: timeout.as_secs(),
            }),
        }
    }
}

/// One connection: `None` when it was not the callback (the wait goes on).
async fn handle(
    mut stream: TcpStream,
    expected_state: &str,
) -> Option<Result<Secret<String>, SsoError>> {
    let target = match tokio::time::timeout(REQUEST_HEAD_TIMEOUT, read_target(&mut stream)).await {
        Ok(Some(target)) => target,
        _ => return None,
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    if path != CALLBACK_PATH {
        respond(&mut stream, "404 Not Found", "Not found", "").await;
        return None;
    }
    let get = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let (outcome, title, text) = match (get("error"), get("code"), get("state")) {
        (_, _, state) if state.as_deref() != Some(expected_state) => (
            Err(SsoError::BrowserStateMismatch),
            "Login failed",
            "This sign-in answer does not belong to the login awsx started (its state does not match), so awsx ignored it and stopped. Run awsx login again.",
        ),
        (Some(error), _, _) if error == "access_denied" => (
            Err(SsoError::Denied),
            "Login denied",
            "You denied the request; awsx saved nothing.",
        ),
        (Some(error), _, _) => (
            Err(SsoError::AuthorizeFailed {
                error: printable(&error),
            }),
            "Login failed",
            "IAM Identity Center did not authorize the login; awsx says why in the terminal.",
        ),
        (None, Some(code), _) if !code.is_empty() => (
            Ok(Secret::new(code)),
            "Logged in",
            "awsx received the authorization; the terminal says when the login is complete.",
        ),
        _ => (
            Err(SsoError::AuthorizeFailed {
                error: "no code in the redirect".to_owned(),
            }),
            "Login failed",
            "The redirect carried no authorization code. Run awsx login again.",
        ),
    };
    respond(
        &mut stream,
        "200 OK",
        title,
        &format!("<p>{text}</p><p>You can close this tab.</p>"),
    )
    .await;
    Some(outcome)
}

/// The request target of a `GET`, or `None` for anything else.
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_REQUEST_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    request.parse(&head).ok()?;
    (request.method? == "GET").then(|| request.path.map(str::to_owned))?
}

async fn respond(stream: &mut TcpStream, status: &str, title: &str, body: &str) {
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>awsx: {title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>awsx: {title}</h1>{body}</body></html>"
    );
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{html}",
        html.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// An error code from the redirect, safe to print: short, and only OAuth's character set.
fn printable(error: &str) -> String {
    error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_example() {
        // RFC 7636 Appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_verifier_is_64_unreserved_characters_and_never_repeats() {
        let (a, b) = (Pkce::generate().unwrap(), Pkce::generate().unwrap());
        assert_eq!(a.verifier.expose().len(), 64);
        assert!(
            a.verifier
                .expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        );
        assert_ne!(a.verifier.expose(), b.verifier.expose());
        assert_eq!(a.challenge, challenge_of(a.verifier.expose()));
        assert_eq!(format!("{:?}", a.verifier), "REDACTED");
    }

    async fn get(port: u16, target: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream
            .write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        reply
    }

    #[tokio::test]
    async fn the_listener_ignores_other_paths_and_returns_the_callbacks_code() {
        let listener = Listener::bind().await.unwrap();
        let port = listener.port;
        assert_eq!(
            listener.redirect_uri(),
            format!("http://127.0.0.1:{port}/oauth/callback")
        );
        let wait = tokio::spawn(listener.wait_for_code("s1", Duration::from_secs(60)));
        assert!(get(port, "/favicon.ico").await.starts_with("HTTP/1.1 404"));
        let page = get(port, "/oauth/callback?code=c0de&state=s1").await;
        assert!(page.starts_with("HTTP/1.1 200") && page.contains("close this tab"));
        assert_eq!(wait.await.unwrap().unwrap().expose(), "c0de");
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    }

    #[tokio::test]
    async fn a_denial_or_a_foreign_state_ends_the_wait_with_its_error() {
        for (query, denied) in [
            ("error=access_denied&state=s1", true),
            ("code=c0de&state=other", false),
            ("error=access_denied&state=other", false),
        ] {
            let listener = Listener::bind().await.unwrap();
            let port = listener.port;
            let wait = tokio::spawn(listener.wait_for_code("s1", Duration::from_secs(60)));
            get(port, &format!("/oauth/callback?{query}")).await;
            match wait.await.unwrap() {
                Err(SsoError::Denied) => assert!(denied, "{query}"),
                Err(SsoError::BrowserStateMismatch) => assert!(!denied, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_authorize_url_carries_what_the_aws_cli_sends() {
        let scopes = ["sso:account:access".to_owned(), "openid".to_owned()];
        let url = AuthorizeRequest {
            endpoint: "http://127.0.0.1:9000/",
            client_id: "cid",
            redirect_uri: "http://127.0.0.1:5555/oauth/callback",
            state: "st",
            challenge: "ch_-",
            scopes: &scopes,
        }
        .url();
        assert_eq!(
            url,
            "http://127.0.0.1:9000/authorize?response_type=code&client_id=cid\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Foauth%2Fcallback&state=st\
             &code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess+openid&code_challenge=ch_-"
        );
    }
}
