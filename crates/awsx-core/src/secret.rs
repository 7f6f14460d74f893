//! A wrapper that keeps secret values out of logs: its `Debug` and `Display` print
//! `REDACTED`, so a stray `{:?}` on a struct holding a token cannot leak it.
//!
//! Every secret wrapped in this process (read from the keychain, received from AWS, typed)
//! is also remembered, so that [`scrub`] can take it out of any text by value: an error
//! message that quotes a server's reply, which may echo the token it was sent, is scrubbed
//! before it is printed or recorded (see `main` and `explain::record`).
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Default)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T: Remember> Secret<T> {
    pub fn new(value: T) -> Self {
        value.remember();
        Secret(value)
    }
}

impl<T> Secret<T> {
    /// The secret itself. Call sites are easy to grep for, which is the point.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: Remember> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret::new(value)
    }
}

impl<'de, T: Deserialize<'de> + Remember> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Secret::new)
    }
}

/// What a secret's value must do to be scrubbed by value: be remembered when wrapped.
pub trait Remember {
    fn remember(&self);
}

impl Remember for String {
    fn remember(&self) {
        remember(self);
    }
}

/// Values shorter than this are not remembered: scrubbing them would mangle ordinary words
/// (AWS's shortest secret, a secret access key, has 40 characters).
const MIN_REMEMBERED: usize = 16;
/// A process holds a handful of secrets; this bounds the list if one ever loops.
const MAX_REMEMBERED: usize = 256;

static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remember `value` so that [`scrub`] removes it from text.
pub fn remember(value: &str) {
    if value.len() < MIN_REMEMBERED {
        return;
    }
    let Ok(mut known) = KNOWN.lock() else {
        return;
    };
    if known.iter().any(|k| k == value) {
        return;
    }
    if known.len() >= MAX_REMEMBERED {
        known.remove(0);
    }
    known.push(value.to_owned());
}

/// `text` with every secret this process holds replaced by `****`: as it is, JSON-escaped
/// and percent-encoded (the forms a server's reply or a URL would quote it in). Longest
/// first, so a secret that contains another is removed whole.
pub fn scrub(text: &str) -> String {
    let Ok(known) = KNOWN.lock() else {
        return text.to_owned();
    };
    let mut values: Vec<&String> = known.iter().collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = text.to_owned();
    for value in values {
        for form in forms(value) {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), "****");
            }
        }
    }
    out
}

/// A secret as it may appear in text: itself, JSON-escaped, percent-encoded.
fn forms(value: &str) -> Vec<String> {
    let mut forms = vec![value.to_owned()];
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json.trim_matches('"');
    if json != value {
        forms.push(json.to_owned());
    }
    let encoded: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if encoded != value {
        forms.push(encoded);
    }
    forms
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("REDACTED")
    }
}

impl<T> std::fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("REDACTED")
    }
}

/// An access key id as awsx shows it: `AKIAABCDEFGHIJKLWXYZ` → `AKIA…WXYZ`. Not a secret,
/// but enough of one to find the account, so it is never printed whole.
pub fn redact_key_id(id: &str) -> String {
    if id.len() > 8 && id.is_ascii() {
        format!("{}…{}", &id[..4], &id[id.len() - 4..])
    } else {
        "****".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new(String::from("wJalrXUtnFEMI/K7MDENG"));
        assert_eq!(format!("{s:?}"), "REDACTED");
        assert_eq!(format!("{s}"), "REDACTED");
        assert_eq!(s.expose(), "wJalrXUtnFEMI/K7MDENG");
    }

    #[test]
    fn every_wrapped_secret_is_scrubbed_from_text_by_value() {
        let token = "aoa-Tok_en/with+odd=chars-0123456789";
        let _held = Secret::new(token.to_owned());
        let parsed: Secret<String> =
            serde_json::from_str("\"rt-from-the-keychain_0123456789\"").unwrap();
        let text = format!(
            "HTTP 400: invalid token {token}; in a URL {}; refresh {}; short ok",
            token
                .replace('/', "%2F")
                .replace('+', "%2B")
                .replace('=', "%3D"),
            parsed.expose()
        );
        assert_eq!(
            scrub(&text),
            "HTTP 400: invalid token ****; in a URL ****; refresh ****; short ok"
        );
        // Short values are not remembered: "ok" stays.
        let _short = Secret::new("ok".to_owned());
        assert!(scrub("ok").contains("ok"));
    }

    #[test]
    fn serializes_transparently_for_the_keychain() {
        let s = Secret::new(String::from("abc"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"abc\"");
    }
}
