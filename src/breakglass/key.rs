//! The enrolled break-glass key: one keychain entry `breakglass-key:<iam-user>` holding
//! JSON with the access key id, the secret, the MFA device and when the key was made.
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::BreakglassError;
use awsx_core::secret::Secret;
use awsx_core::types::IamUserName;
use awsx_keychain::{EntryName, SecretStore};

/// Where [`StoredKey::created`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreatedSource {
    /// IAM ListAccessKeys' CreateDate: the key's real age.
    Iam,
    /// IAM could not be asked (no iam:ListAccessKeys): the enrolment time, a lower bound.
    Enrolment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    pub user: IamUserName,
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    /// The user's MFA device; a profile's `awsx_mfa_serial` takes precedence.
    pub mfa_serial: String,
    /// `arn:aws:iam::ACCOUNT:user/NAME` as GetCallerIdentity reported it.
    pub user_arn: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub created_source: CreatedSource,
    #[serde(with = "time::serde::rfc3339")]
    pub enrolled: OffsetDateTime,
}

impl StoredKey {
    /// The user's key from the keychain; `NotEnrolled` when there is none. A corrupt
    /// entry is reported as not enrolled too: re-enrolling replaces it.
    pub fn load(store: &dyn SecretStore, user: &IamUserName) -> Result<StoredKey, BreakglassError> {
        let not_enrolled = || BreakglassError::NotEnrolled { user: user.clone() };
        let value = match store.get(&EntryName::breakglass_key(user)) {
            Ok(Some(v)) => v,
            Ok(None) => return Err(not_enrolled()),
            Err(e) if e.is_discardable_entry() => return Err(not_enrolled()),
            Err(e) => return Err(e.into()),
        };
        serde_json::from_str(value.expose()).map_err(|_| not_enrolled())
    }

    /// Create or replace the user's entry. No expiry: the key lives until rotated.
    pub fn save(&self, store: &dyn SecretStore) -> Result<(), BreakglassError> {
        let json = serde_json::to_string(self)
            .map_err(|e| BreakglassError::Config(format!("cannot encode the key entry: {e}")))?;
        store.set(
            &EntryName::breakglass_key(&self.user),
            &Secret::new(json),
            None,
        )?;
        Ok(())
    }

    /// The key as SDK credentials.
    pub fn credentials(&self) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.expose().clone(),
            None,
            None,
            "awsx-breakglass-key",
        )
    }

    /// The management account, from the user's ARN.
    pub fn account(&self) -> Option<&str> {
        self.user_arn.split(':').nth(4)
    }

    /// Days since the key was created.
    pub fn age_days(&self, now: OffsetDateTime) -> i64 {
        (now - self.created).whole_days()
    }
}

/// What `breakglass enroll` stored for a user: an access key, or (`--console`) only the
/// fact that the user signs in through the console. Both live in `breakglass-key:<user>`.
#[derive(Debug, Clone)]
pub enum Enrolment {
    Key(StoredKey),
    Console(super::console::ConsoleEnrolment),
}

impl Enrolment {
    /// The user's enrolment; `NotEnrolled` when there is none or it is corrupt.
    pub fn load(store: &dyn SecretStore, user: &IamUserName) -> Result<Enrolment, BreakglassError> {
        let not_enrolled = || BreakglassError::NotEnrolled { user: user.clone() };
        let value = match store.get(&EntryName::breakglass_key(user)) {
            Ok(Some(v)) => v,
            Ok(None) => return Err(not_enrolled()),
            Err(e) if e.is_discardable_entry() => return Err(not_enrolled()),
            Err(e) => return Err(e.into()),
        };
        let json: serde_json::Value =
            serde_json::from_str(value.expose()).map_err(|_| not_enrolled())?;
        if json.get("source").and_then(|s| s.as_str()) == Some(super::console::SOURCE_CONSOLE) {
            serde_json::from_value(json)
                .map(Enrolment::Console)
                .map_err(|_| not_enrolled())
        } else {
            serde_json::from_value(json)
                .map(Enrolment::Key)
                .map_err(|_| not_enrolled())
        }
    }

    pub fn mfa_serial(&self) -> &str {
        match self {
            Enrolment::Key(k) => &k.mfa_serial,
            Enrolment::Console(c) => &c.mfa_serial,
        }
    }
}

/// A long-term access key id as AWS prints it: `AKIA` and 16 more upper-case letters or
/// digits (IAM allows up to 128 characters in all).
pub fn check_access_key_id(id: &str) -> Result<(), BreakglassError> {
    let ok = id.starts_with("AKIA")
        && (16..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else if id.starts_with("ASIA") {
        Err(BreakglassError::Input(
            "that is a temporary key (ASIA…); enrol the break-glass user's long-term access key (AKIA…)".into(),
        ))
    } else {
        Err(BreakglassError::Input(
            "that is not an access key id (expected AKIA followed by 16 letters or digits)".into(),
        ))
    }
}

/// A secret access key: no white space, the length AWS issues (40) or close to it.
pub fn check_secret(secret: &str) -> Result<(), BreakglassError> {
    if secret.len() >= 16 && !secret.chars().any(char::is_whitespace) {
        Ok(())
    } else {
        Err(BreakglassError::Input(
            "the secret access key is empty or malformed (expected 40 characters without spaces)"
                .into(),
        ))
    }
}

/// An MFA device ARN: `arn:PARTITION:iam::ACCOUNT:mfa/NAME` (or `u2f/…`, which STS cannot use).
pub fn check_mfa_serial(serial: &str) -> Result<(), BreakglassError> {
    let parts: Vec<&str> = serial.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("mfa/").is_some_and(|n| !n.is_empty());
    if ok {
        Ok(())
    } else {
        Err(BreakglassError::Input(format!(
            "{serial:?} is not a virtual MFA device ARN; expected arn:aws:iam::ACCOUNT:mfa/NAME (IAM console: the user's Security credentials tab)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_keychain::memory::MemoryStore;

    fn sample() -> StoredKey {
        StoredKey {
            user: "breakglass-alice".parse().unwrap(),
            access_key_id: "AKIA2EMULATORALICE01".into(),
            secret_access_key: Secret::new("s3cr3t-value-that-is-long-enough".into()),
            mfa_serial: "arn:aws:iam::100000000001:mfa/breakglass-alice".into(),
            user_arn: "arn:aws:iam::100000000001:user/breakglass-alice".into(),
            created: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            created_source: CreatedSource::Iam,
            enrolled: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        }
    }

    #[test]
    fn round_trips_through_one_keychain_entry() {
        let store = MemoryStore::default();
        let key = sample();
        key.save(&store).unwrap();
        assert_eq!(StoredKey::load(&store, &key.user).unwrap(), key);
        assert_eq!(key.account(), Some("100000000001"));
        assert_eq!(
            key.age_days(OffsetDateTime::from_unix_timestamp(1_700_000_000 + 91 * 86_400).unwrap()),
            91
        );
    }

    #[test]
    fn missing_or_corrupt_entry_means_not_enrolled() {
        let store = MemoryStore::default();
        let user: IamUserName = "bob".parse().unwrap();
        assert!(matches!(
            StoredKey::load(&store, &user),
            Err(BreakglassError::NotEnrolled { .. })
        ));
        store
            .set(
                &EntryName::breakglass_key(&user),
                &Secret::new("{".into()),
                None,
            )
            .unwrap();
        assert!(matches!(
            StoredKey::load(&store, &user),
            Err(BreakglassError::NotEnrolled { .. })
        ));
    }

    #[test]
    fn an_enrolment_is_a_key_or_a_console_sign_in() {
        let store = MemoryStore::default();
        let key = sample();
        key.save(&store).unwrap();
        assert!(matches!(
            Enrolment::load(&store, &key.user).unwrap(),
            Enrolment::Key(k) if k == key
        ));
        super::super::console::ConsoleEnrolment::new(
            key.user.clone(),
            key.mfa_serial.clone(),
            key.user_arn.clone(),
            key.enrolled,
        )
        .save(&store)
        .unwrap();
        let loaded = Enrolment::load(&store, &key.user).unwrap();
        assert!(matches!(loaded, Enrolment::Console(_)));
        assert_eq!(loaded.mfa_serial(), key.mfa_serial);
        // A console enrolment is not a key: the key-only paths say "not enrolled".
        assert!(matches!(
            StoredKey::load(&store, &key.user),
            Err(BreakglassError::NotEnrolled { .. })
        ));
    }

    #[test]
    fn debug_hides_the_secret() {
        assert!(!format!("{:?}", sample()).contains("s3cr3t"));
    }

    #[test]
    fn checks_key_ids_secrets_and_serials() {
        assert!(check_access_key_id("AKIA2EMULATORALICE01").is_ok());
        assert!(check_access_key_id("ASIA2EMULATORALICE01").is_err());
        assert!(check_access_key_id("akia2emulatoralice01").is_err());
        assert!(check_secret("emuAliceBreakGlassSecretKey0000000000001").is_ok());
        assert!(check_secret("with space inside the secret").is_err());
        assert!(check_mfa_serial("arn:aws:iam::100000000001:mfa/breakglass-alice").is_ok());
        assert!(check_mfa_serial("arn:aws:iam::1:mfa/x").is_err());
        assert!(check_mfa_serial("GAHT12345678").is_err());
    }
}
