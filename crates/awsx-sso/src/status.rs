//! What `awsx status` reports per SSO session: the state of its login ([`TokenState`]) and
//! the role credentials cached for it ([`cached_roles`]). Plain data in, plain data out:
//! the command opens the keychains and renders. Never a secret.
use time::OffsetDateTime;

use crate::SsoToken;
use awsx_core::types::{AccountId, Expiration, Region, RoleName, SsoSessionName, StartUrl};
use awsx_creds::RoleCredentials;
use awsx_store::{EntryName, SecretStore};

/// The state of a session's login, from the token stored for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenState {
    /// No token is stored: never logged in here, or logged out.
    None,
    /// The stored token is of another portal or region (the session's `sso_start_url` or
    /// `sso_region` changed since that login): not a login to this one.
    OtherPortal { start_url: StartUrl, region: Region },
    /// Accepted by the portal until `expires_at`.
    Valid {
        expires_at: Expiration,
        refreshable: bool,
    },
    /// Past its expiry (or within the last 30 s of it); a refresh token renews it at next use.
    Expired {
        expires_at: Expiration,
        refreshable: bool,
    },
}

impl TokenState {
    /// The state of `stored`, the token kept for a session configured with `start_url` and
    /// `region`, at `now`.
    pub fn of(
        stored: Option<&SsoToken>,
        start_url: &StartUrl,
        region: &Region,
        now: OffsetDateTime,
    ) -> TokenState {
        match stored {
            None => TokenState::None,
            Some(t) if !t.is_for(start_url, region) => TokenState::OtherPortal {
                start_url: t.start_url.clone(),
                region: t.region.clone(),
            },
            Some(t) => {
                let expires_at = t.expires_at;
                let refreshable = t.refresh_token.is_some();
                if t.is_valid(now) {
                    TokenState::Valid {
                        expires_at,
                        refreshable,
                    }
                } else {
                    TokenState::Expired {
                        expires_at,
                        refreshable,
                    }
                }
            }
        }
    }

    /// The `token` field of `status --json` (schema 1): `valid`, `expired` or `none` (a
    /// login to another portal is none for this one).
    pub fn word(&self) -> &'static str {
        match self {
            TokenState::Valid { .. } => "valid",
            TokenState::Expired { .. } => "expired",
            TokenState::None | TokenState::OtherPortal { .. } => "none",
        }
    }

    /// When the token expires, for a login to this session's portal.
    pub fn expires_at(&self) -> Option<Expiration> {
        match self {
            TokenState::Valid { expires_at, .. } | TokenState::Expired { expires_at, .. } => {
                Some(*expires_at)
            }
            TokenState::None | TokenState::OtherPortal { .. } => None,
        }
    }

    /// Whether a refresh token renews it.
    pub fn refreshable(&self) -> bool {
        matches!(
            self,
            TokenState::Valid {
                refreshable: true,
                ..
            } | TokenState::Expired {
                refreshable: true,
                ..
            }
        )
    }

    /// Whether this is a login to the session's own portal (whose cached roles are shown).
    pub fn is_this_portal(&self) -> bool {
        self.expires_at().is_some()
    }
}

/// Role credentials cached for a session, as `status` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedRole {
    pub account_id: AccountId,
    pub role_name: RoleName,
    pub expires_at: Expiration,
}

/// The role credentials among `entries` cached for `session` that have not expired at
/// `now`, by account and role. Only the expiry is read from each entry (the secret never
/// leaves this function); an entry that cannot be read or parsed is left out.
pub fn cached_roles(
    store: &dyn SecretStore,
    entries: &[EntryName],
    session: &SsoSessionName,
    now: OffsetDateTime,
) -> Vec<CachedRole> {
    let mut roles = Vec::new();
    for entry in entries {
        let EntryName::Role {
            session: s,
            account,
            role,
        } = entry
        else {
            continue;
        };
        if s != session {
            continue;
        }
        let Ok(Some(raw)) = store.get(entry) else {
            continue;
        };
        let Ok(creds) = serde_json::from_str::<RoleCredentials>(raw.expose()) else {
            continue;
        };
        if creds.expiration.remaining(now) > time::Duration::ZERO {
            roles.push(CachedRole {
                account_id: account.clone(),
                role_name: role.clone(),
                expires_at: creds.expiration,
            });
        }
    }
    roles.sort_by(|a, b| (&a.account_id, &a.role_name).cmp(&(&b.account_id, &b.role_name)));
    roles
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_core::secret::Secret;
    use awsx_store::memory::MemoryStore;

    const NOW: i64 = 1_800_000_000;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(NOW).unwrap()
    }

    fn url() -> StartUrl {
        "https://acme.awsapps.com/start".parse().unwrap()
    }

    fn region() -> Region {
        "eu-west-1".parse().unwrap()
    }

    fn token(left: i64, refresh: bool) -> SsoToken {
        SsoToken {
            access_token: Secret::new("access".to_owned()),
            expires_at: Expiration::from_unix_seconds(NOW + left).unwrap(),
            refresh_token: refresh.then(|| Secret::new("refresh".to_owned())),
            start_url: url(),
            region: region(),
            issued_at: Expiration::from_unix_seconds(NOW - 3600).unwrap(),
            login: None,
        }
    }

    fn state(t: Option<&SsoToken>) -> TokenState {
        TokenState::of(t, &url(), &region(), now())
    }

    #[test]
    fn no_token_is_none() {
        assert_eq!(state(None), TokenState::None);
        assert_eq!(state(None).word(), "none");
        assert!(!state(None).is_this_portal());
    }

    #[test]
    fn a_token_with_time_left_is_valid_and_says_whether_it_renews() {
        let s = state(Some(&token(3600, true)));
        assert_eq!(
            s,
            TokenState::Valid {
                expires_at: Expiration::from_unix_seconds(NOW + 3600).unwrap(),
                refreshable: true
            }
        );
        assert_eq!((s.word(), s.refreshable()), ("valid", true));
        assert!(!state(Some(&token(3600, false))).refreshable());
    }

    #[test]
    fn a_token_past_or_near_its_expiry_is_expired() {
        for left in [-60, 0, 20] {
            let s = state(Some(&token(left, false)));
            assert!(matches!(s, TokenState::Expired { .. }), "{left}: {s:?}");
            assert_eq!(s.word(), "expired");
            assert!(s.is_this_portal());
        }
        assert!(state(Some(&token(-60, true))).refreshable());
    }

    #[test]
    fn a_token_of_another_portal_or_region_is_not_a_login_to_this_one() {
        let mut other = token(3600, true);
        other.start_url = "https://other.awsapps.com/start".parse().unwrap();
        let s = state(Some(&other));
        assert_eq!(
            s,
            TokenState::OtherPortal {
                start_url: other.start_url.clone(),
                region: region()
            }
        );
        assert_eq!(
            (s.word(), s.expires_at(), s.refreshable()),
            ("none", None, false)
        );
        let mut moved = token(3600, true);
        moved.region = "us-east-1".parse().unwrap();
        assert!(matches!(
            state(Some(&moved)),
            TokenState::OtherPortal { .. }
        ));
        // The portal's own spellings of its URL are the same portal.
        let mut slash = token(3600, true);
        slash.start_url = "https://ACME.awsapps.com/start/#/".parse().unwrap();
        assert!(state(Some(&slash)).is_this_portal());
    }

    #[test]
    fn cached_roles_are_this_sessions_unexpired_ones_in_order() {
        let store = MemoryStore::new();
        let acme: SsoSessionName = "acme".parse().unwrap();
        let other: SsoSessionName = "other".parse().unwrap();
        let put = |session: &SsoSessionName, account: &str, role: &str, json: String| {
            let name = EntryName::role(session, &account.parse().unwrap(), &role.parse().unwrap());
            store.set(&name, &Secret::new(json), None).unwrap();
        };
        let creds = |left: i64| {
            serde_json::to_string(&RoleCredentials {
                access_key_id: "ASIAAAAABBBBCCCCDDDD".to_owned(),
                secret_access_key: Secret::new("s".to_owned()),
                session_token: Secret::new("t".to_owned()),
                expiration: Expiration::from_unix_seconds(NOW + left).unwrap(),
                received_at: None,
            })
            .unwrap()
        };
        put(&acme, "222222222222", "Admin", creds(600));
        put(&acme, "111111111111", "ReadOnly", creds(600));
        put(&acme, "111111111111", "Admin", creds(60));
        put(&acme, "333333333333", "Gone", creds(-1));
        put(&acme, "444444444444", "Torn", "{".to_owned());
        put(&other, "555555555555", "Admin", creds(600));
        store
            .set(&EntryName::sso_token(&acme), &Secret::new("x".into()), None)
            .unwrap();
        let entries = store.list().unwrap();
        let listed: Vec<(String, String)> = cached_roles(&store, &entries, &acme, now())
            .into_iter()
            .map(|r| (r.account_id.to_string(), r.role_name.to_string()))
            .collect();
        let want = [
            ("111111111111", "Admin"),
            ("111111111111", "ReadOnly"),
            ("222222222222", "Admin"),
        ]
        .map(|(a, r)| (a.to_owned(), r.to_owned()));
        assert_eq!(listed, want);
    }
}
