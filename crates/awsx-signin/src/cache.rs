//! The AWS CLI's plaintext cache file, read once by `awsx migrate` and then deleted on request.
//!
//! Sources: the AWS CLI v2 `_exchange_auth_code_for_access_token` (the token dict) and
//! `LoginCommand` (saved through botocore's `JSONFileCache`: `json.dumps`, file
//! `<key>.json`), botocore `generate_login_cache_key` (hex SHA-256 of the login session ARN,
//! UTF-8) and `get_login_token_cache_directory` (`$AWS_LOGIN_CACHE_DIRECTORY`, else
//! `~/.aws/login/cache`), aws-config 1.8.18 `src/login/cache.rs` (same file; it trims the ARN
//! before hashing, which changes nothing for an ARN read from a config file).
//!
//! ```json
//! {"accessToken": {"accessKeyId": .., "secretAccessKey": .., "sessionToken": ..,
//!   "accountId": "123456789012", "expiresAt": "2025-11-19T00:15:00Z"},
//!  "tokenType": "aws_sigv4", "clientId": "arn:aws:signin:::devtools/same-device",
//!  "refreshToken": .., "idToken": .., "dpopKey": "-----BEGIN EC PRIVATE KEY-----\n..."}
//! ```

use crate::authorize::UnknownClientId;
use crate::dpop::{DpopKey, KeyError};
use crate::secret::Secret;
use crate::token::{Credentials, Session};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The cache directory's environment override (botocore and aws-config).
pub const CACHE_DIR_ENV: &str = "AWS_LOGIN_CACHE_DIRECTORY";

/// `<hex sha256(login_session)>.json`, the name under the cache directory. Hashed as given,
/// as botocore (the writer) does; aws-config trims the ARN first.
pub fn cache_file_name(login_session: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, login_session.as_bytes());
    let mut name = String::with_capacity(69);
    for byte in digest.as_ref() {
        name.push_str(&format!("{byte:02x}"));
    }
    name.push_str(".json");
    name
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheFile {
    access_token: CacheCredentials,
    token_type: Option<String>,
    refresh_token: Secret<String>,
    id_token: Option<Secret<String>>,
    client_id: String,
    dpop_key: Secret<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheCredentials {
    access_key_id: String,
    secret_access_key: Secret<String>,
    session_token: Secret<String>,
    account_id: String,
    expires_at: String,
}

/// Why a cache file cannot be adopted. Never quotes the file.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(
        "the AWS CLI login cache file is not in the expected format ({0}); sign in again with `awsx login --console`"
    )]
    Format(String),
    #[error(
        "the AWS CLI login cache file's expiresAt {0:?} is not an RFC 3339 time; sign in again with `awsx login --console`"
    )]
    Expiry(String),
    #[error(transparent)]
    ClientId(#[from] UnknownClientId),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Reads a cache file written by the AWS CLI for `login_session` (the profile's value).
pub fn parse_cache_file(json: &[u8], login_session: &str) -> Result<Session, CacheError> {
    let file: CacheFile = serde_json::from_slice(json).map_err(|e| {
        // serde_json's message may quote a value (a token); keep only what is missing where.
        let what = e.to_string();
        let field = what
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(|field| format!("missing field {field}"));
        CacheError::Format(field.unwrap_or_else(|| {
            format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            )
        }))
    })?;
    let expiration = OffsetDateTime::parse(&file.access_token.expires_at, &Rfc3339)
        .map_err(|_| CacheError::Expiry(file.access_token.expires_at.clone()))?;
    Ok(Session {
        login_session: login_session.trim().to_owned(),
        account_id: file.access_token.account_id,
        client_id: file.client_id.parse()?,
        credentials: Credentials {
            access_key_id: file.access_token.access_key_id,
            secret_access_key: file.access_token.secret_access_key,
            session_token: file.access_token.session_token,
            expiration,
        },
        refresh_token: file.refresh_token,
        token_type: file.token_type,
        id_token: file.id_token,
        dpop_key: DpopKey::from_sec1_pem(file.dpop_key.as_str())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::ClientId;
    use crate::token::principal_from_id_token;

    /// Built as the AWS CLI writes it: the token dict of `_exchange_auth_code_for_access_token`,
    /// in its key order, through Python's `json.dumps` (JSONFileCache); the dpopKey is
    /// aws-config's SEC1 test key, 64-column PEM as `_serialize_to_pem` wraps it.
    const CLI_CACHE_FILE: &str = r#"{"accessToken": {"accessKeyId": "ASIAEXAMPLEKEY", "secretAccessKey": "SECRETKEYEXAMPLE", "sessionToken": "SESSIONTOKENEXAMPLE", "accountId": "123456789012", "expiresAt": "2025-11-19T00:15:00Z"}, "tokenType": "aws_sigv4", "clientId": "arn:aws:signin:::devtools/same-device", "refreshToken": "REFRESHTOKENEXAMPLE", "idToken": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiAiYXJuOmF3czppYW06OjEyMzQ1Njc4OTAxMjp1c2VyL0FkbWluIn0.c2ln", "dpopKey": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBMB/RwQERsVoqWRQG4zK8CnaAa5dfrpbm+9tFdBh3z4oAoGCCqGSM49\nAwEHoUQDQgAEWb1VLi1EA2hJaTz4yYuxSELvY+1GAfL+8rUTCAdiFid87Bf6GY+s\n2+1RpqDv0RpZiDIMCrZrsAh+RK9S3QCaGA==\n-----END EC PRIVATE KEY-----\n"}"#;

    #[test]
    fn file_names_are_the_sdks() {
        // aws-config 1.8.18's determine_correct_cache_filenames vectors.
        assert_eq!(
            cache_file_name("arn:aws:iam::0123456789012:user/Admin"),
            "36db1d138ff460920374e4c3d8e01f53f9f73537e89c88d639f68393df0e2726.json"
        );
        assert_eq!(
            cache_file_name("arn:aws:iam::000000000000:user/PowerUser"),
            "d19c78f768c6a12874de5f41d7f22cbb834ba205704102da0db20d8496efecb5.json"
        );
        // Python: hashlib.sha256(b"arn:aws:iam::123456789012:user/Admin").hexdigest()
        assert_eq!(
            cache_file_name("arn:aws:iam::123456789012:user/Admin"),
            "10cabd19777b6651ac57333b55c7c10a1242b1c2337f40e674926d7324698347.json"
        );
    }

    #[test]
    fn cli_cache_file_becomes_a_session() {
        let arn = "arn:aws:iam::123456789012:user/Admin";
        let session = parse_cache_file(CLI_CACHE_FILE.as_bytes(), arn).unwrap();
        assert_eq!(session.login_session, arn);
        assert_eq!(session.account_id, "123456789012");
        assert_eq!(session.client_id, ClientId::SameDevice);
        assert_eq!(session.credentials.access_key_id, "ASIAEXAMPLEKEY");
        assert_eq!(
            session.credentials.secret_access_key.as_str(),
            "SECRETKEYEXAMPLE"
        );
        assert_eq!(
            session.credentials.session_token.as_str(),
            "SESSIONTOKENEXAMPLE"
        );
        assert_eq!(
            session.credentials.expiration,
            OffsetDateTime::from_unix_timestamp(1_763_511_300).unwrap()
        );
        assert_eq!(session.refresh_token.as_str(), "REFRESHTOKENEXAMPLE");
        assert_eq!(session.token_type.as_deref(), Some("aws_sigv4"));
        assert_eq!(
            principal_from_id_token(session.id_token.as_ref().unwrap().as_str())
                .unwrap()
                .arn,
            arn
        );
        assert_eq!(
            session.dpop_key.public_jwk().x,
            "Wb1VLi1EA2hJaTz4yYuxSELvY-1GAfL-8rUTCAdiFic"
        );
        let shown = format!("{session:?}");
        for secret in [
            "SECRETKEYEXAMPLE",
            "SESSIONTOKENEXAMPLE",
            "REFRESHTOKENEXAMPLE",
            "MHcC",
            "eyJzdWIi",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn broken_files_say_what_is_wrong_without_quoting_secrets() {
        let no_key = CLI_CACHE_FILE.replace(r#""dpopKey""#, r#""otherKey""#);
        let err = parse_cache_file(no_key.as_bytes(), "arn:aws:iam::123456789012:user/Admin")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the AWS CLI login cache file is not in the expected format (missing field dpopKey); sign in again with `awsx login --console`"
        );
        let wrong_type = CLI_CACHE_FILE.replace(
            r#""refreshToken": "REFRESHTOKENEXAMPLE""#,
            r#""refreshToken": ["REFRESHTOKENEXAMPLE"]"#,
        );
        let err = parse_cache_file(wrong_type.as_bytes(), "a").unwrap_err();
        assert!(
            !format!("{err} {err:?}").contains("REFRESHTOKENEXAMPLE"),
            "{err}"
        );
        let bad_key = CLI_CACHE_FILE.replace("MHcCAQEEIBMB", "MHcCAQEEIBMC");
        assert!(matches!(
            parse_cache_file(bad_key.as_bytes(), "a"),
            Err(CacheError::Key(_))
        ));
        let bad_client = CLI_CACHE_FILE.replace("devtools/same-device", "devtools/x");
        assert!(matches!(
            parse_cache_file(bad_client.as_bytes(), "a"),
            Err(CacheError::ClientId(_))
        ));
    }
}
