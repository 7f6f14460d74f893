//! The record of awsx's last failure, for `awsx explain --last`: when `credential-process`,
//! `export` or `exec` fail (awsx's own error, not a command's that `exec` ran), a small JSON
//! file in awsx's data dir says what failed, for which profile, with which exit code and
//! when. Written only on failure, so the cache-hit path never touches it.
//!
//! No secret goes in: awsx's error messages carry none by design, and the text is scrubbed
//! anyway before it is written: every secret this process holds is removed by value
//! ([`awsx_core::secret::scrub`]), then by shape (access key ids reduced to `AKIA…WXYZ`,
//! anything shaped like a secret key, a session token or an OIDC token replaced by `****`)
//! for what it does not hold (e.g. a record written by hand).
use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use awsx_core::env::Env;

/// What `last-failure.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub version: u32,
    /// The awsx subcommand: `credential-process`, `export` or `exec`.
    pub command: String,
    /// The profile it was asked for (the argument, else AWS_PROFILE), when known.
    pub profile: Option<String>,
    pub exit_code: u8,
    /// awsx's error message, as printed after `awsx: ` (scrubbed).
    pub error: String,
    /// When it failed (RFC 3339, UTC).
    pub at: String,
}

impl FailureRecord {
    pub fn new(command: &str, profile: Option<&str>, exit_code: u8, error: &str) -> Self {
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        FailureRecord {
            version: 1,
            command: command.to_owned(),
            profile: profile.map(str::to_owned),
            exit_code,
            error: scrub(error),
            at: now.format(&Rfc3339).unwrap_or_default(),
        }
    }

    pub fn path(env: &Env) -> PathBuf {
        env.data_dir().join("last-failure.json")
    }

    /// Write it atomically (temp file, fsync, rename), replacing the previous record.
    pub fn save(&self, env: &Env) -> Result<(), awsx_config::Error> {
        let json = serde_json::to_vec_pretty(self).unwrap_or_default();
        awsx_config::atomic_write(&Self::path(env), &json, None)
    }

    /// The last record, or `None` when there is none (or it is unreadable: it is only a
    /// convenience, and the next failure rewrites it).
    pub fn load(env: &Env) -> Option<FailureRecord> {
        let bytes = std::fs::read(Self::path(env)).ok()?;
        let mut record: FailureRecord = serde_json::from_slice(&bytes).ok()?;
        // Scrubbed again on the way out, in case the file was written by hand.
        record.error = scrub(&record.error);
        Some(record)
    }

    /// When it failed, if the timestamp reads.
    pub fn at(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.at, &Rfc3339).ok()
    }

    /// The command line as the user would have typed it.
    pub fn command_line(&self) -> String {
        match &self.profile {
            Some(p) if self.command == "credential-process" => {
                format!("awsx {} --profile {p}", self.command)
            }
            Some(p) => format!("awsx {} {p}", self.command),
            None => format!("awsx {}", self.command),
        }
    }
}

/// `text` without anything that could be a credential.
pub fn scrub(text: &str) -> String {
    let known = awsx_core::secret::scrub(text);
    let ids = KEY_ID.replace_all(&known, |c: &regex::Captures| {
        awsx_core::secret::redact_key_id(&c[0])
    });
    SECRET_LIKE
        .replace_all(&ids, |c: &regex::Captures| {
            if looks_random(&c[0]) {
                "****".to_owned()
            } else {
                c[0].to_owned()
            }
        })
        .into_owned()
}

/// Whether a long run of token characters is a secret rather than a name. A run without
/// `-` or `_` is (names of 40 characters have separators). With them, OIDC tokens
/// (base64url) are told from names such as
/// `AWSReservedSSO_AdministratorAccess_0123456789abcdef` by how often the kind of
/// character (upper case, lower case, digit) changes: about 2 in 3 neighbours in random
/// text, about 1 in 6 in words.
fn looks_random(run: &str) -> bool {
    if !run.contains(['-', '_']) {
        return true;
    }
    let kinds: Vec<u8> = run
        .chars()
        .filter_map(|c| match c {
            'A'..='Z' => Some(0),
            'a'..='z' => Some(1),
            '0'..='9' => Some(2),
            _ => None,
        })
        .collect();
    let changes = kinds.windows(2).filter(|w| w[0] != w[1]).count();
    kinds.len() > 1 && changes * 10 >= (kinds.len() - 1) * 4
}

/// Access key ids (AKIA long-lived, ASIA temporary, ABIA, ACCA).
static KEY_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b")
        .expect("a valid regular expression literal")
});
/// A secret access key is 40 base64 characters, a session token hundreds, OIDC tokens
/// base64url (`-`, `_`): any run of 40 or more such characters is a candidate (see
/// [`looks_random`]).
static SECRET_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9/+=_-]{40,}").expect("a valid regular expression literal")
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbing_removes_keys_secrets_and_tokens_and_keeps_words() {
        let text = "key ASIAZ7QX4MDRW2NT5VBL secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY token IQoJb3JpZ2luX2VjEJ//////////wEaCXVzLWVhc3QtMSJHMEUCIQD";
        let scrubbed = scrub(text);
        assert_eq!(scrubbed, "key ASIA…5VBL secret **** token ****");
        let plain = "not logged in to sso-session acme (or the session expired); run: awsx login --sso-session acme";
        assert_eq!(scrub(plain), plain);
        let arn = "arn:aws:sts::200000000002:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice";
        assert_eq!(scrub(arn), arn);
    }

    #[test]
    fn oidc_tokens_with_dashes_and_underscores_are_scrubbed_by_shape() {
        // base64url, as IAM Identity Center's access and refresh tokens are.
        let token = "aoaAAAAAGd3-Kx9_qL2mZ8vT4_nR7pW1-sY6hJ0cB5eF3gU9iO2kA8lM4nX7zQ1";
        let text = format!("InvalidGrantException: refresh token {token} is expired");
        assert_eq!(
            scrub(&text),
            "InvalidGrantException: refresh token **** is expired"
        );
        let names = "awsx-it-hot-lru-12345-678901234-other_service_name_that_is_long";
        assert_eq!(scrub(names), names);
    }

    #[test]
    fn a_record_round_trips_and_a_corrupt_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::from_vars([("AWSX_DATA_DIR", dir.path().to_str().unwrap())]);
        assert_eq!(FailureRecord::load(&env), None);
        let record = FailureRecord::new("credential-process", Some("dev"), 3, "not logged in");
        record.save(&env).unwrap();
        assert_eq!(FailureRecord::load(&env), Some(record.clone()));
        assert_eq!(
            record.command_line(),
            "awsx credential-process --profile dev"
        );
        assert!(record.at().is_some());
        std::fs::write(FailureRecord::path(&env), "{").unwrap();
        assert_eq!(FailureRecord::load(&env), None);
    }
}
