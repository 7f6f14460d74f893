//! The record of awsx's last failure, for `awsx explain --last`: when `credential-process`,
//! `export` or `exec` fail (awsx's own error, not a command's that `exec` ran), a small JSON
//! file in awsx's data dir says what failed, for which profile, with which exit code and
//! when. Written only on failure, so the cache-hit path never touches it.
//!
//! No secret goes in: awsx's error messages carry none by design, and the text is scrubbed
//! anyway (access key ids reduced to `AKIA…WXYZ`, anything shaped like a secret key or a
//! session token replaced by `****`) before it is written.
use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::env::Env;

/// Set (to `1`) in the environment of the credential_process that `doctor --profile` and
/// `explain` run as a probe. A probe's failure does not replace the record, and a probe never
/// starts a login: it reports "login required" like any process without a terminal.
pub const PROBE_VAR: &str = "AWSX_PROBE";

/// Whether this process is doctor's or explain's probe of a profile (see [`PROBE_VAR`]).
pub fn is_probe(env: &Env) -> bool {
    env.var(PROBE_VAR).is_some()
}

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
    pub fn save(&self, env: &Env) -> Result<(), crate::config::Error> {
        let json = serde_json::to_vec_pretty(self).unwrap_or_default();
        crate::config::atomic_write(&Self::path(env), &json, None)
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
    let ids = KEY_ID.replace_all(text, |c: &regex::Captures| {
        crate::migrate::redact_key_id(&c[0])
    });
    SECRET_LIKE.replace_all(&ids, "****").into_owned()
}

/// Access key ids (AKIA long-lived, ASIA temporary, ABIA, ACCA).
static KEY_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b")
        .expect("a valid regular expression literal")
});
/// A secret access key is 40 base64 characters, a session token hundreds: any run of 40 or
/// more such characters is treated as one.
static SECRET_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9/+=]{40,}").expect("a valid regular expression literal")
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
