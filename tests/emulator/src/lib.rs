//! awsx-emulator: a wire-faithful emulator of IAM Identity Center (SSO OIDC and the SSO
//! portal), STS, IAM and console federation, serving every endpoint on one loopback port, for
//! awsx's tests. Point `AWS_ENDPOINT_URL_SSO`, `AWS_ENDPOINT_URL_SSO_OIDC`,
//! `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_IAM` and `AWS_ENDPOINT_URL_SIGNIN` (AWS Sign-In,
//! `aws login`) at [`Emulator::url`], and
//! `AWSX_SIGNIN_ENDPOINT` at `<url>/federation`.
//!
//! ```no_run
//! let emu = awsx_emulator::Emulator::builder()
//!     .auto_approve(Some(std::time::Duration::ZERO))
//!     .start()
//!     .expect("emulator starts");
//! println!("{}", emu.url());
//! ```

// Handlers return their error as the finished HTTP response; its size is irrelevant next to
// the network round trip it answers.
#![allow(clippy::result_large_err)]

mod control;
mod federation;
pub mod fixture;
mod iam;
pub mod ids;
mod oidc;
mod ops;
mod portal;
mod query;
mod rest_json;
mod server;
pub mod signin;
pub mod sigv4;
mod sts;
pub mod totp;
mod world;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use fixture::{Account, Fixture, IamTrust, IamUser, Lifetimes, Role, Trust, User};
pub use ops::{EmulatorError, Fault, Op};
pub use signin::{LiveSigninSession, SigninConfig};

use world::Shared;

/// A running emulator. Serves from its own tokio runtime on a background thread, so plain
/// `#[test]` functions can use it; dropping it stops the server.
pub struct Emulator {
    shared: Arc<Shared>,
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Configures an [`Emulator`] before it starts.
#[derive(Debug, Clone, Default)]
pub struct EmulatorBuilder {
    fixture: Option<Fixture>,
    auto_approve: Option<Duration>,
    port: u16,
}

impl EmulatorBuilder {
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.fixture = Some(fixture);
        self
    }

    /// Approve every device code (and browser authorization) as the fixture's first user
    /// once this long has passed since it was issued; `Some(ZERO)` approves at the first poll.
    pub fn auto_approve(mut self, after: Option<Duration>) -> Self {
        self.auto_approve = after;
        self
    }

    /// Listen on this port instead of one the OS picks.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn start(self) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)))?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared::new(
            url.clone(),
            self.fixture.unwrap_or_default(),
            self.auto_approve,
        ));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = server::router(shared.clone());
        let thread = std::thread::Builder::new()
            .name("awsx-emulator".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("awsx-emulator cannot listen: {e}");
                            return;
                        }
                    };
                    let serve = async move {
                        if let Err(e) = axum::serve(listener, app).await {
                            tracing::error!("awsx-emulator server stopped: {e}");
                        }
                    };
                    tokio::select! {
                        () = serve => {}
                        _ = rx => {}
                    }
                });
                // Dropping the runtime here cancels the connections still open.
            })?;
        Ok(Emulator {
            shared,
            url,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Emulator {
    /// Starts with the default fixture on a free port.
    ///
    /// # Panics
    /// If it cannot bind 127.0.0.1 or start its runtime.
    pub fn start() -> Emulator {
        match Emulator::builder().start() {
            Ok(e) => e,
            Err(e) => panic!("awsx-emulator could not start on 127.0.0.1: {e}"),
        }
    }

    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// `http://127.0.0.1:PORT`, the endpoint of every emulated service.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The console federation endpoint (`AWSX_SIGNIN_ENDPOINT`).
    pub fn signin_url(&self) -> String {
        format!("{}/federation", self.url)
    }

    /// The world as it stands now (revoked assignments and new lifetimes included).
    pub fn fixture(&self) -> Fixture {
        self.shared.fixture()
    }

    /// Approves a pending device code, or a pending `/authorize` request by the id listed in
    /// [`Emulator::pending_user_codes`], as Identity Center user `user`.
    pub fn approve(&self, user_code: &str, user: &str) -> Result<(), EmulatorError> {
        self.shared.approve(user_code, user)
    }

    pub fn deny(&self, user_code: &str) -> Result<(), EmulatorError> {
        self.shared.deny(user_code)
    }

    pub fn pending_user_codes(&self) -> Vec<String> {
        self.shared.pending_user_codes()
    }

    /// Requests that reached `op`'s handler, errors and injected faults included.
    pub fn count(&self, op: Op) -> u64 {
        self.shared.count(op)
    }

    pub fn reset_counts(&self) {
        self.shared.reset_counts();
    }

    /// Delays every request of `op` (every operation when `None`); `ZERO` removes the delay.
    pub fn set_latency(&self, op: Option<Op>, latency: Duration) {
        self.shared.set_latency(op, latency);
    }

    /// Injects `fault` into `rate` (0..=1) of `op`'s requests (every operation when `None`);
    /// rate 0 removes it. A per-operation setting wins over the global one.
    pub fn set_fault(&self, op: Option<Op>, fault: Fault, rate: f64) {
        self.shared.set_fault(op, fault, rate);
    }

    /// Injects `fault` into exactly the next `times` requests of `op`, before any random
    /// fault: deterministic, for "throttled twice, then served". 0 removes it.
    pub fn fail_next(&self, op: Op, fault: Fault, times: u32) {
        self.shared.fail_next(op, fault, times);
    }

    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// Identity Center down: OIDC and the portal answer 503; STS, IAM and federation work.
    pub fn set_outage(&self, down: bool) {
        self.shared.set_outage(down);
    }

    /// Moves the emulator's clock ahead: expiry checks, the `Date` header, TOTP and the
    /// SigV4 skew check all use it.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.advance_clock(by);
    }

    /// Lifetimes for everything issued from now on.
    pub fn set_lifetimes(&self, lifetimes: Lifetimes) {
        self.shared.set_lifetimes(lifetimes);
    }

    pub fn revoke_assignment(&self, user: &str, account_id: &str, role: &str) {
        self.shared.revoke_assignment(user, account_id, role);
    }

    pub fn revoke_refresh_tokens(&self) {
        self.shared.revoke_refresh_tokens();
    }

    /// The code `iam_user`'s MFA device shows, `offset_steps` 30 s steps from now.
    ///
    /// # Panics
    /// If the fixture has no such IAM user with a TOTP secret (a mistake in the test).
    pub fn totp_code(&self, iam_user: &str, offset_steps: i64) -> String {
        match self.shared.totp_code(iam_user, offset_steps) {
            Some(c) => c,
            None => panic!("awsx-emulator: no IAM user {iam_user:?} with an MFA device"),
        }
    }

    /// Every secret handed out so far: client secrets, access and refresh tokens, device
    /// codes, authorization codes, secret keys, session tokens, sign-in tokens.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.shared.issued_secrets()
    }

    /// AWS Sign-In's endpoint (`AWS_ENDPOINT_URL_SIGNIN`): the same base URL.
    pub fn signin_oauth_url(&self) -> String {
        self.url.clone()
    }

    /// Who signs in on the sign-in page, with or without MFA, and the lifetimes.
    pub fn signin_config(&self) -> SigninConfig {
        self.shared.signin_config()
    }

    /// # Errors
    /// When `principal` is neither an IAM user of the fixture nor `root`.
    pub fn set_signin(&self, config: SigninConfig) -> Result<(), String> {
        self.shared.set_signin_config(config)
    }

    /// CreateOAuth2Token calls by grant type (`authorization_code`, `refresh_token`).
    pub fn signin_token_calls(&self, grant_type: &str) -> u64 {
        self.shared
            .signin_token_calls()
            .get(grant_type)
            .copied()
            .unwrap_or(0)
    }

    pub fn reset_signin_token_calls(&self) {
        self.shared.reset_signin_token_calls();
    }

    /// Sign-in refresh tokens the token endpoint would honour now.
    pub fn live_signin_sessions(&self) -> Vec<LiveSigninSession> {
        self.shared.live_signin_sessions()
    }

    /// IAM user `user` changed its console password: refreshing its sign-in sessions answers
    /// 403 AccessDeniedException USER_CREDENTIALS_CHANGED.
    pub fn signin_password_changed(&self, user: &str) {
        self.shared.signin_password_changed(user);
    }

    /// Revokes every sign-in session: their refresh tokens become bad grants (400
    /// ValidationException INVALID_REQUEST, as for a rotated-out token).
    pub fn revoke_signin_sessions(&self) {
        self.shared.revoke_signin_sessions();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator").field("url", &self.url).finish()
    }
}
