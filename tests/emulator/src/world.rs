//! The emulator's mutable state: what it has issued (clients, device codes, tokens, keys,
//! sign-in tokens) and the test's knobs (counters, latency, faults, outage, clock offset).
//! Everything sits behind plain mutexes that are never held across an `.await`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use time::OffsetDateTime;

use crate::fixture::{Fixture, Lifetimes};
use crate::ids;
use crate::ops::{Fault, Op};
use crate::signin::SigninState;

/// Who a set of credentials belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    IamUser {
        account: String,
        name: String,
    },
    /// A role session: AssumeRole's, or an Identity Center one (role `AWSReservedSSO_…`).
    Role {
        account: String,
        role: String,
        session: String,
    },
    /// An account's root user (a console sign-in as root, through AWS Sign-In).
    Root {
        account: String,
    },
}

impl Principal {
    pub fn account(&self) -> &str {
        match self {
            Principal::IamUser { account, .. }
            | Principal::Role { account, .. }
            | Principal::Root { account } => account,
        }
    }

    /// What GetCallerIdentity and AccessDenied messages call it.
    pub fn arn(&self) -> String {
        match self {
            Principal::IamUser { account, name } => format!("arn:aws:iam::{account}:user/{name}"),
            Principal::Role {
                account,
                role,
                session,
            } => format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
            Principal::Root { account } => format!("arn:aws:iam::{account}:root"),
        }
    }

    pub fn user_id(&self) -> String {
        match self {
            Principal::IamUser { account, name } => ids::user_id(account, name),
            Principal::Role {
                account,
                role,
                session,
            } => format!("{}:{session}", ids::role_id(account, role)),
            // The root user's UserId is the account id.
            Principal::Root { account } => account.clone(),
        }
    }

    /// Does a trust-policy principal ARN name this caller?
    pub fn matches_trust_principal(&self, principal: &str) -> bool {
        let Some(rest) = principal.strip_prefix("arn:aws:iam::") else {
            return false;
        };
        let Some((account, resource)) = rest.split_once(':') else {
            return false;
        };
        if account != self.account() {
            return false;
        }
        match (self, resource) {
            (_, "root") => true,
            (Principal::IamUser { name, .. }, r) => {
                r.strip_prefix("user/").and_then(|p| p.rsplit('/').next()) == Some(name)
            }
            (Principal::Role { role, .. }, r) => {
                r.strip_prefix("role/").and_then(|p| p.rsplit('/').next()) == Some(role)
            }
            (Principal::Root { .. }, _) => false,
        }
    }
}

/// An access key the emulator will accept in a SigV4 signature.
#[derive(Clone, Debug)]
pub struct Key {
    pub access_key_id: String,
    pub secret: String,
    /// Present for temporary credentials (ASIA…), which must send it.
    pub session_token: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
    pub principal: Principal,
    /// When MFA was last proven for this session.
    pub mfa_at: Option<OffsetDateTime>,
    pub source_identity: Option<String>,
    pub created: OffsetDateTime,
}

impl Key {
    pub fn is_temporary(&self) -> bool {
        self.session_token.is_some()
    }
}

#[derive(Clone, Debug)]
pub struct Client {
    pub secret: String,
    pub expires_at: OffsetDateTime,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    /// As registered; empty is RegisterClient's default (device code and refresh token).
    pub grant_types: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Pending,
    Approved(String),
    Denied,
}

/// A StartDeviceAuthorization awaiting (or past) the user's decision.
#[derive(Clone, Debug)]
pub struct DeviceAuth {
    pub client_id: String,
    pub user_code: String,
    pub created: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Grows by 5 s on every SlowDownException, per RFC 8628.
    pub interval: u64,
    pub last_poll: Option<OffsetDateTime>,
    pub decision: Decision,
    pub consumed: bool,
}

/// A browser's `GET /authorize` awaiting the person's Allow or Deny on the consent page
/// (or the control API's approve/deny by its id).
#[derive(Clone, Debug)]
pub struct Authorization {
    pub decision: Decision,
    pub created: OffsetDateTime,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub challenge: String,
}

#[derive(Clone, Debug)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub user: String,
    pub expires_at: OffsetDateTime,
    pub used: bool,
}

#[derive(Clone, Debug)]
pub struct AccessToken {
    pub user: String,
    pub expires_at: OffsetDateTime,
    pub revoked: bool,
    /// The refresh token issued alongside, which logout also kills.
    pub refresh_token: Option<String>,
}

#[derive(Clone, Debug)]
pub struct RefreshToken {
    pub user: String,
    pub client_id: String,
    /// The Identity Center session's end; rotation does not extend it.
    pub session_expires: OffsetDateTime,
    pub valid: bool,
}

#[derive(Clone, Debug)]
pub struct SigninToken {
    pub expires_at: OffsetDateTime,
}

/// Everything issued so far.
pub struct World {
    pub fixture: Fixture,
    pub lifetimes: Lifetimes,
    pub clients: HashMap<String, Client>,
    /// By device code.
    pub devices: HashMap<String, DeviceAuth>,
    /// By the id shown to the tester (user-code shaped).
    pub authorizations: HashMap<String, Authorization>,
    pub auth_codes: HashMap<String, AuthCode>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub keys: HashMap<String, Key>,
    /// Highest TOTP step accepted per IAM user: codes are single-use, like AWS's.
    pub last_totp_step: HashMap<String, i64>,
    pub signin_tokens: HashMap<String, SigninToken>,
    /// AWS Sign-In (`aws login`): its configuration, codes and refresh tokens.
    pub signin: SigninState,
    pub issued: Vec<String>,
}

impl World {
    pub fn new(fixture: Fixture, now: OffsetDateTime) -> World {
        let keys = fixture
            .iam_users
            .iter()
            .map(|u| {
                (
                    u.access_key_id.clone(),
                    Key {
                        access_key_id: u.access_key_id.clone(),
                        secret: u.secret_access_key.clone(),
                        session_token: None,
                        expires_at: None,
                        principal: Principal::IamUser {
                            account: u.account_id.clone(),
                            name: u.name.clone(),
                        },
                        mfa_at: None,
                        source_identity: None,
                        created: now,
                    },
                )
            })
            .collect();
        World {
            lifetimes: fixture.lifetimes,
            fixture,
            clients: HashMap::new(),
            devices: HashMap::new(),
            authorizations: HashMap::new(),
            auth_codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            keys,
            last_totp_step: HashMap::new(),
            signin_tokens: HashMap::new(),
            signin: SigninState::default(),
            issued: Vec::new(),
        }
    }

    /// Remembers a secret the emulator hands out, for `Emulator::issued_secrets`.
    pub fn issue(&mut self, secret: String) -> String {
        self.issued.push(secret.clone());
        secret
    }

    /// Mints temporary credentials for `principal`.
    pub fn mint_session(
        &mut self,
        principal: Principal,
        now: OffsetDateTime,
        lifetime: Duration,
        mfa_at: Option<OffsetDateTime>,
        source_identity: Option<String>,
    ) -> Key {
        let key = Key {
            access_key_id: ids::temporary_access_key_id(),
            secret: ids::secret_access_key(),
            session_token: Some(ids::session_token()),
            expires_at: Some(now + lifetime),
            principal,
            mfa_at,
            source_identity,
            created: now,
        };
        self.issue(key.secret.clone());
        if let Some(t) = &key.session_token {
            self.issue(t.clone());
        }
        self.keys.insert(key.access_key_id.clone(), key.clone());
        key
    }

    /// Issues an access token (and, when asked, a refresh token) for `user`.
    pub fn mint_tokens(
        &mut self,
        user: &str,
        client_id: &str,
        now: OffsetDateTime,
        with_refresh: bool,
        session_expires: Option<OffsetDateTime>,
    ) -> (String, Option<String>) {
        let access = self.issue(ids::opaque("aoa", 160));
        let refresh = with_refresh.then(|| self.issue(ids::opaque("aor", 240)));
        self.access_tokens.insert(
            access.clone(),
            AccessToken {
                user: user.to_string(),
                expires_at: now + secs(self.lifetimes.access_token_seconds),
                revoked: false,
                refresh_token: refresh.clone(),
            },
        );
        if let Some(r) = &refresh {
            self.refresh_tokens.insert(
                r.clone(),
                RefreshToken {
                    user: user.to_string(),
                    client_id: client_id.to_string(),
                    session_expires: session_expires
                        .unwrap_or(now + secs(self.lifetimes.refresh_token_seconds)),
                    valid: true,
                },
            );
        }
        (access, refresh)
    }

    /// The user behind a valid, unexpired bearer token.
    pub fn bearer_user(&self, token: &str, now: OffsetDateTime) -> Option<String> {
        self.access_tokens
            .get(token)
            .filter(|t| !t.revoked && t.expires_at > now)
            .map(|t| t.user.clone())
    }

    pub fn user_has_role(&self, user: &str, account: &str, role: &str) -> bool {
        self.fixture
            .user(user)
            .and_then(|u| u.assignments.get(account))
            .is_some_and(|roles| roles.iter().any(|r| r == role))
    }
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The test's knobs.
#[derive(Default)]
pub struct Control {
    pub counts: HashMap<Op, u64>,
    pub latency: HashMap<Option<Op>, Duration>,
    pub faults: HashMap<Option<Op>, (Fault, f64)>,
    /// Faults for the next N requests of an operation, counted down; they come before the
    /// random ones, so a test can script "throttled twice, then served" without chance.
    pub scripted: HashMap<Op, (Fault, u32)>,
    pub outage: bool,
    pub clock_offset: Duration,
}

/// State shared by the handlers and the `Emulator` handle.
pub struct Shared {
    pub base_url: String,
    pub auto_approve: Option<Duration>,
    world: Mutex<World>,
    control: Mutex<Control>,
    /// Wakes `GET /authorize` requests waiting for a decision.
    pub decided: tokio::sync::Notify,
}

impl Shared {
    pub fn new(base_url: String, fixture: Fixture, auto_approve: Option<Duration>) -> Shared {
        Shared {
            base_url,
            auto_approve,
            world: Mutex::new(World::new(fixture, OffsetDateTime::now_utc())),
            control: Mutex::new(Control::default()),
            decided: tokio::sync::Notify::new(),
        }
    }

    /// A poisoned lock only means another handler panicked; the data is still usable.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The emulator's clock: the real clock plus whatever the test advanced it by.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.control().clock_offset
    }

    pub fn outage(&self) -> bool {
        self.control().outage
    }

    /// Called by every handler once it knows its operation: counts the request, applies the
    /// configured latency and decides whether to inject a fault.
    pub async fn enter(&self, op: Op) -> Option<Fault> {
        let (latency, scripted, random) = {
            let mut c = self.control();
            *c.counts.entry(op).or_default() += 1;
            let scripted = c.scripted.get_mut(&op).map(|(fault, left)| {
                *left -= 1;
                (*fault, *left == 0)
            });
            if let Some((_, true)) = scripted {
                c.scripted.remove(&op);
            }
            let latency = c
                .latency
                .get(&Some(op))
                .or_else(|| c.latency.get(&None))
                .copied();
            let random = c
                .faults
                .get(&Some(op))
                .or_else(|| c.faults.get(&None))
                .copied();
            (latency, scripted.map(|(fault, _)| fault), random)
        };
        if let Some(l) = latency.filter(|l| !l.is_zero()) {
            tokio::time::sleep(l).await;
        }
        // fastrand::f64() is in [0, 1): a rate of 1.0 always fires, 0.0 never.
        let fault = scripted.or_else(|| {
            random
                .filter(|(_, rate)| fastrand::f64() < *rate)
                .map(|(f, _)| f)
        });
        if fault == Some(Fault::Hang) {
            // Never answer; the connection stays open until the client gives up (or the
            // emulator is dropped).
            std::future::pending::<()>().await;
        }
        fault
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_principals_match_users_role_sessions_and_account_root() {
        let user = Principal::IamUser {
            account: "100000000001".into(),
            name: "breakglass-alice".into(),
        };
        let session = Principal::Role {
            account: "100000000001".into(),
            role: "AWSReservedSSO_AdministratorAccess_0123456789abcdef".into(),
            session: "alice".into(),
        };
        assert!(user.matches_trust_principal("arn:aws:iam::100000000001:user/breakglass-alice"));
        assert!(!user.matches_trust_principal("arn:aws:iam::100000000001:user/breakglass-bob"));
        assert!(!user.matches_trust_principal("arn:aws:iam::200000000002:user/breakglass-alice"));
        assert!(user.matches_trust_principal("arn:aws:iam::100000000001:root"));
        assert!(session.matches_trust_principal("arn:aws:iam::100000000001:root"));
        assert!(session.matches_trust_principal(
            "arn:aws:iam::100000000001:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef"
        ));
        assert!(!session.matches_trust_principal("arn:aws:iam::100000000001:user/alice"));
        assert_eq!(
            session.arn(),
            "arn:aws:sts::100000000001:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice"
        );
        assert!(session.user_id().starts_with("AROA") && session.user_id().ends_with(":alice"));
    }
}
