//! The SSO portal: role credentials for an account and role, and the account/role lists.
use aws_sdk_sso::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::error::{SsoError, describe};
use super::model::SsoToken;
use crate::creds::RoleCredentials;
use crate::secret::Secret;
use crate::types::{AccountId, Expiration, RoleName, SsoSessionName};

/// GetRoleCredentials. Throttling is retried by the client's retry policy (bounded
/// exponential backoff with jitter); what is left maps to an error the user can act on.
pub async fn role_credentials(
    client: &Client,
    session: &SsoSessionName,
    token: &SsoToken,
    account: &AccountId,
    role: &RoleName,
) -> Result<RoleCredentials, SsoError> {
    let out = client
        .get_role_credentials()
        .access_token(token.access_token.expose())
        .account_id(account.as_str())
        .role_name(role.as_str())
        .send()
        .await
        .map_err(|err| {
            let service = err.as_service_error();
            if service.is_some_and(|e| e.is_unauthorized_exception()) {
                SsoError::LoginRequired {
                    session: session.clone(),
                }
            } else if service.is_some_and(|e| e.is_too_many_requests_exception()) {
                SsoError::Throttled
            } else if service.is_some_and(|e| {
                e.is_resource_not_found_exception() || e.code() == Some("ForbiddenException")
            }) {
                SsoError::NoAccess {
                    account: account.clone(),
                    role: role.clone(),
                }
            } else {
                SsoError::Service {
                    operation: "GetRoleCredentials",
                    message: describe(&err),
                }
            }
        })?;
    let bad = |what| SsoError::BadReply {
        operation: "GetRoleCredentials",
        what,
    };
    let creds = out.role_credentials().ok_or(bad("no roleCredentials"))?;
    let non_empty = |v: Option<&str>, what| {
        v.filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or(bad(what))
    };
    Ok(RoleCredentials {
        access_key_id: non_empty(creds.access_key_id(), "no accessKeyId")?,
        secret_access_key: Secret::new(non_empty(creds.secret_access_key(), "no secretAccessKey")?),
        session_token: Secret::new(non_empty(creds.session_token(), "no sessionToken")?),
        expiration: Expiration::from_unix_millis(creds.expiration())
            .filter(|e| e.unix_seconds() > 0)
            .ok_or(bad("expiration out of range"))?,
    })
}

/// Logout: tells Identity Center to end the session. Failure is not fatal for `awsx logout`,
/// which deletes the local entries anyway.
pub async fn logout(client: &Client, token: &SsoToken) -> Result<(), SsoError> {
    client
        .logout()
        .access_token(token.access_token.expose())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| SsoError::Service {
            operation: "Logout",
            message: describe(&e),
        })
}
