//! Keeping enrolled keys healthy: `check` (the drill: does each key still work, how old is
//! it) and `rotate` (a new key through IAM, the old one deleted only once the new one works).
use std::time::Duration;

use time::OffsetDateTime;

use super::BreakglassError;
use super::console::ConsoleEnrolment;
use super::key::{CreatedSource, Enrolment, StoredKey};
use super::remote::{self, Clients};
use awsx_core::env::Env;
use awsx_core::types::IamUserName;
use awsx_keychain::{EntryName, SecretStore};

/// Keys older than this get a warning: rotate them.
pub const MAX_KEY_AGE_DAYS: i64 = 90;

/// One enrolled user's drill result.
#[derive(Debug)]
pub struct Checked {
    pub user: IamUserName,
    pub access_key_id: String,
    /// The caller ARN when the key works, else why not.
    pub works: Result<String, BreakglassError>,
    pub age_days: i64,
    pub age_source: CreatedSource,
    /// Other keys IAM lists for the user (the second slot `rotate` needs).
    pub other_keys: Vec<String>,
}

/// Every user enrolled in `store`.
pub fn enrolled_users(store: &dyn SecretStore) -> Result<Vec<IamUserName>, BreakglassError> {
    Ok(store
        .list()?
        .into_iter()
        .filter_map(|e| match e {
            EntryName::BreakglassKey(u) => Some(u),
            _ => None,
        })
        .collect())
}

/// The users enrolled for console sign-in (`enroll --console`): no key to check or rotate.
pub fn console_users(store: &dyn SecretStore) -> Result<Vec<ConsoleEnrolment>, BreakglassError> {
    let mut out = Vec::new();
    for user in enrolled_users(store)? {
        if let Ok(Enrolment::Console(c)) = Enrolment::load(store, &user) {
            out.push(c);
        }
    }
    Ok(out)
}

/// The drill for every user enrolled with a key (a failing key is a result, not an error);
/// users enrolled for console sign-in have no key and are listed by [`console_users`].
pub fn check(
    env: &Env,
    store: &dyn SecretStore,
    now: OffsetDateTime,
) -> Result<Vec<Checked>, BreakglassError> {
    let rt = awsx_aws::runtime()?;
    let mut out = Vec::new();
    for user in enrolled_users(store)? {
        let key = match Enrolment::load(store, &user)? {
            Enrolment::Key(key) => key,
            Enrolment::Console(_) => continue,
        };
        let checked = rt.block_on(async {
            let clients = Clients::new(env, None, key.credentials()).await?;
            let works = remote::caller_arn(&clients.sts).await;
            let mut created = (key.created, key.created_source);
            let mut other_keys = Vec::new();
            if works.is_ok()
                && let Ok(keys) = remote::list_access_keys(&clients.iam, &user).await
            {
                for k in keys {
                    if k.access_key_id == key.access_key_id {
                        if let Some(c) = k.created {
                            created = (c, CreatedSource::Iam);
                        }
                    } else {
                        other_keys.push(k.access_key_id);
                    }
                }
            }
            Ok::<_, BreakglassError>(Checked {
                user: user.clone(),
                access_key_id: key.access_key_id.clone(),
                works,
                age_days: (now - created.0).whole_days(),
                age_source: created.1,
                other_keys,
            })
        })?;
        out.push(checked);
    }
    Ok(out)
}

#[derive(Debug)]
pub struct Rotated {
    pub old_access_key_id: String,
    pub key: StoredKey,
    /// Set when the old key could not be deleted (the new one is in the keychain anyway).
    pub warning: Option<String>,
}

/// New IAM keys take a few seconds to work everywhere; verification retries this long.
const VERIFY_FOR: Duration = Duration::from_secs(15);

/// CreateAccessKey, verify the new key with GetCallerIdentity, then store it, then delete
/// the old one. The keychain changes only once the new key is proven; a new key that never
/// works is deleted again and the old one stays.
pub fn rotate(
    env: &Env,
    store: &dyn SecretStore,
    user: &IamUserName,
    now: OffsetDateTime,
) -> Result<Rotated, BreakglassError> {
    let old = match Enrolment::load(store, user)? {
        Enrolment::Key(key) => key,
        Enrolment::Console(_) => {
            return Err(BreakglassError::Input(format!(
                "{user} is enrolled for console sign-in: there is no access key to rotate. Its password and MFA device are managed in IAM (console: IAM > Users > {user} > Security credentials)"
            )));
        }
    };
    let rt = awsx_aws::runtime()?;
    rt.block_on(async {
        let old_clients = Clients::new(env, None, old.credentials()).await?;
        let (id, secret, created) = remote::create_access_key(&old_clients.iam, user).await?;
        let new = StoredKey {
            access_key_id: id,
            secret_access_key: secret,
            created: created.unwrap_or(now),
            created_source: if created.is_some() {
                CreatedSource::Iam
            } else {
                CreatedSource::Enrolment
            },
            enrolled: now,
            ..old.clone()
        };
        let new_clients = Clients::new(env, None, new.credentials()).await?;
        if let Err(e) = verify(&new_clients.sts).await {
            let _ = remote::delete_access_key(&old_clients.iam, user, &new.access_key_id).await;
            return Err(e);
        }
        new.save(store)?;
        let warning = remote::delete_access_key(&new_clients.iam, user, &old.access_key_id)
            .await
            .err()
            .map(|e| {
                format!(
                    "the new key is in the keychain, but the old key {} could not be deleted ({e}); delete it in the IAM console",
                    old.access_key_id
                )
            });
        Ok(Rotated {
            old_access_key_id: old.access_key_id.clone(),
            key: new,
            warning,
        })
    })
}

async fn verify(sts: &aws_sdk_sts::Client) -> Result<String, BreakglassError> {
    let started = std::time::Instant::now();
    loop {
        match remote::caller_arn(sts).await {
            Ok(arn) => return Ok(arn),
            Err(e) if started.elapsed() >= VERIFY_FOR => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}
