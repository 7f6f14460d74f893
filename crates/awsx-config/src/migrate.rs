//! `awsx migrate`'s library half: find the long-lived keys of a credentials file, remove
//! the chosen ones (keeping every other byte), and describe the change as a diff in which
//! no secret appears. Enrolment itself is `breakglass::enroll`.
use crate::Document;
use awsx_core::secret::{Secret, redact_key_id};

/// One long-lived access key (AKIA…) and the credentials-file profiles that hold it.
#[derive(Debug, Clone)]
pub struct LongLivedKey {
    pub access_key_id: String,
    /// Profiles holding this key, in file order.
    pub profiles: Vec<String>,
    /// The header line of the first profile that holds it.
    pub line: usize,
    /// Its secret, from the first profile that has one (for enrolment).
    pub secret_access_key: Option<Secret<String>>,
}

impl LongLivedKey {
    /// `AKIA…WXYZ`, as `awsx scan` shows keys.
    pub fn redacted(&self) -> String {
        redact_key_id(&self.access_key_id)
    }
}

/// Every long-lived key in `doc` (an `aws_access_key_id` starting with AKIA), grouped by
/// key, in file order.
pub fn long_lived_keys(doc: &Document) -> Vec<LongLivedKey> {
    let mut keys: Vec<LongLivedKey> = Vec::new();
    for section in doc.sections() {
        let Some(name) = doc.key_holder_name(section).map(str::to_owned) else {
            continue;
        };
        let name = &name;
        let Some(id) = section
            .get("aws_access_key_id")
            .map(|e| e.value.trim().to_owned())
        else {
            continue;
        };
        if !id.starts_with("AKIA") {
            continue;
        }
        let secret = section
            .get("aws_secret_access_key")
            .map(|e| Secret::new(e.value.trim().to_owned()))
            .filter(|s| !s.expose().is_empty());
        match keys.iter_mut().find(|k| k.access_key_id == id) {
            Some(key) => {
                if !key.profiles.contains(name) {
                    key.profiles.push(name.clone());
                }
                if key.secret_access_key.is_none() {
                    key.secret_access_key = secret;
                }
            }
            None => keys.push(LongLivedKey {
                access_key_id: id,
                profiles: vec![name.clone()],
                line: section.line,
                secret_access_key: secret,
            }),
        }
    }
    keys
}

/// A unified diff of `old` → `new` with no secret shown (CRLF shown as `\r`).
pub fn masked_diff(path: &str, old: &str, new: &str) -> String {
    crate::mask::masked_diff(path, &format!("{path} (after migrate)"), old, new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flavor;

    const FILE: &str = "# keys\r\n[default]\r\naws_access_key_id = AKIAOTHERKEY00000000\r\naws_secret_access_key = otherSecret\r\n\r\n[tmp]\r\naws_access_key_id = ASIATEMPORARY0000000\r\n[dup]\r\naws_access_key_id=AKIAOTHERKEY00000000\r\nregion = eu-west-1\r\n";

    #[test]
    fn finds_long_lived_keys_grouped_by_id() {
        let doc = Document::parse(FILE, Flavor::Credentials, "credentials");
        let keys = long_lived_keys(&doc);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].profiles, vec!["default", "dup"]);
        assert_eq!(keys[0].redacted(), "AKIA…0000");
        assert_eq!(
            keys[0].secret_access_key.as_ref().unwrap().expose(),
            "otherSecret"
        );
    }

    #[test]
    fn the_diff_never_shows_a_secret() {
        let diff = masked_diff("c", FILE, "# keys\r\n");
        assert!(!diff.contains("otherSecret"), "{diff}");
        assert!(!diff.contains("AKIAOTHERKEY00000000"), "{diff}");
        assert!(diff.contains("-aws_secret_access_key = ****\\r"), "{diff}");
        assert!(diff.contains(" # keys\\r"), "{diff}");
    }
}
