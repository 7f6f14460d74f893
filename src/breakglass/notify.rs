//! The notify hook: a user's command (`--notify-command`, or `breakglass_notify_command` /
//! `AWSX_BREAKGLASS_NOTIFY_COMMAND`) run as `sh -c CMD` with the audit event's JSON on
//! stdin, e.g. to post to a chat channel. It runs after the event is in the audit log; its
//! failure is a warning, never a failed break-glass (the access is already granted and
//! recorded, and an outage of the chat service must not lock people out).
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::audit::AuditEvent;

/// A hook that has not finished by then is killed (and a warning says so).
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// Run `command` with `event` on stdin. `Err` is the warning to show.
pub fn run(command: &str, event: &AuditEvent) -> Result<(), String> {
    run_with_timeout(command, event, TIMEOUT)
}

fn run_with_timeout(command: &str, event: &AuditEvent, timeout: Duration) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        // The hook's output is for its author; stdout stays awsx's.
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .env("AWSX_BREAKGLASS_EVENT", event.event.as_str())
        .env("AWSX_BREAKGLASS_RESULT", event.result.as_str())
        .spawn()
        .map_err(|e| format!("cannot start the break-glass notify command: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let mut json = event.to_json();
        json.push('\n');
        // A hook that ignores stdin closes the pipe early: not an error.
        let _ = stdin.write_all(json.as_bytes());
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(format!(
                    "the break-glass notify command failed ({status}); the break-glass session is not affected"
                ));
            }
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the break-glass notify command did not finish within {} s and was stopped; the break-glass session is not affected",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Err(format!(
                    "cannot wait for the break-glass notify command: {e}"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_core::env::Env;

    fn event() -> AuditEvent {
        AuditEvent::new(
            crate::breakglass::audit::EventKind::Assume,
            &Env::from_vars([("USER", "alice")]),
            time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        )
    }

    #[test]
    fn the_hook_gets_the_event_json_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("event.json");
        run(&format!("cat > '{}'", out.display()), &event()).unwrap();
        let got: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
        assert_eq!(got["event"], "assume");
        assert_eq!(got["os_user"], "alice");
    }

    #[test]
    fn a_failing_or_hanging_hook_is_a_warning() {
        let err = run("exit 7", &event()).unwrap_err();
        assert!(err.contains("failed"), "{err}");
        let err = run_with_timeout("sleep 5", &event(), Duration::from_millis(200)).unwrap_err();
        assert!(err.contains("did not finish"), "{err}");
    }
}
