//! The only form in which a found key leaves the scanner: its first and last four characters.
//! The prefix says what kind of key it is and the suffix lets the user match it against the
//! IAM console's "Access keys" list, which shows the same shape; the twelve characters in
//! between are never kept, so no output, log or `Debug` can leak them.
use std::fmt;

/// An access key ID reduced to `AKIA…WXYZ`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RedactedKeyId(String);

impl RedactedKeyId {
    /// Reduce an ID as found. IDs are ASCII (the pattern guarantees it); anything else is
    /// replaced rather than trusted, and an ID too short to hide anything is hidden entirely.
    pub fn new(id: &[u8]) -> Self {
        let printable = |bytes: &[u8]| -> String {
            bytes
                .iter()
                .map(|&b| {
                    if b.is_ascii_alphanumeric() {
                        char::from(b)
                    } else {
                        '?'
                    }
                })
                .collect()
        };
        if id.len() < 12 {
            return RedactedKeyId("…".to_owned());
        }
        RedactedKeyId(format!(
            "{}…{}",
            printable(&id[..4]),
            printable(&id[id.len() - 4..])
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedactedKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedactedKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedactedKeyId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_first_and_last_four_characters() {
        let id = RedactedKeyId::new(b"AKIAZ7QX4MDRW2NT5VBL");
        assert_eq!(id.as_str(), "AKIA…5VBL");
        assert_eq!(id.to_string(), "AKIA…5VBL");
        assert_eq!(format!("{id:?}"), "RedactedKeyId(AKIA…5VBL)");
        assert!(!format!("{id:?}").contains("Z7QX4MDRW2NT"));
    }

    #[test]
    fn short_or_odd_input_reveals_nothing_it_should_not() {
        assert_eq!(RedactedKeyId::new(b"AKIA123").as_str(), "…");
        // Terminal escapes or newlines in a (non-)ID must not reach the terminal.
        assert_eq!(
            RedactedKeyId::new(b"AK\nA00000000000\x1b[0m").as_str(),
            "AK?A…??0m"
        );
    }
}
