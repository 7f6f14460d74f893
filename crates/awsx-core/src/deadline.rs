//! One deadline for a whole `credential-process` call. The SDKs run the process and wait
//! for it (the Rust SDK kills it after about 21 s); a call may take lock waits, a token
//! refresh and a GetRoleCredentials in turn, each with its own timeout, so without a
//! shared bound their sum (16 s + 16 s before this) could outlast the caller. Set once at
//! the start of the command; every lock wait (`lock::acquire`) and every SDK client built
//! afterwards (`aws::sdk_config`, operation and attempt timeouts) gets at most what is left.
//! Commands that do not set it are bounded only by their own timeouts.
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The whole of one `credential-process` call that needs the network: lock waits, token
/// refresh and the fetch together. Below the Rust SDK's ~21 s kill, with room for the
/// process start and the keychain.
pub const CREDENTIAL_PROCESS: Duration = Duration::from_secs(15);

static DEADLINE: Mutex<Option<(Instant, Duration)>> = Mutex::new(None);

fn current() -> Option<(Instant, Duration)> {
    *DEADLINE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Everything from now on must be done within `budget`.
pub fn start(budget: Duration) {
    *DEADLINE.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now() + budget, budget));
}

/// No deadline any more: an interactive auto-login waits for a person, not the network.
pub fn lift() {
    *DEADLINE.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Time left, when a deadline is set.
pub fn remaining() -> Option<Duration> {
    current().map(|(at, _)| at.saturating_duration_since(Instant::now()))
}

/// `wait` or what is left of the deadline, whichever is shorter.
pub fn clamp(wait: Duration) -> Duration {
    clamp_to(wait, remaining())
}

fn clamp_to(wait: Duration, left: Option<Duration>) -> Duration {
    left.map_or(wait, |left| wait.min(left))
}

/// The budget of the deadline in force, for messages ("gives up after 15 s in all").
pub fn budget() -> Option<Duration> {
    current().map(|(_, budget)| budget)
}

/// What a timeout means for the user: with a deadline set, that the whole call's bound was
/// reached.
pub fn timed_out() -> String {
    timed_out_message(budget())
}

fn timed_out_message(budget: Option<Duration>) -> String {
    match budget {
        Some(b) => format!(
            "timed out (awsx credential-process gives up after {} s in all, before the SDK that runs it would kill it)",
            b.as_secs()
        ),
        None => "timed out".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The global deadline is not set here: other tests in this process build SDK clients
    // and take locks, and must not see it.
    #[test]
    fn waits_are_clamped_to_what_is_left() {
        let s = Duration::from_secs;
        assert_eq!(clamp_to(s(16), None), s(16));
        assert_eq!(clamp_to(s(16), Some(s(2))), s(2));
        assert_eq!(
            clamp_to(Duration::from_millis(5), Some(s(2))),
            Duration::from_millis(5)
        );
        assert_eq!(clamp_to(s(16), Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(timed_out_message(None), "timed out");
        assert!(timed_out_message(Some(s(15))).contains("gives up after 15 s in all"));
    }
}
