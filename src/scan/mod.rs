//! `awsx scan`: find AWS access keys in files and in the environment.
//!
//! The pieces: [`patterns`] knows what a key looks like and searches one buffer, [`redact`]
//! is the only form in which a key leaves the search, [`walk`] reads files (a parallel
//! ripgrep-style tree walk, or a fixed list), [`home`] lists the usual suspects in a home
//! directory. Nothing here prints: `cmd::scan` renders the [`Report`].
pub mod home;
pub mod patterns;
pub mod redact;
pub mod walk;

use std::path::PathBuf;

use awsx_core::env::Env;
use awsx_core::exit::{ExitCode, HasExitCode};

pub use patterns::KeyKind;
pub use redact::RedactedKeyId;
pub use walk::{Options, Report, Skipped};

/// Where a key was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    /// A variable of this process's environment. Sorts before files.
    Environment { variable: String },
    /// A file, at a 1-based line.
    File { path: PathBuf, line: usize },
}

/// One key (or lone secret) found. Holds nothing that could be used as a credential.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub location: Location,
    pub kind: KeyKind,
    /// The ID as `AKIA…WXYZ`; `None` for a secret found without its ID.
    pub key_id: Option<RedactedKeyId>,
    /// Whether the secret access key was found next to the ID (so the pair can sign requests).
    pub has_secret: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{}: no such file or directory; check the path and run awsx scan again", path.display())]
    PathNotFound { path: PathBuf },
    #[error("{}: {source}; check the path and its permissions", path.display())]
    PathUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot tell which directory is your home (HOME is not set); set HOME or name the paths to scan"
    )]
    NoHome,
    #[error("cannot write the results: {source}")]
    Output { source: std::io::Error },
    /// Not a failure of the scan: the answer a secret scanner gives with exit code 1.
    #[error(
        "found {count} AWS access key{s}; deactivate {them} in IAM (aws iam update-access-key --status Inactive, or the console), delete {them} from disk, and use awsx login for short-lived credentials instead",
        s = if *count == 1 { "" } else { "s" },
        them = if *count == 1 { "it" } else { "them" },
    )]
    KeysFound { count: usize },
}

impl HasExitCode for ScanError {
    fn exit_code(&self) -> ExitCode {
        match self {
            ScanError::KeysFound { .. } => ExitCode::Failure,
            // Secret scanners use 2 for every error, so that 1 always means "keys found".
            ScanError::PathNotFound { .. }
            | ScanError::PathUnreadable { .. }
            | ScanError::NoHome
            | ScanError::Output { .. } => ExitCode::Usage,
        }
    }
}

/// Keys in the process environment. Every variable is searched (a key in `MY_DEPLOY_KEY` is
/// as live as one in `AWS_ACCESS_KEY_ID`), each as one `NAME=VALUE` line so that the labelled
/// forms (`AWS_SECRET_ACCESS_KEY=…`) are recognised. The environment is one place, so an ID
/// in any variable pairs with a secret in any other, and a lone secret is reported only when
/// no ID is set at all.
pub fn scan_environment(env: &Env, include_examples: bool) -> Vec<Finding> {
    let mut ids = Vec::new();
    let mut secrets = Vec::new();
    let mut any_secret = false;
    let mut line = String::new();
    for (name, value) in env.vars() {
        line.clear();
        line.push_str(name);
        line.push('=');
        line.push_str(value);
        for hit in patterns::scan(line.as_bytes(), include_examples) {
            any_secret |= hit.has_secret;
            let finding = Finding {
                location: Location::Environment {
                    variable: name.to_owned(),
                },
                kind: hit.kind,
                key_id: hit.key_id,
                has_secret: hit.has_secret,
            };
            if hit.kind == KeyKind::SecretOnly {
                secrets.push(finding);
            } else {
                ids.push(finding);
            }
        }
    }
    let mut findings = if ids.is_empty() {
        secrets
    } else {
        ids.into_iter()
            .map(|f| Finding {
                has_secret: any_secret,
                ..f
            })
            .collect()
    };
    findings.sort();
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_pairs_id_and_secret_across_variables() {
        let env = Env::from_vars([
            ("HOME", "/h"),
            ("AWS_ACCESS_KEY_ID", "AKIAZ7QX4MDRW2NT5VBL"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "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",
            ),
        ]);
        let findings = scan_environment(&env, false);
        assert_eq!(
            findings,
            [Finding {
                location: Location::Environment {
                    variable: "AWS_ACCESS_KEY_ID".into()
                },
                kind: KeyKind::LongLived,
                key_id: Some(RedactedKeyId::new(b"AKIAZ7QX4MDRW2NT5VBL")),
                has_secret: true,
            }]
        );
    }

    #[test]
    fn environment_lone_secret_and_clean_environment() {
        let env = Env::from_vars([(
            "AWS_SECRET_ACCESS_KEY",
            "p8Zk/3mWq+R7tYvB2nXc9LdFh4JsGa6UeKo1Ti0S",
        )]);
        let findings = scan_environment(&env, false);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].kind, KeyKind::SecretOnly);
        let env = Env::from_vars([("HOME", "/h"), ("AWS_PROFILE", "dev"), ("PATH", "/usr/bin")]);
        assert!(scan_environment(&env, false).is_empty());
    }

    #[test]
    fn found_keys_exit_1_and_bad_paths_exit_2() {
        assert_eq!(
            ScanError::KeysFound { count: 2 }.exit_code(),
            ExitCode::Failure
        );
        assert_eq!(
            ScanError::PathNotFound { path: "/x".into() }.exit_code(),
            ExitCode::Usage
        );
        assert!(
            ScanError::KeysFound { count: 1 }
                .to_string()
                .starts_with("found 1 AWS access key;")
        );
    }
}
