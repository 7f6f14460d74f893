//! Identifiers and secrets that look like AWS's own: random ones for issued secrets,
//! deterministic ones (hashes of names) for things that exist in the fixture.

use sha2::{Digest, Sha256};

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn pick(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[fastrand::usize(..alphabet.len())]))
        .collect()
}

/// A temporary access key id: ASIA + 16 (AWS's alphabet is upper case and digits 2-7).
pub fn temporary_access_key_id() -> String {
    format!("ASIA{}", pick(UPPER_ALNUM, 16))
}

/// A long-term access key id: AKIA + 16.
pub fn long_term_access_key_id() -> String {
    format!("AKIA{}", pick(UPPER_ALNUM, 16))
}

/// 40 characters, like real secret access keys.
pub fn secret_access_key() -> String {
    pick(B64, 40)
}

/// A session token; real ones are a few hundred base64 characters starting `IQoJb3JpZ2lu`.
pub fn session_token() -> String {
    // Base64 of a binary blob, as real ones are (316 characters: no padding needed).
    format!("IQoJb3JpZ2luX2VjE{}", pick(B64, 299))
}

/// An opaque token for OIDC (access/refresh tokens, device codes, client secrets).
pub fn opaque(prefix: &str, len: usize) -> String {
    format!("{prefix}{}", pick(B64URL, len))
}

pub fn alnum(len: usize) -> String {
    pick(ALNUM, len)
}

/// `ABCD-EFGH`, from letters that cannot be confused with one another.
pub fn user_code() -> String {
    const LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    format!("{}-{}", pick(LETTERS, 4), pick(LETTERS, 4))
}

/// A v4-UUID-shaped request id.
pub fn request_id() -> String {
    let h = pick(b"0123456789abcdef", 32);
    format!(
        "{}-{}-4{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[16..20],
        &h[20..32]
    )
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// A stable 17-character id suffix (AROA…/AIDA… ids are 21 characters).
fn stable_suffix(parts: &[&str]) -> String {
    digest(parts)
        .iter()
        .take(17)
        .map(|b| char::from(UPPER_ALNUM[usize::from(*b) % UPPER_ALNUM.len()]))
        .collect()
}

/// The unique id of a role (`AROA…`), stable for a given account and role name.
pub fn role_id(account: &str, role: &str) -> String {
    format!("AROA{}", stable_suffix(&["role", account, role]))
}

/// The unique id of an IAM user (`AIDA…`).
pub fn user_id(account: &str, user: &str) -> String {
    format!("AIDA{}", stable_suffix(&["user", account, user]))
}

/// The 16 hex digits Identity Center appends to a permission set's role name.
pub fn sso_role_suffix(account: &str, permission_set: &str) -> String {
    hex::encode(&digest(&["sso", account, permission_set])[..8])
}

/// Unpadded base64url, as PKCE's S256 challenge uses.
pub fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(B64URL[idx as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc7636_example() {
        // RFC 7636 appendix B.
        let challenge = base64url(&Sha256::digest(
            b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ));
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn ids_have_aws_shapes() {
        assert_eq!(temporary_access_key_id().len(), 20);
        assert_eq!(role_id("1", "r").len(), 21);
        assert_eq!(sso_role_suffix("1", "Admin").len(), 16);
        assert_eq!(user_code().len(), 9);
        assert_eq!(request_id().len(), 36);
    }
}
