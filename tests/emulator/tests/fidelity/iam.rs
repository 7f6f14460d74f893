//! IAM through aws-sdk-iam: a break-glass user rotating its own key.

use aws_sdk_iam::error::ProvideErrorMetadata;
use awsx_emulator::Emulator;

use crate::{creds, iam_client, iam_user_creds, sts_client};

#[tokio::test]
async fn key_rotation_on_oneself() {
    let emu = Emulator::start();
    let old = iam_user_creds(&emu, "breakglass-alice");
    let iam = iam_client(&emu, old.clone()).await;
    let me = iam.get_user().send().await.expect("GetUser");
    let user = me.user().unwrap();
    assert_eq!(user.user_name(), "breakglass-alice");
    assert_eq!(
        user.arn(),
        "arn:aws:iam::100000000001:user/breakglass-alice"
    );
    assert!(user.user_id().starts_with("AIDA"));

    let listed = iam.list_access_keys().send().await.expect("ListAccessKeys");
    let ids: Vec<_> = listed
        .access_key_metadata()
        .iter()
        .filter_map(|k| k.access_key_id())
        .collect();
    assert_eq!(ids, [old.access_key_id()]);

    let created = iam
        .create_access_key()
        .user_name("breakglass-alice")
        .send()
        .await
        .expect("CreateAccessKey");
    let key = created.access_key().unwrap();
    assert!(key.access_key_id().starts_with("AKIA"));
    let new = creds(key.access_key_id(), key.secret_access_key(), None);
    // The new key works for STS at once.
    sts_client(&emu, new.clone())
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("new key works");
    // A third key exceeds the quota of two.
    let e = iam.create_access_key().send().await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(409));
    assert!(e.into_service_error().is_limit_exceeded_exception());

    let iam_new = iam_client(&emu, new).await;
    iam_new
        .delete_access_key()
        .access_key_id(old.access_key_id())
        .send()
        .await
        .expect("DeleteAccessKey");
    let e = sts_client(&emu, old)
        .await
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientTokenId"));
    let e = iam_new
        .delete_access_key()
        .access_key_id("AKIAIOSFODNN7EXAMPLE")
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_no_such_entity_exception());
}

#[tokio::test]
async fn acting_on_another_user_is_denied() {
    let emu = Emulator::start();
    let iam = iam_client(&emu, iam_user_creds(&emu, "breakglass-alice")).await;
    let e = iam
        .list_access_keys()
        .user_name("breakglass-bob")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(e.code(), Some("AccessDenied"));
}
