//! The assumed break-glass session: cached in the keychain as `breakglass-session:<profile>`
//! and served from there by `credential-process` and `exec` until shortly before it ends.
//! It is never renewed silently: renewing needs a new MFA code and a new reason.
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::BreakglassError;
use awsx_config::BreakGlassProfile;
use awsx_core::secret::Secret;
use awsx_core::types::{Expiration, ProfileName};
use awsx_creds::RoleCredentials;
use awsx_keychain::{EntryName, SecretStore};

/// Served until this much is left; closer to the end an SDK could start a call that the
/// credentials do not outlive.
pub const SERVE_MARGIN: time::Duration = time::Duration::seconds(60);
/// From this much left, callers warn on stderr that a new break-glass login is coming.
pub const WARN_MARGIN: time::Duration = time::Duration::minutes(15);

/// The keychain entry's JSON: the credentials and what they were assumed for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedSession {
    pub credentials: RoleCredentials,
    /// The role as configured when assumed; a profile pointed at another role since then
    /// does not serve this session.
    pub role_arn: String,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub assumed_role_arn: String,
    pub session_name: String,
    pub source_identity: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
}

impl CachedSession {
    pub fn save(
        &self,
        store: &dyn SecretStore,
        profile: &ProfileName,
    ) -> Result<(), BreakglassError> {
        let json = serde_json::to_string(self).map_err(|e| {
            BreakglassError::Config(format!("cannot encode the session entry: {e}"))
        })?;
        store.set(
            &EntryName::breakglass_session(profile),
            &Secret::new(json),
            Some(self.credentials.expiration),
        )?;
        Ok(())
    }

    /// The cached session of `profile`, whatever its age; `None` when there is none. A
    /// corrupt entry is removed and reported as none (design: discard, never crash).
    pub fn load(
        store: &dyn SecretStore,
        profile: &ProfileName,
    ) -> Result<Option<CachedSession>, BreakglassError> {
        let name = EntryName::breakglass_session(profile);
        let value = match store.get(&name) {
            Ok(Some(v)) => v,
            Ok(None) => return Ok(None),
            Err(e) if e.is_discardable_entry() => {
                let _ = store.delete(&name);
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        match serde_json::from_str(value.expose()) {
            Ok(session) => Ok(Some(session)),
            Err(_) => {
                let _ = store.delete(&name);
                Ok(None)
            }
        }
    }
}

/// Credentials a caller may hand out, and what to tell the user on stderr meanwhile.
#[derive(Debug, Clone)]
pub struct BreakglassServe {
    pub credentials: RoleCredentials,
    pub expiration: Expiration,
    /// Set when less than [`WARN_MARGIN`] remains: one line for stderr (never stdout),
    /// e.g. "awsx: break-glass session for prod-bg ends in 9 min (…); …".
    pub warning: Option<String>,
}

/// The cached break-glass session of `profile`, for `credential-process`, `exec` and `use`.
///
/// Contract:
/// - `Ok` when the keychain holds a session for this profile and role with more than
///   [`SERVE_MARGIN`] (60 s) left at `now`. `warning` is `Some(line)` when less than
///   [`WARN_MARGIN`] (15 min) is left: print it on stderr (stdout is machine-read). Serve
///   `credentials.to_process_json()` as usual.
/// - `Err(BreakglassError::SessionNeeded)` (exit code 3) when there is no session, it
///   was assumed for another role ARN, it has 60 s or less left, or its entry is corrupt
///   (then removed). Its `Display` is the one line to print:
///   "break-glass session for PROFILE expired; run: awsx breakglass PROFILE --reason …".
///   Never renew: renewing needs a new MFA code and reason from a person.
/// - `Err(BreakglassError::Store)` when the keychain fails (exit code 4 for an
///   unreachable or locked keychain), with the store's own advice.
///
/// It does no network call, starts no runtime, prompts for nothing and writes nothing but
/// the removal of a corrupt entry, so it is safe on the `credential-process` hot path.
pub fn cached_session(
    store: &dyn SecretStore,
    profile: &BreakGlassProfile,
    now: OffsetDateTime,
) -> Result<BreakglassServe, BreakglassError> {
    let name = &profile.profile;
    let Some(session) = CachedSession::load(store, name)? else {
        return Err(BreakglassError::SessionNeeded {
            profile: name.clone(),
            expired: false,
        });
    };
    if session.role_arn != profile.role_arn.as_str() {
        return Err(BreakglassError::SessionNeeded {
            profile: name.clone(),
            expired: false,
        });
    }
    let expiration = session.credentials.expiration;
    let left = expiration.remaining(now);
    if left <= SERVE_MARGIN {
        return Err(BreakglassError::SessionNeeded {
            profile: name.clone(),
            expired: true,
        });
    }
    let warning = (left < WARN_MARGIN).then(|| {
        format!(
            "break-glass session for {name} ends in {} min ({expiration}); it will not be renewed: run awsx breakglass {name} --reason \"…\" for a new one",
            left.whole_minutes().max(1)
        )
    });
    Ok(BreakglassServe {
        credentials: session.credentials,
        expiration,
        warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_keychain::memory::MemoryStore;

    const NOW: i64 = 1_800_000_000;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(NOW).unwrap()
    }

    fn profile() -> BreakGlassProfile {
        BreakGlassProfile {
            profile: "prod-bg".parse().unwrap(),
            role_arn: "arn:aws:iam::500000000005:role/BreakGlass".parse().unwrap(),
            user: "breakglass-alice".parse().unwrap(),
            mfa_serial: None,
            duration: None,
            identity: None,
            region: None,
        }
    }

    fn session(expires_in: i64) -> CachedSession {
        CachedSession {
            credentials: RoleCredentials {
                access_key_id: "ASIAEXAMPLE".into(),
                secret_access_key: Secret::new("secret".into()),
                session_token: Secret::new("token".into()),
                expiration: Expiration::from_unix_seconds(NOW + expires_in).unwrap(),
                received_at: None,
            },
            role_arn: profile().role_arn.to_string(),
            assumed_role_arn: "arn:aws:sts::500000000005:assumed-role/BreakGlass/breakglass-alice"
                .into(),
            session_name: "breakglass-alice".into(),
            source_identity: "alice".into(),
            reason: "INC-1".into(),
            started: now(),
        }
    }

    fn store_with(expires_in: i64) -> MemoryStore {
        let store = MemoryStore::default();
        session(expires_in)
            .save(&store, &profile().profile)
            .unwrap();
        store
    }

    #[test]
    fn a_fresh_session_is_served_without_a_warning() {
        let served = cached_session(&store_with(3000), &profile(), now()).unwrap();
        assert_eq!(served.credentials.access_key_id, "ASIAEXAMPLE");
        assert!(served.warning.is_none());
    }

    #[test]
    fn the_last_quarter_hour_is_served_with_a_warning() {
        let served = cached_session(&store_with(600), &profile(), now()).unwrap();
        let warning = served.warning.expect("a warning");
        assert!(warning.contains("ends in 10 min"), "{warning}");
        assert!(!warning.contains('\n'));
    }

    #[test]
    fn the_last_minute_and_later_need_a_new_break_glass_login() {
        use awsx_core::exit::{ExitCode, HasExitCode};
        for left in [60, 30, -3600] {
            let err = cached_session(&store_with(left), &profile(), now()).unwrap_err();
            assert_eq!(err.exit_code(), ExitCode::LoginRequired, "{left}");
            assert!(
                err.to_string().starts_with(
                    "break-glass session for prod-bg expired; run: awsx breakglass prod-bg --reason"
                ),
                "{err}"
            );
        }
    }

    #[test]
    fn no_session_or_another_role_is_exit_3() {
        use awsx_core::exit::{ExitCode, HasExitCode};
        let err = cached_session(&MemoryStore::default(), &profile(), now()).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::LoginRequired);
        let mut moved = profile();
        moved.role_arn = "arn:aws:iam::400000000004:role/BreakGlass".parse().unwrap();
        let err = cached_session(&store_with(3000), &moved, now()).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::LoginRequired);
    }

    #[test]
    fn a_corrupt_entry_is_discarded() {
        let store = MemoryStore::default();
        let name = EntryName::breakglass_session(&profile().profile);
        store
            .set(&name, &Secret::new("not json".into()), None)
            .unwrap();
        assert!(cached_session(&store, &profile(), now()).is_err());
        assert_eq!(store.get(&name).unwrap(), None);
    }

    #[test]
    fn a_locked_keychain_is_exit_4() {
        use awsx_core::exit::{ExitCode, HasExitCode};
        let err = cached_session(&MemoryStore::locked(), &profile(), now()).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::KeychainUnavailable);
    }
}
