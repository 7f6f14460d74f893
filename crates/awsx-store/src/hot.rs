//! The hot tier: a keyutils cache in the user keyring in front of whatever the main
//! keychain is, so that a `credential_process` cache hit costs a few syscalls (about a
//! file read) instead of a D-Bus round trip to the Secret Service.
//!
//! Rules that keep it safe and cheap:
//! - A hit is `keyctl` search + read, then update + set-timeout of the same key to record
//!   when it was last used (plus, once per process under `keyctl session -`, the link that
//!   makes the user keyring possessed): no D-Bus, no runtime, no threads, no files.
//! - Each key's timeout is the value's expiry minus the freshness margin, so the kernel
//!   drops it before it would be served stale; a value already inside the margin is not
//!   cached at all.
//! - It never fails its caller: every problem means "miss" (or "not cached").
//!
//! The quota. The kernel charges each key's description and payload to its owner:
//! non-root users get `/proc/sys/kernel/keys/maxbytes` (20,000 bytes) and `maxkeys` (200
//! keys) in all, shared with every other program that uses keyutils; root gets 25 MB. So:
//! - Payloads are small: a binary header and the value in a compact form (JSON field names
//!   as one byte, base64 strings such as session tokens as the bytes they encode): a role's
//!   credentials take about 30 % less than their JSON.
//! - Every hit records its time in the key's header (same length: the charge does not
//!   change), so the tier knows which entries were used least recently.
//! - After each write (a miss: the caller has just read the keychain or the network), when
//!   less than [`HEADROOM`] remains free, awsx evicts: first expired `awsx-hot:` keys of
//!   any service (dead keys still count against the quota until the kernel's garbage
//!   collector runs, up to `gc_delay` = 5 min later), then this service's least recently
//!   used entries. Keeping headroom means the next write fits at once, without waiting
//!   for the kernel to release the quota of evicted keys (an RCU grace period later).
//! - A write refused for quota evicts the same way, waits briefly for the quota to be
//!   released and retries once, else skips: the main keychain still has the value.
//! - Never evicted: keys that are not `awsx-hot:` keys (other programs'), and live entries
//!   of other `AWSX_KEYCHAIN_SERVICE` names (another keychain namespace, e.g. a test run,
//!   whose owner decides for itself). Every HOME of the user shares the one user keyring,
//!   so entries of the same service written from another HOME are the same cache and
//!   compete in the same least-recently-used order.
//! - Descriptions are `awsx-hot:<service>:<entry>`: distinct from the keyutils backend's
//!   `awsx:<service>:` keys, and isolated per `AWSX_KEYCHAIN_SERVICE`.
use linux_keyutils::KeyError;
use time::OffsetDateTime;

use super::EntryName;
use super::keyutils::{KeyInfo, UserKeyring, seconds_until};
use awsx_core::secret::Secret;
use awsx_core::types::Expiration;

/// Free quota (bytes) the tier keeps after a write, so that the next write fits without
/// waiting: about three role entries.
pub const HEADROOM: usize = 2048;

/// Every hot description starts with this, whatever the service.
const HOT_PREFIX: &str = "awsx-hot:";

/// The payload's first bytes (format version 2; version 1 was text).
const MAGIC: &[u8; 3] = b"AH2";
/// Magic, last used (u64 LE, ns since the epoch), deadline (i64 LE, unix seconds: when
/// the key times out).
const HEADER_LEN: usize = 3 + 8 + 8;

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
            prefix: format!("{HOT_PREFIX}{service}:"),
        })
    }

    fn description(&self, name: &EntryName) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The cached value, or `None` (not cached, expired, unreadable or malformed). A hit
    /// records that the entry was used now.
    pub fn get(&self, name: &EntryName) -> Option<Secret<String>> {
        self.get_at(name, OffsetDateTime::now_utc())
    }

    fn get_at(&self, name: &EntryName, now: OffsetDateTime) -> Option<Secret<String>> {
        let description = self.description(name);
        let (key, mut payload) = self.ring.read_key_of(&description).ok()??;
        let Some(entry) = Header::decode(&payload) else {
            // Not written by this version of awsx: drop it so the next put is clean.
            let _ = self.ring.remove(&description);
            return None;
        };
        let Some(value) = unpack(&payload[HEADER_LEN..]) else {
            let _ = self.ring.remove(&description);
            return None;
        };
        let Some(timeout) = seconds_until(entry.deadline_at()?, now) else {
            // Its deadline has passed (the kernel rounds timeouts to seconds).
            let _ = self.ring.remove(&description);
            return None;
        };
        // Record the use. Same length, so the quota charge does not change. If another
        // process replaced the value in between, this puts back the value just read, which
        // was fresh, with its own deadline: at worst the previous credentials are served
        // until then. A failure only loses the record.
        Header {
            last_used: unix_nanos(now),
            deadline: entry.deadline,
        }
        .write_into(&mut payload);
        let _ = self.ring.update(key, &payload, timeout);
        Some(Secret::new(value))
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
        let deadline = expires_at.at() - margin;
        let Some(timeout) = seconds_until(deadline, now) else {
            let _ = self.ring.remove(&description);
            return;
        };
        let mut payload = vec![0; HEADER_LEN];
        Header {
            last_used: unix_nanos(now),
            deadline: deadline.unix_timestamp(),
        }
        .write_into(&mut payload);
        pack(value.expose(), &mut payload);
        let charge = description.len() + 1 + payload.len();
        // Any error other than a full quota means the value simply is not cached: the main
        // keychain has it.
        match self.ring.write(&description, &payload, Some(timeout)) {
            Ok(()) => {
                if self
                    .ring
                    .quota_room()
                    .is_some_and(|(keys, bytes)| keys < 2 || bytes < HEADROOM.max(charge))
                {
                    self.evict(HEADROOM.max(charge), &description, now, true);
                }
            }
            Err(KeyError::QuotaExceeded) => {
                // The write did not fit: count only what this eviction unlinks, since
                // quota that looked on its way back evidently was not yet.
                if self.evict(charge + HEADROOM, &description, now, false) {
                    // Evicted payloads are released at once; their descriptions and key
                    // counts only when the kernel collects them.
                    if let Err(KeyError::QuotaExceeded) =
                        self.ring.write(&description, &payload, Some(timeout))
                    {
                        self.ring.wait_for_quota(charge);
                        let _ = self.ring.write(&description, &payload, Some(timeout));
                    }
                }
            }
            Err(_) => {}
        }
    }

    /// Remove one entry (after a refresh, or `logout`).
    pub fn remove(&self, name: &EntryName) {
        let _ = self.ring.remove(&self.description(name));
    }

    /// Remove every hot entry of one SSO session (`logout`), whatever login wrote it.
    pub fn remove_session(&self, session: &awsx_core::types::SsoSessionName) {
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

    /// Make about `needed` bytes (and two keys) of quota free: unlink expired `awsx-hot:`
    /// keys of any service, then this service's least recently used entries (never
    /// `keep`, never anything else). Returns whether any quota is about to be released
    /// (unlinked now or a moment ago): then a write that did not fit may fit shortly.
    fn evict(&self, needed: usize, keep: &str, now: OffsetDateTime, count_released: bool) -> bool {
        let Ok(keys) = self.ring.linked_keys() else {
            return false;
        };
        // /proc/keys first: a key it shows as released may be gone from the quota by the
        // time /proc/key-users is read (counted twice: harmless, the next write that does
        // not fit evicts again), never the other way round (evicting too much).
        let (free_keys, free_bytes) = self.ring.quota_room().unwrap_or((0, 0));
        let mut room = Room {
            keys: free_keys,
            bytes: free_bytes,
            evicted: false,
            count_released,
        };
        let mut ours = Vec::new();
        for info in keys {
            if info.released {
                // Unlinked by an earlier eviction: its quota comes back in a moment.
                if count_released {
                    room.keys += 1;
                    room.bytes += info.charge();
                }
            } else if !info.is_user_key || !info.description.starts_with(HOT_PREFIX) {
                // Not ours to touch.
            } else if info.expired {
                room.unlink(&self.ring, &info);
            } else if info.description.starts_with(&self.prefix) && info.description != keep {
                ours.push(info);
            }
        }
        // Least recently used first; unreadable or foreign payloads before everything.
        let mut aged: Vec<(u64, KeyInfo)> = ours
            .into_iter()
            .map(|info| {
                let used = self
                    .ring
                    .read_key(info.key)
                    .ok()
                    .flatten()
                    .as_deref()
                    .and_then(Header::decode)
                    .filter(|h| h.deadline > now.unix_timestamp())
                    .map_or(0, |h| h.last_used);
                (used, info)
            })
            .collect();
        aged.sort_by_key(|(used, _)| *used);
        for (_, info) in aged {
            if room.bytes >= needed && room.keys >= 2 {
                break;
            }
            room.unlink(&self.ring, &info);
        }
        room.evicted
    }
}

/// The quota an eviction has made free so far (or found on its way back).
struct Room {
    keys: usize,
    bytes: usize,
    /// Some quota is about to be released: a write that failed is worth retrying.
    evicted: bool,
    /// Whether keys unlinked earlier count as free room.
    count_released: bool,
}

impl Room {
    /// Evict the key and count its quota as free. A key that is no longer linked was
    /// evicted a moment ago (`/proc/keys` shows a key until the kernel has collected it):
    /// its quota is on its way back too.
    fn unlink(&mut self, ring: &UserKeyring, info: &KeyInfo) {
        let unlinked = match ring.evict(info.key) {
            Ok(()) => true,
            Err(KeyError::MissingFileOrDirectory | KeyError::KeyDoesNotExist) => {
                self.count_released
            }
            Err(_) => false,
        };
        if unlinked {
            self.keys += 1;
            self.bytes += info.charge();
            self.evicted = true;
        }
    }
}

/// The fixed-length start of a hot payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    /// When the entry was last served or written, in nanoseconds since the epoch.
    last_used: u64,
    /// When its key times out, in unix seconds.
    deadline: i64,
}

impl Header {
    fn decode(payload: &[u8]) -> Option<Header> {
        let rest = payload.strip_prefix(MAGIC)?;
        let last_used = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
        let deadline = i64::from_le_bytes(rest.get(8..16)?.try_into().ok()?);
        Some(Header {
            last_used,
            deadline,
        })
    }

    /// Overwrite the first [`HEADER_LEN`] bytes of `payload` (which has at least that many).
    fn write_into(self, payload: &mut [u8]) {
        payload[..3].copy_from_slice(MAGIC);
        payload[3..11].copy_from_slice(&self.last_used.to_le_bytes());
        payload[11..19].copy_from_slice(&self.deadline.to_le_bytes());
    }

    fn deadline_at(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(self.deadline).ok()
    }
}

fn unix_nanos(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp_nanos()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// The compact value form

/// Field names awsx's cached values use, stored as their index (one byte).
const KNOWN_FIELDS: &[&str] = &[
    "access_key_id",
    "secret_access_key",
    "session_token",
    "expiration",
    "AccessKeyId",
    "SecretAccessKey",
    "SessionToken",
    "Expiration",
    "Version",
];
/// Marks a field name stored as its text.
const OTHER_FIELD: u8 = 0xff;
/// The value forms: raw text, or a flat JSON object of strings.
const RAW: u8 = 0;
const OBJECT: u8 = 1;
/// A string stored as its UTF-8 text, or as the bytes its (canonical) base64 encodes.
const TEXT: u8 = 0;
const BASE64: u8 = 1;

/// Append the compact form of `value`: a flat JSON object of strings becomes a list of
/// (field, string) with known field names as one byte and base64 strings as bytes;
/// anything else stays text. [`unpack`] gives back an equivalent JSON text (same fields
/// and values; field order and whitespace are not kept).
fn pack(value: &str, out: &mut Vec<u8>) {
    let Some(fields) = flat_string_object(value) else {
        out.push(RAW);
        out.extend_from_slice(value.as_bytes());
        return;
    };
    out.push(OBJECT);
    for (name, text) in fields {
        match KNOWN_FIELDS.iter().position(|k| *k == name) {
            Some(i) => out.push(i as u8),
            None => {
                out.push(OTHER_FIELD);
                put_bytes(out, name.as_bytes());
            }
        }
        match base64::decode(&text) {
            Some(bytes) if text.len() >= 16 => {
                out.push(BASE64);
                put_bytes(out, &bytes);
            }
            _ => {
                out.push(TEXT);
                put_bytes(out, text.as_bytes());
            }
        }
    }
}

/// The value [`pack`] stored, as text.
fn unpack(packed: &[u8]) -> Option<String> {
    let (&form, mut rest) = packed.split_first()?;
    match form {
        RAW => String::from_utf8(rest.to_vec()).ok(),
        OBJECT => {
            let mut object = serde_json::Map::new();
            while let Some((&field, tail)) = rest.split_first() {
                rest = tail;
                let name = match field {
                    OTHER_FIELD => String::from_utf8(take_bytes(&mut rest)?.to_vec()).ok()?,
                    i => (*KNOWN_FIELDS.get(usize::from(i))?).to_owned(),
                };
                let (&kind, tail) = rest.split_first()?;
                rest = tail;
                let bytes = take_bytes(&mut rest)?;
                let text = match kind {
                    TEXT => String::from_utf8(bytes.to_vec()).ok()?,
                    BASE64 => base64::encode(bytes),
                    _ => return None,
                };
                object.insert(name, serde_json::Value::String(text));
            }
            serde_json::to_string(&object).ok()
        }
        _ => None,
    }
}

/// The fields of a JSON object whose values are all strings, in order; `None` for any
/// other JSON or text.
fn flat_string_object(value: &str) -> Option<Vec<(String, String)>> {
    let serde_json::Value::Object(object) = serde_json::from_str(value).ok()? else {
        return None;
    };
    object
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) if k.len() < 256 && s.len() <= MAX_STRING => Some((k, s)),
            _ => None,
        })
        .collect()
}

/// The longest string the object form holds (its length is a u16); a longer one keeps
/// the whole value as text (no user key's payload is that long anyway).
const MAX_STRING: usize = u16::MAX as usize;

/// A length (u16 LE) and the bytes (at most [`MAX_STRING`]: see `flat_string_object`).
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&bytes[..usize::from(len)]);
}

fn take_bytes<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::from(u16::from_le_bytes(rest.get(..2)?.try_into().ok()?));
    let bytes = rest.get(2..2 + len)?;
    *rest = &rest[2 + len..];
    Some(bytes)
}

/// Standard base64 (RFC 4648, `+/`, `=` padding), strict: [`decode`](base64::decode)
/// accepts only text that [`encode`](base64::encode) gives back byte for byte.
mod base64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    pub fn decode(text: &str) -> Option<Vec<u8>> {
        if text.is_empty() || !text.len().is_multiple_of(4) {
            return None;
        }
        let mut out = Vec::with_capacity(text.len() / 4 * 3);
        let sixbits = |c: u8| ALPHABET.iter().position(|a| *a == c).map(|p| p as u32);
        for quad in text.as_bytes().chunks(4) {
            let pad = quad.iter().rev().take_while(|c| **c == b'=').count();
            if pad > 2 {
                return None;
            }
            let mut n = 0;
            for &c in &quad[..4 - pad] {
                n = n << 6 | sixbits(c)?;
            }
            n <<= 6 * pad as u32;
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&bytes[..3 - pad]);
        }
        // Padding only at the very end, and unused bits zero: anything else would not
        // come back the same from `encode`.
        (encode(&out) == text).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(value: &str) -> Vec<u8> {
        let mut out = Vec::new();
        pack(value, &mut out);
        out
    }

    fn same_json(a: &str, b: &str) -> bool {
        serde_json::from_str::<serde_json::Value>(a).unwrap()
            == serde_json::from_str::<serde_json::Value>(b).unwrap()
    }

    #[test]
    fn header_round_trips_and_foreign_payloads_are_rejected() {
        let header = Header {
            last_used: 1_700_000_000_123_456_789,
            deadline: 1_700_003_600,
        };
        let mut payload = vec![0; HEADER_LEN];
        header.write_into(&mut payload);
        payload.extend_from_slice(b"rest");
        assert_eq!(Header::decode(&payload), Some(header));
        assert_eq!(Header::decode(b"plain"), None);
        assert_eq!(Header::decode(b"awsx-hot1 1700000000\nv"), None);
        assert_eq!(Header::decode(b"AH2short"), None);
    }

    #[test]
    fn role_credentials_take_less_room_and_come_back_equal() {
        let token = format!("IQoJb3JpZ2luX2VjEJr/{}Ag==", "Ab+/".repeat(200));
        let json = format!(
            r#"{{"access_key_id":"ASIAAAAABBBBCCCCDDDD","secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","session_token":"{token}","expiration":"2026-12-06T13:00:00Z"}}"#
        );
        let p = packed(&json);
        assert!(
            p.len() * 100 < json.len() * 78,
            "{} bytes packed for {} of JSON",
            p.len(),
            json.len()
        );
        assert!(same_json(&unpack(&p).unwrap(), &json));
    }

    #[test]
    fn anything_else_is_kept_as_it_is() {
        for value in [
            "plain text",
            "",
            r#"{"n":1}"#,
            r#"{"nested":{"a":"b"}}"#,
            "[1,2]",
            r#"{"odd_base64":"QUJD=x==","unknown field":"ABCDEFGHIJKLMNOPQRSTUVWX"}"#,
        ] {
            let back = unpack(&packed(value)).unwrap();
            if value.starts_with("{\"odd") {
                assert!(same_json(&back, value), "{value}");
            } else {
                assert_eq!(back, value);
            }
        }
        assert_eq!(unpack(&[9, 1, 2]), None);
        assert_eq!(unpack(&[OBJECT, 0, TEXT, 5, 0, b'a']), None);
    }

    #[test]
    fn base64_is_strict() {
        for text in ["QUJD", "QUI=", "QQ==", "Ab+/Ab+/"] {
            assert_eq!(base64::encode(&base64::decode(text).unwrap()), text);
        }
        // Non-zero unused bits, padding in the middle, wrong length, other alphabet.
        for text in ["QR==", "QQ==QUJD", "QUJ", "Ab-_", "", "===="] {
            assert_eq!(base64::decode(text), None, "{text}");
        }
    }
}
