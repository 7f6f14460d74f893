//! `awsx explain`: what an AWS credential error means, and its causes in the order to check
//! them, each with what awsx can see about it (the profile's credential chain as an SDK
//! walks it, the caller identity, the environment, the SSO login, the clock) and the fix.
//!
//! [`parse`] reads the message; [`explain`] looks at this machine and builds the
//! [`Explanation`]; the command renders it. Nothing here prints, and nothing shows a
//! secret: the chain and the checks it reuses from `doctor` redact key ids and never read
//! a secret out.
pub mod assume_role;
mod causes;
pub mod parse;
pub mod record;

use serde::Serialize;

pub use parse::{Facts, Kind, Message, parse};

use crate::doctor::{Check, Status};
use awsx_core::env::Env;
use awsx_core::exit::{ExitCode, HasExitCode};
use awsx_core::types::ProfileName;

/// Why there is nothing to explain, or no explanation.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error(
        "nothing to explain: give the error text as arguments, pipe it in (aws s3 ls 2>&1 | awsx explain), or use --last for awsx's own last failure"
    )]
    NothingGiven,
    #[error(
        "awsx has recorded no failure to explain ({} does not exist): credential-process, export and exec record theirs when they fail; to explain another program's error, pipe it in: CMD 2>&1 | awsx explain",
        path.display()
    )]
    NothingRecorded { path: std::path::PathBuf },
    #[error(
        "this is not an error awsx explain recognises (the list above is what it knows); awsx doctor --profile NAME checks the whole setup"
    )]
    NotRecognised,
}

impl HasExitCode for ExplainError {
    fn exit_code(&self) -> ExitCode {
        match self {
            ExplainError::NothingGiven | ExplainError::NothingRecorded { .. } => ExitCode::Usage,
            ExplainError::NotRecognised => ExitCode::Failure,
        }
    }
}

/// One possible cause. `status`: `fail` awsx saw that this is (a) cause, `ok` awsx saw that
/// it is not, `warn` awsx cannot see it from here: check it.
#[derive(Debug, Clone, Serialize)]
pub struct Cause {
    /// Stable (documented in docs/explain.md).
    pub id: &'static str,
    pub status: Status,
    /// The cause in a few words.
    pub title: String,
    /// What awsx saw, and what the cause means here.
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// A policy statement to add or to look for, as JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

impl Cause {
    fn new(id: &'static str, title: impl Into<String>, check: Check) -> Cause {
        Cause {
            id,
            status: check.status,
            title: title.into(),
            summary: check.summary,
            fix: check.fix,
            snippet: None,
        }
    }
}

/// Which profile explain looks at, and why that one.
#[derive(Debug, Clone)]
pub struct Subject {
    pub name: ProfileName,
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `--profile NAME`.
    Flag,
    /// The profile of awsx's recorded failure (`--last`).
    Record,
    /// The message names it (`The config profile (NAME) could not be found`).
    Message,
    /// `AWS_PROFILE`.
    Environment,
    /// Nothing named one: what an SDK uses then.
    Default,
}

impl Origin {
    /// Where the profile name came from, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Flag => "from --profile",
            Origin::Record => "the profile of awsx's recorded failure",
            Origin::Message => "named by the message",
            Origin::Environment => "from AWS_PROFILE",
            Origin::Default => "the default: no --profile and no AWS_PROFILE",
        }
    }
}

impl Subject {
    /// The profile to look at: `--profile`, else the record's, else the one the message
    /// names, else `AWS_PROFILE`, else `default` (what an SDK would take).
    pub fn choose(
        env: &Env,
        flag: Option<ProfileName>,
        record: Option<&str>,
        message: &Message,
    ) -> Subject {
        let parsed = |s: Option<&str>| s.and_then(|s| s.parse::<ProfileName>().ok());
        let (name, origin) = if let Some(name) = flag {
            (name, Origin::Flag)
        } else if let Some(name) = parsed(record) {
            (name, Origin::Record)
        } else if let Some(name) = parsed(message.facts.profile.as_deref()) {
            (name, Origin::Message)
        } else if let Some(name) = parsed(env.var("AWS_PROFILE")) {
            (name, Origin::Environment)
        } else {
            (
                "default".parse().expect("a valid profile name literal"),
                Origin::Default,
            )
        };
        Subject { name, origin }
    }
}

/// The whole answer.
#[derive(Debug, Serialize)]
pub struct Explanation {
    pub error: Kind,
    /// What the error means, in a sentence or two.
    pub diagnosis: String,
    /// The profile awsx looked at, when there was one to look at.
    pub profile: Option<String>,
    /// What the message itself said.
    pub message: Facts,
    /// The profile's credential chain as an SDK walks it (doctor's `chain.*` checks).
    pub seen: Vec<Check>,
    pub causes: Vec<Cause>,
}

/// What awsx's recorded failure was: its text as any other, and awsx's exit 4 (whatever
/// the keychain's own words) as the keychain being unavailable.
pub fn recognise_record(record: &record::FailureRecord) -> Option<Message> {
    parse(&record.error).or_else(|| {
        (record.exit_code == ExitCode::KeychainUnavailable as u8).then(|| Message {
            kind: Kind::KeychainUnavailable,
            facts: Facts::default(),
        })
    })
}

/// Look at this machine and explain `message` for `subject`.
pub fn explain(env: &Env, message: &Message, subject: &Subject) -> Explanation {
    let view = causes::View::new(env, message, subject);
    let (diagnosis, causes) = view.diagnose();
    Explanation {
        error: message.kind,
        diagnosis,
        profile: view.walked().then(|| subject.name.to_string()),
        message: message.facts.clone(),
        seen: view.seen(),
        causes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_is_the_flag_then_the_record_then_the_message_then_aws_profile() {
        let env = Env::from_vars([("AWS_PROFILE", "from-env")]);
        let message = parse("The config profile (from-message) could not be found").unwrap();
        let pick = |flag: Option<&str>, record: Option<&str>| {
            let s = Subject::choose(&env, flag.map(|f| f.parse().unwrap()), record, &message);
            (s.name.to_string(), s.origin)
        };
        assert_eq!(
            pick(Some("flag"), Some("rec")),
            ("flag".into(), Origin::Flag)
        );
        assert_eq!(pick(None, Some("rec")), ("rec".into(), Origin::Record));
        assert_eq!(pick(None, None), ("from-message".into(), Origin::Message));
        let plain = parse("Unable to locate credentials").unwrap();
        let s = Subject::choose(&env, None, None, &plain);
        assert_eq!(
            (s.name.as_str(), s.origin),
            ("from-env", Origin::Environment)
        );
        let s = Subject::choose(&Env::default(), None, None, &plain);
        assert_eq!((s.name.as_str(), s.origin), ("default", Origin::Default));
    }
}
