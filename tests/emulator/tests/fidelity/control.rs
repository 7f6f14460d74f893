//! The HTTP control API, console federation and the binary.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use awsx_emulator::{Emulator, Op};

use crate::{MANAGEMENT, enc, header, http_get, login, role_creds};

/// A JSON POST with a bare TcpStream: status and body.
fn http_post(url: &str, body: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    std::io::Read::read_to_string(&mut s, &mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

#[tokio::test]
async fn http_control_api_approves_counts_and_breaks_things() {
    let emu = Emulator::start();
    let url = emu.url();
    let oidc = crate::oidc_client(&emu).await;
    let reg = oidc
        .register_client()
        .client_name("c")
        .client_type("public")
        .send()
        .await
        .unwrap();
    let dev = oidc
        .start_device_authorization()
        .client_id(reg.client_id().unwrap())
        .client_secret(reg.client_secret().unwrap())
        .start_url(crate::START_URL)
        .send()
        .await
        .unwrap();
    let code = dev.user_code().unwrap().to_string();
    let u = url.clone();
    let (pending, approve, counts, fault, fixture) = tokio::task::spawn_blocking(move || {
        let pending = http_get(&format!("{u}/_emulator/pending")).2;
        let approve = http_post(
            &format!("{u}/_emulator/approve"),
            &format!(r#"{{"user_code":"{code}","user":"bob"}}"#),
        );
        let counts = http_get(&format!("{u}/_emulator/counts")).2;
        let fault = http_post(
            &format!("{u}/_emulator/fault"),
            r#"{"op":"ListAccounts","fault":"Throttle","rate":1.0}"#,
        );
        let fixture = http_get(&format!("{u}/_emulator/fixture")).0;
        (pending, approve, counts, fault, fixture)
    })
    .await
    .unwrap();
    assert!(pending.contains(dev.user_code().unwrap()), "{pending}");
    assert_eq!(approve.0, 204);
    assert!(counts.contains(r#""RegisterClient":1"#), "{counts}");
    assert_eq!(fault.0, 204);
    assert_eq!(fixture, 200);
    assert!(emu.pending_user_codes().is_empty());

    let u = url.clone();
    let (unknown, clock, totp) = tokio::task::spawn_blocking(move || {
        (
            http_post(
                &format!("{u}/_emulator/approve"),
                r#"{"user_code":"ZZZZ-ZZZZ","user":"bob"}"#,
            ),
            http_post(&format!("{u}/_emulator/clock"), r#"{"advance_seconds":60}"#),
            http_get(&format!("{u}/_emulator/totp?user=breakglass-bob&offset=0")),
        )
    })
    .await
    .unwrap();
    assert_eq!(unknown.0, 404);
    assert_eq!(clock.0, 200);
    assert!(totp.2.contains(&emu.totp_code("breakglass-bob", 0)));
    assert_eq!(emu.count(Op::ListAccounts), 0);
}

#[tokio::test]
async fn console_federation_with_sso_credentials() {
    let emu = Emulator::start();
    let l = login(&emu, "alice").await;
    let c = role_creds(&emu, &l.access_token, MANAGEMENT, "ReadOnlyAccess").await;
    let session = serde_json::json!({
        "sessionId": c.access_key_id(),
        "sessionKey": c.secret_access_key(),
        "sessionToken": c.session_token(),
    })
    .to_string();
    let fed = emu.signin_url();
    let long_term = emu.fixture().iam_users[0].clone();
    let (token_reply, login_reply, bad_login, long_term_reply) =
        tokio::task::spawn_blocking(move || {
            let r = http_get(&format!(
                "{fed}?Action=getSigninToken&SessionDuration=3600&Session={}",
                enc(&session)
            ));
            let token: serde_json::Value = serde_json::from_str(&r.2).unwrap();
            let token = token["SigninToken"].as_str().unwrap().to_string();
            let login = http_get(&format!(
                "{fed}?Action=login&Issuer=awsx&Destination={}&SigninToken={}",
                enc("https://console.aws.amazon.com/"),
                enc(&token)
            ));
            let bad = http_get(&format!(
                "{fed}?Action=login&Issuer=awsx&Destination={}&SigninToken=nope",
                enc("https://console.aws.amazon.com/")
            ));
            let lt = serde_json::json!({
                "sessionId": long_term.access_key_id,
                "sessionKey": long_term.secret_access_key,
                "sessionToken": "",
            })
            .to_string();
            let lt = http_get(&format!("{fed}?Action=getSigninToken&Session={}", enc(&lt)));
            ((r.0, token), login, bad, lt.0)
        })
        .await
        .unwrap();
    assert_eq!(token_reply.0, 200);
    assert!(emu.issued_secrets().contains(&token_reply.1));
    assert_eq!(login_reply.0, 302);
    assert_eq!(
        header(&login_reply.1, "location"),
        Some("https://console.aws.amazon.com/")
    );
    assert_eq!(bad_login.0, 400);
    assert_eq!(long_term_reply, 400);
    assert_eq!(emu.count(Op::GetSigninToken), 2);
    assert_eq!(emu.count(Op::ConsoleLogin), 2);
}

#[test]
fn binary_prints_url_and_env_then_exits_when_stdin_closes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_awsx-emulator"))
        .args([
            "--print-env",
            "--exit-on-stdin-close",
            "--auto-approve",
            "0",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn awsx-emulator");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..7 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_string());
    }
    let url = lines[0].clone();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(lines[1], format!("export AWS_ENDPOINT_URL_SSO={url}"));
    assert_eq!(lines[5], format!("export AWS_ENDPOINT_URL_SIGNIN={url}"));
    assert_eq!(
        lines[6],
        format!("export AWSX_SIGNIN_ENDPOINT={url}/federation")
    );
    let (status, _, body) = http_get(&format!("{url}/_emulator/pending"));
    assert_eq!((status, body.as_str()), (200, r#"{"user_codes":[]}"#));
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success());
    // Gone: nothing listens any more.
    let addr = url.trim_start_matches("http://");
    assert!(TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(5)).is_err());
}
