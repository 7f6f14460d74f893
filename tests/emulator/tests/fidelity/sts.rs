//! STS through aws-sdk-sts: signatures, break-glass AssumeRole with MFA, trust policies,
//! role chaining, session tokens.

use std::time::Duration;

use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::types::Tag;
use awsx_emulator::{Emulator, Op};

use crate::{MANAGEMENT, PRODUCTION, creds, iam_user_creds, login, role_creds, sts_client};

const ALICE_MFA: &str = "arn:aws:iam::100000000001:mfa/breakglass-alice";

fn break_glass_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/BreakGlass")
}

#[tokio::test]
async fn wrong_signature_is_signature_does_not_match() {
    let emu = Emulator::start();
    let f = emu.fixture();
    let akid = &f.iam_users[0].access_key_id;
    let e = sts_client(&emu, creds(akid, "not-the-secret", None))
        .await
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
    assert_eq!(emu.count(Op::GetCallerIdentity), 1);
}

#[tokio::test]
async fn unknown_key_and_missing_session_token_are_invalid_client_token_id() {
    let emu = Emulator::start();
    let e = sts_client(
        &emu,
        creds("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG", None),
    )
    .await
    .get_caller_identity()
    .send()
    .await
    .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientTokenId"));

    let l = login(&emu, "alice").await;
    let c = role_creds(&emu, &l.access_token, MANAGEMENT, "ReadOnlyAccess").await;
    let without_token = creds(c.access_key_id(), c.secret_access_key(), None);
    let e = sts_client(&emu, without_token)
        .await
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientTokenId"));
}

#[tokio::test]
async fn expired_session_is_expired_token_and_skew_is_signature_expired() {
    let emu = Emulator::start();
    let l = login(&emu, "alice").await;
    let c = role_creds(&emu, &l.access_token, MANAGEMENT, "ReadOnlyAccess").await;
    emu.advance_clock(Duration::from_secs(3601));
    let e = sts_client(&emu, c)
        .await
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(400));
    assert_eq!(e.code(), Some("ExpiredToken"));

    // Long-term key, real clock, emulator an hour ahead: the signature is too old.
    let e = sts_client(&emu, iam_user_creds(&emu, "breakglass-bob"))
        .await
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
    assert!(
        e.message()
            .unwrap_or_default()
            .starts_with("Signature expired"),
        "{e:?}"
    );
}

#[tokio::test]
async fn break_glass_with_mfa_source_identity_and_tags() {
    let emu = Emulator::start();
    let sts = sts_client(&emu, iam_user_creds(&emu, "breakglass-alice")).await;
    let who = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(
        who.arn(),
        Some("arn:aws:iam::100000000001:user/breakglass-alice")
    );
    assert!(who.user_id().unwrap().starts_with("AIDA"));

    let code = emu.totp_code("breakglass-alice", 0);
    let out = sts
        .assume_role()
        .role_arn(break_glass_arn(PRODUCTION))
        .role_session_name("breakglass-alice")
        .serial_number(ALICE_MFA)
        .token_code(&code)
        .source_identity("alice@example.com")
        .tags(
            Tag::builder()
                .key("reason")
                .value("INC-123 IdP outage")
                .build()
                .unwrap(),
        )
        .duration_seconds(3600)
        .send()
        .await
        .expect("break-glass AssumeRole");
    assert_eq!(out.source_identity(), Some("alice@example.com"));
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        "arn:aws:sts::500000000005:assumed-role/BreakGlass/breakglass-alice"
    );
    assert!(user.assumed_role_id().ends_with(":breakglass-alice"));
    assert!(out.packed_policy_size().is_some());
    let c = out.credentials().unwrap();
    let session = creds(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token()),
    );
    let who = sts_client(&emu, session)
        .await
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(who.arn(), Some(user.arn()));

    // The same code again is refused: codes are single-use.
    let e = sts
        .assume_role()
        .role_arn(break_glass_arn(PRODUCTION))
        .role_session_name("breakglass-alice")
        .serial_number(ALICE_MFA)
        .token_code(&code)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    assert!(
        e.message()
            .unwrap()
            .contains("MultiFactorAuthentication failed")
    );
}

#[tokio::test]
async fn break_glass_trust_is_enforced() {
    let emu = Emulator::start();
    let sts = sts_client(&emu, iam_user_creds(&emu, "breakglass-bob")).await;
    let bob_mfa = "arn:aws:iam::100000000001:mfa/breakglass-bob";
    // No MFA: the trust requires it.
    let e = sts
        .assume_role()
        .role_arn(break_glass_arn(PRODUCTION))
        .role_session_name("bob")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(e.code(), Some("AccessDenied"));
    assert_eq!(
        e.message(),
        Some(
            "User: arn:aws:iam::100000000001:user/breakglass-bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::500000000005:role/BreakGlass"
        )
    );
    // Wrong code.
    let wrong = format!(
        "{:06}",
        (emu.totp_code("breakglass-bob", 0).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    let e = sts
        .assume_role()
        .role_arn(break_glass_arn(PRODUCTION))
        .role_session_name("bob")
        .serial_number(bob_mfa)
        .token_code(wrong)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    // Over the role's one-hour maximum.
    let e = sts
        .assume_role()
        .role_arn(break_glass_arn(PRODUCTION))
        .role_session_name("bob")
        .serial_number(bob_mfa)
        .token_code(emu.totp_code("breakglass-bob", 0))
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
    // Someone else's MFA serial.
    let e = sts
        .assume_role()
        .role_arn(break_glass_arn(PRODUCTION))
        .role_session_name("bob")
        .serial_number(ALICE_MFA)
        .token_code(emu.totp_code("breakglass-alice", 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    // An SSO user's role session is not a trusted principal.
    let l = login(&emu, "alice").await;
    let sso = role_creds(&emu, &l.access_token, MANAGEMENT, "AdministratorAccess").await;
    let e = sts_client(&emu, sso)
        .await
        .assume_role()
        .role_arn(break_glass_arn(PRODUCTION))
        .role_session_name("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    // Unknown role: AccessDenied as well, like AWS.
    let e = sts
        .assume_role()
        .role_arn("arn:aws:iam::500000000005:role/NoSuchRole")
        .role_session_name("bob")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
}

#[tokio::test]
async fn role_chaining_from_sso_credentials() {
    let emu = Emulator::start();
    let l = login(&emu, "alice").await;
    let sso = role_creds(&emu, &l.access_token, MANAGEMENT, "AdministratorAccess").await;
    let sts = sts_client(&emu, sso).await;
    let role = format!("arn:aws:iam::{PRODUCTION}:role/OrganizationAccountAccessRole");
    let out = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("alice")
        .send()
        .await
        .expect("chained AssumeRole");
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::500000000005:assumed-role/OrganizationAccountAccessRole/alice"
    );
    let e = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("alice")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
    assert!(e.message().unwrap().contains("role chaining"));
    // This trust allows neither tags nor a source identity.
    let e = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("alice")
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    assert!(e.message().unwrap().contains("sts:TagSession"));
    let e = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("alice")
        .source_identity("alice")
        .send()
        .await
        .unwrap_err();
    assert!(e.message().unwrap().contains("sts:SetSourceIdentity"));
    // A one-character session name fails STS's validation.
    let e = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
}

#[tokio::test]
async fn session_token_with_mfa_then_assume_role_without_code() {
    let emu = Emulator::start();
    let sts = sts_client(&emu, iam_user_creds(&emu, "breakglass-alice")).await;
    let out = sts
        .get_session_token()
        .serial_number(ALICE_MFA)
        .token_code(emu.totp_code("breakglass-alice", 0))
        .duration_seconds(900)
        .send()
        .await
        .expect("GetSessionToken");
    let c = out.credentials().unwrap();
    assert!(c.access_key_id().starts_with("ASIA"));
    let session = sts_client(
        &emu,
        creds(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token()),
        ),
    )
    .await;
    let who = session.get_caller_identity().send().await.unwrap();
    assert_eq!(
        who.arn(),
        Some("arn:aws:iam::100000000001:user/breakglass-alice")
    );
    session
        .assume_role()
        .role_arn(break_glass_arn(MANAGEMENT))
        .role_session_name("breakglass-alice")
        .send()
        .await
        .expect("MFA carried by the session");
    let e = session.get_session_token().send().await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
}

#[tokio::test]
async fn injected_faults_take_the_sts_shape_and_latency_still_answers() {
    let emu = Emulator::start();
    let sts = sts_client(&emu, iam_user_creds(&emu, "breakglass-alice")).await;
    emu.set_fault(None, awsx_emulator::Fault::Throttle, 1.0);
    let e = sts.get_caller_identity().send().await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(400));
    assert_eq!(e.code(), Some("Throttling"));
    emu.set_fault(
        Some(Op::GetCallerIdentity),
        awsx_emulator::Fault::ServerError,
        1.0,
    );
    let e = sts.get_caller_identity().send().await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500));
    assert_eq!(e.code(), Some("InternalFailure"));
    emu.clear_faults();
    emu.set_latency(Some(Op::GetCallerIdentity), Duration::from_millis(20));
    sts.get_caller_identity()
        .send()
        .await
        .expect("slow but fine");
    assert_eq!(emu.count(Op::GetCallerIdentity), 3);
    emu.reset_counts();
    assert_eq!(emu.count(Op::GetCallerIdentity), 0);
}
