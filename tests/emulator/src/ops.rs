//! The names a test uses to count, slow down or break individual operations.

use serde::{Deserialize, Serialize};

/// One API operation of one emulated service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Op {
    RegisterClient,
    StartDeviceAuthorization,
    CreateToken,
    Authorize,
    GetRoleCredentials,
    ListAccounts,
    ListAccountRoles,
    Logout,
    AssumeRole,
    GetSessionToken,
    GetCallerIdentity,
    CreateAccessKey,
    DeleteAccessKey,
    ListAccessKeys,
    GetUser,
    GetSigninToken,
    ConsoleLogin,
    /// AWS Sign-In's browser page, `GET /v1/authorize`.
    AuthorizeOAuth2Access,
    /// AWS Sign-In's `POST /v1/token`.
    CreateOAuth2Token,
}

impl Op {
    pub const ALL: [Op; 19] = [
        Op::RegisterClient,
        Op::StartDeviceAuthorization,
        Op::CreateToken,
        Op::Authorize,
        Op::GetRoleCredentials,
        Op::ListAccounts,
        Op::ListAccountRoles,
        Op::Logout,
        Op::AssumeRole,
        Op::GetSessionToken,
        Op::GetCallerIdentity,
        Op::CreateAccessKey,
        Op::DeleteAccessKey,
        Op::ListAccessKeys,
        Op::GetUser,
        Op::GetSigninToken,
        Op::ConsoleLogin,
        Op::AuthorizeOAuth2Access,
        Op::CreateOAuth2Token,
    ];

    /// OIDC and the portal are what an Identity Center outage takes down.
    pub fn is_identity_center(self) -> bool {
        matches!(
            self,
            Op::RegisterClient
                | Op::StartDeviceAuthorization
                | Op::CreateToken
                | Op::Authorize
                | Op::GetRoleCredentials
                | Op::ListAccounts
                | Op::ListAccountRoles
                | Op::Logout
        )
    }
}

/// A failure injected in front of an operation, in that service's own wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Fault {
    /// The service's throttling error: portal 429 TooManyRequestsException, OIDC 429
    /// ThrottlingException, STS/IAM 400 `Throttling`, federation 429.
    Throttle,
    /// HTTP 500 with the service's internal-error shape.
    ServerError,
    /// HTTP 200 whose body is not parseable.
    MalformedBody,
    /// The connection is accepted and the request read, and no answer ever comes: a hung
    /// endpoint (a dead load balancer, a black-holing proxy). Any operation.
    Hang,
    /// ListAccounts / ListAccountRoles: the first page again, with the same `nextToken`,
    /// whatever token is sent (a portal stuck in a pagination loop). Other operations are
    /// served normally.
    RepeatNextToken,
    /// GetRoleCredentials: HTTP 200 whose `accessKeyId` is `bytes` long (a well-formed
    /// body of any size, streamed, never held in memory). Other operations are served
    /// normally.
    HugeField { bytes: u64 },
    /// GetRoleCredentials: real credentials whose `expiration` is an hour in the past.
    /// Other operations are served normally.
    ExpiredCredentials,
    /// An error whose message quotes the secret the request carried, as careless servers
    /// and proxies do: the portal answers 400 InvalidRequestException naming the bearer
    /// token. The other services answer as for `ServerError`.
    EchoSecret,
}

/// What the control API can refuse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmulatorError {
    #[error("no pending authorization with user code {0:?}")]
    UnknownUserCode(String),
    #[error("no Identity Center user named {0:?} in the fixture")]
    UnknownUser(String),
    #[error("user code {0:?} was already approved or denied")]
    AlreadyDecided(String),
}
