//! Console sign-in sessions (`awsx login --console`) as the fast tier sees them: the
//! credentials entry `console-creds:<profile>` bound to the login that made it, and this
//! HOME's record of that login.
//!
//! The same rules as SSO role credentials (see [`crate::binding`]): a login mints a random
//! [`LoginId`], kept by every refresh; the credentials in the keychain and the hot tier carry
//! it with the principal's ARN; the [`ConsoleRecord`] (one small non-secret file per profile
//! in awsx's cache directory, so per HOME) names the login id and the keychain the login
//! chose. No record, or a record of another login or principal: no hit. The session's
//! secrets (DPoP key, refresh token) never leave the keychain entry `console-session:…`.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::RoleCredentials;
use crate::binding::{self, LoginId};
use crate::tier::FastTier;
use awsx_config::ConsoleProfile;
use awsx_core::types::ProfileName;
use awsx_store::{Backend, BackendChoice, EntryName};

/// What console credentials are bound to: the signed-in principal and the login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleBinding {
    pub principal_arn: String,
    pub login: LoginId,
}

/// Console credentials as stored in the keychain and the hot tier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundConsole {
    #[serde(flatten)]
    pub creds: RoleCredentials,
    #[serde(default)]
    pub binding: Option<ConsoleBinding>,
}

impl BoundConsole {
    /// The credentials, if this stored JSON is bound to `expected`.
    pub fn parse_for(json: &str, expected: &ConsoleBinding) -> Option<RoleCredentials> {
        let bound: BoundConsole = serde_json::from_str(json).ok()?;
        (bound.binding.as_ref() == Some(expected)).then_some(bound.creds)
    }
}

/// This HOME's last console login of a profile (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleRecord {
    pub version: u8,
    pub principal_arn: String,
    pub login: LoginId,
    #[serde(with = "binding::backend_id")]
    pub backend: Backend,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

const RECORD_VERSION: u8 = 1;

impl ConsoleRecord {
    pub fn new(binding: &ConsoleBinding, backend: Backend, fallback: Option<String>) -> Self {
        ConsoleRecord {
            version: RECORD_VERSION,
            principal_arn: binding.principal_arn.clone(),
            login: binding.login.clone(),
            backend,
            fallback,
        }
    }

    /// `<cache dir>/console-sessions/<sha1 of the profile name>.json`.
    pub fn path(cache_dir: &Path, profile: &ProfileName) -> PathBuf {
        binding::record_path(cache_dir, "console-sessions", profile.as_str())
    }

    pub fn read(cache_dir: &Path, profile: &ProfileName) -> Option<ConsoleRecord> {
        binding::read_record(&Self::path(cache_dir, profile))
            .filter(|record: &ConsoleRecord| record.version == RECORD_VERSION)
    }

    /// Written atomically (temp file + rename).
    pub fn write(&self, cache_dir: &Path, profile: &ProfileName) -> std::io::Result<()> {
        binding::write_record(&Self::path(cache_dir, profile), self)
    }

    pub fn remove(cache_dir: &Path, profile: &ProfileName) {
        let _ = std::fs::remove_file(Self::path(cache_dir, profile));
    }

    pub fn binding(&self) -> ConsoleBinding {
        ConsoleBinding {
            principal_arn: self.principal_arn.clone(),
            login: self.login.clone(),
        }
    }

    /// The binding a read for `profile` expects: this record's, when it is of the principal
    /// the profile names.
    pub fn expected_for(&self, profile: &ConsoleProfile) -> Option<ConsoleBinding> {
        (self.principal_arn == profile.login_session).then(|| self.binding())
    }
}

/// A cache hit for a console profile: fresh credentials from the fast tier, bound to this
/// HOME's login of the profile. The same path as an SSO hit: one small file, then `keyctl`.
pub fn fast_hit(
    cache_dir: &Path,
    choice: BackendChoice,
    hot_tier: bool,
    service: &str,
    margin: time::Duration,
    profile: &ConsoleProfile,
) -> Option<RoleCredentials> {
    let record = ConsoleRecord::read(cache_dir, &profile.profile)?;
    let backend = choice.explicit_backend().unwrap_or(record.backend);
    if backend != record.backend {
        return None;
    }
    let expected = record.expected_for(profile)?;
    let tier = FastTier::for_backend(backend, hot_tier, service)?;
    tier_hit(&tier, profile, &expected, margin)
}

/// A hit in `tier` for `profile`, bound to `expected` and fresh.
pub fn tier_hit(
    tier: &FastTier,
    profile: &ConsoleProfile,
    expected: &ConsoleBinding,
    margin: time::Duration,
) -> Option<RoleCredentials> {
    let value = tier.get(&EntryName::console_creds(&profile.profile))?;
    let creds = BoundConsole::parse_for(value.expose(), expected)?;
    creds
        .is_fresh(OffsetDateTime::now_utc(), margin)
        .then_some(creds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_core::secret::Secret;
    use awsx_core::types::Expiration;

    fn creds(received: OffsetDateTime, lifetime_s: i64) -> RoleCredentials {
        RoleCredentials {
            access_key_id: "ASIACONSOLE".into(),
            secret_access_key: Secret::new("s".into()),
            session_token: Secret::new("t".into()),
            expiration: Expiration::new(received + time::Duration::seconds(lifetime_s)),
            received_at: Some(received),
        }
    }

    fn binding(arn: &str) -> ConsoleBinding {
        ConsoleBinding {
            principal_arn: arn.into(),
            login: LoginId::new(),
        }
    }

    #[test]
    fn console_credentials_are_served_only_to_the_login_that_made_them() {
        let mine = binding("arn:aws:iam::123456789012:user/Admin");
        let json = serde_json::to_string(&BoundConsole {
            creds: creds(OffsetDateTime::now_utc(), 900),
            binding: Some(mine.clone()),
        })
        .unwrap();
        assert!(BoundConsole::parse_for(&json, &mine).is_some());
        let other_login = ConsoleBinding {
            login: LoginId::new(),
            ..mine.clone()
        };
        assert!(BoundConsole::parse_for(&json, &other_login).is_none());
        let unbound = serde_json::to_string(&BoundConsole {
            creds: creds(OffsetDateTime::now_utc(), 900),
            binding: None,
        })
        .unwrap();
        assert!(BoundConsole::parse_for(&unbound, &mine).is_none());
    }

    #[test]
    fn fifteen_minute_console_credentials_are_served_for_half_their_life() {
        // Console credentials live 900 s. With the default 15-minute margin they would be
        // stale on arrival; the effective margin caps it at half their lifetime (450 s).
        let received = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let c = creds(received, 900);
        let margin = time::Duration::minutes(15);
        assert_eq!(c.effective_margin(margin), time::Duration::seconds(450));
        assert!(c.is_fresh(received + time::Duration::seconds(449), margin));
        assert!(!c.is_fresh(received + time::Duration::seconds(450), margin));
        // A smaller configured margin (the SDKs' 5 minutes) is kept.
        assert_eq!(
            c.effective_margin(time::Duration::minutes(5)),
            time::Duration::minutes(5)
        );
    }

    #[test]
    fn a_record_of_another_principal_expects_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let name: ProfileName = "admin".parse().unwrap();
        let b = binding("arn:aws:iam::123456789012:user/Admin");
        ConsoleRecord::new(&b, Backend::Keyutils, None)
            .write(dir.path(), &name)
            .unwrap();
        let record = ConsoleRecord::read(dir.path(), &name).unwrap();
        let mut profile = ConsoleProfile {
            profile: name.clone(),
            login_session: b.principal_arn.clone(),
            region: None,
        };
        assert_eq!(record.expected_for(&profile), Some(b));
        profile.login_session = "arn:aws:iam::123456789012:user/Other".into();
        assert_eq!(record.expected_for(&profile), None);
        ConsoleRecord::remove(dir.path(), &name);
        assert!(ConsoleRecord::read(dir.path(), &name).is_none());
    }
}
