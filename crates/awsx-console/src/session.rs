//! A console sign-in session and its keychain entries.
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ConsoleError;
use awsx_core::env::Env;
use awsx_core::secret::Secret;
use awsx_core::types::{AccountId, Expiration, ProfileName, Region};
use awsx_creds::RoleCredentials;
use awsx_creds::binding::LoginId;
use awsx_creds::console::{BoundConsole, ConsoleBinding, ConsoleRecord};
use awsx_signin::{ClientId, DpopKey, Endpoint};
use awsx_store::hot::HotTier;
use awsx_store::{EntryName, SecretStore};

/// One console sign-in session of a profile: what it is, its secrets and its current
/// credentials. `Debug` redacts every secret.
#[derive(Debug)]
pub struct ConsoleSession {
    pub profile: ProfileName,
    /// The signed-in principal (the id token's `sub`), e.g. `arn:aws:iam::123456789012:user/Admin`.
    pub principal_arn: String,
    pub account_id: AccountId,
    pub region: Region,
    pub endpoint: Endpoint,
    pub client_id: ClientId,
    /// The per-session P-256 key every token request proves possession of.
    pub dpop_key: DpopKey,
    /// Rotates at every refresh: the previous one is refused once a new one was issued.
    pub refresh_token: Secret<String>,
    /// Minted at login, kept by refreshes: binds the cached credentials to this login.
    pub login: LoginId,
    pub signed_in_at: OffsetDateTime,
    /// `None` when the credentials entry is missing or of another login: a refresh makes new ones.
    pub credentials: Option<RoleCredentials>,
}

/// The entry `console-session:<profile>`. Version 1.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u8,
    principal_arn: String,
    account_id: AccountId,
    region: Region,
    endpoint: String,
    client_id: String,
    /// PKCS#8 DER, standard base64.
    dpop_key: Secret<String>,
    refresh_token: Secret<String>,
    login: LoginId,
    #[serde(with = "time::serde::rfc3339")]
    signed_in_at: OffsetDateTime,
}

const STORED_VERSION: u8 = 1;

impl ConsoleSession {
    /// A session from a successful code exchange (or the AWS CLI's cache), with a new login id.
    pub fn from_signin(
        profile: ProfileName,
        region: Region,
        endpoint: Endpoint,
        session: awsx_signin::Session,
        now: OffsetDateTime,
    ) -> Result<Self, ConsoleError> {
        let account_id: AccountId =
            session
                .account_id
                .parse()
                .map_err(|_| ConsoleError::LoginRequired {
                    profile: profile.clone(),
                    reason: format!(
                        "AWS Sign-In named an account id that is not 12 digits ({:?})",
                        session.account_id
                    ),
                })?;
        let credentials = role_credentials(&session.credentials, Some(now));
        Ok(ConsoleSession {
            profile,
            principal_arn: session.login_session,
            account_id,
            region,
            endpoint,
            client_id: session.client_id,
            dpop_key: session.dpop_key,
            refresh_token: Secret::new(session.refresh_token.expose().clone()),
            login: LoginId::new(),
            signed_in_at: now,
            credentials: Some(credentials),
        })
    }

    /// What the cached credentials of this session are bound to.
    pub fn binding(&self) -> ConsoleBinding {
        ConsoleBinding {
            principal_arn: self.principal_arn.clone(),
            login: self.login.clone(),
        }
    }

    /// The credentials, when they have more than their effective margin left.
    pub fn fresh_credentials(&self, margin: time::Duration) -> Option<&RoleCredentials> {
        self.credentials
            .as_ref()
            .filter(|c| c.is_fresh(OffsetDateTime::now_utc(), margin))
    }

    /// Store the session, then its credentials (keychain, and the hot tier when there is
    /// one): the refresh token first, so a rotated token is never lost behind a failed
    /// credentials write.
    pub fn save(
        &self,
        store: &dyn SecretStore,
        hot: Option<&HotTier>,
        margin: time::Duration,
    ) -> Result<(), ConsoleError> {
        let stored = Stored {
            version: STORED_VERSION,
            principal_arn: self.principal_arn.clone(),
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            endpoint: self.endpoint.as_str().to_owned(),
            client_id: self.client_id.as_str().to_owned(),
            dpop_key: Secret::new(
                base64_simd::STANDARD.encode_to_string(self.dpop_key.pkcs8().expose()),
            ),
            refresh_token: self.refresh_token.clone(),
            login: self.login.clone(),
            signed_in_at: self.signed_in_at,
        };
        let json = Secret::new(serde_json::to_string(&stored).unwrap_or_default());
        store.set(&EntryName::console_session(&self.profile), &json, None)?;
        if let Some(creds) = &self.credentials {
            let entry = EntryName::console_creds(&self.profile);
            let bound = Secret::new(
                serde_json::to_string(&BoundConsole {
                    creds: creds.clone(),
                    binding: Some(self.binding()),
                })
                .unwrap_or_default(),
            );
            store.set(&entry, &bound, Some(creds.expiration))?;
            if let Some(hot) = hot {
                hot.put(
                    &entry,
                    &bound,
                    creds.expiration,
                    creds.effective_margin(margin),
                );
            }
        }
        Ok(())
    }

    /// Remember this login in this HOME (the non-secret record the fast tier reads).
    pub fn remember(
        &self,
        cache_dir: &Path,
        store: &dyn SecretStore,
        fallback: Option<String>,
    ) -> Result<(), ConsoleError> {
        ConsoleRecord::new(&self.binding(), store.backend(), fallback)
            .write(cache_dir, &self.profile)
            .map_err(|e| ConsoleError::Io {
                path: ConsoleRecord::path(cache_dir, &self.profile)
                    .display()
                    .to_string(),
                detail: e.to_string(),
            })
    }

    /// A refresh's result: the rotated refresh token and new credentials.
    pub(crate) fn apply(&mut self, grant: awsx_signin::TokenGrant, now: OffsetDateTime) {
        self.refresh_token = Secret::new(grant.refresh_token.expose().clone());
        self.credentials = Some(role_credentials(&grant.credentials, Some(now)));
    }

    /// The session's refresh request (the protocol's `Session` view of it).
    pub(crate) fn refresh_request(
        &self,
        now: OffsetDateTime,
    ) -> Result<awsx_signin::TokenHttpRequest, ConsoleError> {
        Ok(awsx_signin::refresh_request(
            &self.endpoint,
            self.client_id,
            &awsx_signin::Secret::new(self.refresh_token.expose().clone()),
            &self.dpop_key,
            now,
        )?)
    }
}

/// awsx's view of credentials from AWS Sign-In; `received_at` sets their effective margin
/// (900-s credentials are served for 450 s, renewed in their last 450).
fn role_credentials(
    creds: &awsx_signin::Credentials,
    received_at: Option<OffsetDateTime>,
) -> RoleCredentials {
    RoleCredentials {
        access_key_id: creds.access_key_id.clone(),
        secret_access_key: Secret::new(creds.secret_access_key.expose().clone()),
        session_token: Secret::new(creds.session_token.expose().clone()),
        expiration: Expiration::new(creds.expiration),
        received_at,
    }
}

/// The session of `profile` in `store`, or `None` (no entry, or an entry awsx cannot read:
/// a corrupt entry costs a login, never a crash).
pub fn load(
    store: &dyn SecretStore,
    profile: &ProfileName,
) -> Result<Option<ConsoleSession>, ConsoleError> {
    let Some(raw) = store.get(&EntryName::console_session(profile))? else {
        return Ok(None);
    };
    let Ok(stored) = serde_json::from_str::<Stored>(raw.expose()) else {
        tracing::debug!(%profile, "console session entry is unreadable: treated as absent");
        return Ok(None);
    };
    if stored.version != STORED_VERSION {
        return Ok(None);
    }
    let (Ok(endpoint), Ok(client_id)) = (
        Endpoint::new(&stored.endpoint),
        stored.client_id.parse::<ClientId>(),
    ) else {
        return Ok(None);
    };
    let Some(dpop_key) = base64_simd::STANDARD
        .decode_to_vec(stored.dpop_key.expose())
        .ok()
        .and_then(|der| DpopKey::from_pkcs8(&der).ok())
    else {
        return Ok(None);
    };
    let binding = ConsoleBinding {
        principal_arn: stored.principal_arn.clone(),
        login: stored.login.clone(),
    };
    let credentials = match store.get(&EntryName::console_creds(profile)) {
        Ok(Some(raw)) => BoundConsole::parse_for(raw.expose(), &binding),
        Ok(None) => None,
        Err(e) if e.is_discardable_entry() => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Some(ConsoleSession {
        profile: profile.clone(),
        principal_arn: stored.principal_arn,
        account_id: stored.account_id,
        region: stored.region,
        endpoint,
        client_id,
        dpop_key,
        refresh_token: stored.refresh_token,
        login: stored.login,
        signed_in_at: stored.signed_in_at,
        credentials,
    }))
}

/// Log out: remove the session, its credentials (keychain and hot tier) and this HOME's
/// record. `true` when there was a keychain entry. AWS Sign-In offers no revoke: the refresh
/// token stays valid at AWS until the session ends (12 h after sign-in), but no copy of it
/// is left here.
pub fn delete(
    store: &dyn SecretStore,
    hot: Option<&HotTier>,
    cache_dir: &Path,
    profile: &ProfileName,
) -> Result<bool, ConsoleError> {
    let creds = EntryName::console_creds(profile);
    if let Some(hot) = hot {
        hot.remove(&creds);
    }
    let had_session = store.delete(&EntryName::console_session(profile))?;
    let had_creds = store.delete(&creds)?;
    ConsoleRecord::remove(cache_dir, profile);
    Ok(had_session || had_creds)
}

/// Adopt the AWS CLI's session for `login_session` (a principal ARN) from its plaintext
/// cache (`$AWS_LOGIN_CACHE_DIRECTORY`, else `~/.aws/login/cache`) into the keychain under
/// `profile`, with a new login id, remembered for this HOME (so it serves at once). `None` when the CLI has no such file. The file itself is
/// left alone: deleting it is the caller's decision (`awsx migrate --delete`).
pub fn import_cli_cache(
    env: &Env,
    store: &dyn SecretStore,
    hot: Option<&HotTier>,
    margin: time::Duration,
    profile: &ProfileName,
    region: &Region,
    login_session: &str,
) -> Result<Option<(ConsoleSession, std::path::PathBuf)>, ConsoleError> {
    let path = cli_cache_path(env, login_session);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConsoleError::CliCache {
                path: path.display().to_string(),
                profile: profile.clone(),
                detail: e.to_string(),
            });
        }
    };
    let session = awsx_signin::parse_cache_file(&bytes, login_session).map_err(|e| {
        ConsoleError::CliCache {
            path: path.display().to_string(),
            profile: profile.clone(),
            detail: e.to_string(),
        }
    })?;
    let endpoint = crate::endpoint(env, region)?;
    // The CLI's credentials keep their expiry; their arrival time is unknown, so they get
    // the configured margin (a refresh comes a little early, never late).
    let creds = role_credentials(&session.credentials, None);
    let mut imported = ConsoleSession::from_signin(
        profile.clone(),
        region.clone(),
        endpoint,
        session,
        OffsetDateTime::now_utc(),
    )?;
    imported.credentials = Some(creds);
    imported.save(store, hot, margin)?;
    imported.remember(&env.cache_dir(), store, None)?;
    Ok(Some((imported, path)))
}

/// Where the AWS CLI keeps `login_session`'s cache file.
pub fn cli_cache_path(env: &Env, login_session: &str) -> std::path::PathBuf {
    let dir = env
        .var(awsx_signin::CACHE_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            env.home()
                .unwrap_or_default()
                .join(".aws")
                .join("login")
                .join("cache")
        });
    dir.join(awsx_signin::cache_file_name(login_session))
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_store::memory::MemoryStore;

    fn session(profile: &str) -> ConsoleSession {
        // Whole seconds: the stored expiry is RFC 3339 to the second.
        let now = OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
            .unwrap();
        ConsoleSession {
            profile: profile.parse().unwrap(),
            principal_arn: "arn:aws:iam::123456789012:user/Admin".into(),
            account_id: "123456789012".parse().unwrap(),
            region: "eu-west-1".parse().unwrap(),
            endpoint: Endpoint::new("http://127.0.0.1:9").unwrap(),
            client_id: ClientId::SameDevice,
            dpop_key: DpopKey::generate().unwrap(),
            refresh_token: Secret::new("refresh-token-value-0123456789".into()),
            login: LoginId::new(),
            signed_in_at: now,
            credentials: Some(RoleCredentials {
                access_key_id: "ASIACONSOLEEXAMPLE".into(),
                secret_access_key: Secret::new("secret-access-key-0123456789".into()),
                session_token: Secret::new("session-token-0123456789".into()),
                expiration: Expiration::new(now + time::Duration::seconds(900)),
                received_at: Some(now),
            }),
        }
    }

    #[test]
    fn a_saved_session_loads_back_with_its_key_token_and_credentials() {
        let store = MemoryStore::new();
        let saved = session("admin");
        saved
            .save(&store, None, time::Duration::minutes(15))
            .unwrap();
        let loaded = load(&store, &saved.profile).unwrap().unwrap();
        assert_eq!(loaded.principal_arn, saved.principal_arn);
        assert_eq!(loaded.account_id, saved.account_id);
        assert_eq!(loaded.endpoint, saved.endpoint);
        assert_eq!(loaded.client_id, ClientId::SameDevice);
        assert_eq!(loaded.login, saved.login);
        assert_eq!(loaded.refresh_token, saved.refresh_token);
        assert_eq!(loaded.dpop_key.thumbprint(), saved.dpop_key.thumbprint());
        assert_eq!(loaded.credentials, saved.credentials);
        // 900-s credentials are fresh on arrival with the default 15-minute margin.
        assert!(
            loaded
                .fresh_credentials(time::Duration::minutes(15))
                .is_some()
        );
        let debug = format!("{loaded:?}");
        assert!(!debug.contains("refresh-token-value"), "{debug}");
        assert!(!debug.contains("secret-access-key"), "{debug}");
    }

    #[test]
    fn credentials_of_another_login_are_not_loaded() {
        let store = MemoryStore::new();
        let first = session("admin");
        first
            .save(&store, None, time::Duration::minutes(15))
            .unwrap();
        // A second login wrote only its session entry so far: the old credentials belong
        // to the first login and are not served with the second one's session.
        let mut second = session("admin");
        second.credentials = None;
        second
            .save(&store, None, time::Duration::minutes(15))
            .unwrap();
        let loaded = load(&store, &first.profile).unwrap().unwrap();
        assert_eq!(loaded.login, second.login);
        assert!(loaded.credentials.is_none());
    }

    #[test]
    fn logout_deletes_every_entry_and_the_record() {
        let store = MemoryStore::reporting(awsx_store::Backend::SecretService);
        let dir = tempfile::tempdir().unwrap();
        let s = session("admin");
        s.save(&store, None, time::Duration::minutes(15)).unwrap();
        s.remember(dir.path(), &store, None).unwrap();
        assert!(ConsoleRecord::read(dir.path(), &s.profile).is_some());
        assert!(delete(&store, None, dir.path(), &s.profile).unwrap());
        assert!(store.list().unwrap().is_empty());
        assert!(ConsoleRecord::read(dir.path(), &s.profile).is_none());
        assert!(!delete(&store, None, dir.path(), &s.profile).unwrap());
    }

    #[test]
    fn a_corrupt_session_entry_reads_as_no_session() {
        let store = MemoryStore::new();
        let name: ProfileName = "admin".parse().unwrap();
        store
            .set(
                &EntryName::console_session(&name),
                &Secret::new("{not json".into()),
                None,
            )
            .unwrap();
        assert!(load(&store, &name).unwrap().is_none());
    }

    /// The AWS CLI's cache file as it writes it (awsx-signin's test vector; the key is
    /// aws-config's SEC1 test key).
    const CLI_CACHE_FILE: &str = r#"{"accessToken": {"accessKeyId": "ASIAEXAMPLEKEY", "secretAccessKey": "SECRETKEYEXAMPLE", "sessionToken": "SESSIONTOKENEXAMPLE", "accountId": "123456789012", "expiresAt": "2025-11-19T00:15:00Z"}, "tokenType": "aws_sigv4", "clientId": "arn:aws:signin:::devtools/same-device", "refreshToken": "REFRESHTOKENEXAMPLE", "idToken": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiAiYXJuOmF3czppYW06OjEyMzQ1Njc4OTAxMjp1c2VyL0FkbWluIn0.c2ln", "dpopKey": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBMB/RwQERsVoqWRQG4zK8CnaAa5dfrpbm+9tFdBh3z4oAoGCCqGSM49\nAwEHoUQDQgAEWb1VLi1EA2hJaTz4yYuxSELvY+1GAfL+8rUTCAdiFid87Bf6GY+s\n2+1RpqDv0RpZiDIMCrZrsAh+RK9S3QCaGA==\n-----END EC PRIVATE KEY-----\n"}"#;

    #[test]
    fn the_aws_cli_cache_entry_is_imported_into_the_keychain_and_left_in_place() {
        let arn = "arn:aws:iam::123456789012:user/Admin";
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(awsx_signin::cache_file_name(arn));
        std::fs::write(&file, CLI_CACHE_FILE).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let env = Env::from_vars([
            ("HOME", "/nonexistent"),
            (awsx_signin::CACHE_DIR_ENV, dir.path().to_str().unwrap()),
            ("AWSX_CACHE_DIR", cache.path().to_str().unwrap()),
        ]);
        let store = MemoryStore::reporting(awsx_store::Backend::SecretService);
        let name: ProfileName = "admin".parse().unwrap();
        let region: Region = "us-east-1".parse().unwrap();
        let margin = time::Duration::minutes(15);
        let (imported, path) = import_cli_cache(&env, &store, None, margin, &name, &region, arn)
            .unwrap()
            .expect("the CLI's entry");
        assert_eq!(path, file);
        assert!(file.exists(), "the CLI's file is the caller's to delete");
        let record = ConsoleRecord::read(cache.path(), &name).expect("remembered for this HOME");
        assert_eq!(record.login, imported.login);
        let loaded = load(&store, &name).unwrap().unwrap();
        assert_eq!(loaded.principal_arn, arn);
        assert_eq!(loaded.account_id.as_str(), "123456789012");
        assert_eq!(loaded.login, imported.login);
        assert_eq!(loaded.refresh_token.expose(), "REFRESHTOKENEXAMPLE");
        assert_eq!(
            loaded.endpoint.as_str(),
            "https://us-east-1.signin.aws.amazon.com"
        );
        let cli_key = awsx_signin::DpopKey::from_sec1_pem(
            serde_json::from_str::<serde_json::Value>(CLI_CACHE_FILE).unwrap()["dpopKey"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(loaded.dpop_key.thumbprint(), cli_key.thumbprint());
        let creds = loaded.credentials.clone().expect("the CLI's credentials");
        assert_eq!(creds.expiration.to_rfc3339(), "2025-11-19T00:15:00Z");
        // Long expired: the next use refreshes with the imported token and key.
        assert!(loaded.fresh_credentials(margin).is_none());
        // Another principal has no file.
        let none = import_cli_cache(
            &env,
            &store,
            None,
            margin,
            &name,
            &region,
            "arn:aws:iam::123456789012:user/Other",
        )
        .unwrap();
        assert!(none.is_none());
    }
}
