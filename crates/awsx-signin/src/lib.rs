//! The client side of AWS Sign-In's OAuth 2.0 API, the one `aws login` uses: console sign-in
//! turned into short-lived credentials. Sans-IO: it builds requests and reads replies; the
//! caller sends them (awsx's HTTP connector), keeps secrets (the keychain) and runs the
//! loopback listener.
//!
//! A login: [`DpopKey::generate`], [`AuthorizeRequest::same_device`] (or
//! [`AuthorizeRequest::cross_device`]), open [`AuthorizeRequest::url`], take the code back with
//! [`AuthorizeRequest::accept_callback`] (or [`AuthorizeRequest::accept_pasted_code`]), send
//! [`authorization_code_request`], read it with [`parse_token_response`], and
//! [`Session::from_code_grant`]. A refresh: [`Session::refresh_request`],
//! [`parse_token_response`], [`Session::apply_refresh`] (refresh tokens rotate: store the new
//! one before anyone else refreshes). Migration: [`cache_file_name`] and [`parse_cache_file`].
//!
//! Where each wire fact comes from (read, not guessed):
//! - Operation, payloads, error shapes and codes: botocore's Sign-In model
//!   (`botocore/data/signin/2023-01-01/service-2.json`) and aws-sdk-signin 1.33.0's
//!   serializers and deserializers (`src/protocol_serde/`, `src/json_errors.rs`); endpoints:
//!   its rules (`src/config/endpoint.rs`). See [`token`], [`endpoint`].
//! - DPoP proof: aws-config 1.8.18 `src/login/dpop.rs` and botocore `_build_dpop_header`
//!   (credentials.py); RFC 9449, RFC 7638. See [`dpop`].
//! - Authorize URL, PKCE, state, both flows, the pasted code, the id token's `sub` as the
//!   login session: AWS CLI v2 `awscli/customizations/login/utils.py` and `login.py`. See
//!   [`authorize`].
//! - Cache file and its name: the AWS CLI (above), botocore `generate_login_cache_key`,
//!   aws-config `src/login/cache.rs`. See [`cache`].
//!
//! Every secret (refresh token, secret key, session token, id token, private key, code,
//! verifier, request body) is held in a [`Secret`], whose `Debug` redacts it and which is
//! wiped on drop; no error message quotes one.

#![forbid(unsafe_code)]

pub mod authorize;
pub mod cache;
pub mod dpop;
pub mod endpoint;
pub mod secret;
pub mod token;

pub use authorize::{
    AuthCode, AuthorizeError, AuthorizeRequest, CODE_CHALLENGE_METHOD, ClientId, Pkce,
    UnknownClientId, decode_pasted_code,
};
pub use cache::{CACHE_DIR_ENV, CacheError, cache_file_name, parse_cache_file};
pub use dpop::{DpopKey, KeyError, ProofError, PublicJwk, VerifiedProof, verify_proof};
pub use endpoint::{Endpoint, EndpointError};
pub use secret::Secret;
pub use token::{
    Credentials, IdTokenError, Principal, Session, SessionError, TokenError, TokenGrant,
    TokenHttpRequest, authorization_code_request, parse_token_response, principal_from_arn,
    principal_from_id_token, refresh_request,
};

use ring::rand::{SecureRandom, SystemRandom};

/// base64url without padding (JWS, PKCE, JWK).
pub(crate) fn b64url(bytes: &[u8]) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// base64url, padded or not (a JWT's parts are unpadded; the CLI re-pads before decoding).
pub(crate) fn b64url_decode(text: &str) -> Result<Vec<u8>, base64_simd::Error> {
    base64_simd::URL_SAFE_NO_PAD.decode_to_vec(text.trim_end_matches('='))
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], ring::error::Unspecified> {
    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(bytes)
}

/// A random (version 4) UUID, lower-case hyphenated, as Python's `str(uuid.uuid4())`: the
/// proofs' `jti` and the authorize `state`.
pub(crate) fn uuid4() -> Result<String, ring::error::Unspecified> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}
