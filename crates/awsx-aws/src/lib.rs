//! Building the AWS SDK clients awsx talks through.
//!
//! One place decides how awsx reaches AWS: rustls with ring (smaller than the SDK's default
//! aws-lc), `HTTPS_PROXY`/`NO_PROXY` from the environment, `AWS_CA_BUNDLE` as the trust store
//! when set, explicit regions (an SDK without one may probe IMDS for seconds), and bounded
//! timeouts so that `credential-process` never outlives the SDKs' own ~20 s limit.
//! Endpoints are never set here: the SDK reads `AWS_ENDPOINT_URL_SSO`, `AWS_ENDPOINT_URL_SSO_OIDC`,
//! `AWS_ENDPOINT_URL_STS` and `AWS_ENDPOINT_URL_IAM` itself, and an endpoint set in code would
//! beat them.
#![forbid(unsafe_code)]
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder as HttpClientBuilder, Connector};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use awsx_core::env::Env;
use awsx_core::types::Region;

/// Why the SDK could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "cannot read the CA bundle {path} named by AWS_CA_BUNDLE: {source}; fix the path or unset AWS_CA_BUNDLE"
    )]
    CaBundle {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot use the CA bundle named by AWS_CA_BUNDLE: {0}")]
    Tls(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// How long any AWS endpoint gets to accept a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The shortest timeout given to the SDK when a deadline is nearly spent.
const MIN_TIMEOUT: Duration = Duration::from_millis(10);

/// The largest HTTP response body awsx reads from any endpoint. The largest replies it asks
/// for are a portal page of 100 accounts (about 15 KB) and STS/IAM XML of a few KB; a reply
/// bigger than this is refused as soon as its `Content-Length` says so, or when the bytes
/// read reach the cap, so a lying or broken server cannot make awsx allocate gigabytes.
pub const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// A reply went over `MAX_REPLY_BYTES`.
#[derive(Debug, thiserror::Error)]
#[error(
    "the reply is larger than 1 MiB, more than any AWS reply awsx reads (is an AWS_ENDPOINT_URL_* or a proxy pointing somewhere else?)"
)]
pub struct ReplyTooLarge;

/// Whether `err` or any error under it is `ReplyTooLarge`.
pub fn is_reply_too_large(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<ReplyTooLarge>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// Shared SDK settings for one region: HTTP client, timeouts, retries, and either no
/// credentials (SSO OIDC and portal are unsigned) or the given ones (STS, IAM).
pub async fn sdk_config(
    env: &Env,
    region: &Region,
    credentials: Option<Credentials>,
) -> Result<SdkConfig, SetupError> {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.as_str().to_owned()))
        .http_client(http_client(env)?)
        .timeout_config(
            // Within a `credential-process` call, no operation outlives the call's deadline.
            // (A zero timeout is not "none" to the SDK, but keep a sliver for clarity.)
            TimeoutConfig::builder()
                .connect_timeout(awsx_core::deadline::clamp(CONNECT_TIMEOUT).max(MIN_TIMEOUT))
                .operation_attempt_timeout(
                    awsx_core::deadline::clamp(Duration::from_secs(8)).max(MIN_TIMEOUT),
                )
                .operation_timeout(
                    awsx_core::deadline::clamp(Duration::from_secs(16)).max(MIN_TIMEOUT),
                )
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    let loader = match credentials {
        Some(creds) => loader.credentials_provider(creds),
        None => loader.no_credentials(),
    };
    Ok(loader.load().await)
}

fn http_client(
    env: &Env,
) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, SetupError> {
    let tls_context = tls_context(env)?;
    let provider = tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring);
    let inner = HttpClientBuilder::new().build_with_connector_fn(move |settings, components| {
        let mut builder = Connector::builder()
            .proxy_config(ProxyConfig::from_env())
            .tls_provider(provider.clone())
            .tls_context(tls_context.clone());
        if let Some(settings) = settings {
            builder = builder.connector_settings(settings.clone());
        }
        if let Some(sleep) = components.and_then(|c| c.sleep_impl()) {
            builder.set_sleep_impl(Some(sleep));
        }
        builder.build()
    });
    Ok(aws_smithy_runtime_api::client::http::SharedHttpClient::new(
        capped::CappedClient(inner),
    ))
}

/// Every SDK client's responses, capped at `MAX_REPLY_BYTES`: a wrapper around the HTTP
/// client whose connectors refuse an announced `Content-Length` over the cap and wrap the
/// body so that reading past it fails (with `ReplyTooLarge`) instead of growing a buffer.
mod capped {
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::client::runtime_components::{
        RuntimeComponents, RuntimeComponentsBuilder,
    };
    use aws_smithy_runtime_api::shared::IntoShared;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::config_bag::ConfigBag;

    use super::{MAX_REPLY_BYTES, ReplyTooLarge};

    type BoxError = Box<dyn std::error::Error + Send + Sync>;

    #[derive(Debug)]
    pub struct CappedClient(pub SharedHttpClient);

    impl HttpClient for CappedClient {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            CappedConnector(self.0.http_connector(settings, components)).into_shared()
        }

        fn validate_base_client_config(
            &self,
            components: &RuntimeComponentsBuilder,
            cfg: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.0.validate_base_client_config(components, cfg)
        }

        fn validate_final_config(
            &self,
            components: &RuntimeComponents,
            cfg: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.0.validate_final_config(components, cfg)
        }

        fn connector_metadata(
            &self,
        ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
            self.0.connector_metadata()
        }
    }

    #[derive(Debug)]
    struct CappedConnector(SharedHttpConnector);

    impl HttpConnector for CappedConnector {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let inner = self.0.clone();
            HttpConnectorFuture::new(async move {
                let response = inner.call(request).await?;
                cap(response)
            })
        }
    }

    /// `response` with its body capped, or an error when it announces more than the cap.
    pub fn cap(response: HttpResponse) -> Result<HttpResponse, ConnectorError> {
        let announced = response
            .headers()
            .get("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|n| n > MAX_REPLY_BYTES as u64) {
            return Err(ConnectorError::other(Box::new(ReplyTooLarge), None));
        }
        Ok(response.map(|body| {
            use http_body_util::BodyExt;
            SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_REPLY_BYTES).map_err(
                |e: BoxError| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        Box::new(ReplyTooLarge) as BoxError
                    } else {
                        e
                    }
                },
            ))
        }))
    }
}

/// Why a plain HTTPS GET (console federation) failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("{0}")]
    Request(String),
}

/// A plain GET through the same connector the SDK clients use (rustls + ring, proxy and
/// `AWS_CA_BUNDLE` handling), for the one endpoint that has no SDK: console federation.
/// Returns the status and body; a 10 s bound covers connect and read.
pub async fn http_get(env: &Env, url: &str) -> Result<(u16, Vec<u8>), HttpError> {
    let reply = http_request(env, "GET", url, &[], Vec::new()).await?;
    Ok((reply.status, reply.body))
}

/// An HTTP reply: status, headers (names lower-cased) and body (capped at
/// [`MAX_REPLY_BYTES`]). The body may hold secrets (a token reply): the caller wraps them.
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for HttpReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpReply")
            .field("status", &self.status)
            .field("body", &format_args!("{} bytes", self.body.len()))
            .finish_non_exhaustive()
    }
}

/// A POST through the same connector as [`http_get`] (proxies, `AWS_CA_BUNDLE`, the reply
/// cap, the 10 s bound), for AWS Sign-In's token endpoint, whose DPoP-bound requests no SDK
/// client of awsx's makes. `headers` are sent as given (plus `Content-Length`).
pub async fn http_post(
    env: &Env,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<HttpReply, HttpError> {
    http_request(env, "POST", url, headers, body).await
}

async fn http_request(
    env: &Env,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<HttpReply, HttpError> {
    use aws_smithy_runtime_api::client::http::HttpConnector;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::byte_stream::ByteStream;

    let connector = Connector::builder()
        .proxy_config(ProxyConfig::from_env())
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(tls_context(env)?)
        .build();
    let length = body.len();
    let mut request = aws_smithy_runtime_api::http::Request::new(if length == 0 {
        SdkBody::empty()
    } else {
        SdkBody::from(body)
    });
    request
        .set_uri(url)
        .map_err(|_| HttpError::Request("the URL is not valid".to_owned()))?;
    if method != "GET" {
        request
            .set_method(method)
            .map_err(|_| HttpError::Request(format!("{method} is not an HTTP method")))?;
        request
            .headers_mut()
            .insert("Content-Length", length.to_string());
    }
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(name.to_string(), value.to_string());
    }
    let exchange = async {
        let response = connector
            .call(request)
            .await
            .and_then(capped::cap)
            .map_err(|e| HttpError::Request(connector_error(&e)))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect();
        let body = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| {
                HttpError::Request(if is_reply_too_large(&e) {
                    ReplyTooLarge.to_string()
                } else {
                    "the reply was cut off".to_owned()
                })
            })?;
        Ok(HttpReply {
            status,
            headers,
            body: body.into_bytes().to_vec(),
        })
    };
    // 10 s, or what is left of the call's deadline (credential-process: 15 s in all).
    let bound = awsx_core::deadline::clamp(Duration::from_secs(10));
    tokio::time::timeout(bound, exchange).await.map_err(|_| {
        HttpError::Request(if bound < Duration::from_secs(10) {
            awsx_core::deadline::timed_out()
        } else {
            "timed out after 10 s".to_owned()
        })
    })?
}

/// The SDK error's short, secret-free description: the service's code and message, or the
/// transport failure.
pub fn describe_sdk_error<E>(
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    if crate::is_reply_too_large(err) {
        return crate::ReplyTooLarge.to_string();
    }
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(msg)) => format!("{code}: {msg}"),
                (Some(code), None) => code.to_owned(),
                _ => format!("HTTP {}", service.raw().status().as_u16()),
            }
        }
        SdkError::TimeoutError(_) => awsx_core::deadline::timed_out(),
        SdkError::DispatchFailure(f) => {
            if f.is_io() {
                "cannot connect (network or endpoint unreachable)".to_owned()
            } else if f.is_timeout() {
                "timed out connecting".to_owned()
            } else {
                "the request could not be sent".to_owned()
            }
        }
        SdkError::ResponseError(_) => "unreadable response".to_owned(),
        SdkError::ConstructionFailure(_) => "the request could not be built".to_owned(),
        _ => "unknown SDK error".to_owned(),
    }
}

/// A connector error in words, without the URL (it may carry a secret in its query).
fn connector_error(e: &aws_smithy_runtime_api::client::result::ConnectorError) -> String {
    if is_reply_too_large(e) {
        ReplyTooLarge.to_string()
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_io() {
        "cannot connect (network or endpoint unreachable)".to_owned()
    } else {
        "the request could not be sent".to_owned()
    }
}

fn tls_context(env: &Env) -> Result<TlsContext, SetupError> {
    Ok(match env.var("AWS_CA_BUNDLE") {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|source| SetupError::CaBundle {
                path: path.to_owned(),
                source,
            })?;
            // As the AWS CLI does, a CA bundle replaces the system roots.
            TlsContext::builder()
                .with_trust_store(
                    TrustStore::empty()
                        .with_native_roots(false)
                        .with_pem_certificate(pem),
                )
                .build()
                .map_err(|e| SetupError::Tls(e.to_string()))?
        }
        None => TlsContext::default(),
    })
}

/// A single-threaded runtime for one command's network work. The `credential-process`
/// cache hit never builds one.
pub fn runtime() -> Result<tokio::runtime::Runtime, SetupError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SetupError::Runtime)
}
