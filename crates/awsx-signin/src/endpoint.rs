//! The sign-in endpoint.
//!
//! Default: aws-sdk-signin 1.33.0's endpoint rules (src/config/endpoint.rs):
//! `https://{region}.signin.aws.amazon.com` in the `aws` partition,
//! `https://{region}.signin.amazonaws.cn` in `aws-cn`, `https://{region}.signin.amazonaws-us-gov.com`
//! in `aws-us-gov`. The SDKs let `AWS_ENDPOINT_URL_SIGNIN` (service id `Signin`) override it;
//! the caller resolves that and passes the result to [`Endpoint::new`].

use std::fmt;

/// A sign-in base URL, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(String);

/// The base URL is not usable.
#[derive(Debug, thiserror::Error)]
#[error(
    "the sign-in endpoint {0:?} is not an http(s) URL; fix AWS_ENDPOINT_URL_SIGNIN or unset it"
)]
pub struct EndpointError(String);

impl Endpoint {
    /// An explicit base URL (`AWS_ENDPOINT_URL_SIGNIN`, or the emulator's). Kept as given
    /// (less a trailing slash) for every URL, as the SDKs' token request does; note the AWS CLI
    /// builds its authorize and confirmation URLs from scheme and host only
    /// (`get_base_sign_in_uri`), which differs only for an override with a path.
    pub fn new(base: &str) -> Result<Self, EndpointError> {
        let base = base.trim().trim_end_matches('/');
        let rest = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"));
        match rest {
            Some(host) if !host.is_empty() && !host.contains(['?', '#', ' ']) => {
                Ok(Self(base.to_owned()))
            }
            _ => Err(EndpointError(base.to_owned())),
        }
    }

    /// The endpoint the SDKs resolve for `region` when nothing overrides it.
    pub fn for_region(region: &str) -> Self {
        let suffix = if region.starts_with("cn-") {
            "signin.amazonaws.cn"
        } else if region.starts_with("us-gov-") {
            "signin.amazonaws-us-gov.com"
        } else {
            "signin.aws.amazon.com"
        };
        Self(format!("https://{region}.{suffix}"))
    }

    /// The override if one is set (non-empty), else the region's default.
    pub fn resolve(region: &str, override_url: Option<&str>) -> Result<Self, EndpointError> {
        match override_url.map(str::trim).filter(|url| !url.is_empty()) {
            Some(url) => Self::new(url),
            None => Ok(Self::for_region(region)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `GET {base}/v1/authorize` (AuthorizeOAuth2Access; AWS CLI `_get_authorization_uri`).
    pub fn authorize_url(&self) -> String {
        format!("{}/v1/authorize", self.0)
    }

    /// `POST {base}/v1/token` (CreateOAuth2Token, the model's `requestUri`); also the proofs' `htu`.
    pub fn token_url(&self) -> String {
        format!("{}/v1/token", self.0)
    }

    /// The cross-device flow's `redirect_uri` (AWS CLI `CrossDeviceLoginTokenFetcher`): the page
    /// that shows the code to paste.
    pub fn confirmation_url(&self) -> String {
        format!("{}/v1/sessions/confirmation", self.0)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_endpoints_follow_the_sdk_rules() {
        assert_eq!(
            Endpoint::for_region("eu-west-1").token_url(),
            "https://eu-west-1.signin.aws.amazon.com/v1/token"
        );
        assert_eq!(
            Endpoint::for_region("cn-north-1").as_str(),
            "https://cn-north-1.signin.amazonaws.cn"
        );
        assert_eq!(
            Endpoint::for_region("us-gov-west-1").as_str(),
            "https://us-gov-west-1.signin.amazonaws-us-gov.com"
        );
    }

    #[test]
    fn override_wins_and_loses_its_trailing_slash() {
        let endpoint = Endpoint::resolve("us-east-1", Some("http://127.0.0.1:4566/")).unwrap();
        assert_eq!(endpoint.token_url(), "http://127.0.0.1:4566/v1/token");
        assert_eq!(
            endpoint.confirmation_url(),
            "http://127.0.0.1:4566/v1/sessions/confirmation"
        );
        assert_eq!(
            Endpoint::resolve("us-east-1", Some("")).unwrap(),
            Endpoint::for_region("us-east-1")
        );
        let err = Endpoint::resolve("us-east-1", Some("ftp://x")).unwrap_err();
        assert!(err.to_string().contains("AWS_ENDPOINT_URL_SIGNIN"));
    }
}
