//! Proof that real clients accept the emulator: the AWS Rust SDK (this binary's modules) and
//! boto3 (`boto3.rs`, which runs `boto3_fidelity.py`). One test binary keeps link time down.

mod boto3;
mod control;
mod iam;
mod oidc;
mod portal;
mod signin;
mod sts;

use std::io::{Read, Write};
use std::net::TcpStream;

use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig};
use aws_credential_types::Credentials;
use aws_smithy_http_client::{Builder, tls};
use awsx_emulator::Emulator;

pub const START_URL: &str = "https://d-90679a1b2c.awsapps.com/start";
pub const MANAGEMENT: &str = "100000000001";
pub const PRODUCTION: &str = "500000000005";

/// An SDK configuration aimed at the emulator: explicit region (no IMDS probe), rustls+ring,
/// and no retries, so each error a test provokes is the one it asserts.
pub async fn sdk_config(emu: &Emulator, credentials: Option<Credentials>) -> SdkConfig {
    let http = Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .http_client(http)
        .endpoint_url(emu.url())
        .retry_config(RetryConfig::disabled());
    match credentials {
        Some(c) => loader.credentials_provider(c).load().await,
        None => loader.no_credentials().load().await,
    }
}

pub async fn oidc_client(emu: &Emulator) -> aws_sdk_ssooidc::Client {
    aws_sdk_ssooidc::Client::new(&sdk_config(emu, None).await)
}

pub async fn sso_client(emu: &Emulator) -> aws_sdk_sso::Client {
    aws_sdk_sso::Client::new(&sdk_config(emu, None).await)
}

pub async fn sts_client(emu: &Emulator, c: Credentials) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&sdk_config(emu, Some(c)).await)
}

pub async fn iam_client(emu: &Emulator, c: Credentials) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk_config(emu, Some(c)).await)
}

pub fn creds(akid: &str, secret: &str, token: Option<&str>) -> Credentials {
    Credentials::new(akid, secret, token.map(str::to_string), None, "test")
}

/// The fixture's long-term key of a break-glass IAM user.
pub fn iam_user_creds(emu: &Emulator, name: &str) -> Credentials {
    let f = emu.fixture();
    let u = f.iam_user(name).expect("fixture has the IAM user");
    creds(&u.access_key_id, &u.secret_access_key, None)
}

/// Tokens from a full device-code login as `user`.
pub struct Login {
    pub client_id: String,
    pub client_secret: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
}

pub async fn login(emu: &Emulator, user: &str) -> Login {
    let oidc = oidc_client(emu).await;
    let reg = oidc
        .register_client()
        .client_name("fidelity")
        .client_type("public")
        .scopes("sso:account:access")
        .send()
        .await
        .expect("RegisterClient");
    let (id, secret) = (
        reg.client_id().unwrap_or_default().to_string(),
        reg.client_secret().unwrap_or_default().to_string(),
    );
    let dev = oidc
        .start_device_authorization()
        .client_id(&id)
        .client_secret(&secret)
        .start_url(START_URL)
        .send()
        .await
        .expect("StartDeviceAuthorization");
    emu.approve(dev.user_code().unwrap_or_default(), user)
        .expect("approve");
    let tok = oidc
        .create_token()
        .client_id(&id)
        .client_secret(&secret)
        .grant_type("urn:ietf:params:oauth:grant-type:device_code")
        .device_code(dev.device_code().unwrap_or_default())
        .send()
        .await
        .expect("CreateToken");
    Login {
        client_id: id,
        client_secret: secret,
        access_token: tok.access_token().unwrap_or_default().to_string(),
        refresh_token: tok.refresh_token().map(str::to_string),
    }
}

/// Role credentials through the portal, as the SDK sees them.
pub async fn role_creds(emu: &Emulator, token: &str, account: &str, role: &str) -> Credentials {
    let rc = sso_client(emu)
        .await
        .get_role_credentials()
        .access_token(token)
        .account_id(account)
        .role_name(role)
        .send()
        .await
        .expect("GetRoleCredentials");
    let c = rc.role_credentials().expect("roleCredentials");
    creds(
        c.access_key_id().unwrap_or_default(),
        c.secret_access_key().unwrap_or_default(),
        c.session_token(),
    )
}

/// A bare HTTP/1.1 GET (the browser's side of federation and /authorize): status, headers
/// (lower-case names) and body.
pub fn http_get(url: &str) -> (u16, Vec<(String, String)>, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut s = TcpStream::connect(host).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// A bare HTTP/1.1 form POST (the consent page's buttons): status, headers, body.
pub fn http_post_form(url: &str, form: &str) -> (u16, Vec<(String, String)>, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).expect("connect");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    )
    .expect("write");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub fn enc(s: &str) -> String {
    awsx_emulator::sigv4::uri_encode(s, false)
}
