//! IAM, the slice a break-glass user needs on itself: CreateAccessKey, DeleteAccessKey,
//! ListAccessKeys, GetUser. Keys live in the same world STS authenticates against, so a new
//! key works at once and a deleted one is refused at once.

use axum::http::StatusCode;
use axum::response::Response;
use time::OffsetDateTime;

use crate::ids;
use crate::ops::Op;
use crate::query::{Caller, Params, QueryError, Service, el, iso8601, success};
use crate::world::{Key, Principal, Shared};

/// IAM's AccessKeysPerUser quota.
const KEYS_PER_USER: usize = 2;

/// When every fixture IAM user was "created" (IAM reports a CreateDate).
fn user_created() -> OffsetDateTime {
    time::macros::datetime!(2024-01-15 10:00:00 UTC)
}

fn action_name(op: Op) -> &'static str {
    match op {
        Op::CreateAccessKey => "CreateAccessKey",
        Op::DeleteAccessKey => "DeleteAccessKey",
        Op::ListAccessKeys => "ListAccessKeys",
        _ => "GetUser",
    }
}

/// The IAM user an operation acts on: the caller itself. Acting on anyone else is denied.
fn target_user(op: Op, params: &Params, caller: &Key) -> Result<(String, String), QueryError> {
    let action = action_name(op);
    let requested = params.get("UserName");
    match (&caller.principal, requested) {
        (Principal::IamUser { account, name }, None) => Ok((account.clone(), name.clone())),
        (Principal::IamUser { account, name }, Some(u)) if u == name => {
            Ok((account.clone(), name.clone()))
        }
        (Principal::Role { .. } | Principal::Root { .. }, None) => Err(QueryError::validation(
            "Must specify userName when calling with non-User credentials",
        )),
        (p, Some(u)) => Err(QueryError::access_denied(format!(
            "User: {} is not authorized to perform: iam:{action} on resource: user {u} because no identity-based policy allows the iam:{action} action",
            p.arn()
        ))),
    }
}

fn key_member(user: &str, key: &Key, with_secret: bool) -> String {
    let secret = if with_secret {
        format!("\n      {}", el("SecretAccessKey", &key.secret))
    } else {
        String::new()
    };
    format!(
        "      {}\n      {}\n      {}{secret}\n      {}",
        el("UserName", user),
        el("AccessKeyId", &key.access_key_id),
        el("Status", "Active"),
        el("CreateDate", &iso8601(key.created)),
    )
}

/// A user's long-term keys, oldest first.
fn user_keys(keys: impl Iterator<Item = Key>, account: &str, name: &str) -> Vec<Key> {
    let mut mine: Vec<Key> = keys
        .filter(|k| !k.is_temporary())
        .filter(|k| {
            matches!(&k.principal, Principal::IamUser { account: a, name: n } if a == account && n == name)
        })
        .collect();
    mine.sort_by_key(|k| (k.created, k.access_key_id.clone()));
    mine
}

pub fn handle(
    shared: &Shared,
    now: OffsetDateTime,
    op: Op,
    params: &Params,
    caller: &Caller,
) -> Result<Response, QueryError> {
    let (account, name) = target_user(op, params, &caller.key)?;
    let mut w = shared.world();
    match op {
        Op::CreateAccessKey => {
            if user_keys(w.keys.values().cloned(), &account, &name).len() >= KEYS_PER_USER {
                return Err(QueryError::new(
                    StatusCode::CONFLICT,
                    "LimitExceeded",
                    format!("Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}"),
                ));
            }
            let key = Key {
                access_key_id: ids::long_term_access_key_id(),
                secret: ids::secret_access_key(),
                session_token: None,
                expires_at: None,
                principal: Principal::IamUser {
                    account,
                    name: name.clone(),
                },
                mfa_at: None,
                source_identity: None,
                created: now,
            };
            w.issue(key.secret.clone());
            w.keys.insert(key.access_key_id.clone(), key.clone());
            Ok(success(
                Service::Iam,
                "CreateAccessKey",
                Some(&format!(
                    "    <AccessKey>\n{}\n    </AccessKey>",
                    key_member(&name, &key, true)
                )),
            ))
        }
        Op::DeleteAccessKey => {
            let Some(id) = params.get("AccessKeyId") else {
                return Err(QueryError::validation(
                    "1 validation error detected: Value null at 'accessKeyId' failed to satisfy constraint: Member must not be null",
                ));
            };
            let mine = user_keys(w.keys.values().cloned(), &account, &name);
            if !mine.iter().any(|k| k.access_key_id == id) {
                return Err(QueryError::new(
                    StatusCode::NOT_FOUND,
                    "NoSuchEntity",
                    format!("The Access Key with id {id} cannot be found."),
                ));
            }
            w.keys.remove(id);
            Ok(success(Service::Iam, "DeleteAccessKey", None))
        }
        Op::ListAccessKeys => {
            let members: String = user_keys(w.keys.values().cloned(), &account, &name)
                .iter()
                .map(|k| {
                    format!(
                        "    <member>\n{}\n    </member>\n",
                        key_member(&name, k, false)
                    )
                })
                .collect();
            Ok(success(
                Service::Iam,
                "ListAccessKeys",
                Some(&format!(
                    "    <AccessKeyMetadata>\n{members}    </AccessKeyMetadata>\n    <IsTruncated>false</IsTruncated>"
                )),
            ))
        }
        _ => {
            let p = Principal::IamUser {
                account,
                name: name.clone(),
            };
            Ok(success(
                Service::Iam,
                "GetUser",
                Some(&format!(
                    "    <User>\n      {}\n      {}\n      {}\n      {}\n      {}\n    </User>",
                    el("Path", "/"),
                    el("UserName", &name),
                    el("UserId", &p.user_id()),
                    el("Arn", &p.arn()),
                    el("CreateDate", &iso8601(user_created())),
                )),
            ))
        }
    }
}
