//! Single flight across processes: an OS file lock per session or per (session, account,
//! role) in awsx's cache directory. One process does the network step while the others
//! wait, then re-read what it stored. The kernel releases a lock when its holder dies, so
//! a crashed awsx never blocks the next one.
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "gave up after {waited_secs} s waiting for another awsx process ({what}); a login is in progress in another terminal, finish it there or try again"
    )]
    TimedOut { what: String, waited_secs: u64 },
    #[error("cannot open lock file {path}: {source}; check that the cache directory is writable")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
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

/// Take the exclusive lock at `path`, waiting at most `wait`.
pub fn acquire(
    path: &Path,
    what: &str,
    wait: Duration,
) -> Result<(LockGuard, Acquired), LockError> {
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
                    return Err(LockError::TimedOut {
                        what: what.to_owned(),
                        waited_secs: wait.as_secs(),
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
        let (first, how) = acquire(&path, "test", Duration::from_secs(1)).unwrap();
        assert_eq!(how, Acquired::Immediately);
        let err = acquire(&path, "test", Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, LockError::TimedOut { .. }), "{err}");
        drop(first);
        assert!(acquire(&path, "test", Duration::from_millis(50)).is_ok());
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
