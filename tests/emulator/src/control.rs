//! The test's levers, once: `impl Shared` holds the logic both the Rust API (`Emulator`) and
//! the HTTP control API under `/_emulator/` call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::fixture::{Fixture, Lifetimes};
use crate::ops::{EmulatorError, Fault, Op};
use crate::signin::SigninConfig;
use crate::sigv4::query_pairs;
use crate::totp;
use crate::world::{Decision, Shared};

/// `abcdefgh` and `ABCD-EFGH` name the same code.
fn normalise_code(code: &str) -> String {
    let c: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if c.len() == 8 {
        format!("{}-{}", &c[..4], &c[4..])
    } else {
        c
    }
}

impl Shared {
    fn decide(&self, user_code: &str, decision: Decision) -> Result<(), EmulatorError> {
        let code = normalise_code(user_code);
        // A sign-in page (`/v1/authorize`): an IAM user's name or `root`; empty is the
        // configured principal.
        let signin = match &decision {
            Decision::Approved(p) if p.is_empty() => {
                let configured = self.signin_config().principal;
                self.decide_signin(&code, Some(&configured))
            }
            Decision::Approved(p) => self.decide_signin(&code, Some(p)),
            _ => self.decide_signin(&code, None),
        };
        match signin {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if e.contains("already") => return Err(EmulatorError::AlreadyDecided(code)),
            Err(_) => {
                if let Decision::Approved(p) = &decision {
                    return Err(EmulatorError::UnknownUser(p.clone()));
                }
            }
        }
        let decision = match decision {
            Decision::Approved(p) if p.is_empty() => Decision::Approved(
                self.fixture()
                    .users
                    .first()
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
            ),
            d => d,
        };
        let now = self.now();
        let mut w = self.world();
        if let Decision::Approved(user) = &decision
            && w.fixture.user(user).is_none()
        {
            return Err(EmulatorError::UnknownUser(user.clone()));
        }
        if let Some(dev) = w
            .devices
            .values_mut()
            .find(|d| d.user_code == code && !d.consumed && d.expires_at > now)
        {
            if dev.decision != Decision::Pending {
                return Err(EmulatorError::AlreadyDecided(code));
            }
            dev.decision = decision;
            return Ok(());
        }
        if let Some(a) = w.authorizations.get_mut(&code) {
            if a.decision != Decision::Pending {
                return Err(EmulatorError::AlreadyDecided(code));
            }
            a.decision = decision;
            drop(w);
            self.decided.notify_waiters();
            return Ok(());
        }
        Err(EmulatorError::UnknownUserCode(code))
    }

    pub fn approve(&self, user_code: &str, user: &str) -> Result<(), EmulatorError> {
        self.decide(user_code, Decision::Approved(user.to_string()))
    }

    pub fn deny(&self, user_code: &str) -> Result<(), EmulatorError> {
        self.decide(user_code, Decision::Denied)
    }

    /// Device codes and browser authorizations still waiting, oldest first.
    pub fn pending_user_codes(&self) -> Vec<String> {
        let now = self.now();
        let w = self.world();
        let mut pending: Vec<(time::OffsetDateTime, String)> = w
            .devices
            .values()
            .filter(|d| d.decision == Decision::Pending && d.expires_at > now)
            .map(|d| (d.created, d.user_code.clone()))
            .chain(
                w.authorizations
                    .iter()
                    .filter(|(_, a)| a.decision == Decision::Pending)
                    .map(|(id, a)| (a.created, id.clone())),
            )
            .chain(
                w.signin
                    .authorizations
                    .iter()
                    .filter(|(_, a)| a.decision == Decision::Pending)
                    .map(|(id, a)| (a.created, id.clone())),
            )
            .collect();
        pending.sort();
        pending.into_iter().map(|(_, c)| c).collect()
    }

    pub fn count(&self, op: Op) -> u64 {
        self.control().counts.get(&op).copied().unwrap_or(0)
    }

    pub fn counts(&self) -> BTreeMap<Op, u64> {
        self.control()
            .counts
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect()
    }

    pub fn reset_counts(&self) {
        self.control().counts.clear();
    }

    pub fn set_latency(&self, op: Option<Op>, latency: Duration) {
        let mut c = self.control();
        if latency.is_zero() {
            c.latency.remove(&op);
        } else {
            c.latency.insert(op, latency);
        }
    }

    pub fn set_fault(&self, op: Option<Op>, fault: Fault, rate: f64) {
        let mut c = self.control();
        if rate <= 0.0 || rate.is_nan() {
            c.faults.remove(&op);
        } else {
            c.faults.insert(op, (fault, rate.min(1.0)));
        }
    }

    pub fn fail_next(&self, op: Op, fault: Fault, times: u32) {
        let mut c = self.control();
        if times == 0 {
            c.scripted.remove(&op);
        } else {
            c.scripted.insert(op, (fault, times));
        }
    }

    pub fn clear_faults(&self) {
        let mut c = self.control();
        c.faults.clear();
        c.scripted.clear();
    }

    pub fn set_outage(&self, down: bool) {
        self.control().outage = down;
    }

    pub fn advance_clock(&self, by: Duration) {
        self.control().clock_offset += by;
    }

    pub fn set_lifetimes(&self, lifetimes: Lifetimes) {
        let mut w = self.world();
        w.lifetimes = lifetimes;
        w.fixture.lifetimes = lifetimes;
    }

    pub fn fixture(&self) -> Fixture {
        self.world().fixture.clone()
    }

    pub fn revoke_assignment(&self, user: &str, account_id: &str, role: &str) {
        let mut w = self.world();
        if let Some(u) = w.fixture.users.iter_mut().find(|u| u.name == user)
            && let Some(roles) = u.assignments.get_mut(account_id)
        {
            roles.retain(|r| r != role);
            if roles.is_empty() {
                u.assignments.remove(account_id);
            }
        }
    }

    pub fn revoke_refresh_tokens(&self) {
        for rt in self.world().refresh_tokens.values_mut() {
            rt.valid = false;
        }
    }

    /// The code the user's MFA device shows `offset_steps` 30-second steps from now.
    pub fn totp_code(&self, iam_user: &str, offset_steps: i64) -> Option<String> {
        let now = self.now();
        let seed = self
            .world()
            .fixture
            .iam_user(iam_user)?
            .totp_secret
            .as_deref()
            .and_then(totp::decode_secret)?;
        Some(totp::code(
            &seed,
            totp::step_at(now.unix_timestamp()) + offset_steps,
        ))
    }

    pub fn issued_secrets(&self) -> Vec<String> {
        self.world().issued.clone()
    }
}

// ------------------------------------------------------------------ HTTP control API

fn control_error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

fn done(result: Result<(), EmulatorError>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => control_error(StatusCode::NOT_FOUND, e),
    }
}

fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| control_error(StatusCode::BAD_REQUEST, e))
}

macro_rules! parse_or_return {
    ($bytes:expr) => {
        match body(&$bytes) {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

#[derive(Deserialize)]
struct ApproveBody {
    user_code: String,
    user: Option<String>,
}

pub async fn approve(State(s): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    let req: ApproveBody = parse_or_return!(b);
    // Absent: the fixture's first Identity Center user, or for a sign-in page the
    // configured principal.
    done(s.approve(&req.user_code, req.user.as_deref().unwrap_or_default()))
}

pub async fn deny(State(s): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    let req: ApproveBody = parse_or_return!(b);
    done(s.deny(&req.user_code))
}

pub async fn pending(State(s): State<Arc<Shared>>) -> Response {
    Json(json!({ "user_codes": s.pending_user_codes() })).into_response()
}

pub async fn counts(State(s): State<Arc<Shared>>) -> Response {
    Json(s.counts()).into_response()
}

pub async fn reset_counts(State(s): State<Arc<Shared>>) -> Response {
    s.reset_counts();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct LatencyBody {
    op: Option<Op>,
    millis: u64,
}

pub async fn latency(State(s): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    let req: LatencyBody = parse_or_return!(b);
    s.set_latency(req.op, Duration::from_millis(req.millis));
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct FaultBody {
    op: Option<Op>,
    fault: Fault,
    rate: f64,
}

pub async fn fault(State(s): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    let req: FaultBody = parse_or_return!(b);
    s.set_fault(req.op, req.fault, req.rate);
    StatusCode::NO_CONTENT.into_response()
}

pub async fn clear_faults(State(s): State<Arc<Shared>>) -> Response {
    s.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct OutageBody {
    down: bool,
}

pub async fn outage(State(s): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    let req: OutageBody = parse_or_return!(b);
    s.set_outage(req.down);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct ClockBody {
    advance_seconds: u64,
}

pub async fn clock(State(s): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    let req: ClockBody = parse_or_return!(b);
    s.advance_clock(Duration::from_secs(req.advance_seconds));
    Json(json!({ "now": s.now().unix_timestamp() })).into_response()
}

pub async fn get_lifetimes(State(s): State<Arc<Shared>>) -> Response {
    Json(s.world().lifetimes).into_response()
}

pub async fn set_lifetimes(State(s): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    let req: Lifetimes = parse_or_return!(b);
    s.set_lifetimes(req);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct RevokeBody {
    user: String,
    account_id: String,
    role: String,
}

pub async fn revoke_assignment(State(s): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    let req: RevokeBody = parse_or_return!(b);
    s.revoke_assignment(&req.user, &req.account_id, &req.role);
    StatusCode::NO_CONTENT.into_response()
}

pub async fn revoke_refresh_tokens(State(s): State<Arc<Shared>>) -> Response {
    s.revoke_refresh_tokens();
    StatusCode::NO_CONTENT.into_response()
}

pub async fn totp_code(State(s): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let q = query_pairs(q.as_deref());
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let user = get("user").unwrap_or_default();
    let offset = get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    match s.totp_code(&user, offset) {
        Some(code) => Json(json!({ "code": code })).into_response(),
        None => control_error(
            StatusCode::NOT_FOUND,
            format!("no IAM user {user:?} with an MFA device"),
        ),
    }
}

pub async fn fixture(State(s): State<Arc<Shared>>) -> Response {
    Json(s.fixture()).into_response()
}

// ------------------------------------------------------------------ AWS Sign-In

pub async fn get_signin_config(State(s): State<Arc<Shared>>) -> Response {
    Json(s.signin_config()).into_response()
}

pub async fn set_signin_config(State(s): State<Arc<Shared>>, b: axum::body::Bytes) -> Response {
    let req: SigninConfig = parse_or_return!(b);
    match s.set_signin_config(req) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e),
    }
}

pub async fn signin_token_calls(State(s): State<Arc<Shared>>) -> Response {
    Json(s.signin_token_calls()).into_response()
}

pub async fn reset_signin_token_calls(State(s): State<Arc<Shared>>) -> Response {
    s.reset_signin_token_calls();
    StatusCode::NO_CONTENT.into_response()
}

pub async fn signin_sessions(State(s): State<Arc<Shared>>) -> Response {
    Json(json!({ "sessions": s.live_signin_sessions() })).into_response()
}

pub async fn revoke_signin_sessions(State(s): State<Arc<Shared>>) -> Response {
    s.revoke_signin_sessions();
    StatusCode::NO_CONTENT.into_response()
}
