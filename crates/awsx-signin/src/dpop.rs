//! DPoP (RFC 9449) proofs with a per-session P-256 key, built exactly as the SDKs build them.
//!
//! Sources: aws-config 1.8.18 `src/login/dpop.rs` (`Header::to_json`, `Payload::to_json`,
//! `calculate`) and botocore's `_build_dpop_header` (credentials.py): header
//! `{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","x":..,"y":..,"crv":"P-256"}}`, claims
//! `{"jti":<uuid4>,"htm":"POST","htu":<the token URL>,"iat":<unix seconds>}`, signature the raw
//! 64-byte r||s, every part base64url without padding. Neither SDK adds `ath` (no access token
//! is presented: the token endpoint is the only resource) nor a server nonce.

use crate::secret::Secret;
use crate::{b64url, b64url_decode, uuid4};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use std::fmt;
use time::OffsetDateTime;

/// DER of the OIDs id-ecPublicKey (1.2.840.10045.2.1) and prime256v1 (1.2.840.10045.3.1.7).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Why a DPoP key could not be made or used. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the stored DPoP key is not a P-256 private key ({0}); log in again to make a new one")]
    Invalid(String),
    #[error("the system's random number generator failed; try again")]
    Random,
}

/// The session's P-256 key. `Debug` shows the public key's thumbprint only.
pub struct DpopKey {
    pair: EcdsaKeyPair,
    pkcs8: Secret<Vec<u8>>,
}

/// The public half as the JWK members the proof header carries (base64url, 32 bytes each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub x: String,
    pub y: String,
}

impl PublicJwk {
    /// RFC 7638 thumbprint (`jkt`): base64url(SHA-256(`{"crv":"P-256","kty":"EC","x":..,"y":..}`)),
    /// what the service binds the refresh token to (model doc of `RefreshToken`: "cnf.jkt").
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.x, self.y
        );
        b64url(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
    }
}

impl DpopKey {
    /// A fresh key from the OS CSPRNG, one per sign-in session.
    pub fn generate() -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| KeyError::Random)?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// The key as [`DpopKey::pkcs8`] exported it (PKCS#8 v1 DER, as awsx keeps it in the keychain).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
        Ok(Self {
            pair,
            pkcs8: Secret::new(der.to_vec()),
        })
    }

    /// The AWS CLI cache file's `dpopKey`: PEM `EC PRIVATE KEY` (SEC1 DER, RFC 5915) as awscrt
    /// exports it (`_serialize_to_pem` in awscli/customizations/login/utils.py). Read as
    /// botocore's `_load_private_key` does (drop the BEGIN/END lines, join, standard base64);
    /// a literal `\n` is read as a newline, as aws-config's cache reader does. A PKCS#8
    /// `PRIVATE KEY` PEM is accepted too.
    pub fn from_sec1_pem(pem: &str) -> Result<Self, KeyError> {
        let pem = Secret::new(pem.replace("\\n", "\n"));
        let body = Secret::new(
            pem.as_str()
                .lines()
                .filter(|line| !line.starts_with("-----BEGIN") && !line.starts_with("-----END"))
                .flat_map(|line| line.chars().filter(|c| !c.is_ascii_whitespace()))
                .collect::<String>(),
        );
        let der = Secret::new(
            base64_simd::STANDARD
                .decode_to_vec(body.as_str())
                .map_err(|_| KeyError::Invalid("the PEM body is not base64".to_owned()))?,
        );
        if let Ok(key) = Self::from_pkcs8(der.expose()) {
            return Ok(key);
        }
        let pkcs8 = sec1_to_pkcs8(der.expose());
        Self::from_pkcs8(pkcs8.expose())
    }

    /// PKCS#8 v1 DER of the private key: what awsx stores in the keychain.
    pub fn pkcs8(&self) -> &Secret<Vec<u8>> {
        &self.pkcs8
    }

    pub fn public_jwk(&self) -> PublicJwk {
        // Uncompressed SEC1 point: 0x04 || x (32 bytes) || y (32 bytes).
        let point = self.pair.public_key().as_ref();
        PublicJwk {
            x: b64url(&point[1..33]),
            y: b64url(&point[33..65]),
        }
    }

    /// RFC 7638 thumbprint of the public key.
    pub fn thumbprint(&self) -> String {
        self.public_jwk().thumbprint()
    }

    /// The `DPoP` header value for a request `htm htu` made at `now`, with a fresh random `jti`.
    pub fn proof(&self, htm: &str, htu: &str, now: OffsetDateTime) -> Result<String, KeyError> {
        let jti = uuid4().map_err(|_| KeyError::Random)?;
        self.proof_with_jti(htm, htu, now.unix_timestamp(), &jti)
    }

    pub(crate) fn proof_with_jti(
        &self,
        htm: &str,
        htu: &str,
        iat: i64,
        jti: &str,
    ) -> Result<String, KeyError> {
        let PublicJwk { x, y } = self.public_jwk();
        let header = format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","x":"{x}","y":"{y}","crv":"P-256"}}}}"#
        );
        let payload = format!(
            r#"{{"jti":{},"htm":{},"htu":{},"iat":{iat}}}"#,
            json_string(jti),
            json_string(htm),
            json_string(htu)
        );
        let message = format!(
            "{}.{}",
            b64url(header.as_bytes()),
            b64url(payload.as_bytes())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), message.as_bytes())
            .map_err(|_| KeyError::Random)?;
        Ok(format!("{message}.{}", b64url(signature.as_ref())))
    }
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("jkt", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

fn json_string(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

/// Wraps a SEC1 `ECPrivateKey` in a PKCS#8 v1 `PrivateKeyInfo` (RFC 5208) for P-256, which ring
/// reads (it accepts the inner key's optional `[0]` parameters and needs its `[1]` public key,
/// which awscrt and OpenSSL always write).
fn sec1_to_pkcs8(sec1: &[u8]) -> Secret<Vec<u8>> {
    let algorithm = der(
        0x30,
        &[der(0x06, OID_EC_PUBLIC_KEY), der(0x06, OID_P256)].concat(),
    );
    let inner = Secret::new([der(0x02, &[0]), algorithm, der(0x04, sec1)].concat());
    Secret::new(der(0x30, inner.expose()))
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 4);
    out.push(tag);
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend([0x81, len as u8]),
        _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// What a verified proof says. For tests and for a server (the emulator) checking proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// RFC 7638 thumbprint of the header's key.
    pub jkt: String,
    pub jti: String,
    pub htm: String,
    pub htu: String,
    pub iat: i64,
}

/// Why a proof was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("malformed DPoP proof: {0}")]
    Malformed(&'static str),
    #[error("the DPoP proof's signature does not verify with its own key")]
    BadSignature,
}

/// Checks a proof's structure and its ES256 signature against the key in its own header
/// (RFC 9449 section 4.3 steps 1 to 7; `htm`, `htu`, `iat` and `jti` are the caller's to check).
pub fn verify_proof(proof: &str) -> Result<VerifiedProof, ProofError> {
    use ProofError::Malformed;
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed("not three dot-separated parts"));
    };
    let decode_json = |part: &str, what: &'static str| -> Result<serde_json::Value, ProofError> {
        let bytes = b64url_decode(part).map_err(|_| Malformed(what))?;
        serde_json::from_slice(&bytes).map_err(|_| Malformed(what))
    };
    let header = decode_json(header_b64, "the header is not base64url JSON")?;
    let claims = decode_json(payload_b64, "the claims are not base64url JSON")?;
    if header["typ"] != "dpop+jwt" {
        return Err(Malformed("typ is not dpop+jwt"));
    }
    if header["alg"] != "ES256" {
        return Err(Malformed("alg is not ES256"));
    }
    let jwk = &header["jwk"];
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
        return Err(Malformed("jwk is not an EC P-256 key"));
    }
    if jwk.get("d").is_some() {
        return Err(Malformed("jwk carries a private key"));
    }
    let coordinate = |name: &str| -> Result<(String, Vec<u8>), ProofError> {
        let text = jwk[name].as_str().ok_or(Malformed("jwk lacks x or y"))?;
        let bytes = b64url_decode(text).map_err(|_| Malformed("jwk x or y is not base64url"))?;
        if bytes.len() != 32 {
            return Err(Malformed("jwk x or y is not 32 bytes"));
        }
        Ok((text.to_owned(), bytes))
    };
    let (x, x_bytes) = coordinate("x")?;
    let (y, y_bytes) = coordinate("y")?;
    let point = [&[0x04][..], &x_bytes, &y_bytes].concat();
    let signature =
        b64url_decode(signature_b64).map_err(|_| Malformed("the signature is not base64url"))?;
    let message = &proof[..header_b64.len() + 1 + payload_b64.len()];
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .verify(message.as_bytes(), &signature)
        .map_err(|_| ProofError::BadSignature)?;
    let text = |name: &str| claims[name].as_str().map(str::to_owned);
    Ok(VerifiedProof {
        jkt: PublicJwk { x, y }.thumbprint(),
        jti: text("jti").ok_or(Malformed("no jti claim"))?,
        htm: text("htm").ok_or(Malformed("no htm claim"))?,
        htu: text("htu").ok_or(Malformed("no htu claim"))?,
        iat: claims["iat"]
            .as_i64()
            .ok_or(Malformed("no numeric iat claim"))?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// aws-config 1.8.18 src/login/dpop.rs `TEST_KEY`, with the coordinates its test expects.
    pub(crate) const SDK_TEST_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBMB/RwQERsVoqWRQG4zK8CnaAa5dfrpbm+9tFdBh3z4oAoGCCqGSM49\nAwEHoUQDQgAEWb1VLi1EA2hJaTz4yYuxSELvY+1GAfL+8rUTCAdiFid87Bf6GY+s\n2+1RpqDv0RpZiDIMCrZrsAh+RK9S3QCaGA==\n-----END EC PRIVATE KEY-----\n";

    /// RFC 9449 section 4.1's example proof; section 6.1 gives its key's `jkt`.
    const RFC9449_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjY1Mjk2fQ.pAqut2IRDm_De6PR93SYmGBPXpwrAk90e8cP2hjiaG5QsGSuKDYW7_X620BxqhvYC8ynrrvZLTk41mSRroapUA";

    /// Built by botocore's own `_build_dpop_header` (credentials.py) with this key (generated by
    /// Python `cryptography`, SEC1 PEM as awscrt exports it), jti and iat fixed, signing shimmed
    /// onto `cryptography` in place of awscrt.
    const BOTOCORE_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEICmsKWfPHaGn8LDYcA+XB8oDOXgxvacADZ+2TeFkC6pWoAoGCCqGSM49\nAwEHoUQDQgAEzMGMC0DnWlPr0RovATJ0hoToFMRlNTg734ewaImdEldiswHgCK01\n4dCCNj6mgSFDnw7Kn3s6GTQZ0ja8J5FLEg==\n-----END EC PRIVATE KEY-----\n";
    const BOTOCORE_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6InpNR01DMERuV2xQcjBSb3ZBVEowaG9Ub0ZNUmxOVGc3MzRld2FJbWRFbGMiLCJ5IjoiWXJNQjRBaXROZUhRZ2pZLXBvRWhRNThPeXA5N09oazBHZEkydkNlUlN4SSIsImNydiI6IlAtMjU2In19.eyJodG0iOiJQT1NUIiwiaHR1IjoiaHR0cHM6Ly91cy1lYXN0LTEuc2lnbmluLmF3cy5hbWF6b24uY29tL3YxL3Rva2VuIiwiaWF0IjoxNzYzNTEwNDAwLCJqdGkiOiI2YjFjOGYwZS0yZDRhLTRjM2ItOWU1Zi03YThiOWMwZDFlMmYifQ.E22WsFAqKGt8kzu_h_BrrC_jcrJsNzUt58rGmAxLTojnDVd1g4iayfanqsmtvxbh9jaauiq1N4GRl56xaZv75w";

    #[test]
    fn botocore_proof_verifies_and_has_our_header() {
        let key = DpopKey::from_sec1_pem(BOTOCORE_KEY).unwrap();
        let proof = verify_proof(BOTOCORE_PROOF).unwrap();
        assert_eq!(proof.jkt, key.thumbprint());
        assert_eq!(
            proof.htu,
            "https://us-east-1.signin.aws.amazon.com/v1/token"
        );
        assert_eq!(
            (proof.iat, proof.jti.as_str()),
            (1763510400, "6b1c8f0e-2d4a-4c3b-9e5f-7a8b9c0d1e2f")
        );
        let ours = key
            .proof_with_jti("POST", &proof.htu, proof.iat, &proof.jti)
            .unwrap();
        // Same header bytes; botocore orders the claims htm, htu, iat, jti (aws-config: jti first).
        assert_eq!(ours.split('.').next(), BOTOCORE_PROOF.split('.').next());
    }

    #[test]
    fn thumbprint_matches_rfc9449_example() {
        let jwk = PublicJwk {
            x: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs".into(),
            y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA".into(),
        };
        assert_eq!(
            jwk.thumbprint(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn verifier_accepts_rfc9449_example_proof() {
        let proof = verify_proof(RFC9449_PROOF).expect("the RFC's own example verifies");
        assert_eq!(proof.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
        assert_eq!(proof.jti, "-BwC3ESc6acc2lTc");
        assert_eq!(proof.htm, "POST");
        assert_eq!(proof.htu, "https://server.example.com/token");
        assert_eq!(proof.iat, 1562265296);
    }

    #[test]
    fn verifier_rejects_a_tampered_proof() {
        let (message, signature) = RFC9449_PROOF.rsplit_once('.').unwrap();
        let tampered_claims = b64url(
            br#"{"jti":"-BwC3ESc6acc2lTc","htm":"GET","htu":"https://server.example.com/token","iat":1562265296}"#,
        );
        let (header, _) = message.split_once('.').unwrap();
        let forged = format!("{header}.{tampered_claims}.{signature}");
        assert!(matches!(
            verify_proof(&forged),
            Err(ProofError::BadSignature)
        ));
    }

    #[test]
    fn sdk_sec1_pem_key_has_the_sdk_coordinates() {
        let key = DpopKey::from_sec1_pem(SDK_TEST_KEY).unwrap();
        let jwk = key.public_jwk();
        assert_eq!(jwk.x, "Wb1VLi1EA2hJaTz4yYuxSELvY-1GAfL-8rUTCAdiFic");
        assert_eq!(jwk.y, "fOwX-hmPrNvtUaag79EaWYgyDAq2a7AIfkSvUt0Amhg");
        // The JSON cache file may carry the newlines escaped.
        let escaped = SDK_TEST_KEY.replace('\n', "\\n");
        assert_eq!(DpopKey::from_sec1_pem(&escaped).unwrap().public_jwk(), jwk);
    }

    #[test]
    fn imported_key_round_trips_through_pkcs8() {
        let key = DpopKey::from_sec1_pem(SDK_TEST_KEY).unwrap();
        let again = DpopKey::from_pkcs8(key.pkcs8().expose()).unwrap();
        assert_eq!(again.public_jwk(), key.public_jwk());
        let fresh = DpopKey::generate().unwrap();
        let fresh_again = DpopKey::from_pkcs8(fresh.pkcs8().expose()).unwrap();
        assert_eq!(fresh_again.thumbprint(), fresh.thumbprint());
        assert_ne!(fresh.thumbprint(), key.thumbprint());
    }

    #[test]
    fn garbage_keys_are_rejected_without_echoing_them() {
        for bad in [
            "not a key",
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
        ] {
            let err = DpopKey::from_sec1_pem(bad).unwrap_err();
            assert!(err.to_string().contains("log in again"), "{err}");
        }
        assert!(DpopKey::from_pkcs8(b"\x30\x03\x02\x01\x00").is_err());
    }

    #[test]
    fn proof_is_built_as_the_sdks_build_it_and_verifies() {
        let key = DpopKey::from_sec1_pem(SDK_TEST_KEY).unwrap();
        let htu = "https://us-east-1.signin.aws.amazon.com/v1/token";
        let proof = key
            .proof_with_jti(
                "POST",
                htu,
                1651516560,
                "3f1c0b5e-8a4d-4e2f-9b7a-0c6d5e4f3a2b",
            )
            .unwrap();
        let (header, rest) = proof.split_once('.').unwrap();
        let (claims, _) = rest.split_once('.').unwrap();
        assert_eq!(
            String::from_utf8(b64url_decode(header).unwrap()).unwrap(),
            r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","x":"Wb1VLi1EA2hJaTz4yYuxSELvY-1GAfL-8rUTCAdiFic","y":"fOwX-hmPrNvtUaag79EaWYgyDAq2a7AIfkSvUt0Amhg","crv":"P-256"}}"#
        );
        assert_eq!(
            String::from_utf8(b64url_decode(claims).unwrap()).unwrap(),
            r#"{"jti":"3f1c0b5e-8a4d-4e2f-9b7a-0c6d5e4f3a2b","htm":"POST","htu":"https://us-east-1.signin.aws.amazon.com/v1/token","iat":1651516560}"#
        );
        assert!(!proof.contains('='));
        let verified = verify_proof(&proof).unwrap();
        assert_eq!(verified.jkt, key.thumbprint());
        assert_eq!(
            (verified.htm.as_str(), verified.htu.as_str(), verified.iat),
            ("POST", htu, 1651516560)
        );
    }

    #[test]
    fn each_proof_has_a_fresh_uuid4_jti() {
        let key = DpopKey::generate().unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let a = verify_proof(&key.proof("POST", "https://x/v1/token", now).unwrap()).unwrap();
        let b = verify_proof(&key.proof("POST", "https://x/v1/token", now).unwrap()).unwrap();
        assert_ne!(a.jti, b.jti);
        assert_eq!(a.iat, 1_800_000_000);
        let jti = a.jti.as_bytes();
        assert_eq!(jti.len(), 36);
        assert_eq!(
            (jti[8], jti[13], jti[14], jti[18], jti[23]),
            (b'-', b'-', b'4', b'-', b'-')
        );
    }

    #[test]
    fn debug_shows_the_thumbprint_not_the_key() {
        let key = DpopKey::from_sec1_pem(SDK_TEST_KEY).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.thumbprint()), "{shown}");
        assert!(!shown.contains("MHcC"), "{shown}");
    }
}
