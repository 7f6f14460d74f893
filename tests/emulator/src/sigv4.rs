//! AWS Signature Version 4, verifying side: parse the Authorization header (or the presigned
//! query), rebuild the canonical request from what arrived, and recompute the signature with
//! the secret the world holds for that access key.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, PrimitiveDateTime, macros::format_description};

type HmacSha256 = Hmac<Sha256>;

/// What a request claims about its signature.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub access_key_id: String,
    /// yyyymmdd
    pub scope_date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// X-Amz-Date (or Date) of the request.
    pub time: OffsetDateTime,
    pub amz_date: String,
    pub security_token: Option<String>,
    /// Signed through the query string (presigned URL).
    pub presigned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// No signature at all: MissingAuthenticationToken.
    Missing,
    /// Present but not well-formed: IncompleteSignature, with AWS's message.
    Incomplete(String),
}

/// Percent-encodes per SigV4: everything but unreserved characters, upper-case hex.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The raw query's pairs, percent-decoded (a `+` stays a `+`: SigV4 clients encode spaces
/// as %20, and the canonical form is computed from the decoded values).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(s, fmt)
        .ok()
        .map(|p| p.assume_utc())
}

fn parse_credential(cred: &str) -> Result<(String, String, String, String), ParseError> {
    let parts: Vec<&str> = cred.split('/').collect();
    match parts.as_slice() {
        [akid, date, region, service, "aws4_request"] => Ok((
            (*akid).to_string(),
            (*date).to_string(),
            (*region).to_string(),
            (*service).to_string(),
        )),
        _ => Err(ParseError::Incomplete(format!(
            "Credential should be scoped to a valid region. Credential={cred}"
        ))),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads the signature claims from the Authorization header or, failing that, the query.
pub fn parse(headers: &HeaderMap, query: &[(String, String)]) -> Result<SignedRequest, ParseError> {
    if let Some(auth) = header(headers, "authorization") {
        let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
            return Err(ParseError::Incomplete(format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={auth}"
            )));
        };
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature)
        else {
            return Err(ParseError::Incomplete(format!(
                "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization={auth}"
            )));
        };
        let (access_key_id, scope_date, region, service) = parse_credential(credential)?;
        let amz_date = header(headers, "x-amz-date").map(str::to_string);
        let time = match &amz_date {
            Some(d) => parse_amz_date(d),
            None => header(headers, "date").and_then(|d| {
                OffsetDateTime::parse(d, &time::format_description::well_known::Rfc2822).ok()
            }),
        };
        let Some(time) = time else {
            return Err(ParseError::Incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .into(),
            ));
        };
        return Ok(SignedRequest {
            access_key_id,
            scope_date,
            region,
            service,
            signed_headers: signed.split(';').map(str::to_string).collect(),
            signature: signature.to_string(),
            time,
            amz_date: amz_date.unwrap_or_else(|| format_amz_date(time)),
            security_token: header(headers, "x-amz-security-token").map(str::to_string),
            presigned: false,
        });
    }
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let Some(credential) = get("X-Amz-Credential") else {
        return Err(ParseError::Missing);
    };
    let (Some(amz_date), Some(signed), Some(signature)) = (
        get("X-Amz-Date"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Signature"),
    ) else {
        return Err(ParseError::Incomplete(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'.".into(),
        ));
    };
    let (access_key_id, scope_date, region, service) = parse_credential(credential)?;
    let Some(time) = parse_amz_date(amz_date) else {
        return Err(ParseError::Incomplete(format!(
            "X-Amz-Date must be in the ISO8601 Long Format. X-Amz-Date={amz_date}"
        )));
    };
    Ok(SignedRequest {
        access_key_id,
        scope_date,
        region,
        service,
        signed_headers: signed.split(';').map(str::to_string).collect(),
        signature: signature.to_string(),
        time,
        amz_date: amz_date.to_string(),
        security_token: get("X-Amz-Security-Token").map(str::to_string),
        presigned: true,
    })
}

pub fn format_amz_date(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    t.format(fmt).unwrap_or_default()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The canonical request of SigV4 step 1, from the request as it arrived.
pub fn canonical_request(
    method: &str,
    raw_path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    req: &SignedRequest,
    body: &[u8],
) -> String {
    // Non-S3 services encode the (already encoded) path once more.
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    let canonical_uri = uri_encode(path, true);
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| !(req.presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    pairs.sort();
    let canonical_query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical_headers = String::new();
    for name in &req.signed_headers {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload_hash = match header(headers, "x-amz-content-sha256") {
        Some(h) => h.to_string(),
        None if req.presigned => hex::encode(Sha256::digest(body)),
        None => hex::encode(Sha256::digest(body)),
    };
    format!(
        "{method}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{}\n{payload_hash}",
        req.signed_headers.join(";")
    )
}

/// The signature a client holding `secret` would have sent for `canonical`.
pub fn signature(secret: &str, req: &SignedRequest, canonical: &str) -> String {
    let scope = format!(
        "{}/{}/{}/aws4_request",
        req.scope_date, req.region, req.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        req.amz_date,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(
        format!("AWS4{secret}").as_bytes(),
        req.scope_date.as_bytes(),
    );
    let k_region = hmac(&k_date, req.region.as_bytes());
    let k_service = hmac(&k_region, req.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

/// Constant-time comparison, so the emulator does not teach bad habits.
pub fn signatures_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// The "get-vanilla" case of AWS's SigV4 test suite.
    #[test]
    fn aws_test_suite_get_vanilla() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.amazonaws.com"));
        headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        headers.insert(
            "authorization",
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        );
        let req = parse(&headers, &[]).expect("parses");
        let canonical = canonical_request("GET", "/", &[], &headers, &req, b"");
        assert_eq!(
            signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &req, &canonical),
            req.signature
        );
    }
}
