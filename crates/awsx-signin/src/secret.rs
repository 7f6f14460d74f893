//! A value that must never be printed: refresh tokens, secret keys, session tokens, the DPoP
//! private key, the authorization code, the PKCE verifier, request bodies that carry them.

use std::fmt;
use zeroize::Zeroize;

/// Holds a secret. `Debug` prints `Secret(REDACTED)`; there is no `Display`; the memory is
/// wiped on drop. Read it with [`Secret::expose`] only where it goes on the wire or into the
/// keychain.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself: for the request body, the keychain, a signature, nothing else.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl Secret<String> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<Vec<u8>> for Secret<Vec<u8>> {
    fn from(value: Vec<u8>) -> Self {
        Self(value)
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(REDACTED)")
    }
}

impl<'de> serde::Deserialize<'de> for Secret<String> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::from("refresh-token-value");
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("refresh-token-value"), "{shown}");
        assert_eq!(format!("{secret:?}"), "Secret(REDACTED)");
        assert_eq!(secret.as_str(), "refresh-token-value");
    }
}
