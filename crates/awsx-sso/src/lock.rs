//! Single flight across processes: an OS file lock per session or per (session, account,
//! role) in awsx's cache directory. One process does the network step while the others
//! wait, then re-read what it stored. The kernel releases a lock when its holder dies, so
//! a crashed awsx never blocks the next one.
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the process holding a lock is doing, as a waiter tells the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A login (device flow, possibly waiting for a person) or a token refresh of a session.
    Session { session: String },
    /// A network fetch (GetRoleCredentials) of the credentials named.
    Fetch { what: String },
}

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "gave up after {waited_secs} s waiting for another awsx process holding sso-session {}: a login is in progress in another terminal (or a token refresh); finish it there or try again",
        match holder { Holder::Session { session } => session.as_str(), Holder::Fetch { what } => what.as_str() }
    )]
    TimedOut { holder: Holder, waited_secs: u64 },
    #[error(
        "gave up after {waited_secs} s waiting for another awsx process that is fetching {what} from IAM Identity Center (the network or the portal is slow or not answering); try again in a minute, or run awsx doctor"
    )]
    FetchTimedOut { what: String, waited_secs: u64 },
    #[error("cannot open lock file {path}: {source}; check that the cache directory is writable")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl awsx_core::exit::HasExitCode for LockError {
    fn exit_code(&self) -> awsx_core::exit::ExitCode {
        match self {
            // Someone else's login: this process cannot help; the user finishes it (design).
            LockError::TimedOut { .. } => awsx_core::exit::ExitCode::LoginRequired,
            // A network step that did not finish: an operation failed.
            LockError::FetchTimedOut { .. } | LockError::Io { .. } => {
                awsx_core::exit::ExitCode::Failure
            }
        }
    }
}

/// Held while alive; dropping it (or the process dying) releases the lock.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

/// Whether the lock was free or another process had it first (and so probably did the work).
#[derive(Debug, PartialEq, Eq)]
pub enum Acquired {
    Immediately,
    AfterWaiting,
}

/// Take the exclusive lock at `path`, held by `holder`'s kind of work, waiting at most
/// `wait` (and never past the call's deadline, see `awsx_core::deadline`).
pub fn acquire(
    path: &Path,
    holder: Holder,
    wait: Duration,
) -> Result<(LockGuard, Acquired), LockError> {
    let wait = awsx_core::deadline::clamp(wait);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| LockError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| LockError::Io {
            path: path.to_owned(),
            source,
        })?;
    let started = Instant::now();
    let mut waited = false;
    let mut pause = Duration::from_millis(5);
    loop {
        match file.try_lock() {
            Ok(()) => {
                let how = if waited {
                    Acquired::AfterWaiting
                } else {
                    Acquired::Immediately
                };
                return Ok((LockGuard { _file: file }, how));
            }
            Err(TryLockError::WouldBlock) => {
                if started.elapsed() >= wait {
                    let waited_secs = started.elapsed().as_secs();
                    return Err(match holder {
                        Holder::Fetch { what } => LockError::FetchTimedOut { what, waited_secs },
                        holder @ Holder::Session { .. } => LockError::TimedOut {
                            holder,
                            waited_secs,
                        },
                    });
                }
                waited = true;
                // Short pauses first: the holder is usually done within a few hundred ms.
                std::thread::sleep(pause.min(wait.saturating_sub(started.elapsed())));
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(TryLockError::Error(source)) => {
                return Err(LockError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
}

/// A lock file name made only of safe characters, whatever the session, account or role is called.
pub fn lock_path(cache_dir: &Path, kind: &str, parts: &[&str]) -> PathBuf {
    let mut name = String::from(kind);
    for part in parts {
        name.push('-');
        name.extend(part.chars().map(|c| {
            if c.is_ascii_alphanumeric() || "._-+=@,".contains(c) {
                c
            } else {
                '_'
            }
        }));
    }
    name.push_str(".lock");
    cache_dir.join("locks").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_waits_then_times_out_while_the_first_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let session = || Holder::Session {
            session: "acme".into(),
        };
        let (first, how) = acquire(&path, session(), Duration::from_secs(1)).unwrap();
        assert_eq!(how, Acquired::Immediately);
        let err = acquire(&path, session(), Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, LockError::TimedOut { .. }), "{err}");
        drop(first);
        assert!(acquire(&path, session(), Duration::from_millis(50)).is_ok());
    }

    #[test]
    fn a_waiter_says_what_it_waited_for_with_the_matching_exit_code() {
        use awsx_core::exit::HasExitCode;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let _held = acquire(&path, Holder::Fetch { what: "f".into() }, Duration::ZERO).unwrap();
        let fetch = acquire(
            &path,
            Holder::Fetch {
                what: "credentials for ReadOnly in account 123456789012".into(),
            },
            Duration::from_millis(20),
        )
        .unwrap_err();
        let text = fetch.to_string();
        assert!(
            text.contains(
                "fetching credentials for ReadOnly in account 123456789012 from IAM Identity Center"
            ),
            "{text}"
        );
        assert!(!text.contains("login"), "{text}");
        assert_eq!(fetch.exit_code(), awsx_core::exit::ExitCode::Failure);
        let login = acquire(
            &path,
            Holder::Session {
                session: "acme".into(),
            },
            Duration::from_millis(20),
        )
        .unwrap_err();
        assert!(
            login
                .to_string()
                .contains("sso-session acme: a login is in progress")
        );
        assert_eq!(login.exit_code(), awsx_core::exit::ExitCode::LoginRequired);
    }

    #[test]
    fn lock_names_are_sanitised() {
        let p = lock_path(
            Path::new("/c"),
            "role",
            &["acme corp", "123456789012", "Admin/x"],
        );
        assert_eq!(
            p,
            PathBuf::from("/c/locks/role-acme_corp-123456789012-Admin_x.lock")
        );
    }
}
