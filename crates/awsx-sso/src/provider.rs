//! Where an SSO profile's role credentials come from, cheapest first: the hot tier (kernel
//! keyutils, Linux), the keychain, then IAM Identity Center. A miss takes the role's lock
//! so that any number of processes missing at once make one GetRoleCredentials call; the
//! others wait and read what it stored.
use std::path::Path;

use std::time::Duration;

use time::OffsetDateTime;

use crate::lock::{self, Acquired, LockGuard};
use crate::{LoginUi, SessionSpec, Sessions, SsoError, portal};
use awsx_config::SsoProfile;
use awsx_core::secret::Secret;
use awsx_creds::RoleCredentials;
use awsx_creds::binding::{self, Binding, BoundRole, SessionRecord};
use awsx_creds::tier::entry_for;
use awsx_store::hot::HotTier;
use awsx_store::{EntryName, SecretStore, StoreError};

/// Take the lock of `profile`'s role: one process fetches, the others wait and re-read.
pub fn lock_role(
    cache_dir: &Path,
    wait: Duration,
    profile: &SsoProfile,
) -> Result<(LockGuard, Acquired), SsoError> {
    let path = lock::lock_path(
        cache_dir,
        "role",
        &[
            profile.session.name.as_str(),
            profile.account_id.as_str(),
            profile.role_name.as_str(),
        ],
    );
    let what = format!(
        "credentials for {} in account {}",
        profile.role_name, profile.account_id
    );
    Ok(lock::acquire(&path, lock::Holder::Fetch { what }, wait)?)
}

/// How a fetch ended, for `--verbose` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Keychain,
    /// Another process fetched them while this one waited for the lock.
    OtherProcess,
    Fetched,
}

pub struct RoleSource<'a> {
    pub sessions: &'a Sessions<'a>,
    pub hot: Option<&'a HotTier>,
    /// Role credentials with less than this left are renewed.
    pub margin: time::Duration,
}

impl RoleSource<'_> {
    fn store(&self) -> &dyn SecretStore {
        self.sessions.store
    }

    /// The binding `profile`'s cached credentials must carry to be served here.
    fn expected(&self, profile: &SsoProfile) -> Binding {
        let record = SessionRecord::read(&self.sessions.cache_dir, &profile.session.name);
        binding::expected(&profile.session, record.as_ref())
    }

    /// Fresh credentials from the keychain (copied into the hot tier), or `None`. A
    /// corrupt entry is discarded so the next fetch replaces it; one bound to another
    /// login or portal is not served (the next fetch replaces it too).
    pub fn cached(&self, profile: &SsoProfile) -> Result<Option<RoleCredentials>, StoreError> {
        let entry = &entry_for(profile);
        let raw = match self.store().get(entry) {
            Ok(Some(raw)) => raw,
            Ok(None) => return Ok(None),
            Err(err) if err.is_discardable_entry() => {
                self.store().delete(entry)?;
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        let Ok(bound) = serde_json::from_str::<BoundRole>(raw.expose()) else {
            tracing::warn!(entry = %entry, "discarding a keychain entry that does not parse");
            self.store().delete(entry)?;
            return Ok(None);
        };
        if !bound
            .binding
            .as_ref()
            .is_some_and(|b| b.matches(&self.expected(profile)))
        {
            tracing::debug!(entry = %entry, "cached credentials belong to another login: not served");
            return Ok(None);
        }
        let creds = bound.creds;
        if !creds.is_fresh(OffsetDateTime::now_utc(), self.margin) {
            return Ok(None);
        }
        if let Some(hot) = self.hot {
            hot.put(
                entry,
                &raw,
                creds.expiration,
                creds.effective_margin(self.margin),
            );
        }
        Ok(Some(creds))
    }

    /// Fresh credentials for `profile`: from the keychain, or fetched once for everyone.
    /// With `login`, a missing or dead SSO session starts the device flow through it
    /// (auto-login); without, it is `SsoError::LoginRequired`.
    pub async fn role_credentials(
        &self,
        profile: &SsoProfile,
        login: Option<&mut dyn LoginUi>,
    ) -> Result<(RoleCredentials, Origin), SsoError> {
        if let Some(creds) = self.cached(profile)? {
            return Ok((creds, Origin::Keychain));
        }
        let (_guard, acquired) =
            lock_role(&self.sessions.cache_dir, self.sessions.lock_wait, profile)?;
        self.role_credentials_locked(profile, acquired, login).await
    }

    /// `role_credentials` for a caller that already holds the role's lock.
    pub async fn role_credentials_locked(
        &self,
        profile: &SsoProfile,
        acquired: Acquired,
        login: Option<&mut dyn LoginUi>,
    ) -> Result<(RoleCredentials, Origin), SsoError> {
        if let Some(creds) = self.cached(profile)? {
            let origin = match acquired {
                Acquired::AfterWaiting => Origin::OtherProcess,
                Acquired::Immediately => Origin::Keychain,
            };
            return Ok((creds, origin));
        }
        let spec = SessionSpec::from_config(&profile.session);
        let creds = match self.fetch(&spec, profile).await {
            Err(SsoError::LoginRequired { .. }) if login.is_some() => {
                let ui = login.expect("checked above");
                // A person is in the loop now: the call's deadline no longer applies.
                awsx_core::deadline::lift();
                self.sessions.login(&spec, false, ui).await?;
                self.fetch(&spec, profile).await?
            }
            other => other?,
        };
        Ok((creds, Origin::Fetched))
    }

    async fn fetch(
        &self,
        spec: &SessionSpec,
        profile: &SsoProfile,
    ) -> Result<RoleCredentials, SsoError> {
        let token = self.sessions.usable_token(spec).await?;
        let client = self.sessions.portal_client(&spec.region).await?;
        let entry = entry_for(profile);
        let result = portal::role_credentials(
            &client,
            &spec.name,
            &token,
            &profile.account_id,
            &profile.role_name,
        )
        .await;
        let creds = match result {
            Ok(creds) => creds,
            Err(err @ SsoError::LoginRequired { .. }) => {
                // The portal no longer accepts the token (revoked, or the session ended
                // elsewhere): keep nothing that cannot work.
                self.store().delete(&EntryName::sso_token(&spec.name))?;
                return Err(err);
            }
            Err(err @ SsoError::NoAccess { .. }) => {
                self.store().delete(&entry)?;
                if let Some(hot) = self.hot {
                    hot.remove(&entry);
                }
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        // Bound to the login whose token fetched them (see `sso::binding`).
        let bound = BoundRole {
            creds,
            binding: Some(token.binding()),
        };
        let json = Secret::new(
            serde_json::to_string(&bound).map_err(|_| SsoError::BadReply {
                operation: "GetRoleCredentials",
                what: "credentials that cannot be serialised",
            })?,
        );
        let creds = bound.creds;
        self.store().set(&entry, &json, Some(creds.expiration))?;
        if let Some(hot) = self.hot {
            hot.put(
                &entry,
                &json,
                creds.expiration,
                creds.effective_margin(self.margin),
            );
        }
        Ok(creds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_config::SsoSession;
    use awsx_core::env::Env;
    use awsx_core::types::Expiration;
    use awsx_creds::binding::LoginId;
    use awsx_store::Backend;
    use awsx_store::memory::MemoryStore;

    /// One HOME's view: an in-memory keychain, a cache dir, the `acme` session and a
    /// profile of it, and this HOME's record of its login.
    struct Home {
        env: Env,
        store: MemoryStore,
        cache: tempfile::TempDir,
        profile: SsoProfile,
        login: LoginId,
    }

    impl Home {
        fn new() -> Home {
            let session = SsoSession {
                name: "acme".parse().unwrap(),
                start_url: "https://acme.awsapps.com/start".parse().unwrap(),
                region: "eu-west-1".parse().unwrap(),
                registration_scopes: Vec::new(),
                awsx: Default::default(),
                line: 1,
            };
            let profile = SsoProfile {
                profile: "dev".parse().unwrap(),
                session,
                account_id: "111111111111".parse().unwrap(),
                role_name: "Admin".parse().unwrap(),
                region: None,
                auto_login: None,
            };
            let home = Home {
                env: Env::from_vars([("HOME", "/nonexistent")]),
                // A record names a keychain a user can choose (never `memory`): the store
                // stands in for the Secret Service.
                store: MemoryStore::reporting(Backend::SecretService),
                cache: tempfile::tempdir().unwrap(),
                profile,
                login: LoginId::new(),
            };
            SessionRecord::new(&home.binding(), Backend::SecretService, None)
                .write(home.cache.path(), &home.profile.session.name)
                .unwrap();
            home
        }

        /// The binding of this HOME's login.
        fn binding(&self) -> Binding {
            Binding {
                start_url: self.profile.session.start_url.clone(),
                region: self.profile.session.region.clone(),
                login: Some(self.login.clone()),
            }
        }

        fn sessions(&self) -> Sessions<'_> {
            Sessions {
                env: &self.env,
                store: &self.store,
                cache_dir: self.cache.path().to_owned(),
                margin: time::Duration::minutes(15),
                lock_wait: Duration::from_secs(5),
            }
        }

        fn entry(&self) -> EntryName {
            entry_for(&self.profile)
        }

        /// Store credentials that expire in `left`, bound to `binding`.
        fn store_role(&self, left: time::Duration, binding: Option<Binding>) -> RoleCredentials {
            let creds = credentials(left);
            let json = serde_json::to_string(&BoundRole {
                creds: creds.clone(),
                binding,
            })
            .unwrap();
            self.store
                .set(&self.entry(), &Secret::new(json), Some(creds.expiration))
                .unwrap();
            creds
        }

        fn stored(&self) -> Option<Secret<String>> {
            self.store.get(&self.entry()).unwrap()
        }
    }

    /// Credentials that arrived an hour ago and expire in `left` (so the configured
    /// 15-minute margin applies, not a shorter one for short-lived credentials).
    fn credentials(left: time::Duration) -> RoleCredentials {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        RoleCredentials {
            access_key_id: "ASIAAAAABBBBCCCCDDDD".to_owned(),
            secret_access_key: Secret::new("secret-access-key".to_owned()),
            session_token: Secret::new("session-token".to_owned()),
            expiration: Expiration::new(now + left),
            received_at: Some(now - time::Duration::hours(1)),
        }
    }

    fn source<'a>(sessions: &'a Sessions<'a>, hot: Option<&'a HotTier>) -> RoleSource<'a> {
        RoleSource {
            sessions,
            hot,
            margin: time::Duration::minutes(15),
        }
    }

    #[tokio::test]
    async fn fresh_bound_credentials_in_the_keychain_are_served_without_a_fetch() {
        let home = Home::new();
        let creds = home.store_role(time::Duration::hours(1), Some(home.binding()));
        let sessions = home.sessions();
        let (served, origin) = source(&sessions, None)
            .role_credentials(&home.profile, None)
            .await
            .unwrap();
        assert_eq!(served, creds);
        assert_eq!(origin, Origin::Keychain);
    }

    #[tokio::test]
    async fn credentials_another_process_stored_while_this_one_waited_are_its_origin() {
        let home = Home::new();
        let creds = home.store_role(time::Duration::hours(1), Some(home.binding()));
        let sessions = home.sessions();
        let source = source(&sessions, None);
        let (served, origin) = source
            .role_credentials_locked(&home.profile, Acquired::AfterWaiting, None)
            .await
            .unwrap();
        assert_eq!((served, origin), (creds.clone(), Origin::OtherProcess));
        let (_, origin) = source
            .role_credentials_locked(&home.profile, Acquired::Immediately, None)
            .await
            .unwrap();
        assert_eq!(origin, Origin::Keychain);
    }

    #[test]
    fn a_corrupt_keychain_entry_is_discarded() {
        let home = Home::new();
        home.store
            .set(&home.entry(), &Secret::new("{not json".to_owned()), None)
            .unwrap();
        let sessions = home.sessions();
        assert_eq!(source(&sessions, None).cached(&home.profile).unwrap(), None);
        assert!(home.stored().is_none(), "the corrupt entry is deleted");
    }

    #[test]
    fn credentials_bound_to_another_login_are_not_served() {
        let home = Home::new();
        let other_login = Binding {
            login: Some(LoginId::new()),
            ..home.binding()
        };
        let other_portal = Binding {
            start_url: "https://other.awsapps.com/start".parse().unwrap(),
            ..home.binding()
        };
        let sessions = home.sessions();
        for binding in [Some(other_login), Some(other_portal), None] {
            home.store_role(time::Duration::hours(1), binding.clone());
            assert_eq!(
                source(&sessions, None).cached(&home.profile).unwrap(),
                None,
                "bound to {binding:?}"
            );
            // Kept, for the next fetch to replace (it is not corrupt).
            assert!(home.stored().is_some());
        }
    }

    #[test]
    fn a_home_that_never_logged_in_is_not_served_a_login_ids_credentials() {
        let home = Home::new();
        home.store_role(time::Duration::hours(1), Some(home.binding()));
        SessionRecord::remove(home.cache.path(), &home.profile.session.name);
        let sessions = home.sessions();
        assert_eq!(source(&sessions, None).cached(&home.profile).unwrap(), None);
    }

    #[test]
    fn credentials_within_the_refresh_margin_are_not_served() {
        let home = Home::new();
        home.store_role(time::Duration::minutes(14), Some(home.binding()));
        let sessions = home.sessions();
        assert_eq!(source(&sessions, None).cached(&home.profile).unwrap(), None);
    }

    #[test]
    fn a_locked_keychain_is_an_error_not_a_miss() {
        let home = Home::new();
        let locked = MemoryStore::locked();
        let sessions = Sessions {
            store: &locked,
            ..home.sessions()
        };
        let err = source(&sessions, None).cached(&home.profile).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_miss_with_no_login_and_no_ui_is_login_required() {
        let home = Home::new();
        let sessions = home.sessions();
        let err = source(&sessions, None)
            .role_credentials(&home.profile, None)
            .await
            .unwrap_err();
        match err {
            SsoError::LoginRequired { session } => assert_eq!(session.as_str(), "acme"),
            other => panic!("expected LoginRequired, got {other:?}"),
        }
    }

    /// The hot tier is the kernel keyring: this test needs keyutils (`scripts/test` runs
    /// the unit tests under `keyctl session -`).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_keychain_hit_is_copied_into_the_hot_tier() {
        let home = Home::new();
        let service = format!("awsx-unit-{}-{}", std::process::id(), fastrand::u32(..));
        let hot = HotTier::open(&service).expect("keyutils (run under scripts/with-keychain)");
        let sessions = home.sessions();
        assert!(hot.get(&home.entry()).is_none());
        home.store_role(time::Duration::hours(1), Some(home.binding()));
        let served = source(&sessions, Some(&hot)).cached(&home.profile).unwrap();
        let copy = hot.get(&home.entry());
        hot.clear_all();
        let copy = copy.expect("copied into the hot tier");
        assert_eq!(
            BoundRole::parse_for(copy.expose(), &home.binding()),
            served,
            "the copy carries the same binding"
        );
    }
}
