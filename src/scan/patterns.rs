//! What an AWS access key looks like on disk, and the search of one buffer for it.
//!
//! AWS's unique-identifier prefixes (IAM User Guide, "Unique identifiers") name a dozen kinds
//! of ID. Four of them are credentials that authenticate a caller: `AKIA` (an IAM user's or
//! the root user's long-lived access key), `ASIA` (a temporary STS access key), `ABIA` (an STS
//! service bearer token) and `ACCA` (a context-specific credential). The others (`AIDA`
//! users, `AROA` roles, `AGPA` groups, `ANPA` policies, `APKA` public keys, ...) name things
//! and appear in ARNs and policies all the time; reporting them would bury the real finds.
//!
//! An ID alone cannot sign a request; the 40-character secret access key next to it can. So
//! every ID is reported, and `has_secret` says whether a secret sits beside it: on the same
//! line (CSV from the IAM console, `KEY:SECRET` for s3fs), or under a label such as
//! `aws_secret_access_key =`, `AWS_SECRET_ACCESS_KEY=`, `"SecretAccessKey": "…"` or
//! `secret_key =` within [`PAIRING_WINDOW`] lines. A labelled secret with no ID nearby is
//! reported on its own; a bare 40-character token with no ID on its line is not (it is far
//! more often a hash or a base64 blob than a key).
use std::sync::LazyLock;

use regex::bytes::Regex;

use super::redact::RedactedKeyId;

/// How many lines apart an ID and a labelled secret may be and still count as a pair. A
/// credentials-file profile, an `export` pair or STS's JSON reply keep them within 1–3 lines.
pub const PAIRING_WINDOW: usize = 5;

/// AWS's documented example keys (`AKIAIOSFODNN7EXAMPLE`, `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`
/// and their siblings) all end like this. They fill documentation, tests and vendored SDKs,
/// and they can sign nothing.
const EXAMPLE_ID_SUFFIX: &[u8] = b"EXAMPLE";
const EXAMPLE_SECRET_SUFFIX: &[u8] = b"EXAMPLEKEY";

/// Older IDs use the digits 0–9, newer ones base32 (A–Z, 2–7): accept both. The boundaries
/// are checked by hand ([`is_bounded`]) so that `KEY_AKIA…` (an underscore before) still counts.
static KEY_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}").expect("valid regex"));

/// A secret under a label. The label starts with one of three spellings of "secret" so that
/// the search keeps a cheap literal prefilter (a case-insensitive "secret" would degrade to a
/// scan for every `s`); that covers `aws_secret_access_key`, `AWS_SECRET_ACCESS_KEY`,
/// `SecretAccessKey`, `secretAccessKey`, `secret_key` and `SECRET_KEY`. Then an optional
/// closing quote, a separator (`=`, `:`, `:=`, `=>` or just spaces, as in
/// `aws configure set aws_secret_access_key X` or fish's `set -x NAME X`) and an optional quote.
static LABELLED_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?-u)(?:secret|Secret|SECRET)[_ .-]?(?:(?i:access)[_ .-]?)?(?i:key)["']?[ \t]*(?:=>|:=|[:=])?[ \t]*["']?[A-Za-z0-9/+]{40}"#,
    )
    .expect("valid regex")
});

/// The length of a secret access key.
const SECRET_LEN: usize = 40;

/// A run of secret-alphabet characters, to find a bare secret on an ID's line.
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)[A-Za-z0-9/+]+").expect("valid regex"));

/// Which credential an access key ID belongs to, from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyKind {
    /// `AKIA`: an IAM user's (or the root user's) access key; valid until someone deletes it.
    LongLived,
    /// `ASIA`: temporary STS credentials; valid for up to 36 hours, with a session token.
    Temporary,
    /// `ABIA`: an STS service bearer token.
    BearerToken,
    /// `ACCA`: a context-specific credential.
    ContextSpecific,
    /// A labelled secret access key with no key ID within [`PAIRING_WINDOW`] lines.
    SecretOnly,
}

impl KeyKind {
    fn from_prefix(id: &[u8]) -> Option<KeyKind> {
        match id.get(..4)? {
            b"AKIA" => Some(KeyKind::LongLived),
            b"ASIA" => Some(KeyKind::Temporary),
            b"ABIA" => Some(KeyKind::BearerToken),
            b"ACCA" => Some(KeyKind::ContextSpecific),
            _ => None,
        }
    }

    /// The stable name in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::LongLived => "long-lived-access-key",
            KeyKind::Temporary => "temporary-access-key",
            KeyKind::BearerToken => "sts-bearer-token",
            KeyKind::ContextSpecific => "context-specific-credential",
            KeyKind::SecretOnly => "secret-access-key",
        }
    }

    /// Words for people.
    pub fn describe(self) -> &'static str {
        match self {
            KeyKind::LongLived => "long-lived access key id",
            KeyKind::Temporary => "temporary access key id",
            KeyKind::BearerToken => "STS service bearer token id",
            KeyKind::ContextSpecific => "context-specific credential id",
            KeyKind::SecretOnly => "secret access key",
        }
    }
}

/// One find in a buffer. It holds the redacted ID only: the key itself never leaves [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// 1-based line number.
    pub line: usize,
    pub kind: KeyKind,
    /// `None` for [`KeyKind::SecretOnly`].
    pub key_id: Option<RedactedKeyId>,
    pub has_secret: bool,
}

/// Search one buffer (a whole file, or `NAME=VALUE` of one variable). Hits come in buffer order.
pub fn scan(buf: &[u8], include_examples: bool) -> Vec<Hit> {
    let mut ids: Vec<(usize, KeyKind, RedactedKeyId, bool)> = Vec::new();
    let mut lines = LineCounter::default();
    for m in KEY_ID.find_iter(buf) {
        if !is_bounded(buf, m.start(), m.end()) {
            continue;
        }
        let id = m.as_bytes();
        if !include_examples && id.ends_with(EXAMPLE_ID_SUFFIX) {
            continue;
        }
        let Some(kind) = KeyKind::from_prefix(id) else {
            continue;
        };
        let line = lines.line_of(buf, m.start());
        let same_line = bare_secret_on_line(buf, m.start(), m.end(), include_examples);
        ids.push((line, kind, RedactedKeyId::new(id), same_line));
    }

    let mut secrets: Vec<usize> = Vec::new();
    let mut lines = LineCounter::default();
    for m in LABELLED_SECRET.find_iter(buf) {
        // The pattern ends with exactly the 40-character token, so no capture groups are needed
        // (they would cost an allocation per file).
        let token = &buf[m.end() - SECRET_LEN..m.end()];
        if !is_secret_bounded(buf, m.end()) || !looks_like_secret(token, include_examples) {
            continue;
        }
        secrets.push(lines.line_of(buf, m.end() - SECRET_LEN));
    }

    if ids.is_empty() && secrets.is_empty() {
        return Vec::new();
    }
    let near = |a: usize, b: usize| a.abs_diff(b) <= PAIRING_WINDOW;
    let mut hits: Vec<Hit> = ids
        .iter()
        .map(|(line, kind, id, same_line)| Hit {
            line: *line,
            kind: *kind,
            key_id: Some(id.clone()),
            has_secret: *same_line || secrets.iter().any(|&s| near(s, *line)),
        })
        .collect();
    hits.extend(
        secrets
            .iter()
            .filter(|&&s| !ids.iter().any(|(line, ..)| near(s, *line)))
            .map(|&line| Hit {
                line,
                kind: KeyKind::SecretOnly,
                key_id: None,
                has_secret: true,
            }),
    );
    hits.sort_by_key(|h| h.line);
    hits
}

/// Counts newlines incrementally, so that numbering every match in a buffer costs one pass.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: usize,
}

impl LineCounter {
    /// The 1-based line of `pos`; positions must not decrease between calls.
    fn line_of(&mut self, buf: &[u8], pos: usize) -> usize {
        let pos = pos.max(self.offset);
        self.line += memchr::memchr_iter(b'\n', &buf[self.offset..pos]).count();
        self.offset = pos;
        self.line + 1
    }
}

/// An ID must stand alone: no letter or digit right before or after it (`XAKIA…` or a 21st
/// character means it is part of something longer, such as a base64 blob).
fn is_bounded(buf: &[u8], start: usize, end: usize) -> bool {
    let before = start.checked_sub(1).and_then(|i| buf.get(i));
    let after = buf.get(end);
    !before.is_some_and(u8::is_ascii_alphanumeric) && !after.is_some_and(u8::is_ascii_alphanumeric)
}

/// A secret is exactly 40 characters: the next one may not continue the token.
fn is_secret_bounded(buf: &[u8], end: usize) -> bool {
    !buf.get(end)
        .is_some_and(|&b| is_secret_byte(b) || b == b'=')
}

fn is_secret_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'+'
}

/// A real secret is 40 random base64 characters, so it mixes upper case, lower case and
/// digits or symbols; that rejects hex digests (40 lower-case hex digits, as in a git SHA-1),
/// placeholders such as `xxxx…` and upper-case identifiers. A real key fails this about once in
/// 4,000.
fn looks_like_secret(token: &[u8], include_examples: bool) -> bool {
    token.len() == SECRET_LEN
        && token.iter().any(u8::is_ascii_uppercase)
        && token.iter().any(u8::is_ascii_lowercase)
        && token
            .iter()
            .any(|&b| b.is_ascii_digit() || b == b'/' || b == b'+')
        && (include_examples || !token.ends_with(EXAMPLE_SECRET_SUFFIX))
}

/// Whether the ID's line holds a bare 40-character secret-like token besides the ID.
fn bare_secret_on_line(buf: &[u8], start: usize, end: usize, include_examples: bool) -> bool {
    let line_start = memchr::memrchr(b'\n', &buf[..start]).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', &buf[end..]).map_or(buf.len(), |i| end + i);
    let line = &buf[line_start..line_end];
    TOKEN.find_iter(line).any(|t| {
        // A token is a whole run of the secret alphabet, so its length is its real length;
        // a 40-character run that ends in `=` is base64 of something else.
        line.get(t.end()) != Some(&b'=') && looks_like_secret(t.as_bytes(), include_examples)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made-up keys in the real format. They do not end in EXAMPLE, so they are reported.
    const ID: &str = "AKIAZ7QX4MDRW2NT5VBL";
    const TEMP_ID: &str = "ASIAQ2WX7RT4YP9KD3MB";
    const SECRET: &str = "p8Zk/3mWq+R7tYvB2nXc9LdFh4JsGa6UeKo1Ti0S";

    fn one(text: &str) -> Hit {
        let hits = scan(text.as_bytes(), false);
        assert_eq!(hits.len(), 1, "{hits:?} in {text:?}");
        hits.into_iter().next().expect("one hit")
    }

    #[test]
    fn credentials_file_profile_pairs_id_and_secret() {
        let text = format!(
            "[default]\nregion = eu-west-1\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n"
        );
        let hit = one(&text);
        assert_eq!(hit.line, 3);
        assert_eq!(hit.kind, KeyKind::LongLived);
        assert!(hit.has_secret);
        assert_eq!(hit.key_id.expect("id").as_str(), "AKIA…5VBL");
    }

    #[test]
    fn shell_exports_in_each_syntax_pair() {
        for text in [
            format!("export AWS_ACCESS_KEY_ID={ID}\nexport AWS_SECRET_ACCESS_KEY={SECRET}\n"),
            format!("export AWS_ACCESS_KEY_ID=\"{ID}\"\nexport AWS_SECRET_ACCESS_KEY='{SECRET}'\n"),
            format!("set -gx AWS_ACCESS_KEY_ID {ID}\nset -gx AWS_SECRET_ACCESS_KEY {SECRET}\n"),
            format!("$env:AWS_ACCESS_KEY_ID=\"{ID}\"\n$env:AWS_SECRET_ACCESS_KEY=\"{SECRET}\"\n"),
            format!(
                "aws configure set aws_access_key_id {ID}\naws configure set aws_secret_access_key {SECRET}\n"
            ),
            format!("AWS_ACCESS_KEY_ID={ID} AWS_SECRET_ACCESS_KEY={SECRET} terraform apply\n"),
            format!(
                ": 1700000000:0;export AWS_ACCESS_KEY_ID={ID}\n: 1700000001:0;ls\n: 1700000002:0;export AWS_SECRET_ACCESS_KEY={SECRET}\n"
            ),
        ] {
            let hit = one(&text);
            assert!(hit.has_secret, "{text}");
        }
    }

    #[test]
    fn sts_json_reply_pairs_across_lines() {
        let text = format!(
            "{{\n  \"Credentials\": {{\n    \"AccessKeyId\": \"{TEMP_ID}\",\n    \"SecretAccessKey\": \"{SECRET}\",\n    \"SessionToken\": \"IQoJb3JpZ2luX2VjEJr...\"\n  }}\n}}\n"
        );
        let hit = one(&text);
        assert_eq!(
            (hit.line, hit.kind, hit.has_secret),
            (3, KeyKind::Temporary, true)
        );
    }

    #[test]
    fn yaml_terraform_s3cfg_and_camel_case_labels_pair() {
        for text in [
            format!("access_key_id: {ID}\nsecret_access_key: {SECRET}\n"),
            format!(
                "provider \"aws\" {{\n  access_key = \"{ID}\"\n  secret_key = \"{SECRET}\"\n}}\n"
            ),
            format!("[default]\naccess_key = {ID}\nsecret_key = {SECRET}\n"),
            format!("const creds = {{ accessKeyId: '{ID}', secretAccessKey: '{SECRET}' }};\n"),
            format!("ACCESS_KEY => '{ID}',\nSECRET_KEY => '{SECRET}',\n"),
        ] {
            assert!(one(&text).has_secret, "{text}");
        }
    }

    #[test]
    fn bare_secret_on_the_same_line_pairs() {
        let csv = format!("Access key ID,Secret access key\n{ID},{SECRET}\n");
        let hit = one(&csv);
        assert_eq!((hit.line, hit.has_secret), (2, true));
        assert!(
            one(&format!("{ID}:{SECRET}\n")).has_secret,
            "s3fs passwd format"
        );
    }

    #[test]
    fn id_without_secret_is_reported_without_one() {
        let hit = one(&format!("# old key {ID}, rotated\n"));
        assert!(!hit.has_secret);
        let far = format!(
            "aws_access_key_id = {ID}\n{}aws_secret_access_key = {SECRET}\n",
            "x\n".repeat(PAIRING_WINDOW)
        );
        let hits = scan(far.as_bytes(), false);
        assert_eq!(
            hits.len(),
            2,
            "a secret beyond the window stands alone: {hits:?}"
        );
        assert!(!hits[0].has_secret);
        assert_eq!(hits[1].kind, KeyKind::SecretOnly);
    }

    #[test]
    fn labelled_secret_without_id_is_reported_as_secret_only() {
        let hit = one(&format!("AWS_SECRET_ACCESS_KEY={SECRET}\n"));
        assert_eq!(
            (hit.kind, hit.key_id, hit.has_secret),
            (KeyKind::SecretOnly, None, true)
        );
    }

    #[test]
    fn each_credential_prefix_has_its_kind() {
        for (id, kind) in [
            ("AKIAZ7QX4MDRW2NT5VBL", KeyKind::LongLived),
            ("ASIAZ7QX4MDRW2NT5VBL", KeyKind::Temporary),
            ("ABIAZ7QX4MDRW2NT5VBL", KeyKind::BearerToken),
            ("ACCAZ7QX4MDRW2NT5VBL", KeyKind::ContextSpecific),
        ] {
            assert_eq!(one(&format!("key={id}\n")).kind, kind);
        }
    }

    #[test]
    fn non_credential_ids_are_not_reported() {
        for text in [
            "arn:aws:iam::123456789012:user/bob AIDAZ7QX4MDRW2NT5VBL",
            "AROAZ7QX4MDRW2NT5VBL:session",
            "AGPAZ7QX4MDRW2NT5VBL ANPAZ7QX4MDRW2NT5VBL APKAZ7QX4MDRW2NT5VBL",
        ] {
            assert!(scan(text.as_bytes(), false).is_empty(), "{text}");
        }
    }

    #[test]
    fn ids_inside_longer_tokens_are_not_keys() {
        for text in [
            format!("X{ID}"),
            format!("{ID}Q"),
            format!("{ID}7"),
            "AKIAZ7QX4MDRW2NT5VB".to_owned(), // 19 characters
            "akiaz7qx4mdrw2nt5vbl".to_owned(),
        ] {
            assert!(scan(text.as_bytes(), false).is_empty(), "{text}");
        }
        assert_eq!(
            scan(format!("MY_KEY_{ID}").as_bytes(), false).len(),
            1,
            "underscore is a separator"
        );
    }

    #[test]
    fn random_base64_without_an_id_is_not_reported() {
        let text = format!(
            "sha = {}\nblob: {SECRET}\ntoken = \"{SECRET}\"\nkey = {SECRET}\nlong = {SECRET}{SECRET}\n",
            "3f786850e387550fdab836ed7e6dc881de23001b"
        );
        assert!(scan(text.as_bytes(), false).is_empty());
    }

    #[test]
    fn hashes_and_placeholders_are_not_secrets() {
        for secret in [
            "3f786850e387550fdab836ed7e6dc881de23001b",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "YOURSECRETACCESSKEYGOESHEREPLEASEXXXXXXX",
        ] {
            let hit = one(&format!(
                "aws_access_key_id = {ID}\naws_secret_access_key = {secret}\n"
            ));
            assert!(!hit.has_secret, "{secret}");
        }
    }

    #[test]
    fn aws_documentation_examples_are_skipped_unless_asked_for() {
        let text = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\
                    AKIAI44QH8DHBEXAMPLE je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n";
        assert!(scan(text.as_bytes(), false).is_empty());
        let hits = scan(text.as_bytes(), true);
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|h| h.has_secret));
    }

    #[test]
    fn line_numbers_count_from_one_across_crlf_and_binary_bytes() {
        let mut text = b"a\r\nb\0\xff\r\n".to_vec();
        text.extend_from_slice(format!("{ID}\r\n").as_bytes());
        let hits = scan(&text, false);
        assert_eq!(hits[0].line, 3);
        let hits = scan(format!("{ID}\n\n{TEMP_ID}").as_bytes(), false);
        assert_eq!(hits.iter().map(|h| h.line).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn hits_never_hold_the_key_or_the_secret() {
        let text = format!("aws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n");
        let debug = format!("{:?}", scan(text.as_bytes(), false));
        assert!(
            !debug.contains(ID) && !debug.contains(SECRET) && !debug.contains(&SECRET[..20]),
            "{debug}"
        );
    }
}
