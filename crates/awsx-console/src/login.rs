//! `awsx login --console`: the browser sign-in, then the code exchange. Nothing is stored
//! here: the caller saves the returned session (so a denied or failed sign-in writes nothing).
use std::time::Duration;

use time::OffsetDateTime;

use crate::{ConsoleError, ConsoleSession};
use awsx_core::env::Env;
use awsx_core::types::{ProfileName, Region};
use awsx_signin::{AuthorizeRequest, DpopKey, Endpoint, TokenGrant, TokenHttpRequest};

/// How the browser's answer comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The browser on this machine redirects to a loopback listener on 127.0.0.1.
    SameDevice,
    /// The browser is elsewhere (SSH): the sign-in page shows a code the user pastes here.
    CrossDevice,
}

/// The person's side of a login; the command layer implements it (only it prints).
pub trait LoginUi {
    /// Same-device: open `url` in the browser (and say where to go if it cannot be opened).
    fn open_browser(&mut self, url: &str);
    /// Cross-device: show `url`, then read the code the user pastes (`None`: no input).
    fn read_pasted_code(&mut self, url: &str) -> Option<String>;
}

/// Sign in to AWS Sign-In as `profile` and return the new session, not yet saved.
pub async fn login(
    env: &Env,
    profile: &ProfileName,
    region: &Region,
    flow: Flow,
    ui: &mut dyn LoginUi,
    browser_timeout: Duration,
) -> Result<ConsoleSession, ConsoleError> {
    let endpoint = crate::endpoint(env, region)?;
    let key = DpopKey::generate()?;
    let (request, code) = match flow {
        Flow::SameDevice => {
            let listener = awsx_sso::pkce::Listener::bind().await?;
            let port = listener
                .redirect_uri()
                .rsplit_once(':')
                .and_then(|(_, rest)| rest.split('/').next()?.parse::<u16>().ok())
                .unwrap_or_default();
            let request = AuthorizeRequest::same_device(port)?;
            debug_assert_eq!(request.redirect_uri(), listener.redirect_uri());
            ui.open_browser(&request.url(&endpoint));
            let code = listener
                .wait_for_code(request.state(), browser_timeout)
                .await
                .map_err(|e| match e {
                    awsx_sso::SsoError::Denied => ConsoleError::Denied,
                    other => ConsoleError::Browser(other),
                })?;
            let code = awsx_signin::AuthCode(awsx_signin::Secret::new(code.into_inner()));
            (request, code)
        }
        Flow::CrossDevice => {
            let request = AuthorizeRequest::cross_device(&endpoint)?;
            let pasted = ui
                .read_pasted_code(&request.url(&endpoint))
                .filter(|p| !p.trim().is_empty())
                .ok_or(awsx_signin::AuthorizeError::NoCode)?;
            let code = request.accept_pasted_code(&pasted)?;
            (request, code)
        }
    };
    let now = OffsetDateTime::now_utc();
    let http = awsx_signin::authorization_code_request(&endpoint, &request, &code, &key, now)?;
    let grant = send(env, &endpoint, http).await?;
    let session = awsx_signin::Session::from_code_grant(grant, request.client_id(), key)?;
    ConsoleSession::from_signin(profile.clone(), region.clone(), endpoint, session, now)
}

/// Send a token request through awsx's connector and read the reply.
pub(crate) async fn send(
    env: &Env,
    endpoint: &Endpoint,
    request: TokenHttpRequest,
) -> Result<TokenGrant, ConsoleError> {
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let reply = awsx_aws::http_post(env, &request.url, &headers, request.body.expose().clone())
        .await
        .map_err(|e| ConsoleError::Http {
            endpoint: endpoint.to_string(),
            detail: e.to_string(),
        })?;
    // The reply's secrets are wrapped by the parser; the raw body is dropped here.
    Ok(awsx_signin::parse_token_response(
        reply.status,
        reply.header("x-amzn-errortype"),
        &reply.body,
        OffsetDateTime::now_utc(),
    )?)
}
