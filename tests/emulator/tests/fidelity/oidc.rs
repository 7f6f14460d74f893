//! SSO OIDC through aws-sdk-ssooidc: every grant, every error the SDK models.

use std::time::Duration;

use aws_sdk_ssooidc::error::ProvideErrorMetadata;
use awsx_emulator::{Emulator, Fault, Op};
use sha2::{Digest, Sha256};

use crate::{START_URL, enc, header, http_get, http_post_form, login, oidc_client};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[tokio::test]
async fn device_flow_goes_pending_then_slow_down_then_issues_tokens() {
    let emu = Emulator::start();
    let oidc = oidc_client(&emu).await;
    let reg = oidc
        .register_client()
        .client_name("awsx")
        .client_type("public")
        .scopes("sso:account:access")
        .send()
        .await
        .expect("RegisterClient");
    // clientSecretExpiresAt is in epoch seconds, 90 days after issue.
    assert_eq!(
        reg.client_secret_expires_at() - reg.client_id_issued_at(),
        90 * 24 * 3600
    );
    let (id, secret) = (reg.client_id().unwrap(), reg.client_secret().unwrap());
    let dev = oidc
        .start_device_authorization()
        .client_id(id)
        .client_secret(secret)
        .start_url(START_URL)
        .send()
        .await
        .expect("StartDeviceAuthorization");
    let user_code = dev.user_code().unwrap().to_string();
    assert_eq!(dev.interval(), 1);
    assert_eq!(dev.expires_in(), 600);
    assert!(
        dev.verification_uri_complete()
            .unwrap()
            .ends_with(&user_code)
    );
    assert_eq!(emu.pending_user_codes(), vec![user_code.clone()]);

    let poll = || {
        oidc.create_token()
            .client_id(id)
            .client_secret(secret)
            .grant_type(DEVICE_GRANT)
            .device_code(dev.device_code().unwrap())
            .send()
    };
    let first = poll().await.expect_err("pending").into_service_error();
    assert!(first.is_authorization_pending_exception(), "{first:?}");
    // Polling again at once is faster than the 1 s interval.
    let second = poll().await.expect_err("slow down").into_service_error();
    assert!(second.is_slow_down_exception(), "{second:?}");

    emu.approve(&user_code, "alice").expect("approve");
    assert!(emu.pending_user_codes().is_empty());
    let tok = poll().await.expect("token after approval");
    assert_eq!(tok.token_type(), Some("Bearer"));
    assert_eq!(tok.expires_in(), 3600);
    assert!(tok.refresh_token().is_some());
    let issued = emu.issued_secrets();
    assert!(
        issued
            .iter()
            .any(|s| Some(s.as_str()) == tok.access_token())
    );
    assert!(issued.iter().any(|s| s == secret));

    // A device code serves once.
    let again = poll().await.expect_err("consumed").into_service_error();
    assert!(again.is_invalid_grant_exception(), "{again:?}");
    assert_eq!(emu.count(Op::CreateToken), 4);
}

#[tokio::test]
async fn denied_and_expired_device_codes_get_their_own_errors() {
    let emu = Emulator::start();
    let oidc = oidc_client(&emu).await;
    let reg = oidc
        .register_client()
        .client_name("awsx")
        .client_type("public")
        .send()
        .await
        .unwrap();
    let (id, secret) = (reg.client_id().unwrap(), reg.client_secret().unwrap());
    let start = || {
        oidc.start_device_authorization()
            .client_id(id)
            .client_secret(secret)
            .start_url(START_URL)
            .send()
    };
    let denied = start().await.unwrap();
    emu.deny(denied.user_code().unwrap()).unwrap();
    let expired = start().await.unwrap();
    let poll = |code: String| {
        oidc.create_token()
            .client_id(id)
            .client_secret(secret)
            .grant_type(DEVICE_GRANT)
            .device_code(code)
            .send()
    };
    let e = poll(denied.device_code().unwrap().into())
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_access_denied_exception(), "{e:?}");
    emu.advance_clock(Duration::from_secs(601));
    let e = poll(expired.device_code().unwrap().into())
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_expired_token_exception(), "{e:?}");
    let e = poll("no-such-code".into())
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_grant_exception(), "{e:?}");
    let e = oidc
        .create_token()
        .client_id(id)
        .client_secret(secret)
        .grant_type("password")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_unsupported_grant_type_exception(), "{e:?}");
}

#[tokio::test]
async fn wrong_start_url_is_an_invalid_request() {
    let emu = Emulator::start();
    let oidc = oidc_client(&emu).await;
    let reg = oidc
        .register_client()
        .client_name("awsx")
        .client_type("public")
        .send()
        .await
        .unwrap();
    let e = oidc
        .start_device_authorization()
        .client_id(reg.client_id().unwrap())
        .client_secret(reg.client_secret().unwrap())
        .start_url("https://d-0000000000.awsapps.com/start")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_dies() {
    let emu = Emulator::start();
    let l = login(&emu, "alice").await;
    let oidc = oidc_client(&emu).await;
    let refresh = |t: String| {
        oidc.create_token()
            .client_id(&l.client_id)
            .client_secret(&l.client_secret)
            .grant_type("refresh_token")
            .refresh_token(t)
            .send()
    };
    let first = l.refresh_token.clone().expect("refresh token");
    let r = refresh(first.clone()).await.expect("refresh");
    let second = r.refresh_token().expect("rotated").to_string();
    assert_ne!(second, first);
    assert_ne!(r.access_token(), Some(l.access_token.as_str()));
    let e = refresh(first).await.unwrap_err().into_service_error();
    assert!(e.is_invalid_grant_exception(), "{e:?}");
    refresh(second.clone()).await.expect("newest still works");

    emu.revoke_refresh_tokens();
    let e = refresh(second).await.unwrap_err().into_service_error();
    assert!(e.is_invalid_grant_exception(), "{e:?}");
}

#[tokio::test]
async fn no_refresh_token_without_the_account_access_scope() {
    let emu = Emulator::builder()
        .auto_approve(Some(Duration::ZERO))
        .start()
        .unwrap();
    let oidc = oidc_client(&emu).await;
    let reg = oidc
        .register_client()
        .client_name("legacy")
        .client_type("public")
        .send()
        .await
        .unwrap();
    let dev = oidc
        .start_device_authorization()
        .client_id(reg.client_id().unwrap())
        .client_secret(reg.client_secret().unwrap())
        .start_url(START_URL)
        .send()
        .await
        .unwrap();
    // Auto-approve with zero delay: the first poll already gets the token.
    let tok = oidc
        .create_token()
        .client_id(reg.client_id().unwrap())
        .client_secret(reg.client_secret().unwrap())
        .grant_type(DEVICE_GRANT)
        .device_code(dev.device_code().unwrap())
        .send()
        .await
        .expect("auto-approved");
    assert!(tok.access_token().is_some());
    assert_eq!(tok.refresh_token(), None);
}

#[tokio::test]
async fn unknown_or_expired_client_is_invalid_client() {
    let emu = Emulator::start();
    let oidc = oidc_client(&emu).await;
    let reg = oidc
        .register_client()
        .client_name("awsx")
        .client_type("public")
        .send()
        .await
        .unwrap();
    let start = |secret: String| {
        oidc.start_device_authorization()
            .client_id(reg.client_id().unwrap())
            .client_secret(secret)
            .start_url(START_URL)
            .send()
    };
    let e = start("wrong".into()).await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(401));
    assert!(e.into_service_error().is_invalid_client_exception());
    emu.advance_clock(Duration::from_secs(91 * 24 * 3600));
    let e = start(reg.client_secret().unwrap().into())
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_client_exception(), "{e:?}");
}

#[tokio::test]
async fn injected_server_error_is_internal_server_exception() {
    let emu = Emulator::start();
    emu.set_fault(Some(Op::RegisterClient), Fault::ServerError, 1.0);
    let e = oidc_client(&emu)
        .await
        .register_client()
        .client_name("awsx")
        .client_type("public")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_internal_server_exception(), "{e:?}");
    assert_eq!(e.code(), Some("InternalServerException"));
}

/// Authorization code + PKCE, the browser side through a raw GET of /authorize.
#[tokio::test]
async fn authorization_code_grant_with_pkce() {
    let emu = Emulator::builder()
        .auto_approve(Some(Duration::ZERO))
        .start()
        .unwrap();
    let oidc = oidc_client(&emu).await;
    let redirect = "http://127.0.0.1/oauth/callback";
    let reg = oidc
        .register_client()
        .client_name("awsx")
        .client_type("public")
        .scopes("sso:account:access")
        .grant_types("authorization_code")
        .grant_types("refresh_token")
        .redirect_uris(redirect)
        .issuer_url(START_URL)
        .send()
        .await
        .unwrap();
    let id = reg.client_id().unwrap();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-longer-than-43-chars";
    let challenge = awsx_emulator::ids::base64url(&Sha256::digest(verifier.as_bytes()));
    let used_redirect = "http://127.0.0.1:54321/oauth/callback";
    let url = format!(
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&state=st8&code_challenge={challenge}&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess",
        emu.url(),
        enc(id),
        enc(used_redirect)
    );
    let (status, headers, _) = tokio::task::spawn_blocking(move || http_get(&url))
        .await
        .unwrap();
    assert_eq!(status, 302);
    let location = header(&headers, "location").unwrap().to_string();
    assert!(location.starts_with(used_redirect), "{location}");
    assert!(location.ends_with("&state=st8"), "{location}");
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_string();
    let exchange = |v: &str| {
        oidc.create_token()
            .client_id(id)
            .client_secret(reg.client_secret().unwrap())
            .grant_type("authorization_code")
            .code(&code)
            .redirect_uri(used_redirect)
            .code_verifier(v)
            .send()
    };
    let e = exchange("wrong-verifier")
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_grant_exception(), "{e:?}");
    let tok = exchange(verifier).await.expect("code exchange");
    assert!(tok.refresh_token().is_some());
    let e = exchange(verifier).await.unwrap_err().into_service_error();
    assert!(
        e.is_invalid_grant_exception(),
        "codes are single-use: {e:?}"
    );
}

/// Registers a client for the browser login, as awsx and the AWS CLI v2 do.
async fn browser_client(
    oidc: &aws_sdk_ssooidc::Client,
) -> aws_sdk_ssooidc::operation::register_client::RegisterClientOutput {
    oidc.register_client()
        .client_name("awsx")
        .client_type("public")
        .scopes("sso:account:access")
        .grant_types("authorization_code")
        .grant_types("refresh_token")
        .redirect_uris("http://127.0.0.1/oauth/callback")
        .issuer_url(START_URL)
        .send()
        .await
        .unwrap()
}

/// Without auto-approve the browser gets a consent page whose Allow and Deny buttons post
/// the decision; Deny redirects with `error=access_denied` and the state, Allow with a code
/// that CreateToken accepts for that redirect URI only.
#[tokio::test]
async fn the_consent_page_allows_or_denies() {
    let emu = Emulator::start();
    let oidc = oidc_client(&emu).await;
    let reg = browser_client(&oidc).await;
    let id = reg.client_id().unwrap().to_owned();
    let verifier = "a-verifier-of-the-browser-login-0123456789-abcdefghijklmnopqrstuv";
    let challenge = awsx_emulator::ids::base64url(&Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1:9/oauth/callback";
    let url = format!(
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&state=s1&code_challenge={challenge}&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess",
        emu.url(),
        enc(&id),
        enc(redirect)
    );
    let base = emu.url();
    let decide = move |action: &'static str| {
        let (url, base) = (url.clone(), base.clone());
        tokio::task::spawn_blocking(move || {
            let (status, _, page) = http_get(&url);
            assert_eq!(status, 200, "{page}");
            assert!(
                page.contains("id=\"allow\"") && page.contains("id=\"deny\""),
                "{page}"
            );
            let authorization = page
                .split("name=\"authorization\" value=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap()
                .to_owned();
            http_post_form(
                &format!("{base}/authorize/consent"),
                &format!("authorization={authorization}&user=bob&action={action}"),
            )
        })
    };
    let (status, headers, _) = decide("deny").await.unwrap();
    assert_eq!(status, 302);
    let location = header(&headers, "location").unwrap();
    assert!(location.starts_with(redirect), "{location}");
    assert!(location.contains("error=access_denied"), "{location}");
    assert!(location.ends_with("&state=s1"), "{location}");

    let (status, headers, _) = decide("allow").await.unwrap();
    assert_eq!(status, 302);
    let location = header(&headers, "location").unwrap().to_owned();
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_string();
    let exchange = |redirect_uri: &str| {
        oidc.create_token()
            .client_id(&id)
            .client_secret(reg.client_secret().unwrap())
            .grant_type("authorization_code")
            .code(&code)
            .redirect_uri(redirect_uri)
            .code_verifier(verifier)
            .send()
    };
    let e = exchange("http://127.0.0.1:10/oauth/callback")
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_grant_exception(), "wrong redirect URI: {e:?}");
    let tok = exchange(redirect).await.expect("code exchange");
    assert!(tok.access_token().is_some_and(|t| !t.is_empty()));
    assert_eq!(emu.count(Op::Authorize), 2);
}

/// An unknown client, a client registered for the device flow, and an unregistered redirect
/// URI are refused on the page itself, never redirected.
#[tokio::test]
async fn authorize_refuses_unknown_clients_and_unregistered_redirects() {
    let emu = Emulator::start();
    let oidc = oidc_client(&emu).await;
    let browser = browser_client(&oidc).await;
    let device = oidc
        .register_client()
        .client_name("awsx")
        .client_type("public")
        .send()
        .await
        .unwrap();
    let url = |client: &str, redirect: &str| {
        format!(
            "{}/authorize?response_type=code&client_id={}&redirect_uri={}&state=s&code_challenge=abc&code_challenge_method=S256",
            emu.url(),
            enc(client),
            enc(redirect)
        )
    };
    let cases = [
        (
            url("no-such-client", "http://127.0.0.1:9/oauth/callback"),
            "invalid_client",
        ),
        (
            url(
                device.client_id().unwrap(),
                "http://127.0.0.1:9/oauth/callback",
            ),
            "unauthorized_client",
        ),
        (
            url(browser.client_id().unwrap(), "http://127.0.0.1:9/elsewhere"),
            "redirect_uri is not registered",
        ),
        (
            url(
                browser.client_id().unwrap(),
                "https://evil.example/oauth/callback",
            ),
            "redirect_uri is not registered",
        ),
    ];
    for (url, expected) in cases {
        let (status, headers, body) = tokio::task::spawn_blocking(move || http_get(&url))
            .await
            .unwrap();
        assert_eq!(status, 400, "{body}");
        assert!(header(&headers, "location").is_none());
        assert!(body.contains(expected), "{expected}: {body}");
    }
}
