//! The SSO portal: role credentials for an account and role, and the account/role lists.
use aws_sdk_sso::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use time::OffsetDateTime;

use super::error::{SsoError, describe};
use super::model::SsoToken;
use awsx_core::secret::Secret;
use awsx_core::types::{AccountId, Expiration, RoleName, SsoSessionName};
use awsx_creds::RoleCredentials;

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
    checked_credentials(
        creds.access_key_id(),
        creds.secret_access_key(),
        creds.session_token(),
        creds.expiration(),
        OffsetDateTime::now_utc(),
    )
}

/// The longest role session Identity Center issues (a permission set's session duration is
/// 1 to 12 hours). A later expiration is clamped to this: it would otherwise become a
/// keychain and hot-tier lifetime of whatever the reply said.
pub const MAX_ROLE_SESSION: time::Duration = time::Duration::hours(12);
/// Credentials with less than this left when they arrive are refused: they could not be used.
pub const MIN_ROLE_SESSION: time::Duration = time::Duration::seconds(60);
/// Field caps, far above what AWS issues (access key ids are 16 to 128 characters, secret
/// keys 40, session tokens a few hundred to about 2,000) and far below what would hurt the
/// keychain (a 200 MB value fails in D-Bus; keyutils holds 20,000 bytes per user).
pub const MAX_ACCESS_KEY_ID: usize = 128;
pub const MAX_SECRET_ACCESS_KEY: usize = 1024;
pub const MAX_SESSION_TOKEN: usize = 8192;

/// GetRoleCredentials' fields as awsx keeps them: present, of sane size and alphabet,
/// not already expired, and living no longer than Identity Center allows.
fn checked_credentials(
    access_key_id: Option<&str>,
    secret_access_key: Option<&str>,
    session_token: Option<&str>,
    expiration_millis: i64,
    now: OffsetDateTime,
) -> Result<RoleCredentials, SsoError> {
    let bad = |what| SsoError::BadReply {
        operation: "GetRoleCredentials",
        what,
    };
    let field = |v: Option<&str>, max: usize, missing, invalid, alphabet: fn(u8) -> bool| {
        let v = v.filter(|s| !s.is_empty()).ok_or(bad(missing))?;
        if v.len() > max || !v.bytes().all(alphabet) {
            return Err(bad(invalid));
        }
        Ok(v.to_owned())
    };
    let token_char = |b: u8| b.is_ascii_graphic();
    let access_key_id = field(
        access_key_id,
        MAX_ACCESS_KEY_ID,
        "no accessKeyId",
        "an accessKeyId longer than 128 characters or not alphanumeric",
        |b| b.is_ascii_alphanumeric(),
    )?;
    let secret_access_key = field(
        secret_access_key,
        MAX_SECRET_ACCESS_KEY,
        "no secretAccessKey",
        "a secretAccessKey longer than 1,024 characters or not printable ASCII",
        token_char,
    )?;
    let session_token = field(
        session_token,
        MAX_SESSION_TOKEN,
        "no sessionToken",
        "a sessionToken longer than 8,192 characters or not printable ASCII",
        token_char,
    )?;
    let expiration = Expiration::from_unix_millis(expiration_millis)
        .filter(|e| e.unix_seconds() > 0)
        .ok_or(bad("expiration out of range"))?;
    if expiration.remaining(now) < MIN_ROLE_SESSION {
        return Err(SsoError::ExpiredOnArrival {
            operation: "GetRoleCredentials",
        });
    }
    let latest = now + MAX_ROLE_SESSION;
    let expiration = if expiration.at() > latest {
        tracing::warn!(
            %expiration,
            "the portal's credentials claim to outlive Identity Center's 12 h maximum; keeping them 12 h"
        );
        Expiration::new(latest)
    } else {
        expiration
    };
    Ok(RoleCredentials {
        access_key_id,
        secret_access_key: Secret::new(secret_access_key),
        session_token: Secret::new(session_token),
        expiration,
        received_at: Some(now),
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
    /// The listing fails when no page has arrived for this long: a portal that accepts
    /// connections and never answers ends the listing here, while a slow but working one
    /// (thousands of accounts, throttled) keeps going as long as pages keep coming.
    pub stall: std::time::Duration,
}

impl Default for ListPolicy {
    fn default() -> Self {
        ListPolicy {
            concurrency: 8,
            backoff: Backoff::default(),
            stall: STALL,
        }
    }
}

/// See `ListPolicy::stall`. With a token refresh before it (at most 16 s), a hung portal
/// fails `awsx sync` within a minute.
pub const STALL: std::time::Duration = std::time::Duration::from_secs(30);
/// The most pages one listing follows: 1,000 pages of ListAccounts are 100,000 accounts,
/// 100 of ListAccountRoles are 10,000 roles in one account (Identity Center allows 2,000
/// permission sets). More means the portal is looping.
pub const MAX_ACCOUNT_PAGES: usize = 1000;
pub const MAX_ROLE_PAGES: usize = 100;

/// When the last page arrived, shared by the listing's tasks and its watchdog.
struct Progress {
    started: std::time::Instant,
    last_millis: std::sync::atomic::AtomicU64,
}

impl Progress {
    fn new() -> Self {
        Progress {
            started: std::time::Instant::now(),
            last_millis: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn page_arrived(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_millis
            .fetch_max(now, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long since the last page (or the start).
    fn idle(&self) -> std::time::Duration {
        let last = self.last_millis.load(std::sync::atomic::Ordering::Relaxed);
        self.started
            .elapsed()
            .saturating_sub(std::time::Duration::from_millis(last))
    }
}

/// The pagination of one listing: refuses a `nextToken` seen before (a portal that loops)
/// and more than `max` pages.
struct Pages {
    operation: &'static str,
    seen: std::collections::HashSet<String>,
    max: usize,
}

impl Pages {
    fn new(operation: &'static str, max: usize) -> Self {
        Pages {
            operation,
            seen: std::collections::HashSet::new(),
            max,
        }
    }

    /// The token to ask for next, `None` when the listing is complete.
    fn next(&mut self, token: Option<&str>) -> Result<Option<String>, SsoError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if !self.seen.insert(token.to_owned()) {
            return Err(SsoError::BadReply {
                operation: self.operation,
                what: "a nextToken it had already sent: the pagination loops",
            });
        }
        if self.seen.len() >= self.max {
            return Err(SsoError::BadReply {
                operation: self.operation,
                what: "more pages than any real listing has: the pagination does not end",
            });
        }
        Ok(Some(token.to_owned()))
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
    progress: impl FnMut(usize, usize),
) -> Result<Listing, SsoError> {
    let pages = std::sync::Arc::new(Progress::new());
    let watchdog = async {
        loop {
            let idle = pages.idle();
            if idle >= policy.stall {
                return;
            }
            tokio::time::sleep(policy.stall - idle).await;
        }
    };
    // Dropping the listing (when the watchdog wins) drops its JoinSet, which aborts the tasks.
    tokio::select! {
        listing = list_all(client, session, token, policy, progress, std::sync::Arc::clone(&pages)) => listing,
        () = watchdog => Err(SsoError::Service {
            operation: "ListAccounts/ListAccountRoles",
            message: format!(
                "no page arrived for {} s (the portal accepts connections but does not answer, or the network drops them)",
                policy.stall.as_secs()
            ),
        }),
    }
}

async fn list_all(
    client: &Client,
    session: &SsoSessionName,
    token: &SsoToken,
    policy: ListPolicy,
    mut progress: impl FnMut(usize, usize),
    pages: std::sync::Arc<Progress>,
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
    let accounts =
        list_accounts(&client, session, &access, policy.backoff, &retries, &pages).await?;
    let total = accounts.len();
    let mut pending = accounts.into_iter();
    let mut tasks = tokio::task::JoinSet::new();
    let mut done = Vec::with_capacity(total);
    loop {
        while tasks.len() < policy.concurrency.max(1) {
            let Some((account_id, account_name)) = pending.next() else {
                break;
            };
            let (client, session, access, retries, pages) = (
                client.clone(),
                session.clone(),
                Arc::clone(&access),
                Arc::clone(&retries),
                Arc::clone(&pages),
            );
            tasks.spawn(async move {
                let roles = list_roles(
                    &client,
                    &session,
                    &access,
                    &account_id,
                    policy.backoff,
                    &retries,
                    &pages,
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
    progress: &Progress,
) -> Result<Vec<(AccountId, String)>, SsoError> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = Pages::new("ListAccounts", MAX_ACCOUNT_PAGES);
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
        progress.page_arrived();
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
        next = pages.next(page.next_token())?;
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
    progress: &Progress,
) -> Result<Vec<RoleName>, SsoError> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = Pages::new("ListAccountRoles", MAX_ROLE_PAGES);
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
        progress.page_arrived();
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
        next = pages.next(page.next_token())?;
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

    fn millis(t: OffsetDateTime) -> i64 {
        (t.unix_timestamp_nanos() / 1_000_000) as i64
    }

    #[test]
    fn credentials_from_the_portal_are_checked() {
        let now = OffsetDateTime::now_utc();
        let ok = |key: &str, secret: &str, token: &str, exp| {
            checked_credentials(Some(key), Some(secret), Some(token), exp, now)
        };
        let hour = millis(now + time::Duration::hours(1));
        let creds = ok("ASIAEXAMPLE", "s/e+c=", "t/o+k=", hour).unwrap();
        assert_eq!(creds.expiration.unix_seconds(), hour / 1000);
        // Already expired, or expiring before anyone could use them.
        for past in [
            millis(now - time::Duration::hours(1)),
            millis(now + time::Duration::seconds(5)),
        ] {
            let err = ok("ASIAEXAMPLE", "s", "t", past).unwrap_err();
            assert!(matches!(err, SsoError::ExpiredOnArrival { .. }), "{err}");
        }
        // 400 days become Identity Center's 12 h at most.
        let creds = ok(
            "ASIAEXAMPLE",
            "s",
            "t",
            millis(now + time::Duration::days(400)),
        )
        .unwrap();
        assert_eq!(creds.expiration.at(), now + MAX_ROLE_SESSION);
        // Sizes and alphabets.
        assert!(ok(&"A".repeat(128), "s", "t", hour).is_ok());
        for (key, secret, token) in [
            ("A".repeat(129), "s".to_owned(), "t".to_owned()),
            ("ASIA\nX".to_owned(), "s".to_owned(), "t".to_owned()),
            ("ASIA".to_owned(), "s".repeat(1025), "t".to_owned()),
            ("ASIA".to_owned(), "s\u{7f}".to_owned(), "t".to_owned()),
            ("ASIA".to_owned(), "s".to_owned(), "t".repeat(8193)),
            ("ASIA".to_owned(), "s".to_owned(), "t k".to_owned()),
            ("".to_owned(), "s".to_owned(), "t".to_owned()),
        ] {
            let err = ok(&key, &secret, &token, hour).unwrap_err();
            assert!(matches!(err, SsoError::BadReply { .. }), "{err}");
        }
    }

    #[test]
    fn a_repeated_next_token_or_endless_pages_end_the_listing() {
        let mut pages = Pages::new("ListAccounts", 4);
        assert_eq!(pages.next(Some("a")).unwrap().as_deref(), Some("a"));
        assert_eq!(pages.next(Some("b")).unwrap().as_deref(), Some("b"));
        assert!(matches!(
            pages.next(Some("a")),
            Err(SsoError::BadReply { what, .. }) if what.contains("loops")
        ));
        assert_eq!(pages.next(None).unwrap(), None);
        assert_eq!(pages.next(Some("")).unwrap(), None);
        let mut pages = Pages::new("ListAccountRoles", 3);
        pages.next(Some("1")).unwrap();
        pages.next(Some("2")).unwrap();
        assert!(pages.next(Some("3")).is_err());
    }

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
