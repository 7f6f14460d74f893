//! Binding: every cached secret is served only to the login that made it.
//!
//! Design notes (the user-facing rules are in docs/keychain.md):
//! - An SSO token and a client registration are bound to the `[sso-session]`'s start URL
//!   and region, which they carry. A token read for a session whose configuration names
//!   another portal or region is "not logged in".
//! - Role credentials (the keychain entry `role:…` and its hot-tier copy) are stored as a
//!   [`BoundRole`]: the credentials plus the [`Binding`] of the token that fetched them —
//!   start URL, region and a random [`LoginId`] minted at each login (kept across refreshes).
//! - What a read expects comes from the configuration (start URL, region) and from the
//!   [`SessionRecord`], a small non-secret JSON file per session in awsx's cache directory
//!   (so per HOME): the login id and the keychain the login chose. Reading it is one small
//!   file read, so the hot-tier hit stays free of D-Bus and network.
//! - A HOME that never logged in has no record, and the hot tier never answers for it: a
//!   second HOME of the same Unix user (the kernel user keyring is shared by all of them)
//!   cannot be served another HOME's credentials.
//! - Entries written before binding existed carry none and are never served: they are
//!   fetched again (role credentials) or need one login (the hot tier, until `awsx login`
//!   or the first keychain read writes the record).
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::RoleCredentials;
use awsx_config::SsoSession;
use awsx_core::types::{Region, SsoSessionName, StartUrl};
use awsx_store::{Backend, BackendChoice};

/// A random id minted at each login and kept by its refreshes. Not a secret: it only tells
/// one login's cached credentials from another's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LoginId(String);

impl LoginId {
    pub fn new() -> Self {
        LoginId(format!("{:032x}", fastrand::u128(..)))
    }
}

impl Default for LoginId {
    fn default() -> Self {
        LoginId::new()
    }
}

/// What a cached secret is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub start_url: StartUrl,
    pub region: Region,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginId>,
}

impl Binding {
    /// Whether a value bound to `self` may be served where `expected` is wanted.
    pub fn matches(&self, expected: &Binding) -> bool {
        self.start_url.is_same_portal(&expected.start_url)
            && self.region == expected.region
            && self.login == expected.login
    }

    /// Whether the portal and region are `session`'s (the login id aside).
    pub fn is_for(&self, session: &SsoSession) -> bool {
        self.start_url.is_same_portal(&session.start_url) && self.region == session.region
    }
}

/// Role credentials as stored in the keychain and the hot tier: the credentials' own
/// fields, plus `binding` (absent in entries written by older awsx, which are never served).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundRole {
    #[serde(flatten)]
    pub creds: RoleCredentials,
    #[serde(default)]
    pub binding: Option<Binding>,
}

impl BoundRole {
    /// The credentials, if this stored JSON is bound to `expected`.
    pub fn parse_for(json: &str, expected: &Binding) -> Option<RoleCredentials> {
        let bound: BoundRole = serde_json::from_str(json).ok()?;
        bound
            .binding
            .is_some_and(|b| b.matches(expected))
            .then_some(bound.creds)
    }
}

/// What awsx remembers about the last login to a session in this HOME (no secret): its
/// portal, region and login id, the keychain that holds it, and why `auto` chose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub version: u8,
    pub start_url: StartUrl,
    pub region: Region,
    #[serde(default)]
    pub login: Option<LoginId>,
    #[serde(with = "backend_id")]
    pub backend: Backend,
    /// The fallback warning `auto` gave at login (for `status` and `doctor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

const RECORD_VERSION: u8 = 1;

impl SessionRecord {
    pub fn new(binding: &Binding, backend: Backend, fallback: Option<String>) -> SessionRecord {
        SessionRecord {
            version: RECORD_VERSION,
            start_url: binding.start_url.clone(),
            region: binding.region.clone(),
            login: binding.login.clone(),
            backend,
            fallback,
        }
    }

    /// `<cache dir>/sessions/<sha1 of the session name>.json` (session names may hold
    /// characters a file name should not).
    pub fn path(cache_dir: &Path, session: &SsoSessionName) -> PathBuf {
        record_path(cache_dir, "sessions", session.as_str())
    }

    /// The record, or `None` when there is none (or it is unreadable: then the session is
    /// treated as never logged in here, which costs at most a login).
    pub fn read(cache_dir: &Path, session: &SsoSessionName) -> Option<SessionRecord> {
        read_record(&Self::path(cache_dir, session))
            .filter(|record: &SessionRecord| record.version == RECORD_VERSION)
    }

    /// Write it atomically (temp file + rename), readable by the user only.
    pub fn write(&self, cache_dir: &Path, session: &SsoSessionName) -> std::io::Result<()> {
        write_record(&Self::path(cache_dir, session), self)
    }

    pub fn remove(cache_dir: &Path, session: &SsoSessionName) {
        let _ = std::fs::remove_file(Self::path(cache_dir, session));
    }

    /// The binding this record names.
    pub fn binding(&self) -> Binding {
        Binding {
            start_url: self.start_url.clone(),
            region: self.region.clone(),
            login: self.login.clone(),
        }
    }
}

/// `<cache dir>/<dir>/<sha1 of name>.json`: where this HOME keeps the (non-secret) record of
/// a login. Hashed, because names may hold characters a file name should not.
pub(crate) fn record_path(cache_dir: &Path, dir: &str, name: &str) -> PathBuf {
    let digest = sha1_smol::Sha1::from(name.as_bytes()).digest().to_string();
    cache_dir.join(dir).join(format!("{digest}.json"))
}

/// A login record, or `None` when there is none or it is unreadable (then the login is
/// treated as never made here, which costs at most a login).
pub(crate) fn read_record<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Write a login record atomically (temp file + rename), readable by the user only.
pub(crate) fn write_record<T: Serialize>(path: &Path, record: &T) -> std::io::Result<()> {
    let dir = path.parent().expect("a record path has a directory");
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".record-")
        .tempfile_in(dir)?;
    serde_json::to_writer(&mut tmp, record)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The binding a read of `session`'s role credentials expects: its configured portal and
/// region, and the login id of this HOME's record (none without a record, or when the
/// record is of another portal).
pub fn expected(session: &SsoSession, record: Option<&SessionRecord>) -> Binding {
    let login = record
        .map(SessionRecord::binding)
        .filter(|b| b.is_for(session))
        .and_then(|b| b.login);
    Binding {
        start_url: session.start_url.clone(),
        region: session.region.clone(),
        login,
    }
}

/// The backend a session's commands open: an explicit choice always; with `auto`, the one
/// the login remembered (`None`: not remembered, `auto` probes).
pub fn session_backend(choice: BackendChoice, record: Option<&SessionRecord>) -> Option<Backend> {
    choice
        .explicit_backend()
        .or_else(|| record.map(|r| r.backend))
}

pub(crate) mod backend_id {
    use serde::{Deserialize, Deserializer, Serializer};

    use awsx_store::Backend;

    pub fn serialize<S: Serializer>(backend: &Backend, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(backend.id())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Backend, D::Error> {
        let id = String::deserialize(d)?;
        Backend::from_id(&id)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown keychain {id:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_core::secret::Secret;
    use awsx_core::types::Expiration;

    fn binding(url: &str, login: Option<&LoginId>) -> Binding {
        Binding {
            start_url: url.parse().unwrap(),
            region: "eu-west-1".parse().unwrap(),
            login: login.cloned(),
        }
    }

    fn creds() -> RoleCredentials {
        RoleCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("s".into()),
            session_token: Secret::new("t".into()),
            expiration: Expiration::from_unix_seconds(1_800_000_000).unwrap(),
            received_at: None,
        }
    }

    #[test]
    fn bound_role_is_served_only_to_its_own_login() {
        let login = LoginId::new();
        let mine = binding("https://acme.awsapps.com/start", Some(&login));
        let json = serde_json::to_string(&BoundRole {
            creds: creds(),
            binding: Some(mine.clone()),
        })
        .unwrap();
        assert_eq!(BoundRole::parse_for(&json, &mine), Some(creds()));
        // The same portal written differently is the same binding.
        let same = binding("https://ACME.awsapps.com/start/#/", Some(&login));
        assert!(BoundRole::parse_for(&json, &same).is_some());
        // Another login, no login (a HOME without a record), another portal: never.
        let other = binding("https://acme.awsapps.com/start", Some(&LoginId::new()));
        assert_eq!(BoundRole::parse_for(&json, &other), None);
        let none = binding("https://acme.awsapps.com/start", None);
        assert_eq!(BoundRole::parse_for(&json, &none), None);
        let portal = binding("https://other.awsapps.com/start", Some(&login));
        assert_eq!(BoundRole::parse_for(&json, &portal), None);
    }

    #[test]
    fn entries_without_a_binding_still_parse_as_credentials_but_are_never_served() {
        let legacy = serde_json::to_string(&creds()).unwrap();
        let expected = binding("https://acme.awsapps.com/start", None);
        assert_eq!(BoundRole::parse_for(&legacy, &expected), None);
        // And a bound entry still parses as plain credentials (for `status`).
        let bound = serde_json::to_string(&BoundRole {
            creds: creds(),
            binding: Some(expected),
        })
        .unwrap();
        assert_eq!(
            serde_json::from_str::<RoleCredentials>(&bound).unwrap(),
            creds()
        );
    }

    #[test]
    fn record_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let name: SsoSessionName = "team:a".parse().unwrap();
        assert_eq!(SessionRecord::read(dir.path(), &name), None);
        let record = SessionRecord::new(
            &binding("https://acme.awsapps.com/start", Some(&LoginId::new())),
            Backend::Keyutils,
            Some("the Secret Service is not running".into()),
        );
        record.write(dir.path(), &name).unwrap();
        assert_eq!(SessionRecord::read(dir.path(), &name), Some(record));
        SessionRecord::remove(dir.path(), &name);
        assert_eq!(SessionRecord::read(dir.path(), &name), None);
    }

    #[test]
    fn auto_opens_the_remembered_backend_and_an_explicit_choice_wins() {
        let record = SessionRecord::new(
            &binding("https://acme.awsapps.com/start", None),
            Backend::Keyutils,
            None,
        );
        assert_eq!(
            session_backend(BackendChoice::Auto, Some(&record)),
            Some(Backend::Keyutils)
        );
        assert_eq!(session_backend(BackendChoice::Auto, None), None);
        assert_eq!(
            session_backend(BackendChoice::SecretService, Some(&record)),
            Some(Backend::SecretService)
        );
    }
}
