//! The SSO portal through aws-sdk-sso: paginators, role credentials, typed errors.

use aws_sdk_sso::error::ProvideErrorMetadata;
use awsx_emulator::{Emulator, Fault, Fixture, Op};

use crate::{MANAGEMENT, PRODUCTION, login, role_creds, sso_client, sts_client};

#[tokio::test]
async fn paginators_walk_every_account_and_role() {
    let emu = Emulator::start();
    let l = login(&emu, "alice").await;
    let sso = sso_client(&emu).await;
    let accounts = sso
        .list_accounts()
        .access_token(&l.access_token)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("ListAccounts pages");
    let names: Vec<&str> = accounts
        .iter()
        .map(|a| a.account_name().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        [
            "management",
            "sandbox",
            "staging",
            "integrations",
            "production"
        ]
    );
    assert_eq!(
        accounts[0].email_address(),
        Some("aws+management@example.com")
    );
    // 5 accounts at 2 a page.
    assert_eq!(emu.count(Op::ListAccounts), 3);

    let roles = sso
        .list_account_roles()
        .access_token(&l.access_token)
        .account_id(MANAGEMENT)
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("ListAccountRoles pages");
    let roles: Vec<&str> = roles.iter().filter_map(|r| r.role_name()).collect();
    assert_eq!(roles, ["AdministratorAccess", "ReadOnlyAccess", "Billing"]);
    assert_eq!(emu.count(Op::ListAccountRoles), 3);
}

#[tokio::test]
async fn big_generated_world_pages_through_1000_accounts() {
    let emu = Emulator::builder()
        .fixture(Fixture::generated(1000, 4))
        .start()
        .unwrap();
    let l = login(&emu, "alice").await;
    let accounts = sso_client(&emu)
        .await
        .list_accounts()
        .access_token(&l.access_token)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(accounts.len(), 1000);
    assert_eq!(emu.count(Op::ListAccounts), 10);
}

#[tokio::test]
async fn role_credentials_belong_to_the_sso_role_session() {
    let emu = Emulator::start();
    let l = login(&emu, "bob").await;
    let rc = sso_client(&emu)
        .await
        .get_role_credentials()
        .access_token(&l.access_token)
        .account_id(PRODUCTION)
        .role_name("ReadOnlyAccess")
        .send()
        .await
        .expect("GetRoleCredentials");
    let c = rc.role_credentials().unwrap();
    assert!(c.access_key_id().unwrap().starts_with("ASIA"));
    // Expiration is epoch milliseconds, an hour out.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let left = c.expiration() - now_ms;
    assert!((3_500_000..=3_600_000).contains(&left), "{left}");

    let creds = role_creds(&emu, &l.access_token, PRODUCTION, "ReadOnlyAccess").await;
    let who = sts_client(&emu, creds)
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity with role credentials");
    assert_eq!(who.account(), Some(PRODUCTION));
    let arn = who.arn().unwrap();
    let prefix = format!("arn:aws:sts::{PRODUCTION}:assumed-role/AWSReservedSSO_ReadOnlyAccess_");
    assert!(arn.starts_with(&prefix) && arn.ends_with("/bob"), "{arn}");
    let hex = &arn[prefix.len()..arn.len() - 4];
    assert!(
        hex.len() == 16 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{arn}"
    );
    assert!(who.user_id().unwrap().starts_with("AROA"));
    assert!(who.user_id().unwrap().ends_with(":bob"));
}

#[tokio::test]
async fn unassigned_or_revoked_role_is_forbidden() {
    let emu = Emulator::start();
    let l = login(&emu, "bob").await;
    let sso = sso_client(&emu).await;
    let get = |account: &str, role: &str| {
        sso.get_role_credentials()
            .access_token(&l.access_token)
            .account_id(account)
            .role_name(role)
            .send()
    };
    let e = get(MANAGEMENT, "AdministratorAccess").await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(e.code(), Some("ForbiddenException"));
    assert_eq!(e.message(), Some("No access"));

    get(PRODUCTION, "ReadOnlyAccess").await.expect("assigned");
    emu.revoke_assignment("bob", PRODUCTION, "ReadOnlyAccess");
    let e = get(PRODUCTION, "ReadOnlyAccess").await.unwrap_err();
    assert_eq!(e.code(), Some("ForbiddenException"));
    let accounts = sso
        .list_accounts()
        .access_token(&l.access_token)
        .send()
        .await
        .unwrap();
    assert!(
        accounts
            .account_list()
            .iter()
            .all(|a| a.account_id() != Some(PRODUCTION))
    );
}

#[tokio::test]
async fn bad_expired_and_logged_out_tokens_are_unauthorized() {
    let emu = Emulator::start();
    let sso = sso_client(&emu).await;
    let list = |t: String| sso.list_accounts().access_token(t).send();
    let e = list("nonsense".into()).await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(401));
    assert!(e.into_service_error().is_unauthorized_exception());

    let l = login(&emu, "alice").await;
    list(l.access_token.clone()).await.expect("valid token");
    sso.logout()
        .access_token(&l.access_token)
        .send()
        .await
        .expect("Logout");
    let e = list(l.access_token.clone())
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_unauthorized_exception(), "{e:?}");
    // Logout also killed the refresh token.
    let e = crate::oidc_client(&emu)
        .await
        .create_token()
        .client_id(&l.client_id)
        .client_secret(&l.client_secret)
        .grant_type("refresh_token")
        .refresh_token(l.refresh_token.unwrap())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_grant_exception(), "{e:?}");

    let l = login(&emu, "alice").await;
    emu.advance_clock(std::time::Duration::from_secs(3601));
    let e = list(l.access_token).await.unwrap_err().into_service_error();
    assert!(e.is_unauthorized_exception(), "expired token: {e:?}");
}

#[tokio::test]
async fn throttling_is_too_many_requests() {
    let emu = Emulator::start();
    let l = login(&emu, "alice").await;
    emu.set_fault(Some(Op::ListAccounts), Fault::Throttle, 1.0);
    let e = sso_client(&emu)
        .await
        .list_accounts()
        .access_token(&l.access_token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(429));
    assert!(e.into_service_error().is_too_many_requests_exception());
    emu.set_fault(Some(Op::ListAccounts), Fault::Throttle, 0.0);
    emu.set_fault(None, Fault::MalformedBody, 1.0);
    let e = sso_client(&emu)
        .await
        .list_accounts()
        .access_token(&l.access_token)
        .send()
        .await
        .unwrap_err();
    // A 200 whose body does not parse: the SDK reports an unmodelled error, no code.
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(200));
    assert_eq!(e.code(), None);
    assert!(format!("{e:?}").contains("DeserializeError"), "{e:?}");
}

#[tokio::test]
async fn outage_takes_down_identity_center_but_not_sts() {
    let emu = Emulator::start();
    let l = login(&emu, "alice").await;
    emu.set_outage(true);
    let e = sso_client(&emu)
        .await
        .list_accounts()
        .access_token(&l.access_token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(503));
    let who = sts_client(&emu, crate::iam_user_creds(&emu, "breakglass-alice"))
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("STS works during the outage");
    assert_eq!(
        who.arn(),
        Some("arn:aws:iam::100000000001:user/breakglass-alice")
    );
}

#[tokio::test]
async fn hostile_server_faults_reach_the_real_sdk_as_replies_it_accepts() {
    let emu = Emulator::start();
    let l = login(&emu, "alice").await;
    let sso = sso_client(&emu).await;

    // RepeatNextToken: a well-formed page whose nextToken is the one just sent.
    emu.set_fault(Some(Op::ListAccounts), Fault::RepeatNextToken, 1.0);
    let first = sso
        .list_accounts()
        .access_token(&l.access_token)
        .max_results(2)
        .send()
        .await
        .expect("first page");
    let token = first.next_token().expect("a nextToken").to_owned();
    let again = sso
        .list_accounts()
        .access_token(&l.access_token)
        .max_results(2)
        .next_token(&token)
        .send()
        .await
        .expect("the same page again");
    assert_eq!(again.next_token(), Some(token.as_str()));
    assert_eq!(again.account_list(), first.account_list());
    emu.clear_faults();

    // ExpiredCredentials: real credentials an hour past their expiration.
    emu.fail_next(Op::GetRoleCredentials, Fault::ExpiredCredentials, 1);
    let out = sso
        .get_role_credentials()
        .access_token(&l.access_token)
        .account_id(MANAGEMENT)
        .role_name("AdministratorAccess")
        .send()
        .await
        .expect("GetRoleCredentials");
    let rc = out.role_credentials().unwrap();
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    assert!(rc.expiration() < now_ms - 3_500_000, "{}", rc.expiration());

    // HugeField: a 200 the SDK parses, with an access key id of the size asked for.
    emu.fail_next(
        Op::GetRoleCredentials,
        Fault::HugeField { bytes: 300_000 },
        1,
    );
    let out = sso
        .get_role_credentials()
        .access_token(&l.access_token)
        .account_id(MANAGEMENT)
        .role_name("AdministratorAccess")
        .send()
        .await
        .expect("GetRoleCredentials");
    let rc = out.role_credentials().unwrap();
    assert_eq!(rc.access_key_id().map(str::len), Some(300_000));
    assert!(rc.expiration() > now_ms);

    // Hang: the SDK's own operation timeout is what ends the call.
    emu.fail_next(Op::ListAccounts, Fault::Hang, 1);
    let hung = aws_sdk_sso::Client::from_conf(
        sso.config()
            .to_builder()
            .timeout_config(
                aws_sdk_sso::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(std::time::Duration::from_millis(500))
                    .build(),
            )
            .build(),
    );
    let err = hung
        .list_accounts()
        .access_token(&l.access_token)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, aws_sdk_sso::error::SdkError::TimeoutError(_)),
        "{err:?}"
    );
}
