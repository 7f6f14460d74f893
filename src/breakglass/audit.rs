//! The audit log: `breakglass-audit.jsonl` in awsx's data directory, one JSON object per
//! line, appended and fsynced for every break-glass attempt (and enrolment, rotation),
//! successful or not. It names people, roles, reasons and session names; never a secret.
//!
//! The file is opened before any network call, so an attempt that could not be recorded
//! is never made. Each line is written with one `write` on an `O_APPEND` descriptor, so
//! concurrent awsx processes never interleave within a line.
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::BreakglassError;
use awsx_core::env::Env;

pub const FILE_NAME: &str = "breakglass-audit.jsonl";
/// Bumped only when a field changes meaning; new fields may appear at any time.
pub const SCHEMA_VERSION: u32 = 1;

/// One line of the log (its documented JSON schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub version: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// `assume`, `enroll` or `rotate`.
    pub event: EventKind,
    /// `success` or `failure`.
    pub result: Outcome,
    /// For failures: AWS's error code (`AccessDenied`, …) or awsx's (`MissingReason`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// For failures: the message the user saw (secret-free by construction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The login name of whoever ran awsx.
    pub os_user: Option<String>,
    pub host: Option<String>,
    /// The SourceIdentity sent to STS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_serial: Option<String>,
    /// Where AssumeRole's source credentials came from: `access-key` (the enrolled key) or
    /// `console-session` (a console sign-in of the break-glass user; no key exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// For `console-session`: the signed-in principal's ARN (the id token's `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_principal: Option<String>,
    /// For `console-session` from a live `awsx login --console` session: its profile
    /// (absent when awsx signed in through the browser for this attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_profile: Option<String>,
    /// The full reason as typed (the session tag carries a sanitised copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assumed_role_arn: Option<String>,
    /// The session's (or enrolled key's) access key id, to find it in CloudTrail. Not secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    pub awsx_version: String,
}

/// What an event records: the `event` field, one lowercase word. A kind this version does
/// not know (a newer awsx wrote it) reads back as [`EventKind::Other`] and is written back
/// unchanged, so one unknown word never makes a line unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A break-glass role assumed (or an attempt).
    Assume,
    /// An IAM user's access key stored in the keychain.
    Enroll,
    /// That key replaced by a new one.
    Rotate,
    Other(String),
}

impl EventKind {
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Assume => "assume",
            EventKind::Enroll => "enroll",
            EventKind::Rotate => "rotate",
            EventKind::Other(word) => word,
        }
    }
}

impl From<String> for EventKind {
    fn from(word: String) -> Self {
        match word.as_str() {
            "assume" => EventKind::Assume,
            "enroll" => EventKind::Enroll,
            "rotate" => EventKind::Rotate,
            _ => EventKind::Other(word),
        }
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(EventKind::from)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an event ended: the `result` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AuditEvent {
    /// An event of `kind` at `now` for the current user and host, other fields empty; a
    /// failure until [`AuditEvent::succeeded`] says otherwise.
    pub fn new(kind: EventKind, env: &Env, now: OffsetDateTime) -> AuditEvent {
        AuditEvent {
            version: SCHEMA_VERSION,
            time: now,
            event: kind,
            result: Outcome::Failure,
            error_code: None,
            error: None,
            os_user: super::naming::os_user(env),
            host: super::naming::host_name(env),
            identity: None,
            profile: None,
            role_arn: None,
            iam_user: None,
            mfa_serial: None,
            source: None,
            source_principal: None,
            source_profile: None,
            reason: None,
            session_name: None,
            assumed_role_arn: None,
            access_key_id: None,
            duration_seconds: None,
            expiration: None,
            awsx_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    pub fn succeeded(&mut self) {
        self.result = Outcome::Success;
        self.error_code = None;
        self.error = None;
    }

    pub fn failed(&mut self, err: &BreakglassError) {
        self.result = Outcome::Failure;
        self.error_code = Some(err.audit_code());
        self.error = Some(err.to_string());
    }

    /// Note the access key id a person typed or a file held: as it is when it has an access
    /// key id's shape, else only its shape ([`key_id_shape`]), since a rejected input may
    /// be the secret pasted into the wrong prompt, or a CSV row with the secret in it.
    pub fn note_access_key_id(&mut self, typed: &str) {
        self.access_key_id = Some(recordable_key_id(typed));
    }

    pub fn is_success(&self) -> bool {
        self.result == Outcome::Success
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// `text` safe to print on a terminal: control characters (C0, DEL, C1) and the bidi
/// controls that reorder text on screen (U+200E/F, U+202A–U+202E, U+2066–U+2069) are shown
/// as escapes (`\r`, `\n`, `\t`, `\x1b`, `\u{202e}`), and `\` as `\\`, so that a reason
/// typed with `ESC[2K` or an OSC title sequence shows what it is instead of doing it. The log
/// on disk keeps the text as typed.
pub fn visible(text: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control()
                || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') =>
            {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `<data dir>/breakglass-audit.jsonl`.
pub fn path(env: &Env) -> PathBuf {
    env.data_dir().join(FILE_NAME)
}

/// The log, open for appending.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
}

impl AuditLog {
    /// Open (creating it 0600, its directory 0700) for appending. Call this before the
    /// attempt: failing here refuses the attempt.
    pub fn open(path: &Path) -> Result<AuditLog, BreakglassError> {
        let err = |source| BreakglassError::Audit {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(err)?;
        }
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(err)?;
        Ok(AuditLog {
            path: path.to_owned(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one line and fsync it. An `access_key_id` without an access key id's shape
    /// is written as its shape only, whoever set it.
    pub fn append(&mut self, event: &AuditEvent) -> Result<(), BreakglassError> {
        let mut event = event.clone();
        event.access_key_id = event.access_key_id.as_deref().map(recordable_key_id);
        let mut line = event.to_json();
        line.push('\n');
        let err = |source| BreakglassError::Audit {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(line.as_bytes()).map_err(err)?;
        self.file.sync_data().map_err(err)
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Every event in the log, oldest first, and how many lines could not be read (a torn
/// last line after a crash, or a hand edit). A missing log is empty.
pub fn read(path: &Path) -> Result<(Vec<AuditEvent>, usize), BreakglassError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(source) => {
            return Err(BreakglassError::Audit {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut events = Vec::new();
    let mut unreadable = 0;
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(|source| BreakglassError::Audit {
            path: path.to_owned(),
            source,
        })?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<AuditEvent>(&line) {
            // A log written before key ids were checked may hold a pasted secret there.
            Ok(mut e) => {
                e.access_key_id = e.access_key_id.as_deref().map(recordable_key_id);
                events.push(e)
            }
            Err(_) => unreadable += 1,
        }
    }
    Ok((events, unreadable))
}

/// Whether `text` has the shape of an access key id: `AKIA` or `ASIA` and 12 to 124
/// more upper-case letters or digits (AWS's ids are 20 characters today).
pub fn is_key_id_shaped(text: &str) -> bool {
    (text.starts_with("AKIA") || text.starts_with("ASIA"))
        && (16..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// What may be recorded of a typed access key id: itself when it has the shape of one,
/// else its length and the class of its first characters, e.g. `<rejected input: 61
/// characters, starts with AKIA>`; never any of its text.
pub fn recordable_key_id(text: &str) -> String {
    if is_key_id_shaped(text) || is_shape(text) {
        return text.to_owned();
    }
    key_id_shape(text)
}

const PREFIX_CLASSES: &[&str] = &[
    "starts with AKIA",
    "starts with ASIA",
    "empty",
    "starts with an upper-case letter",
    "starts with a lower-case letter",
    "starts with a digit",
    "starts with white space",
    "starts with another character",
];

/// Whether `text` is exactly what [`key_id_shape`] writes.
fn is_shape(text: &str) -> bool {
    text.strip_prefix("<rejected input: ")
        .and_then(|t| t.strip_suffix('>'))
        .and_then(|t| t.split_once(" characters, "))
        .is_some_and(|(len, class)| {
            !len.is_empty()
                && len.bytes().all(|b| b.is_ascii_digit())
                && PREFIX_CLASSES.contains(&class)
        })
}

/// The shape of a rejected key id: length and prefix class only.
pub fn key_id_shape(text: &str) -> String {
    let len = text.chars().count();
    let class = if text.starts_with("AKIA") {
        0
    } else if text.starts_with("ASIA") {
        1
    } else {
        match text.chars().next() {
            None => 2,
            Some(c) if c.is_ascii_uppercase() => 3,
            Some(c) if c.is_ascii_lowercase() => 4,
            Some(c) if c.is_ascii_digit() => 5,
            Some(c) if c.is_whitespace() => 6,
            Some(_) => 7,
        }
    };
    let prefix = PREFIX_CLASSES[class];
    format!("<rejected input: {len} characters, {prefix}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_key_id_shaped_text_is_recorded_as_typed() {
        assert_eq!(
            recordable_key_id("AKIAABCDEFGHIJKLMNOP"),
            "AKIAABCDEFGHIJKLMNOP"
        );
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            recordable_key_id(secret),
            "<rejected input: 40 characters, starts with a lower-case letter>"
        );
        let csv = format!("AKIAABCDEFGHIJKLMNOP,{secret}");
        let shape = recordable_key_id(&csv);
        assert_eq!(shape, "<rejected input: 61 characters, starts with AKIA>");
        // Recording twice (note, then append) keeps the shape; a look-alike does not pass.
        assert_eq!(recordable_key_id(&shape), shape);
        let fake = format!("<rejected input: 1 characters, {secret}>");
        assert!(!recordable_key_id(&fake).contains(secret));
        assert_eq!(
            recordable_key_id(""),
            "<rejected input: 0 characters, empty>"
        );
    }

    fn event(result_ok: bool) -> AuditEvent {
        let env = Env::from_vars([("USER", "alice")]);
        let mut e = AuditEvent::new(
            EventKind::Assume,
            &env,
            OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        );
        e.profile = Some("prod-bg".into());
        e.reason = Some("INC-1: \"quoted\"\nnewline".into());
        if result_ok {
            e.succeeded();
        }
        e
    }

    #[test]
    fn appends_one_json_line_per_event_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        let mut log = AuditLog::open(&path).unwrap();
        log.append(&event(true)).unwrap();
        drop(log);
        // A second process appends; nothing is overwritten.
        AuditLog::open(&path)
            .unwrap()
            .append(&event(false))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        let (events, bad) = read(&path).unwrap();
        assert_eq!(bad, 0);
        assert_eq!(events.len(), 2);
        assert!(events[0].is_success() && !events[1].is_success());
        assert_eq!(
            events[0].reason.as_deref(),
            Some("INC-1: \"quoted\"\nnewline")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_torn_line_is_counted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut text = event(true).to_json();
        text.push_str("\n{\"version\":1,\"ti");
        std::fs::write(&path, text).unwrap();
        let (events, bad) = read(&path).unwrap();
        assert_eq!((events.len(), bad), (1, 1));
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        let typed = "INC-9\r\x1b[2Kall fine\x1b]0;pwned\x07 \\ \u{9b}\u{202e}txt\nnext\ttab";
        let shown = visible(typed);
        assert_eq!(
            shown,
            r"INC-9\r\x1b[2Kall fine\x1b]0;pwned\x07 \\ \u{9b}\u{202e}txt\nnext\ttab"
        );
        assert!(!shown.chars().any(char::is_control));
        assert_eq!(
            visible("INC-123: IdP outage (EU) – ünïcode"),
            "INC-123: IdP outage (EU) – ünïcode"
        );
    }

    #[test]
    fn a_missing_log_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(&dir.path().join("none")).unwrap(), (Vec::new(), 0));
    }

    /// A line as awsx 0.1 wrote it, before kinds and results were types.
    const OLD_LINE: &str = r#"{"version":1,"time":"2027-01-15T08:00:00Z","event":"assume","result":"failure","error_code":"AccessDenied","error":"denied","os_user":"alice","host":"ws1","profile":"prod-bg","role_arn":"arn:aws:iam::500000000005:role/BreakGlass","reason":"INC-1","awsx_version":"0.1.0"}"#;

    #[test]
    fn old_log_lines_read_into_the_types_and_write_back_the_same() {
        let e: AuditEvent = serde_json::from_str(OLD_LINE).unwrap();
        assert_eq!(e.event, EventKind::Assume);
        assert_eq!(e.result, Outcome::Failure);
        assert_eq!(e.to_json(), OLD_LINE);
        for (word, kind) in [("enroll", EventKind::Enroll), ("rotate", EventKind::Rotate)] {
            let line = OLD_LINE
                .replace(r#""assume""#, &format!("{word:?}"))
                .replace(r#""failure""#, r#""success""#);
            let e: AuditEvent = serde_json::from_str(&line).unwrap();
            assert_eq!((&e.event, e.result), (&kind, Outcome::Success));
            assert!(e.is_success());
            assert_eq!(e.to_json(), line);
        }
    }

    #[test]
    fn an_event_kind_from_a_newer_awsx_is_kept_not_lost() {
        let line = OLD_LINE.replace(r#""assume""#, r#""console""#);
        let e: AuditEvent = serde_json::from_str(&line).unwrap();
        assert_eq!(e.event, EventKind::Other("console".into()));
        assert_eq!(e.to_json(), line);
    }

    #[test]
    fn a_result_other_than_success_or_failure_is_an_unreadable_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let bad = OLD_LINE.replace(r#""failure""#, r#""maybe""#);
        std::fs::write(&path, format!("{OLD_LINE}\n{bad}\n")).unwrap();
        let (events, unreadable) = read(&path).unwrap();
        assert_eq!((events.len(), unreadable), (1, 1));
    }
}
