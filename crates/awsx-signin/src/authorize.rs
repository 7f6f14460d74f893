//! The browser half: PKCE, state, the authorize URL for both flows, and reading the code back
//! (the loopback callback's query, or what the user pastes in the cross-device flow).
//!
//! Source: AWS CLI v2 awscli/customizations/login/utils.py (`BaseLoginTokenFetcher`,
//! `_get_authorization_uri`, `SameDeviceLoginTokenFetcher`, `CrossDeviceLoginTokenFetcher`,
//! `parse_verification_code`) and awscli/customizations/sso/utils.py (`AuthCodeFetcher`).

use crate::endpoint::Endpoint;
use crate::secret::Secret;
use crate::{b64url, random_bytes, uuid4};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::fmt;
use std::str::FromStr;

/// Sign-In's spelling of RFC 7636's `S256` (Identity Center uses `S256`).
pub const CODE_CHALLENGE_METHOD: &str = "SHA-256";

/// botocore's `percent_encode`: everything but ALPHA / DIGIT / `-._~` is escaped.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The two public clients Sign-In knows (the model's `ClientId` pattern).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientId {
    /// Browser on this machine, code delivered to a 127.0.0.1 listener.
    SameDevice,
    /// Browser elsewhere (SSH): the user pastes a code shown by the browser.
    CrossDevice,
}

impl ClientId {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SameDevice => "arn:aws:signin:::devtools/same-device",
            Self::CrossDevice => "arn:aws:signin:::devtools/cross-device",
        }
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client id that is neither of Sign-In's two.
#[derive(Debug, thiserror::Error)]
#[error("unknown sign-in client id {0:?}; log in again with `awsx login --console`")]
pub struct UnknownClientId(pub String);

impl FromStr for ClientId {
    type Err = UnknownClientId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "arn:aws:signin:::devtools/same-device" => Ok(Self::SameDevice),
            "arn:aws:signin:::devtools/cross-device" => Ok(Self::CrossDevice),
            other => Err(UnknownClientId(other.to_owned())),
        }
    }
}

/// PKCE (RFC 7636) as the AWS CLI makes it: a 64-character verifier drawn from
/// `[A-Za-z0-9-._~]`, challenge = base64url(SHA-256(verifier)) without padding.
#[derive(Debug)]
pub struct Pkce {
    verifier: Secret<String>,
    challenge: String,
}

const VERIFIER_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
const VERIFIER_LEN: usize = 64;

impl Pkce {
    pub fn generate() -> Result<Self, AuthorizeError> {
        // Rejection sampling keeps the 66 characters equally likely (the CLI: secrets.choice).
        let limit = (256 / VERIFIER_ALPHABET.len() * VERIFIER_ALPHABET.len()) as u8;
        let mut verifier = String::with_capacity(VERIFIER_LEN);
        while verifier.len() < VERIFIER_LEN {
            let bytes = Secret::new(
                random_bytes::<32>()
                    .map_err(|_| AuthorizeError::Random)?
                    .to_vec(),
            );
            for &b in bytes.expose().iter().filter(|&&b| b < limit) {
                if verifier.len() < VERIFIER_LEN {
                    verifier.push(VERIFIER_ALPHABET[b as usize % VERIFIER_ALPHABET.len()] as char);
                }
            }
        }
        Ok(Self::from_verifier(Secret::new(verifier)))
    }

    pub fn from_verifier(verifier: Secret<String>) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_str().as_bytes());
        Self {
            challenge: b64url(digest.as_ref()),
            verifier,
        }
    }

    pub fn verifier(&self) -> &Secret<String> {
        &self.verifier
    }

    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

/// The authorization code. Secret: with the verifier and the DPoP key it buys a session.
#[derive(Debug)]
pub struct AuthCode(pub Secret<String>);

/// Why the browser half failed. None of these carries the code or the verifier.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    #[error("the system's random number generator failed; try again")]
    Random,
    #[error("sign-in was refused in the browser ({error}{}); run the login again and approve it", .description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Denied {
        error: String,
        description: Option<String>,
    },
    #[error("the sign-in reply has no authorization code; run the login again")]
    NoCode,
    #[error(
        "the sign-in reply's state does not match this login (a stale browser tab or a forged redirect); run the login again"
    )]
    StateMismatch,
    #[error(
        "that is not the code the sign-in page shows (it should be base64 of `state=...&code=...`); copy it again"
    )]
    BadPastedCode,
}

/// One login attempt: client, redirect URI, state and PKCE, kept until the code comes back.
#[derive(Debug)]
pub struct AuthorizeRequest {
    client_id: ClientId,
    redirect_uri: String,
    state: String,
    pkce: Pkce,
}

impl AuthorizeRequest {
    /// Same-device flow: the browser comes back to `http://127.0.0.1:{port}/oauth/callback`.
    pub fn same_device(port: u16) -> Result<Self, AuthorizeError> {
        Self::new(
            ClientId::SameDevice,
            format!("http://127.0.0.1:{port}/oauth/callback"),
        )
    }

    /// Cross-device flow: the browser lands on the endpoint's confirmation page, which shows the
    /// code to paste.
    pub fn cross_device(endpoint: &Endpoint) -> Result<Self, AuthorizeError> {
        Self::new(ClientId::CrossDevice, endpoint.confirmation_url())
    }

    fn new(client_id: ClientId, redirect_uri: String) -> Result<Self, AuthorizeError> {
        Ok(Self {
            client_id,
            redirect_uri,
            state: uuid4().map_err(|_| AuthorizeError::Random)?,
            pkce: Pkce::generate()?,
        })
    }

    pub fn client_id(&self) -> ClientId {
        self.client_id
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The CSRF state (a UUID v4, as the CLI's `uuid.uuid4()`); not a secret.
    pub fn state(&self) -> &str {
        &self.state
    }

    pub fn pkce(&self) -> &Pkce {
        &self.pkce
    }

    /// The URL to open (or print): parameters in the CLI's order, percent-encoded as botocore
    /// does, the unpadded challenge last.
    pub fn url(&self, endpoint: &Endpoint) -> String {
        let params = [
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("state", &self.state),
            ("code_challenge_method", CODE_CHALLENGE_METHOD),
            ("scope", "openid"),
            ("redirect_uri", &self.redirect_uri),
            ("code_challenge", self.pkce.challenge()),
        ];
        let query = params
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY)))
            .collect::<Vec<_>>()
            .join("&");
        format!("{}?{query}", endpoint.authorize_url())
    }

    /// Same-device: the query string of the request to `/oauth/callback` (without `?`).
    /// `?error=...` (a refusal) is reported as [`AuthorizeError::Denied`].
    pub fn accept_callback(&self, query: &str) -> Result<AuthCode, AuthorizeError> {
        let mut code = None;
        let mut state = None;
        let mut error = None;
        let mut description = None;
        // Last value wins, as Python's dict(parse_qsl(...)).
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "code" => code = Some(Secret::new(value.into_owned())),
                "state" => state = Some(value.into_owned()),
                "error" => error = Some(value.into_owned()),
                "error_description" => description = Some(value.into_owned()),
                _ => {}
            }
        }
        if let Some(error) = error {
            return Err(AuthorizeError::Denied { error, description });
        }
        self.check(code, state)
    }

    /// Cross-device: what the user pasted, standard base64 of `state=<state>&code=<code>`
    /// (the CLI's `parse_verification_code`: b64decode, then parse_qsl). Whitespace around or
    /// inside it (a wrapped terminal line) is ignored, as Python's non-validating b64decode does.
    pub fn accept_pasted_code(&self, pasted: &str) -> Result<AuthCode, AuthorizeError> {
        let (code, state) = decode_pasted_code(pasted)?;
        self.check(Some(code), Some(state))
    }

    fn check(
        &self,
        code: Option<Secret<String>>,
        state: Option<String>,
    ) -> Result<AuthCode, AuthorizeError> {
        let code = code
            .filter(|c| !c.as_str().is_empty())
            .ok_or(AuthorizeError::NoCode)?;
        // Compared in full; the state is not a secret, so timing does not matter.
        if state.as_deref() != Some(self.state.as_str()) {
            return Err(AuthorizeError::StateMismatch);
        }
        Ok(AuthCode(code))
    }
}

/// Decodes a pasted cross-device code into (code, state) without checking the state.
pub fn decode_pasted_code(pasted: &str) -> Result<(Secret<String>, String), AuthorizeError> {
    let compact = Secret::new(
        pasted
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect::<String>(),
    );
    let decoded = Secret::new(
        base64_simd::STANDARD
            .decode_to_vec(compact.as_str())
            .or_else(|_| base64_simd::STANDARD_NO_PAD.decode_to_vec(compact.as_str()))
            .map_err(|_| AuthorizeError::BadPastedCode)?,
    );
    let mut code = None;
    let mut state = None;
    for (key, value) in form_urlencoded::parse(decoded.expose()) {
        match key.as_ref() {
            "code" => code = Some(Secret::new(value.into_owned())),
            "state" => state = Some(value.into_owned()),
            _ => {}
        }
    }
    match (code, state) {
        (Some(code), Some(state)) => Ok((code, state)),
        _ => Err(AuthorizeError::BadPastedCode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        // RFC 7636 appendix B's verifier and S256 challenge: Sign-In's "SHA-256" is the same hash.
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(
            pkce.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifier_is_64_unreserved_characters() {
        let a = Pkce::generate().unwrap();
        let b = Pkce::generate().unwrap();
        assert_ne!(a.verifier().as_str(), b.verifier().as_str());
        let v = a.verifier().as_str();
        assert_eq!(v.len(), 64);
        assert!(v.bytes().all(|c| VERIFIER_ALPHABET.contains(&c)), "{v}");
        assert_eq!(a.challenge().len(), 43);
        assert!(!a.challenge().contains('='));
        assert!(!format!("{a:?}").contains(v));
    }

    #[test]
    fn same_device_url_is_the_clis() {
        let endpoint = Endpoint::for_region("us-east-1");
        let request = AuthorizeRequest {
            client_id: ClientId::SameDevice,
            redirect_uri: "http://127.0.0.1:51234/oauth/callback".into(),
            state: "7b0f9e2c-4c3e-4a8e-9d6a-2f1e0c9b8a7d".into(),
            pkce: Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into()),
        };
        assert_eq!(
            request.url(&endpoint),
            "https://us-east-1.signin.aws.amazon.com/v1/authorize?response_type=code\
             &client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fsame-device\
             &state=7b0f9e2c-4c3e-4a8e-9d6a-2f1e0c9b8a7d&code_challenge_method=SHA-256\
             &scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A51234%2Foauth%2Fcallback\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn cross_device_redirects_to_the_confirmation_page() {
        let endpoint = Endpoint::new("http://127.0.0.1:9000").unwrap();
        let request = AuthorizeRequest::cross_device(&endpoint).unwrap();
        assert_eq!(
            request.client_id().as_str(),
            "arn:aws:signin:::devtools/cross-device"
        );
        assert_eq!(
            request.redirect_uri(),
            "http://127.0.0.1:9000/v1/sessions/confirmation"
        );
        let url = request.url(&endpoint);
        assert!(url.starts_with("http://127.0.0.1:9000/v1/authorize?response_type=code&client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fcross-device&"), "{url}");
        assert!(url.contains(
            "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fv1%2Fsessions%2Fconfirmation&"
        ));
        assert!(url.ends_with(&format!("&code_challenge={}", request.pkce().challenge())));
        assert_eq!(request.state().len(), 36);
    }

    #[test]
    fn callback_yields_the_code_only_for_our_state() {
        let request = AuthorizeRequest::same_device(8080).unwrap();
        let ok = format!("code=abc%2Bdef&state={}", request.state());
        assert_eq!(request.accept_callback(&ok).unwrap().0.as_str(), "abc+def");
        let wrong = "code=abc&state=00000000-0000-4000-8000-000000000000";
        assert!(matches!(
            request.accept_callback(wrong),
            Err(AuthorizeError::StateMismatch)
        ));
        assert!(matches!(
            request.accept_callback(&format!("state={}", request.state())),
            Err(AuthorizeError::NoCode)
        ));
        let denied = format!(
            "error=access_denied&error_description=User+denied&state={}",
            request.state()
        );
        let err = request.accept_callback(&denied).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sign-in was refused in the browser (access_denied: User denied); run the login again and approve it"
        );
    }

    #[test]
    fn pasted_code_decodes_as_the_cli_does() {
        let request = AuthorizeRequest::cross_device(&Endpoint::for_region("us-east-1")).unwrap();
        // What the confirmation page shows: base64.b64encode(b"state=...&code=...").
        let raw = format!("state={}&code=Zm9v%2Fbar", request.state());
        let pasted = base64_simd::STANDARD.encode_to_string(raw.as_bytes());
        let wrapped = format!("  {}\n{}\n", &pasted[..20], &pasted[20..]);
        assert_eq!(
            request.accept_pasted_code(&wrapped).unwrap().0.as_str(),
            "Zm9v/bar"
        );

        let other = base64_simd::STANDARD
            .encode_to_string(b"state=00000000-0000-4000-8000-000000000000&code=x");
        assert!(matches!(
            request.accept_pasted_code(&other),
            Err(AuthorizeError::StateMismatch)
        ));
        for bad in [
            "not base64!",
            &base64_simd::STANDARD.encode_to_string(b"code=only"),
        ] {
            assert!(matches!(
                request.accept_pasted_code(bad),
                Err(AuthorizeError::BadPastedCode)
            ));
        }
    }

    #[test]
    fn client_ids_round_trip() {
        for id in [ClientId::SameDevice, ClientId::CrossDevice] {
            assert_eq!(id.as_str().parse::<ClientId>().unwrap(), id);
        }
        assert!(
            "arn:aws:signin:::devtools/other"
                .parse::<ClientId>()
                .is_err()
        );
    }
}
