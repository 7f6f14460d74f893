//! Console sign-in sessions: `awsx login --console` turns a console sign-in (an IAM user,
//! the root user, a federated console session) into short-lived credentials through AWS
//! Sign-In's OAuth 2.0 API, the one `aws login` uses, and keeps the session in the keychain
//! only.
//!
//! - [`login`]: the browser flow (same-device: the loopback listener on 127.0.0.1; or
//!   cross-device: the user pastes the code shown by the sign-in page) with PKCE and a DPoP
//!   key generated for this session, then the code exchange.
//! - [`ConsoleSession`]: what a session is (principal, account, region, endpoint, client id,
//!   DPoP private key, refresh token, login id) and its current credentials, stored in the
//!   keychain entries `console-session:<profile>` (the session's secrets) and
//!   `console-creds:<profile>` (the credentials, bound to the login, copied to the hot tier).
//!   Nothing of a session ever goes to a file; the only file is the non-secret
//!   [`awsx_creds::console::ConsoleRecord`] naming this HOME's login and its keychain.
//! - [`Console::credentials`]: cached credentials, or a refresh through the token endpoint
//!   with single flight across processes (refresh tokens rotate: exactly one process
//!   refreshes, the others wait on the lock and read its result from the keychain).
//! - [`import_cli_cache`]: adopt the AWS CLI's plaintext `~/.aws/login/cache` entry.
//! - [`delete`]: logout. AWS Sign-In has no revoke operation (its only operation is
//!   CreateOAuth2Token), so logout can only delete what awsx holds; a refresh token stays
//!   valid at AWS until the session's end (12 h).
#![forbid(unsafe_code)]

mod error;
mod login;
mod refresh;
mod session;

pub use awsx_signin::{ClientId, Endpoint};
pub use error::ConsoleError;
pub use login::{Flow, LoginUi, login};
pub use refresh::Console;
pub use session::{ConsoleSession, cli_cache_path, delete, import_cli_cache, load};

use awsx_core::env::Env;
use awsx_core::types::Region;

/// The sign-in endpoint, resolved as the SDKs resolve a service's endpoint: the
/// service-specific override `AWS_ENDPOINT_URL_SIGNIN`, then the global `AWS_ENDPOINT_URL`,
/// else `https://{region}.signin.aws.amazon.com` (the partition's suffix elsewhere).
pub fn endpoint(env: &Env, region: &Region) -> Result<Endpoint, ConsoleError> {
    let override_url = ["AWS_ENDPOINT_URL_SIGNIN", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|name| env.var(name).filter(|v| !v.trim().is_empty()));
    Ok(Endpoint::resolve(region.as_str(), override_url)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::from_vars(vars.iter().copied())
    }

    #[test]
    fn the_endpoint_follows_the_sdks_override_order() {
        let region: Region = "eu-west-1".parse().unwrap();
        assert_eq!(
            endpoint(&env(&[]), &region).unwrap().as_str(),
            "https://eu-west-1.signin.aws.amazon.com"
        );
        assert_eq!(
            endpoint(
                &env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9/")]),
                &region
            )
            .unwrap()
            .as_str(),
            "http://127.0.0.1:9"
        );
        assert_eq!(
            endpoint(
                &env(&[
                    ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
                    ("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:8")
                ]),
                &region
            )
            .unwrap()
            .as_str(),
            "http://127.0.0.1:8"
        );
        let err = endpoint(&env(&[("AWS_ENDPOINT_URL_SIGNIN", "ftp://x")]), &region).unwrap_err();
        assert_eq!(
            awsx_core::exit::HasExitCode::exit_code(&err),
            awsx_core::exit::ExitCode::Usage
        );
    }
}
