//! Showing lines of a config or credentials file without their secrets, for the diffs of
//! `migrate` and `sync --dry-run` and `migrate`'s confirmation prompt.
//!
//! A line is judged in its file's context, as the lexer reads it, so every spelling botocore
//! accepts is caught: `key = value` and `key: value`, any case, and a secret's value
//! continued on indented lines. A line botocore cannot parse is hidden whole: it is as
//! likely a pasted secret as anything else.
use std::collections::HashMap;

use super::lex::{Kind, Lexer};
use awsx_core::secret::redact_key_id;

/// Keys whose values are secrets.
const SECRET_KEYS: [&str; 3] = [
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
];

/// How the lines of one or more files are to be shown. Lines are looked up by their text:
/// a text that is secret anywhere is masked everywhere, which can only hide more.
#[derive(Debug, Default)]
pub struct Masker {
    masked: HashMap<String, String>,
}

impl Masker {
    /// A masker for the lines of each of `texts` (typically a file before and after an edit).
    pub fn of(texts: &[&str]) -> Self {
        let mut masker = Masker::default();
        for text in texts {
            masker.learn(text);
        }
        masker
    }

    fn learn(&mut self, text: &str) {
        // Whether the key the current line may continue holds a secret.
        let mut in_secret = false;
        for line in Lexer::new(text) {
            let shown = match line.kind {
                Kind::Key { key, .. } => {
                    let name = key.to_ascii_lowercase();
                    in_secret = SECRET_KEYS.contains(&name.as_str());
                    let value_at = line.content.find('=').map_or(0, |at| at + 1);
                    let prefix = &line.content[..value_at];
                    if in_secret {
                        Some(format!("{prefix} ****"))
                    } else if name == "aws_access_key_id" {
                        let value = line.content[value_at..].trim();
                        Some(format!("{prefix} {}", redact_key_id(value)))
                    } else {
                        None
                    }
                }
                Kind::Continuation { .. } if in_secret => {
                    let indent = line.content.len() - line.content.trim_start().len();
                    Some(format!("{}****", &line.content[..indent]))
                }
                Kind::Garbage(_) => Some("**** (a line that is not key = value, hidden)".into()),
                Kind::Header { .. } => {
                    in_secret = false;
                    None
                }
                Kind::Blank | Kind::Comment | Kind::Continuation { .. } => None,
            };
            if let Some(shown) = shown {
                self.masked
                    .insert(format!("{}{}", line.content, line.eol), shown + line.eol);
            }
        }
    }

    /// `line` (with its ending, as the diff passes it) as it may be shown.
    pub fn show(&self, line: &str) -> String {
        self.masked
            .get(line)
            .cloned()
            .unwrap_or_else(|| line.to_owned())
    }
}

/// A unified diff of `old` → `new` in which no secret of either appears (CRLF shown as `\r`).
pub fn masked_diff(from: &str, to: &str, old: &str, new: &str) -> String {
    let masker = Masker::of(&[old, new]);
    crate::diff::unified(old, new, from, to, |line| masker.show(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRETS: [&str; 6] = [
        "colonSecret",
        "upperSecret",
        "continuedSecret",
        "moreSecret",
        "pastedSecretAlone",
        "AKIAOTHERKEY00000000",
    ];

    const FILE: &str = "[default]\n\
        aws_access_key_id = AKIAOTHERKEY00000000\n\
        aws_secret_access_key: colonSecret\n\
        [upper]\n\
        AWS_Session_Token = upperSecret\n\
        [continued]\n\
        aws_secret_access_key =\n    continuedSecret\n  moreSecret\n\
        region = eu-west-1\n\
        pastedSecretAlone\n\
        s3 =\n  max_concurrent_requests = 4\n";

    #[test]
    fn no_spelling_of_a_secret_is_shown() {
        let diff = masked_diff("a", "b", FILE, "");
        for secret in SECRETS {
            assert!(!diff.contains(secret), "{secret} in\n{diff}");
        }
        // `key: value` and a stray indented line are not properties for the SDKs: hidden whole.
        assert!(
            diff.contains("-**** (a line that is not key = value, hidden)\n"),
            "{diff}"
        );
        assert!(diff.contains("-AWS_Session_Token = ****\n"), "{diff}");
        assert!(diff.contains("-aws_access_key_id = AKIA…0000\n"), "{diff}");
        // What is not secret is shown as it is.
        assert!(diff.contains("-region = eu-west-1\n"), "{diff}");
        assert!(diff.contains("-  max_concurrent_requests = 4\n"), "{diff}");
        assert!(diff.contains("-[continued]\n"), "{diff}");
    }

    #[test]
    fn crlf_and_a_last_line_without_its_ending_are_masked_too() {
        let old = "[a]\r\naws_secret_access_key = s3cr3t\r\n";
        let new = "[a]\r\nregion = x\r\naws_secret_access_key = s3cr3t";
        let diff = masked_diff("a", "b", old, new);
        assert!(!diff.contains("s3cr3t"), "{diff}");
        assert!(diff.contains("aws_secret_access_key = ****\\r"), "{diff}");
    }
}
