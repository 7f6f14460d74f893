//! The kernel keyutils user keyring: in kernel memory, never on disk, shared by all of the
//! user's terminals, gone at reboot. Used as a main backend (`AWSX_KEYCHAIN=keyutils`) and,
//! through [`UserKeyring`], by the [hot tier](super::hot).
//!
//! This talks to the kernel through `linux-keyutils` directly rather than keyring-core's
//! `linux-keyutils-keyring-store`, because that store (1.0) keeps keys in the *session*
//! keyring (so a process under `keyctl session -` would see a private, empty store instead
//! of the user's), cannot give a key a timeout (the expiry hint), and cannot list entries
//! (`logout --all --purge`).
//!
//! Possession: a key created with `add_key` grants read, write and setattr only to
//! processes that *possess* it (reach it from their own thread/process/session keyrings);
//! other processes of the same user may only view it. A login session links the user
//! keyring into its session keyring, but `keyctl session -` (or a systemd service) does
//! not. When an operation is refused for that reason, awsx links the user keyring into
//! its own *process* keyring, which makes the keys possessed for this process only and
//! leaves the shared session keyring untouched.
use std::time::Duration;

use linux_keyutils::{Key, KeyError, KeyRing, KeyRingIdentifier, KeyType};
use time::OffsetDateTime;

use super::{Backend, EntryName, SecretStore, StoreError};
use awsx_core::secret::Secret;
use awsx_core::types::Expiration;

/// How many links of the user keyring `list` reads at most (the kernel's default
/// `maxkeys` is 200 for users; root's is much higher).
const MAX_LINKS: usize = 1 << 16;

/// The user keyring, with the few operations awsx needs. Each is one or two syscalls.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserKeyring {
    ring: KeyRing,
}

impl UserKeyring {
    pub(crate) fn open() -> Result<Self, KeyError> {
        Ok(UserKeyring {
            ring: KeyRing::from_special_id(KeyRingIdentifier::User, true)?,
        })
    }

    /// Run `op`; if the kernel refuses it because this process does not possess the user
    /// keyring, link the user keyring into the process keyring and run it once more.
    fn possessing<T>(&self, op: impl Fn() -> Result<T, KeyError>) -> Result<T, KeyError> {
        match op() {
            Err(KeyError::AccessDenied) => {
                // The process keyring hangs off each thread's credentials, so every thread
                // links on its first refusal. Linking twice is harmless.
                let process = KeyRing::from_special_id(KeyRingIdentifier::Process, true)?;
                process.link_keyring_id(KeyRingIdentifier::User)?;
                op()
            }
            other => other,
        }
    }

    fn find(&self, description: &str) -> Result<Option<Key>, KeyError> {
        match self.ring.search(description) {
            Ok(key) => Ok(Some(key)),
            Err(e) if is_gone(e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The payload of the key with this description, if there is one.
    pub(crate) fn read(&self, description: &str) -> Result<Option<Vec<u8>>, KeyError> {
        self.possessing(|| {
            let Some(key) = self.find(description)? else {
                return Ok(None);
            };
            match key.read_to_vec() {
                Ok(payload) => Ok(Some(payload)),
                // It expired or was removed between the search and the read.
                Err(e) if is_gone(e) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    /// Create or replace the key, with a timeout in seconds (`None`: no timeout). A key
    /// whose timeout cannot be set is removed again: it must not outlive its value.
    pub(crate) fn write(
        &self,
        description: &str,
        payload: &[u8],
        timeout_secs: Option<u64>,
    ) -> Result<(), KeyError> {
        self.possessing(|| {
            let key = self.ring.add_key(description, payload)?;
            // add_key updates an existing key in place and keeps its old timeout, so the
            // timeout is always set (0 clears it).
            let secs = usize::try_from(timeout_secs.unwrap_or(0)).unwrap_or(usize::MAX);
            key.set_timeout(secs).inspect_err(|_| {
                let _ = key.invalidate();
            })
        })
    }

    /// Remove the key; `false` if there was none.
    pub(crate) fn remove(&self, description: &str) -> Result<bool, KeyError> {
        self.possessing(|| match self.find(description)? {
            None => Ok(false),
            Some(key) => match key.invalidate() {
                Ok(()) => Ok(true),
                Err(e) if is_gone(e) => Ok(false),
                Err(e) => Err(e),
            },
        })
    }

    /// Unlink a key from the user keyring. Unlike `invalidate`, which leaves the work to
    /// the kernel's garbage collector, dropping the last link releases the key's quota at
    /// once, which is what the hot tier needs before it retries a write.
    pub(crate) fn unlink(&self, key: Key) -> Result<(), KeyError> {
        self.ring.unlink_key(key)
    }

    /// The key with this description and its payload, if there is one (for a read that
    /// then [updates](Self::update) the same key).
    pub(crate) fn read_key_of(
        &self,
        description: &str,
    ) -> Result<Option<(Key, Vec<u8>)>, KeyError> {
        self.possessing(|| {
            let Some(key) = self.find(description)? else {
                return Ok(None);
            };
            match key.read_to_vec() {
                Ok(payload) => Ok(Some((key, payload))),
                Err(e) if is_gone(e) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    /// Replace the payload of `key` and set its timeout (an update clears the timeout, so
    /// both are needed): two syscalls, and no change of quota when the length is the same.
    pub(crate) fn update(
        &self,
        key: Key,
        payload: &[u8],
        timeout_secs: u64,
    ) -> Result<(), KeyError> {
        self.possessing(|| {
            key.update(&payload)?;
            key.set_timeout(usize::try_from(timeout_secs).unwrap_or(usize::MAX))
                .inspect_err(|_| {
                    let _ = key.invalidate();
                })
        })
    }

    /// Free (keys, bytes) of this user's key quota, from `/proc/key-users`.
    pub(crate) fn quota_room(&self) -> Option<(usize, usize)> {
        quota_room(self.ring.metadata().ok()?.get_uid())
    }

    /// This user's keys as `/proc/keys` lists them, expired ones included (a dead key still
    /// counts against the quota until the kernel's garbage collector runs, up to
    /// `/proc/sys/kernel/keys/gc_delay` seconds later, and no keyctl call can describe it).
    /// Without `/proc/keys`, the live keys linked in the user keyring.
    pub(crate) fn linked_keys(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let uid = self.ring.metadata()?.get_uid();
        if let Ok(table) = std::fs::read_to_string("/proc/keys") {
            return Ok(table
                .lines()
                .filter_map(|l| KeyInfo::parse(l, uid))
                .collect());
        }
        let links = self.ring.get_links(MAX_LINKS)?;
        Ok(links
            .iter()
            .filter_map(|node| node.as_key())
            .filter_map(|key| {
                let meta = key.metadata().ok()?;
                let datalen = self.read_key(key).ok().flatten().map_or(0, |p| p.len());
                Some(KeyInfo {
                    key,
                    description: meta.get_description().to_owned(),
                    is_user_key: meta.get_type() == KeyType::User,
                    expired: false,
                    released: false,
                    datalen,
                })
            })
            .collect())
    }

    /// Evict a key from the user keyring: shrink its payload to one byte, which gives its
    /// payload's quota back at once (an unlinked key keeps all of its quota until the
    /// kernel's garbage collector has run, after an RCU grace period: tens of ms, more
    /// when many keys wait), then unlink it. The shrink needs the key to be possessed and
    /// alive; an expired key is only unlinked.
    pub(crate) fn evict(&self, key: Key) -> Result<(), KeyError> {
        let _ = self.possessing(|| key.update(&[0u8]));
        self.unlink(key)
    }

    /// Wait (briefly) until the kernel has released the quota of unlinked keys: it does so
    /// only after an RCU grace period, so a write retried at once would still fail. Reads
    /// `/proc/key-users`; gives up after about 20 ms (a Secret Service read's time).
    pub(crate) fn wait_for_quota(&self, needed_bytes: usize) {
        let Ok(uid) = self.ring.metadata().map(|m| m.get_uid()) else {
            return;
        };
        for _ in 0..10 {
            match quota_room(uid) {
                Some((keys, bytes)) if keys > 0 && bytes >= needed_bytes => return,
                None => return,
                Some(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    }

    /// The user-type keys directly in the user keyring whose description starts with
    /// `prefix`, with their descriptions.
    pub(crate) fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<(Key, String)>, KeyError> {
        let links = self.ring.get_links(MAX_LINKS)?;
        Ok(links
            .iter()
            .filter_map(|node| node.as_key())
            .filter_map(|key| {
                let meta = key.metadata().ok()?;
                (meta.get_type() == KeyType::User && meta.get_description().starts_with(prefix))
                    .then(|| (key, meta.get_description().to_owned()))
            })
            .collect())
    }

    /// Read a key found by [`keys_with_prefix`](Self::keys_with_prefix).
    pub(crate) fn read_key(&self, key: Key) -> Result<Option<Vec<u8>>, KeyError> {
        self.possessing(|| match key.read_to_vec() {
            Ok(payload) => Ok(Some(payload)),
            Err(e) if is_gone(e) => Ok(None),
            Err(e) => Err(e),
        })
    }
}

/// A key of this user, as `/proc/keys` describes it.
#[derive(Debug, Clone)]
pub(crate) struct KeyInfo {
    pub key: Key,
    pub description: String,
    /// A key of type `user` (the only type awsx creates).
    pub is_user_key: bool,
    pub expired: bool,
    /// Unlinked everywhere, invalidated or dead: the kernel is about to release its quota.
    pub released: bool,
    pub datalen: usize,
}

impl KeyInfo {
    /// What the key is charged against the quota: its description (with the NUL) and
    /// payload.
    pub fn charge(&self) -> usize {
        self.description.len() + 1 + self.datalen
    }

    /// One `/proc/keys` line, if it is a key of `uid`:
    /// `0a1b2c3d I--Q---     1   3h 3f010000  1000  1000 user      awsx-hot:x:y: 412`
    /// (serial, flags, usage, timeout or `perm`/`expd`, permissions, uid, gid, type,
    /// description and, for a user key with a payload, `: length`).
    fn parse(line: &str, uid: u32) -> Option<KeyInfo> {
        let mut fields = line.split_whitespace();
        let serial = i32::from_str_radix(fields.next()?, 16).ok()?;
        let flags = fields.next()?;
        let usage: u32 = fields.next()?.parse().ok()?;
        let timeout = fields.next()?;
        let _perm = fields.next()?;
        if fields.next()?.parse::<u32>().ok()? != uid {
            return None;
        }
        let _gid = fields.next()?;
        let kind = fields.next()?;
        // The description is what follows the type column (padded to 9 characters).
        let start = line.find(&format!(" {kind} "))? + kind.len() + 2;
        let rest = line[start..].trim_start();
        let (description, datalen) = match rest.rsplit_once(": ") {
            Some((d, n)) if n.trim().parse::<usize>().is_ok() => (d, n.trim().parse().ok()?),
            _ => (rest, 0),
        };
        Some(KeyInfo {
            key: Key::from_id(linux_keyutils::KeySerialId::new(serial)),
            description: description.to_owned(),
            is_user_key: kind == "user",
            expired: timeout == "expd" || flags.contains('R'),
            released: usage == 0 || flags.contains(['D', 'i']),
            datalen,
        })
    }
}

/// Free (keys, bytes) of `uid`'s key quota, from a `/proc/key-users` line such as
/// `1000:    5 5/5 4/200 3012/20000`.
fn quota_room(uid: u32) -> Option<(usize, usize)> {
    let table = std::fs::read_to_string("/proc/key-users").ok()?;
    let line = table
        .lines()
        .find(|l| l.trim_start().strip_prefix(&format!("{uid}:")).is_some())?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let ratio = |f: &str| -> Option<(usize, usize)> {
        let (used, max) = f.split_once('/')?;
        Some((used.parse().ok()?, max.parse().ok()?))
    };
    let (keys, max_keys) = ratio(fields.get(3)?)?;
    let (bytes, max_bytes) = ratio(fields.get(4)?)?;
    Some((
        max_keys.saturating_sub(keys),
        max_bytes.saturating_sub(bytes),
    ))
}

/// The errors that mean "no such key (any more)".
fn is_gone(e: KeyError) -> bool {
    matches!(
        e,
        KeyError::KeyDoesNotExist
            | KeyError::KeyExpired
            | KeyError::KeyRevoked
            | KeyError::KeyRejected
    )
}

/// Whole seconds from now until `expires`, rounded down so that a key never outlives
/// the value it holds; `None` when that is less than a second.
pub(crate) fn seconds_until(expires: OffsetDateTime, now: OffsetDateTime) -> Option<u64> {
    let secs = (expires - now).whole_seconds();
    u64::try_from(secs).ok().filter(|s| *s > 0)
}

pub(crate) fn store_error(e: KeyError) -> StoreError {
    let backend = Backend::Keyutils;
    match e {
        KeyError::AccessDenied | KeyError::PermissionDenied => StoreError::NotPermitted {
            backend,
            detail: format!("keyctl: {e}"),
        },
        KeyError::QuotaExceeded => StoreError::Quota { backend },
        // ENOSYS: a kernel without keys, or a seccomp filter that hides keyctl.
        KeyError::OperationNotSupported | KeyError::Unknown(38) => StoreError::Unavailable {
            backend,
            detail: format!("keyctl: {e}"),
        },
        other => StoreError::Backend {
            backend,
            detail: format!("keyctl: {other}"),
        },
    }
}

/// `AWSX_KEYCHAIN=keyutils`: one user key per entry, described `awsx:<service>:<entry>`.
#[derive(Debug)]
pub struct KeyutilsStore {
    ring: UserKeyring,
    prefix: String,
}

impl KeyutilsStore {
    pub fn open(service: &str) -> Result<Self, StoreError> {
        let ring = UserKeyring::open().map_err(|e| match e {
            // Opening fails only when keyutils cannot be used at all here.
            KeyError::AccessDenied | KeyError::PermissionDenied => StoreError::Unavailable {
                backend: Backend::Keyutils,
                detail: format!("keyctl: {e}"),
            },
            other => match store_error(other) {
                StoreError::Backend { backend, detail } => {
                    StoreError::Unavailable { backend, detail }
                }
                err => err,
            },
        })?;
        Ok(KeyutilsStore {
            ring,
            prefix: format!("awsx:{service}:"),
        })
    }

    fn description(&self, name: &EntryName) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl SecretStore for KeyutilsStore {
    fn get(&self, name: &EntryName) -> Result<Option<Secret<String>>, StoreError> {
        let Some(payload) = self
            .ring
            .read(&self.description(name))
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        String::from_utf8(payload)
            .map(|s| Some(Secret::new(s)))
            .map_err(|_| StoreError::NotUtf8 {
                backend: Backend::Keyutils,
                name: name.clone(),
            })
    }

    fn set(
        &self,
        name: &EntryName,
        value: &Secret<String>,
        expires: Option<Expiration>,
    ) -> Result<(), StoreError> {
        let description = self.description(name);
        let timeout = match expires {
            None => None,
            Some(at) => match seconds_until(at.at(), OffsetDateTime::now_utc()) {
                Some(secs) => Some(secs),
                // Already expired: keeping it would only serve a dead credential.
                None => {
                    self.ring.remove(&description).map_err(store_error)?;
                    return Ok(());
                }
            },
        };
        self.ring
            .write(&description, value.expose().as_bytes(), timeout)
            .map_err(store_error)
    }

    fn delete(&self, name: &EntryName) -> Result<bool, StoreError> {
        self.ring
            .remove(&self.description(name))
            .map_err(store_error)
    }

    fn list(&self) -> Result<Vec<EntryName>, StoreError> {
        let keys = self
            .ring
            .keys_with_prefix(&self.prefix)
            .map_err(store_error)?;
        let mut names: Vec<EntryName> = keys
            .iter()
            .filter_map(|(_, desc)| desc.strip_prefix(&self.prefix)?.parse().ok())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn backend(&self) -> Backend {
        Backend::Keyutils
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_down_and_vanish_when_expired() {
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        let at = |s| OffsetDateTime::from_unix_timestamp(s).unwrap();
        assert_eq!(seconds_until(at(1_060), now), Some(60));
        assert_eq!(
            seconds_until(at(1_001) - time::Duration::milliseconds(1), now),
            None
        );
        assert_eq!(seconds_until(at(1_000), now), None);
        assert_eq!(seconds_until(at(900), now), None);
    }

    #[test]
    fn proc_keys_lines_give_description_size_and_state() {
        let live =
            "0a1b2c3d I--Q---     1   3h 3f010000  1000  1000 user      awsx-hot:s:role:a/1/R: 412";
        let info = KeyInfo::parse(live, 1000).unwrap();
        assert_eq!(info.key.get_id().as_raw_id(), 0x0a1b_2c3d);
        assert_eq!(info.description, "awsx-hot:s:role:a/1/R");
        assert_eq!(
            (info.datalen, info.expired, info.is_user_key),
            (412, false, true)
        );
        assert_eq!(info.charge(), 21 + 1 + 412);
        let dead = "1f000001 I--Q---     1 expd 3f010000  1000  1000 user      other: 9";
        assert!(KeyInfo::parse(dead, 1000).unwrap().expired);
        let ring = "2f000001 I--Q---     3 perm 3f030000  1000  1000 keyring   _uid.1000: empty";
        let info = KeyInfo::parse(ring, 1000).unwrap();
        assert!(!info.is_user_key && !info.expired && !info.released);
        let unlinked = "3f000001 I--Q---     0   3h 3f010000  1000  1000 user      awsx-hot:s:x: 9";
        assert!(KeyInfo::parse(unlinked, 1000).unwrap().released);
        assert!(KeyInfo::parse(live, 0).is_none(), "another user's key");
        assert!(KeyInfo::parse("garbage", 1000).is_none());
    }

    #[test]
    fn quota_and_permission_errors_are_told_apart() {
        assert!(matches!(
            store_error(KeyError::QuotaExceeded),
            StoreError::Quota { .. }
        ));
        assert!(matches!(
            store_error(KeyError::AccessDenied),
            StoreError::NotPermitted { .. }
        ));
        assert!(matches!(
            store_error(KeyError::Unknown(38)),
            StoreError::Unavailable { .. }
        ));
    }
}
