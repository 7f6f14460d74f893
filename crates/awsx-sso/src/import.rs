//! Reading a token from the AWS CLI's own SSO cache (`aws sso login`), for
//! `awsx login --import-aws-cli`. Read only: awsx never writes a secret to that directory.
//!
//! The CLI names each file after the SHA-1 of the sso-session's name (or, for legacy
//! profiles without an sso-session, of the start URL) and stores camelCase JSON:
//! `{"startUrl","region","accessToken","expiresAt","clientId","clientSecret",
//! "registrationExpiresAt","refreshToken"}`.
use std::path::{Path, PathBuf};

use serde::Deserialize;
use time::OffsetDateTime;

use super::error::SsoError;
use super::model::{ClientRegistration, SessionSpec, SsoToken};
use awsx_core::env::Env;
use awsx_core::secret::Secret;
use awsx_core::types::Expiration;

/// A token found in the AWS CLI's cache, with its client registration when the CLI kept one.
pub struct Imported {
    pub token: SsoToken,
    pub registration: Option<ClientRegistration>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheFile {
    start_url: Option<String>,
    region: Option<String>,
    access_token: Secret<String>,
    expires_at: String,
    client_id: Option<String>,
    client_secret: Option<Secret<String>>,
    registration_expires_at: Option<String>,
    refresh_token: Option<Secret<String>>,
}

/// The cache files the AWS CLI may have written for this session, newest naming scheme first.
pub fn candidate_paths(env: &Env, spec: &SessionSpec) -> [PathBuf; 2] {
    let dir = env.aws_cli_sso_cache_dir();
    [
        dir.join(format!("{}.json", sha1_hex(spec.name.as_str()))),
        dir.join(format!("{}.json", sha1_hex(spec.start_url.as_str()))),
    ]
}

fn sha1_hex(text: &str) -> String {
    sha1_smol::Sha1::from(text).digest().to_string()
}

/// The still-valid token the AWS CLI holds for `spec`, if any. A token for another start
/// URL, or one that has expired, is not used.
pub fn read_aws_cli_cache(env: &Env, spec: &SessionSpec) -> Result<Option<Imported>, SsoError> {
    for path in candidate_paths(env, spec) {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(unreadable(&path, e.to_string())),
        };
        let file: CacheFile =
            serde_json::from_str(&text).map_err(|e| unreadable(&path, e.to_string()))?;
        if let Some(imported) = usable(file, spec, &path, OffsetDateTime::now_utc())? {
            return Ok(Some(imported));
        }
    }
    Ok(None)
}

fn usable(
    file: CacheFile,
    spec: &SessionSpec,
    path: &Path,
    now: OffsetDateTime,
) -> Result<Option<Imported>, SsoError> {
    let same_portal = file.start_url.as_deref().is_none_or(|url| {
        url.trim_end_matches('/') == spec.start_url.as_str().trim_end_matches('/')
    });
    let same_region = file
        .region
        .as_deref()
        .is_none_or(|r| r == spec.region.as_str());
    if !same_portal || !same_region {
        return Ok(None);
    }
    let expires_at = parse_time(&file.expires_at, path)?;
    let token = SsoToken {
        access_token: file.access_token,
        expires_at,
        refresh_token: file.refresh_token,
        start_url: spec.start_url.clone(),
        region: spec.region.clone(),
        issued_at: Expiration::new(now),
        login: None,
    };
    if !token.is_valid(now) {
        return Ok(None);
    }
    let registration = match (
        file.client_id,
        file.client_secret,
        file.registration_expires_at,
    ) {
        (Some(client_id), Some(client_secret), Some(expires)) => Some(ClientRegistration {
            client_id,
            client_secret,
            expires_at: parse_time(&expires, path)?,
            scopes: spec.scopes.clone(),
            region: spec.region.clone(),
            // The AWS CLI's cache does not say which flow registered the client (since 2.22
            // usually the browser's): used to refresh the imported token only, never for a
            // new login.
            grant_types: vec!["refresh_token".to_owned()],
        }),
        _ => None,
    };
    Ok(Some(Imported {
        token,
        registration,
    }))
}

/// The CLI writes `2026-11-23T10:00:00Z`, older versions `2026-11-23T10:00:00UTC`.
fn parse_time(text: &str, path: &Path) -> Result<Expiration, SsoError> {
    let normalised = text
        .strip_suffix("UTC")
        .map_or_else(|| text.to_owned(), |t| format!("{t}Z"));
    Expiration::parse_rfc3339(&normalised)
        .map_err(|_| unreadable(path, format!("expiresAt {text:?} is not a time")))
}

fn unreadable(path: &Path, what: String) -> SsoError {
    SsoError::AwsCliCache {
        path: path.to_owned(),
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_core::types::{Region, SsoSessionName, StartUrl};

    fn spec() -> SessionSpec {
        SessionSpec {
            name: "acme".parse::<SsoSessionName>().unwrap(),
            start_url: "https://acme.awsapps.com/start"
                .parse::<StartUrl>()
                .unwrap(),
            region: "eu-west-1".parse::<Region>().unwrap(),
            scopes: vec!["sso:account:access".into()],
        }
    }

    fn file(expires_at: &str, start_url: &str) -> CacheFile {
        serde_json::from_value(serde_json::json!({
            "startUrl": start_url,
            "region": "eu-west-1",
            "accessToken": "tok",
            "expiresAt": expires_at,
            "clientId": "cid",
            "clientSecret": "csecret",
            "registrationExpiresAt": "2030-01-01T00:00:00Z",
            "refreshToken": "rt",
        }))
        .unwrap()
    }

    #[test]
    fn file_names_are_the_sha1_the_aws_cli_uses() {
        // botocore: hashlib.sha1(name.encode("utf-8")).hexdigest()
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn a_valid_token_for_the_same_portal_is_imported_with_its_registration() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let f = file("2027-01-15T09:00:00Z", "https://acme.awsapps.com/start/");
        let got = usable(f, &spec(), Path::new("x"), now).unwrap().unwrap();
        assert_eq!(got.token.access_token.expose(), "tok");
        assert_eq!(got.token.refresh_token.unwrap().expose(), "rt");
        assert_eq!(got.registration.unwrap().client_id, "cid");
    }

    #[test]
    fn expired_or_foreign_tokens_are_ignored_and_old_time_format_parses() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let expired = file("2027-01-15T07:00:00UTC", "https://acme.awsapps.com/start");
        assert!(
            usable(expired, &spec(), Path::new("x"), now)
                .unwrap()
                .is_none()
        );
        let other = file("2027-01-15T09:00:00Z", "https://other.awsapps.com/start");
        assert!(
            usable(other, &spec(), Path::new("x"), now)
                .unwrap()
                .is_none()
        );
        let garbage = file("soon", "https://acme.awsapps.com/start");
        assert!(usable(garbage, &spec(), Path::new("x"), now).is_err());
    }
}
