//! AWS Sign-In (`aws login`) against the real clients: aws-sdk-signin's CreateOAuth2Token
//! (the replies and every error shape parse), aws-config's `credentials-login` provider
//! refreshing from a cache file in the AWS CLI's format, and the browser pages.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::Region;
use aws_config::login::LoginCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_signin::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_signin::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_signin::error::{BoxError, SdkError};
use aws_sdk_signin::operation::create_o_auth2_token::{
    CreateOAuth2TokenError, CreateOAuth2TokenOutput,
};
use aws_sdk_signin::types::{CreateOAuth2TokenRequestBody, OAuth2ErrorCode};
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_smithy_http_client::{Builder, tls};
use awsx_emulator::ids::base64url;
use awsx_emulator::{Emulator, Fault, Op, SigninConfig};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{MANAGEMENT, PRODUCTION, creds, enc, header, http_get, http_post_form, sdk_config};

const SAME_DEVICE: &str = "arn:aws:signin:::devtools/same-device";
const CROSS_DEVICE: &str = "arn:aws:signin:::devtools/cross-device";
const ALICE_ARN: &str = "arn:aws:iam::100000000001:user/breakglass-alice";
const ALICE_MFA: &str = "arn:aws:iam::100000000001:mfa/breakglass-alice";
const REDIRECT: &str = "http://127.0.0.1:49152/oauth/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0123456789abcdefghij";

fn new_key() -> SigningKey {
    loop {
        let bytes: [u8; 32] = std::array::from_fn(|_| fastrand::u8(..));
        if let Ok(k) = SigningKey::from_slice(&bytes) {
            return k;
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// An RFC 9449 proof exactly as aws-config and botocore build it.
fn proof(key: &SigningKey, htu: &str, iat: i64, jti: &str) -> String {
    let point = key.verifying_key().to_encoded_point(false);
    let (x, y) = (
        base64url(point.x().expect("x")),
        base64url(point.y().expect("y")),
    );
    let head = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "EC", "x": x, "y": y, "crv": "P-256"}});
    let claims = json!({"jti": jti, "htm": "POST", "htu": htu, "iat": iat});
    let input = format!(
        "{}.{}",
        base64url(head.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes())
    );
    let sig: Signature = key.sign(input.as_bytes());
    format!("{input}.{}", base64url(&sig.to_bytes()))
}

/// How a request's proof is made: right by default, or wrong in one way.
#[derive(Clone)]
struct Dpop {
    key: SigningKey,
    htu: Option<String>,
    iat_offset: i64,
    jti: Option<String>,
    /// Signs with this key but puts `key`'s public key in the header.
    signer: Option<SigningKey>,
    omit: bool,
}

impl Dpop {
    fn new(key: &SigningKey) -> Dpop {
        Dpop {
            key: key.clone(),
            htu: None,
            iat_offset: 0,
            jti: None,
            signer: None,
            omit: false,
        }
    }
}

impl std::fmt::Debug for Dpop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dpop")
    }
}

impl Intercept for Dpop {
    fn name(&self) -> &'static str {
        "DPoP test proof"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.omit {
            return Ok(());
        }
        let req = ctx.request_mut();
        let htu = self.htu.clone().unwrap_or_else(|| req.uri().to_string());
        let jti = self
            .jti
            .clone()
            .unwrap_or_else(|| format!("{:032x}", fastrand::u128(..)));
        let iat = unix_now() + self.iat_offset;
        let mut p = proof(&self.key, &htu, iat, &jti);
        if let Some(other) = &self.signer {
            // Same header and claims, signature by another key: a forged proof.
            let input = p
                .rsplit_once('.')
                .map(|(i, _)| i.to_string())
                .unwrap_or_default();
            let sig: Signature = other.sign(input.as_bytes());
            p = format!("{input}.{}", base64url(&sig.to_bytes()));
        }
        req.headers_mut().insert("dpop", p);
        Ok(())
    }
}

type TokenResult = Result<CreateOAuth2TokenOutput, SdkError<CreateOAuth2TokenError>>;

async fn token_call(emu: &Emulator, dpop: Dpop, body: CreateOAuth2TokenRequestBody) -> TokenResult {
    let conf = aws_sdk_signin::config::Builder::from(&sdk_config(emu, None).await)
        .interceptor(dpop)
        .build();
    aws_sdk_signin::Client::from_conf(conf)
        .create_o_auth2_token()
        .token_input(body)
        .send()
        .await
}

async fn refresh(emu: &Emulator, dpop: Dpop, refresh_token: &str) -> TokenResult {
    let body = CreateOAuth2TokenRequestBody::builder()
        .client_id(SAME_DEVICE)
        .grant_type("refresh_token")
        .refresh_token(refresh_token)
        .build()
        .expect("body");
    token_call(emu, dpop, body).await
}

fn authorize_url(emu: &Emulator, client_id: &str, redirect: &str, method: &str) -> String {
    let challenge = base64url(&Sha256::digest(VERIFIER.as_bytes()));
    format!(
        "{}/v1/authorize?response_type=code&client_id={}&state=st-42&code_challenge_method={method}&scope=openid&redirect_uri={}&code_challenge={challenge}",
        emu.url(),
        enc(client_id),
        enc(redirect)
    )
}

/// The consent page's hidden authorization id.
fn authorization_id(page: &str) -> String {
    let marker = "name=\"authorization\" value=\"";
    let start = page.find(marker).expect("consent form") + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn query_value(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The browser's part: the page, then Allow (as `principal`, with MFA or not); returns the
/// Location the consent answered with.
fn browser_allow(
    emu: &Emulator,
    client_id: &str,
    redirect: &str,
    principal: &str,
    mfa: bool,
) -> String {
    let (status, _, page) = http_get(&authorize_url(emu, client_id, redirect, "SHA-256"));
    assert_eq!(status, 200, "{page}");
    let id = authorization_id(&page);
    let mfa = if mfa { "&mfa=true" } else { "" };
    let (status, headers, body) = http_post_form(
        &format!("{}/v1/authorize/consent", emu.url()),
        &format!("authorization={id}&principal={principal}{mfa}&action=allow"),
    );
    assert_eq!(status, 302, "{body}");
    header(&headers, "location").expect("Location").to_string()
}

struct SignedIn {
    access_key_id: String,
    secret: String,
    session_token: String,
    refresh_token: String,
    id_token: Option<String>,
    expires_in: i32,
    token_type: String,
}

fn signed_in(out: &CreateOAuth2TokenOutput) -> SignedIn {
    let t = out.token_output().expect("tokenOutput");
    let a = t.access_token().expect("accessToken");
    SignedIn {
        access_key_id: a.access_key_id().to_string(),
        secret: a.secret_access_key().to_string(),
        session_token: a.session_token().to_string(),
        refresh_token: t.refresh_token().to_string(),
        id_token: t.id_token().map(str::to_string),
        expires_in: t.expires_in(),
        token_type: t.token_type().to_string(),
    }
}

/// A whole same-device sign-in as `principal` with proofs by `key`.
async fn sign_in(emu: &Emulator, key: &SigningKey, principal: &str, mfa: bool) -> SignedIn {
    let location = browser_allow(emu, SAME_DEVICE, REDIRECT, principal, mfa);
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(query_value(&location, "state").as_deref(), Some("st-42"));
    let code = query_value(&location, "code").expect("code");
    let body = CreateOAuth2TokenRequestBody::builder()
        .client_id(SAME_DEVICE)
        .grant_type("authorization_code")
        .code(code)
        .code_verifier(VERIFIER)
        .redirect_uri(REDIRECT)
        .build()
        .expect("body");
    signed_in(
        &token_call(emu, Dpop::new(key), body)
            .await
            .expect("code exchange"),
    )
}

fn session_creds(s: &SignedIn) -> aws_credential_types::Credentials {
    creds(&s.access_key_id, &s.secret, Some(&s.session_token))
}

fn jwt_claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("JWT payload");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The error as the SDK parsed it: HTTP status, error name, OAuth2ErrorCode.
fn parsed(e: SdkError<CreateOAuth2TokenError>) -> (u16, String, Option<OAuth2ErrorCode>, String) {
    let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    let service = e.into_service_error();
    let name = service.code().unwrap_or_default().to_string();
    let message = service.message().unwrap_or_default().to_string();
    let code = match &service {
        CreateOAuth2TokenError::AccessDeniedException(x) => Some(x.error.clone()),
        CreateOAuth2TokenError::ValidationException(x) => Some(x.error.clone()),
        CreateOAuth2TokenError::InternalServerException(x) => Some(x.error.clone()),
        CreateOAuth2TokenError::TooManyRequestsError(x) => Some(x.error.clone()),
        _ => None,
    };
    (status, name, code, message)
}

#[tokio::test]
async fn code_exchange_gives_the_signed_in_user_credentials_sts_accepts() {
    let emu = Emulator::start();
    let s = sign_in(&emu, &new_key(), "breakglass-alice", true).await;
    assert_eq!(s.token_type, "aws_sigv4");
    assert_eq!(s.expires_in, 900);
    assert!(s.access_key_id.starts_with("ASIA"));
    // The AWS CLI takes the login_session ARN (and the account id) from the ID token's sub.
    let claims = jwt_claims(s.id_token.as_deref().expect("idToken on code exchange"));
    assert_eq!(claims["sub"], ALICE_ARN);
    let who = crate::sts_client(&emu, session_creds(&s))
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(who.arn(), Some(ALICE_ARN));
    assert_eq!(who.account(), Some(MANAGEMENT));
    assert_eq!(emu.signin_token_calls("authorization_code"), 1);
    assert_eq!(emu.count(Op::CreateOAuth2Token), 1);
}

#[tokio::test]
async fn root_sign_in_is_the_account_root() {
    let emu = Emulator::start();
    let s = sign_in(&emu, &new_key(), "root", true).await;
    let who = crate::sts_client(&emu, session_creds(&s))
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(who.arn(), Some("arn:aws:iam::100000000001:root"));
    assert_eq!(who.user_id(), Some(MANAGEMENT));
}

#[tokio::test]
async fn sign_in_mfa_does_not_satisfy_a_role_requiring_mfa_unless_configured() {
    let emu = Emulator::start();
    let role = format!("arn:aws:iam::{PRODUCTION}:role/BreakGlass");
    let s = sign_in(&emu, &new_key(), "breakglass-alice", true).await;
    let sts = crate::sts_client(&emu, session_creds(&s)).await;
    // Conservative default: no AWS document says the credentials carry MFA context.
    let e = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    // MFA proven in the AssumeRole call itself works with them (break-glass from a sign-in).
    let ok = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("alice")
        .serial_number(ALICE_MFA)
        .token_code(emu.totp_code("breakglass-alice", 0))
        .send()
        .await
        .expect("AssumeRole with MFA from sign-in credentials");
    assert!(ok.credentials().is_some());

    // The other reading, for tests that need it: an MFA sign-in counts as MFA present.
    emu.set_signin(SigninConfig {
        mfa_in_credentials: true,
        ..emu.signin_config()
    })
    .expect("config");
    let with_mfa = sign_in(&emu, &new_key(), "breakglass-alice", true).await;
    crate::sts_client(&emu, session_creds(&with_mfa))
        .await
        .assume_role()
        .role_arn(&role)
        .role_session_name("alice")
        .send()
        .await
        .expect("AssumeRole from an MFA sign-in when configured so");
    let without_mfa = sign_in(&emu, &new_key(), "breakglass-alice", false).await;
    let e = crate::sts_client(&emu, session_creds(&without_mfa))
        .await
        .assume_role()
        .role_arn(&role)
        .role_session_name("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
}

#[tokio::test]
async fn refresh_rotates_and_the_old_token_is_a_refused_grant() {
    let emu = Emulator::start();
    let key = new_key();
    let s = sign_in(&emu, &key, "breakglass-alice", true).await;
    let r = signed_in(
        &refresh(&emu, Dpop::new(&key), &s.refresh_token)
            .await
            .expect("refresh"),
    );
    assert_ne!(r.refresh_token, s.refresh_token);
    assert_ne!(r.access_key_id, s.access_key_id);
    assert!(r.id_token.is_none(), "no idToken on refresh");
    let live: Vec<String> = emu
        .live_signin_sessions()
        .into_iter()
        .map(|l| l.refresh_token)
        .collect();
    assert_eq!(live, vec![r.refresh_token.clone()]);

    // What the AWS CLI's racing processes get (aws/aws-cli#10613): a bad grant, not expiry.
    let (status, name, code, message) = parsed(
        refresh(&emu, Dpop::new(&key), &s.refresh_token)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, name.as_str()), (400, "ValidationException"));
    assert_eq!(code, Some(OAuth2ErrorCode::InvalidRequest));
    assert_eq!(
        message,
        "The provided authorization grant is invalid, expired, revoked, or malformed"
    );
    // The rotated-in token still works.
    refresh(&emu, Dpop::new(&key), &r.refresh_token)
        .await
        .expect("refresh with the newest token");
    assert_eq!(emu.signin_token_calls("refresh_token"), 3);
}

#[tokio::test]
async fn refresh_with_another_key_is_refused_and_the_token_survives() {
    let emu = Emulator::start();
    let key = new_key();
    let s = sign_in(&emu, &key, "breakglass-alice", true).await;
    let (status, name, code, message) = parsed(
        refresh(&emu, Dpop::new(&new_key()), &s.refresh_token)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, name.as_str()), (400, "ValidationException"));
    assert_eq!(code, Some(OAuth2ErrorCode::InvalidRequest));
    assert!(message.contains("bound"), "{message}");
    refresh(&emu, Dpop::new(&key), &s.refresh_token)
        .await
        .expect("the bound key still refreshes");
}

#[tokio::test]
async fn bad_proofs_are_validation_exceptions() {
    let emu = Emulator::start();
    let key = new_key();
    let s = sign_in(&emu, &key, "breakglass-alice", true).await;
    let replayed = format!("{:032x}", fastrand::u128(..));
    let cases: Vec<(&str, Dpop)> = vec![
        (
            "Missing DPoP proof",
            Dpop {
                omit: true,
                ..Dpop::new(&key)
            },
        ),
        (
            "signature verification failed",
            Dpop {
                signer: Some(new_key()),
                ..Dpop::new(&key)
            },
        ),
        (
            "htu does not match",
            Dpop {
                htu: Some("https://us-east-1.signin.aws.amazon.com/v1/token".into()),
                ..Dpop::new(&key)
            },
        ),
        (
            "iat is outside",
            Dpop {
                iat_offset: -600,
                ..Dpop::new(&key)
            },
        ),
        (
            "iat is outside",
            Dpop {
                iat_offset: 600,
                ..Dpop::new(&key)
            },
        ),
    ];
    for (expected, dpop) in cases {
        let (status, name, code, message) =
            parsed(refresh(&emu, dpop, &s.refresh_token).await.unwrap_err());
        assert_eq!(
            (status, name.as_str()),
            (400, "ValidationException"),
            "{expected}"
        );
        assert_eq!(code, Some(OAuth2ErrorCode::InvalidRequest), "{expected}");
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // A replayed jti: the first use refreshes, the second is refused.
    let once = Dpop {
        jti: Some(replayed.clone()),
        ..Dpop::new(&key)
    };
    let r = signed_in(
        &refresh(&emu, once.clone(), &s.refresh_token)
            .await
            .expect("first use"),
    );
    let (status, _, code, message) =
        parsed(refresh(&emu, once, &r.refresh_token).await.unwrap_err());
    assert_eq!(status, 400);
    assert_eq!(code, Some(OAuth2ErrorCode::InvalidRequest));
    assert!(message.contains("jti has already been used"), "{message}");
    // None of the refused proofs spent the token the replay check left live.
    refresh(&emu, Dpop::new(&key), &r.refresh_token)
        .await
        .expect("the token survives refused proofs");
}

#[tokio::test]
async fn code_exchange_checks_the_verifier_and_spends_the_code() {
    let emu = Emulator::start();
    let key = new_key();
    let location = browser_allow(&emu, SAME_DEVICE, REDIRECT, "breakglass-alice", true);
    let code = query_value(&location, "code").expect("code");
    let body = |verifier: &str| {
        CreateOAuth2TokenRequestBody::builder()
            .client_id(SAME_DEVICE)
            .grant_type("authorization_code")
            .code(&code)
            .code_verifier(verifier)
            .redirect_uri(REDIRECT)
            .build()
            .expect("body")
    };
    let (status, _, code_err, _) = parsed(
        token_call(&emu, Dpop::new(&key), body("wrong-verifier"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, code_err),
        (400, Some(OAuth2ErrorCode::InvalidRequest))
    );
    // Single use: the failed attempt spent it, as a stolen code's first use would.
    let (status, name, code_err, message) = parsed(
        token_call(&emu, Dpop::new(&key), body(VERIFIER))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, name.as_str()), (400, "ValidationException"));
    assert_eq!(code_err, Some(OAuth2ErrorCode::InvalidRequest));
    assert!(
        message.contains("authorization grant is invalid"),
        "{message}"
    );

    // An unused code past its 5 minutes is AUTHCODE_EXPIRED, the code the AWS CLI names.
    let location = browser_allow(&emu, SAME_DEVICE, REDIRECT, "breakglass-alice", true);
    let late = query_value(&location, "code").expect("code");
    emu.advance_clock(std::time::Duration::from_secs(301));
    let late_body = CreateOAuth2TokenRequestBody::builder()
        .client_id(SAME_DEVICE)
        .grant_type("authorization_code")
        .code(late)
        .code_verifier(VERIFIER)
        .redirect_uri(REDIRECT)
        .build()
        .expect("body");
    let (status, name, code_err, _) = parsed(
        token_call(&emu, Dpop::new(&key), late_body)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, name.as_str()), (401, "AccessDeniedException"));
    assert_eq!(code_err, Some(OAuth2ErrorCode::AuthcodeExpired));
}

#[test]
fn authorize_validates_the_request_and_deny_redirects_with_access_denied() {
    let emu = Emulator::start();
    // Identity Center's spelling is not Sign-In's.
    let (status, _, page) = http_get(&authorize_url(&emu, SAME_DEVICE, REDIRECT, "S256"));
    assert_eq!(status, 400);
    assert!(page.contains("SHA-256"), "{page}");
    let (status, _, _) = http_get(&authorize_url(
        &emu,
        "arn:aws:signin:::devtools/other",
        REDIRECT,
        "SHA-256",
    ));
    assert_eq!(status, 400);
    let (status, _, _) = http_get(&authorize_url(
        &emu,
        SAME_DEVICE,
        "https://evil.example/cb",
        "SHA-256",
    ));
    assert_eq!(status, 400);

    let (status, _, page) = http_get(&authorize_url(&emu, SAME_DEVICE, REDIRECT, "SHA-256"));
    assert_eq!(status, 200);
    assert!(
        page.contains("id=\"allow\"") && page.contains("id=\"deny\""),
        "{page}"
    );
    let id = authorization_id(&page);
    assert_eq!(emu.pending_user_codes(), vec![id.clone()]);
    let (status, headers, _) = http_post_form(
        &format!("{}/v1/authorize/consent", emu.url()),
        &format!("authorization={id}&action=deny"),
    );
    assert_eq!(status, 302);
    let location = header(&headers, "location").expect("Location");
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(
        query_value(location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_value(location, "state").as_deref(), Some("st-42"));
    assert_eq!(query_value(location, "code"), None);
}

#[tokio::test]
async fn cross_device_shows_the_code_the_cli_asks_for() {
    let emu = Emulator::start();
    let confirmation = format!("{}/v1/sessions/confirmation", emu.url());
    let location = browser_allow(&emu, CROSS_DEVICE, &confirmation, "breakglass-alice", true);
    assert!(location.starts_with(&confirmation), "{location}");
    let (status, _, page) = http_get(&location);
    assert_eq!(status, 200);
    let marker = "<pre id=\"verification-code\">";
    let start = page.find(marker).expect("verification code") + marker.len();
    let pasted = page[start..].split('<').next().unwrap_or_default();
    // The AWS CLI: standard base64 of `state=…&code=…`.
    let decoded =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, pasted).expect("base64");
    let qs = String::from_utf8(decoded).expect("utf-8");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(qs.as_bytes()).into_owned().collect();
    assert_eq!(pairs[0], ("state".to_string(), "st-42".to_string()));
    let code = pairs
        .iter()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .clone();
    let body = CreateOAuth2TokenRequestBody::builder()
        .client_id(CROSS_DEVICE)
        .grant_type("authorization_code")
        .code(code)
        .code_verifier(VERIFIER)
        .redirect_uri(&confirmation)
        .build()
        .expect("body");
    let s = signed_in(
        &token_call(&emu, Dpop::new(&new_key()), body)
            .await
            .expect("exchange"),
    );
    assert!(s.access_key_id.starts_with("ASIA"));
}

#[tokio::test]
async fn faults_revocation_and_counts_for_tests() {
    let emu = Emulator::start();
    let key = new_key();
    let s = sign_in(&emu, &key, "breakglass-alice", true).await;
    emu.fail_next(Op::CreateOAuth2Token, Fault::ServerError, 1);
    let (status, name, code, _) = parsed(
        refresh(&emu, Dpop::new(&key), &s.refresh_token)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, name.as_str()), (500, "InternalServerException"));
    assert_eq!(code, Some(OAuth2ErrorCode::ServerError));
    // The fault came before the request was read: the token is untouched.
    assert_eq!(emu.live_signin_sessions().len(), 1);
    emu.revoke_signin_sessions();
    assert!(emu.live_signin_sessions().is_empty());
    let (status, _, code, _) = parsed(
        refresh(&emu, Dpop::new(&key), &s.refresh_token)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code), (400, Some(OAuth2ErrorCode::InvalidRequest)));
    assert_eq!(emu.signin_token_calls("authorization_code"), 1);
    assert_eq!(emu.signin_token_calls("refresh_token"), 1);
    assert_eq!(emu.count(Op::CreateOAuth2Token), 3);
}

// ------------------------------------------------------------- aws-config's provider

const CHILD: &str = "AWSX_EMU_SIGNIN_CHILD";

/// The AWS CLI's cache file for `arn` in `dir`: `<hex sha256(arn)>.json`.
fn cache_path(dir: &std::path::Path, arn: &str) -> PathBuf {
    dir.join(format!(
        "{}.json",
        hex::encode(Sha256::digest(arn.as_bytes()))
    ))
}

/// The AWS CLI's cache document after `aws login`, with the access token already expired
/// so the provider must refresh.
fn cli_cache(s: &SignedIn, key: &SigningKey) -> String {
    let pem = p256::SecretKey::from(key)
        .to_sec1_pem(p256::pkcs8::LineEnding::LF)
        .expect("PEM");
    json!({
        "accessToken": {
            "accessKeyId": s.access_key_id,
            "secretAccessKey": s.secret,
            "sessionToken": s.session_token,
            "accountId": MANAGEMENT,
            "expiresAt": "2020-01-01T00:00:00Z",
        },
        "tokenType": "aws_sigv4",
        "refreshToken": s.refresh_token,
        "idToken": s.id_token,
        "clientId": SAME_DEVICE,
        "dpopKey": pem.as_str(),
    })
    .to_string()
}

/// aws-config reads the cache directory and the Sign-In endpoint from the process
/// environment only, so the provider runs in a child process of this test binary (this
/// same test, with the environment set), whose output the parent checks.
#[tokio::test]
async fn aws_config_login_provider_refreshes_from_a_cli_cache_file() {
    #[allow(clippy::disallowed_methods)] // the child's inputs come from its environment
    if std::env::var(CHILD).is_ok() {
        return child_refresh_and_call_sts().await;
    }
    let emu = Emulator::start();
    let key = new_key();
    let s = sign_in(&emu, &key, "breakglass-alice", true).await;
    let dir = std::env::temp_dir().join(format!(
        "awsx-emulator-login-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let cache = dir.join("cache");
    std::fs::create_dir_all(&cache).expect("cache dir");
    std::fs::write(dir.join("config"), "").expect("config");
    std::fs::write(dir.join("credentials"), "").expect("credentials");
    let file = cache_path(&cache, ALICE_ARN);
    std::fs::write(&file, cli_cache(&s, &key)).expect("cache file");

    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "signin::aws_config_login_provider_refreshes_from_a_cli_cache_file",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env(CHILD, "1")
        .env("HOME", &dir)
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
        .env("AWS_LOGIN_CACHE_DIRECTORY", &cache)
        .env("AWS_ENDPOINT_URL_SIGNIN", emu.url())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("EMULATOR_URL", emu.url())
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let written = std::fs::read_to_string(&file).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("caller {ALICE_ARN}")), "{stdout}");
    assert_eq!(emu.signin_token_calls("refresh_token"), 1);
    // aws-config wrote the rotated refresh token back, and it is the live one.
    let doc: serde_json::Value = serde_json::from_str(&written).expect("cache JSON");
    let live = emu.live_signin_sessions();
    assert_eq!(live.len(), 1);
    assert_eq!(doc["refreshToken"], live[0].refresh_token.as_str());
    assert_ne!(doc["refreshToken"], s.refresh_token.as_str());
    assert_ne!(doc["accessToken"]["accessKeyId"], s.access_key_id.as_str());
}

async fn child_refresh_and_call_sts() {
    #[allow(clippy::disallowed_methods)]
    let url = std::env::var("EMULATOR_URL").expect("EMULATOR_URL");
    let http = Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let pc = ProviderConfig::without_region()
        .with_region(Some(Region::new("us-east-1")))
        .with_http_client(http.clone());
    let provider = LoginCredentialsProvider::builder(ALICE_ARN)
        .configure(&pc)
        .build();
    let c = provider
        .provide_credentials()
        .await
        .expect("the login provider refreshes");
    let conf = aws_sdk_sts::config::Builder::new()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(url)
        .http_client(http)
        .credentials_provider(c)
        .build();
    let who = aws_sdk_sts::Client::from_conf(conf)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity with refreshed credentials");
    println!("caller {}", who.arn().unwrap_or_default());
}

/// One HTTP/1.1 request with a JSON body: status and body.
fn http_json(method: &str, url: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn http_control_api_drives_sign_in() {
    let emu = Emulator::start();
    let control = |p: &str| format!("{}/_emulator/{p}", emu.url());
    let (status, body) = http_json(
        "POST",
        &control("signin/config"),
        r#"{"principal":"breakglass-bob","mfa":false,"credentials_seconds":60}"#,
    );
    assert_eq!(status, 204, "{body}");
    let (status, _) = http_json(
        "POST",
        &control("signin/config"),
        r#"{"principal":"nobody"}"#,
    );
    assert_eq!(status, 400);
    let (_, body) = http_json("GET", &control("signin/config"), "");
    let config: serde_json::Value = serde_json::from_str(&body).expect("config JSON");
    assert_eq!(config["principal"], "breakglass-bob");
    assert_eq!(config["session_seconds"], 43200);

    // A shown page decided through the control API: its Allow then signs in as decided.
    let (status, _, page) = http_get(&authorize_url(&emu, SAME_DEVICE, REDIRECT, "SHA-256"));
    assert_eq!(status, 200);
    let id = authorization_id(&page);
    let (_, body) = http_json("GET", &control("pending"), "");
    assert!(body.contains(&id), "{body}");
    let (status, body) = http_json(
        "POST",
        &control("approve"),
        &format!(r#"{{"user_code":"{id}","user":"root"}}"#),
    );
    assert_eq!(status, 204, "{body}");
    let (status, headers, _) = http_post_form(
        &format!("{}/v1/authorize/consent", emu.url()),
        &format!("authorization={id}&principal=breakglass-alice&action=allow"),
    );
    assert_eq!(status, 302);
    let code = query_value(header(&headers, "location").expect("Location"), "code").expect("code");
    let body = CreateOAuth2TokenRequestBody::builder()
        .client_id(SAME_DEVICE)
        .grant_type("authorization_code")
        .code(code)
        .code_verifier(VERIFIER)
        .redirect_uri(REDIRECT)
        .build()
        .expect("body");
    let s = signed_in(
        &token_call(&emu, Dpop::new(&new_key()), body)
            .await
            .expect("exchange"),
    );
    assert_eq!(s.expires_in, 60);
    assert_eq!(
        jwt_claims(s.id_token.as_deref().unwrap_or_default())["sub"],
        "arn:aws:iam::100000000001:root"
    );

    let (_, body) = http_json("GET", &control("signin/token-calls"), "");
    assert_eq!(body, r#"{"authorization_code":1}"#);
    let (_, body) = http_json("GET", &control("signin/sessions"), "");
    let sessions: serde_json::Value = serde_json::from_str(&body).expect("sessions JSON");
    assert_eq!(
        sessions["sessions"][0]["refresh_token"],
        s.refresh_token.as_str()
    );
    assert_eq!(
        sessions["sessions"][0]["principal_arn"],
        "arn:aws:iam::100000000001:root"
    );
    let (status, _) = http_json("DELETE", &control("signin/sessions"), "");
    assert_eq!(status, 204);
    let (_, body) = http_json("GET", &control("signin/sessions"), "");
    assert_eq!(body, r#"{"sessions":[]}"#);
    let (status, _) = http_json("DELETE", &control("signin/token-calls"), "");
    assert_eq!(status, 204);
    assert_eq!(emu.signin_token_calls("authorization_code"), 0);
}

#[tokio::test]
async fn sessions_end_after_twelve_hours_and_survive_an_identity_center_outage() {
    let emu = Emulator::start();
    let key = new_key();
    let s = sign_in(&emu, &key, "breakglass-alice", true).await;
    // Sign-In is not Identity Center: break-glass through a console session works in its outage.
    emu.set_outage(true);
    let r = signed_in(
        &refresh(&emu, Dpop::new(&key), &s.refresh_token)
            .await
            .expect("refresh during an Identity Center outage"),
    );
    // Rotation does not extend the sign-in session.
    emu.advance_clock(std::time::Duration::from_secs(12 * 3600));
    let (status, name, code, message) = parsed(
        refresh(&emu, Dpop::new(&key), &r.refresh_token)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, name.as_str()), (401, "AccessDeniedException"));
    assert_eq!(code, Some(OAuth2ErrorCode::TokenExpired));
    assert_eq!(message, "The refresh token has expired.");
    // A rotated-out token of the ended session has expired too.
    let (status, _, code, _) = parsed(
        refresh(&emu, Dpop::new(&key), &s.refresh_token)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code), (401, Some(OAuth2ErrorCode::TokenExpired)));
}

#[tokio::test]
async fn a_changed_password_and_a_missing_policy_are_the_403_access_denied_codes() {
    let emu = Emulator::start();
    let key = new_key();
    let s = sign_in(&emu, &key, "breakglass-alice", true).await;
    let bob_key = new_key();
    let bob = sign_in(&emu, &bob_key, "breakglass-bob", true).await;
    emu.signin_password_changed("breakglass-alice");
    let (status, name, code, _) = parsed(
        refresh(&emu, Dpop::new(&key), &s.refresh_token)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, name.as_str()), (403, "AccessDeniedException"));
    assert_eq!(code, Some(OAuth2ErrorCode::UserCredentialsChanged));
    // Another user's session is untouched, and only it is still live.
    let live: Vec<String> = emu
        .live_signin_sessions()
        .into_iter()
        .map(|l| l.principal_arn)
        .collect();
    assert_eq!(live, vec!["arn:aws:iam::100000000001:user/breakglass-bob"]);

    emu.set_signin(SigninConfig {
        permitted: false,
        ..emu.signin_config()
    })
    .expect("config");
    let (status, name, code, message) = parsed(
        refresh(&emu, Dpop::new(&bob_key), &bob.refresh_token)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, name.as_str()), (403, "AccessDeniedException"));
    assert_eq!(code, Some(OAuth2ErrorCode::InsufficientPermissions));
    assert!(message.contains("signin:CreateOAuth2Token"), "{message}");
}
