//! The hot tier: a keyutils cache in the user keyring in front of whatever the main
//! keychain is, so that a `credential_process` cache hit costs a few syscalls (about a
//! file read) instead of a D-Bus round trip to the Secret Service.
//!
//! Rules that keep it safe and cheap:
//! - A hit is `keyctl` search + read (plus, once per process under `keyctl session -`,
//!   the link that makes the user keyring possessed): no D-Bus, no runtime, no threads.
//! - Each key's timeout is the value's expiry minus the freshness margin, so the kernel
//!   drops it before it would be served stale; a value already inside the margin is not
//!   cached at all.
//! - It never fails its caller: every problem means "miss" (or "not cached"). When the
//!   kernel's per-user quota (`/proc/sys/kernel/keys/maxbytes`, 20,000 bytes for users)
//!   is full, awsx evicts its own oldest hot entries and retries once (after the kernel
//!   has released their quota, which takes an RCU grace period), else skips.
//! - Descriptions are `awsx-hot:<service>:<entry>`: distinct from the keyutils backend's
//!   `awsx:<service>:` keys, and isolated per `AWSX_KEYCHAIN_SERVICE`.
use linux_keyutils::KeyError;
use time::OffsetDateTime;

use super::EntryName;
use super::keyutils::{UserKeyring, seconds_until};
use crate::secret::Secret;
use crate::types::Expiration;

/// The payload starts with this and the time it was written, so that eviction can find
/// the oldest entries (key serial numbers are random, and the kernel keeps no creation
/// time that a user can read cheaply).
const HEADER: &str = "awsx-hot1 ";

/// The keyutils cache in front of the main keychain (Linux only).
#[derive(Debug)]
pub struct HotTier {
    ring: UserKeyring,
    prefix: String,
}

impl HotTier {
    /// The hot tier of keychain service `service`, unless keyutils cannot be used here (e.g.
    /// a container whose seccomp profile blocks `keyctl`). Whether to use it at all is the
    /// `hot_tier` setting's business, checked by the caller: `logout` clears it regardless.
    pub fn open(service: &str) -> Option<HotTier> {
        Some(HotTier {
            ring: UserKeyring::open().ok()?,
            prefix: format!("awsx-hot:{service}:"),
        })
    }

    fn description(&self, name: &EntryName) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The cached value, or `None` (not cached, expired, unreadable or malformed).
    pub fn get(&self, name: &EntryName) -> Option<Secret<String>> {
        let description = self.description(name);
        let payload = self.ring.read(&description).ok()??;
        match decode(payload) {
            Some((_, value)) => Some(Secret::new(value)),
            None => {
                // Not written by this version of awsx: drop it so the next put is clean.
                let _ = self.ring.remove(&description);
                None
            }
        }
    }

    /// Cache `value` until `expires_at - margin`. Skipped (and any older copy removed)
    /// when that moment is less than a second away. Never fails.
    pub fn put(
        &self,
        name: &EntryName,
        value: &Secret<String>,
        expires_at: Expiration,
        margin: time::Duration,
    ) {
        self.put_at(name, value, expires_at, margin, OffsetDateTime::now_utc());
    }

    fn put_at(
        &self,
        name: &EntryName,
        value: &Secret<String>,
        expires_at: Expiration,
        margin: time::Duration,
        now: OffsetDateTime,
    ) {
        let description = self.description(name);
        let Some(timeout) = seconds_until(expires_at.at() - margin, now) else {
            let _ = self.ring.remove(&description);
            return;
        };
        let payload = encode(now, value.expose());
        // Any error other than a full quota means the value simply is not cached: the main
        // keychain has it.
        if let Err(KeyError::QuotaExceeded) = self.ring.write(&description, &payload, Some(timeout))
            && self.evict_oldest(description.len() + payload.len(), &description)
        {
            self.ring.wait_for_quota(description.len() + payload.len());
            let _ = self.ring.write(&description, &payload, Some(timeout));
        }
    }

    /// Remove one entry (after a refresh, or `logout`).
    pub fn remove(&self, name: &EntryName) {
        let _ = self.ring.remove(&self.description(name));
    }

    /// Remove every hot entry of one SSO session (`logout`), whatever login wrote it.
    pub fn remove_session(&self, session: &crate::types::SsoSessionName) {
        let prefix = format!("{}role:{session}/", self.prefix);
        if let Ok(keys) = self.ring.keys_with_prefix(&prefix) {
            for (key, _) in keys {
                let _ = self.ring.unlink(key);
            }
        }
    }

    /// Remove every hot entry of this service (`logout --all`).
    pub fn clear_all(&self) {
        if let Ok(keys) = self.ring.keys_with_prefix(&self.prefix) {
            for (key, _) in keys {
                let _ = self.ring.unlink(key);
            }
        }
    }

    /// Unlink this service's oldest hot entries (never `keep`) until about `needed`
    /// bytes of quota are free. Returns whether anything was evicted.
    fn evict_oldest(&self, needed: usize, keep: &str) -> bool {
        let Ok(keys) = self.ring.keys_with_prefix(&self.prefix) else {
            return false;
        };
        let mut aged: Vec<_> = keys
            .into_iter()
            .filter(|(_, desc)| desc != keep)
            .map(|(key, desc)| {
                let payload = self.ring.read_key(key).ok().flatten();
                let size = desc.len() + payload.as_ref().map_or(0, Vec::len);
                // Unreadable or foreign payloads go first.
                let written = payload.and_then(decode).map_or(i64::MIN, |(t, _)| t);
                (written, size, key)
            })
            .collect();
        aged.sort_by_key(|(written, _, _)| *written);
        let mut freed = 0;
        let mut evicted = false;
        for (_, size, key) in aged {
            if freed >= needed {
                break;
            }
            if self.ring.unlink(key).is_ok() {
                freed += size;
                evicted = true;
            }
        }
        evicted
    }
}

fn encode(now: OffsetDateTime, value: &str) -> Vec<u8> {
    format!("{HEADER}{}\n{value}", now.unix_timestamp()).into_bytes()
}

/// `(written at, value)` from a hot payload.
fn decode(payload: Vec<u8>) -> Option<(i64, String)> {
    let text = String::from_utf8(payload).ok()?;
    let rest = text.strip_prefix(HEADER)?;
    let (written, value) = rest.split_once('\n')?;
    Some((written.parse().ok()?, value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_with_its_write_time() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let payload = encode(now, "{\"a\":\n1}");
        assert_eq!(
            decode(payload),
            Some((1_700_000_000, "{\"a\":\n1}".to_owned()))
        );
    }

    #[test]
    fn foreign_payloads_are_rejected() {
        assert_eq!(decode(b"plain".to_vec()), None);
        assert_eq!(decode(b"awsx-hot1 x\nv".to_vec()), None);
        assert_eq!(decode(vec![0xff, 0xfe]), None);
    }
}
