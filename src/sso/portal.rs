//! The SSO portal: role credentials for an account and role, and the account/role lists.
use aws_sdk_sso::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::error::{SsoError, describe};
use super::model::SsoToken;
use crate::creds::RoleCredentials;
use crate::secret::Secret;
use crate::types::{AccountId, Expiration, RoleName, SsoSessionName};

/// GetRoleCredentials. Throttling is retried by the client's retry policy (bounded
/// exponential backoff with jitter); what is left maps to an error the user can act on.
pub async fn role_credentials(
    client: &Client,
    session: &SsoSessionName,
    token: &SsoToken,
    account: &AccountId,
    role: &RoleName,
) -> Result<RoleCredentials, SsoError> {
    let out = client
        .get_role_credentials()
        .access_token(token.access_token.expose())
        .account_id(account.as_str())
        .role_name(role.as_str())
        .send()
        .await
        .map_err(|err| {
            let service = err.as_service_error();
            if service.is_some_and(|e| e.is_unauthorized_exception()) {
                SsoError::LoginRequired {
                    session: session.clone(),
                }
            } else if service.is_some_and(|e| e.is_too_many_requests_exception()) {
                SsoError::Throttled
            } else if service.is_some_and(|e| {
                e.is_resource_not_found_exception() || e.code() == Some("ForbiddenException")
            }) {
                SsoError::NoAccess {
                    account: account.clone(),
                    role: role.clone(),
                }
            } else {
                SsoError::Service {
                    operation: "GetRoleCredentials",
                    message: describe(&err),
                }
            }
        })?;
    let bad = |what| SsoError::BadReply {
        operation: "GetRoleCredentials",
        what,
    };
    let creds = out.role_credentials().ok_or(bad("no roleCredentials"))?;
    let non_empty = |v: Option<&str>, what| {
        v.filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or(bad(what))
    };
    Ok(RoleCredentials {
        access_key_id: non_empty(creds.access_key_id(), "no accessKeyId")?,
        secret_access_key: Secret::new(non_empty(creds.secret_access_key(), "no secretAccessKey")?),
        session_token: Secret::new(non_empty(creds.session_token(), "no sessionToken")?),
        expiration: Expiration::from_unix_millis(creds.expiration())
            .filter(|e| e.unix_seconds() > 0)
            .ok_or(bad("expiration out of range"))?,
        received_at: Some(time::OffsetDateTime::now_utc()),
    })
}

/// Logout: tells Identity Center to end the session. Failure is not fatal for `awsx logout`,
/// which deletes the local entries anyway.
pub async fn logout(client: &Client, token: &SsoToken) -> Result<(), SsoError> {
    client
        .logout()
        .access_token(token.access_token.expose())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| SsoError::Service {
            operation: "Logout",
            message: describe(&e),
        })
}

/// An account the user can reach through the portal, with their roles (permission sets) in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRoles {
    pub account_id: AccountId,
    /// The account's name in AWS Organizations (the id when the portal gives none).
    pub account_name: String,
    pub roles: Vec<RoleName>,
}

/// How the account and role listing treats the portal: how many accounts are asked about
/// at once, and how throttling (429) and transient failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct ListPolicy {
    pub concurrency: usize,
    pub backoff: Backoff,
}

impl Default for ListPolicy {
    fn default() -> Self {
        ListPolicy {
            concurrency: 8,
            backoff: Backoff::default(),
        }
    }
}

/// Exponential backoff with jitter: attempt `n` (from 0) waits a random time between half
/// and all of `min(cap, base * 2^n)`, so throttled callers spread out instead of returning
/// in step. The SDK's standard retry (3 attempts and a retry token bucket shared by the
/// client) gives up on a listing of thousands of accounts at 10 % 429s; this does not
/// (10 attempts at 10 % leave a 1-in-10^10 chance per request).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: std::time::Duration,
    pub cap: std::time::Duration,
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: std::time::Duration::from_millis(50),
            cap: std::time::Duration::from_secs(5),
            max_attempts: 10,
        }
    }
}

impl Backoff {
    /// How long to wait before retry `n` (0 = the first retry).
    pub fn delay(&self, n: u32) -> std::time::Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(n.min(20)).unwrap_or(u32::MAX))
            .min(self.cap);
        let half = exp / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// What the listing found, and how often it had to retry.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Sorted by account id; every role list sorted by name.
    pub accounts: Vec<AccountRoles>,
    pub retries: u32,
}

/// ListAccounts then ListAccountRoles for every account, each fully paginated, at most
/// `policy.concurrency` accounts at a time, with `policy.backoff` for 429s and transient
/// failures (the client's own retries are turned off so that the two do not multiply).
/// `progress(done, total)` is called as accounts finish. Any failure that survives the
/// retries fails the whole listing: a partial list would make `sync` drop profiles.
pub async fn list_assignments(
    client: &Client,
    session: &SsoSessionName,
    token: &SsoToken,
    policy: ListPolicy,
    mut progress: impl FnMut(usize, usize),
) -> Result<Listing, SsoError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    let client = Client::from_conf(
        client
            .config()
            .to_builder()
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build(),
    );
    let retries = Arc::new(AtomicU32::new(0));
    let access = Arc::new(token.access_token.clone());
    let accounts = list_accounts(&client, session, &access, policy.backoff, &retries).await?;
    let total = accounts.len();
    let mut pending = accounts.into_iter();
    let mut tasks = tokio::task::JoinSet::new();
    let mut done = Vec::with_capacity(total);
    loop {
        while tasks.len() < policy.concurrency.max(1) {
            let Some((account_id, account_name)) = pending.next() else {
                break;
            };
            let (client, session, access, retries) = (
                client.clone(),
                session.clone(),
                Arc::clone(&access),
                Arc::clone(&retries),
            );
            tasks.spawn(async move {
                let roles = list_roles(
                    &client,
                    &session,
                    &access,
                    &account_id,
                    policy.backoff,
                    &retries,
                )
                .await;
                (account_id, account_name, roles)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        match joined {
            Ok((account_id, account_name, Ok(mut roles))) => {
                roles.sort();
                roles.dedup();
                done.push(AccountRoles {
                    account_id,
                    account_name,
                    roles,
                });
                progress(done.len(), total);
            }
            Ok((.., Err(err))) => {
                tasks.abort_all();
                return Err(err);
            }
            Err(_) => {
                tasks.abort_all();
                return Err(SsoError::BadReply {
                    operation: "ListAccountRoles",
                    what: "a listing task failed",
                });
            }
        }
    }
    done.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    Ok(Listing {
        accounts: done,
        retries: retries.load(Ordering::Relaxed),
    })
}

/// Largest page the portal serves.
const PAGE: i32 = 100;

async fn list_accounts(
    client: &Client,
    session: &SsoSessionName,
    access: &Secret<String>,
    backoff: Backoff,
    retries: &std::sync::atomic::AtomicU32,
) -> Result<Vec<(AccountId, String)>, SsoError> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = with_retries("ListAccounts", session, backoff, retries, || {
            client
                .list_accounts()
                .access_token(access.expose())
                .max_results(PAGE)
                .set_next_token(next.clone())
                .send()
        })
        .await?;
        for account in page.account_list() {
            let id: AccountId = account
                .account_id()
                .unwrap_or_default()
                .parse()
                .map_err(|_| SsoError::BadReply {
                    operation: "ListAccounts",
                    what: "an account id that is not 12 digits",
                })?;
            let name = account
                .account_name()
                .filter(|n| !n.trim().is_empty())
                .map_or_else(|| id.to_string(), str::to_owned);
            out.push((id, name));
        }
        next = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if next.is_none() {
            return Ok(out);
        }
    }
}

async fn list_roles(
    client: &Client,
    session: &SsoSessionName,
    access: &Secret<String>,
    account: &AccountId,
    backoff: Backoff,
    retries: &std::sync::atomic::AtomicU32,
) -> Result<Vec<RoleName>, SsoError> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = with_retries("ListAccountRoles", session, backoff, retries, || {
            client
                .list_account_roles()
                .access_token(access.expose())
                .account_id(account.as_str())
                .max_results(PAGE)
                .set_next_token(next.clone())
                .send()
        })
        .await?;
        for role in page.role_list() {
            let name: RoleName =
                role.role_name()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|_| SsoError::BadReply {
                        operation: "ListAccountRoles",
                        what: "an invalid role name",
                    })?;
            out.push(name);
        }
        next = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if next.is_none() {
            return Ok(out);
        }
    }
}

/// Run `attempt` until it succeeds, retrying 429s, 5xx and transport failures per `backoff`.
async fn with_retries<T, E, F, Fut>(
    operation: &'static str,
    session: &SsoSessionName,
    backoff: Backoff,
    retries: &std::sync::atomic::AtomicU32,
    mut attempt: F,
) -> Result<T, SsoError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
            Output = Result<
                T,
                aws_smithy_runtime_api::client::result::SdkError<
                    E,
                    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
                >,
            >,
        >,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let mut n = 0;
    loop {
        let err = match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.as_service_error().and_then(|e| e.code());
        if code == Some("UnauthorizedException") || status == Some(401) {
            return Err(SsoError::LoginRequired {
                session: session.clone(),
            });
        }
        let throttled = code == Some("TooManyRequestsException") || status == Some(429);
        let transient = throttled
            || status.is_some_and(|s| s >= 500)
            || matches!(
                err,
                SdkError::TimeoutError(_)
                    | SdkError::DispatchFailure(_)
                    | SdkError::ResponseError(_)
            );
        if transient && n + 1 < backoff.max_attempts {
            tokio::time::sleep(backoff.delay(n)).await;
            n += 1;
            retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            continue;
        }
        if throttled {
            return Err(SsoError::Throttled);
        }
        return Err(SsoError::Service {
            operation,
            message: describe(&err),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn backoff_grows_exponentially_with_jitter_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            max_attempts: 5,
        };
        for _ in 0..100 {
            let d0 = b.delay(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d2 = b.delay(2);
            assert!(d2 >= Duration::from_millis(200) && d2 <= Duration::from_millis(400));
            let d9 = b.delay(9);
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1));
            assert!(b.delay(u32::MAX) <= Duration::from_secs(1));
        }
    }
}
