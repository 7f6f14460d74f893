//! The STS and IAM calls of break-glass, signed with the break-glass user's key (or the
//! assumed session), and their failures turned into advice. Endpoints come from the SDK's
//! own `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL_IAM` handling; nothing of SSO is used.
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use time::OffsetDateTime;

use super::BreakglassError;
use awsx_core::env::Env;
use awsx_core::secret::Secret;
use awsx_core::types::{Expiration, IamUserName, Region};
use awsx_creds::RoleCredentials;

/// STS's global endpoint region, and IAM's signing region.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Clients for one region, signed with `credentials`.
pub struct Clients {
    pub sts: aws_sdk_sts::Client,
    pub iam: aws_sdk_iam::Client,
}

impl Clients {
    pub async fn new(
        env: &Env,
        region: Option<&Region>,
        credentials: Credentials,
    ) -> Result<Clients, BreakglassError> {
        let default: Region = DEFAULT_REGION
            .parse()
            .map_err(|e: awsx_core::types::InvalidValue| BreakglassError::Config(e.to_string()))?;
        let sts_config =
            awsx_aws::sdk_config(env, region.unwrap_or(&default), Some(credentials.clone()))
                .await?;
        // IAM is a global service signed for us-east-1 whatever the profile's region.
        let iam_config = awsx_aws::sdk_config(env, &default, Some(credentials)).await?;
        Ok(Clients {
            sts: aws_sdk_sts::Client::new(&sts_config),
            iam: aws_sdk_iam::Client::new(&iam_config),
        })
    }
}

/// What AssumeRole is asked for.
#[derive(Debug, Clone)]
pub struct AssumeRequest<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub source_identity: &'a str,
    pub mfa_serial: &'a str,
    pub token_code: &'a str,
    pub reason_tag: &'a str,
    pub duration_seconds: u64,
}

/// What AssumeRole returned.
#[derive(Debug, Clone)]
pub struct Assumed {
    pub credentials: RoleCredentials,
    pub assumed_role_arn: String,
}

/// GetCallerIdentity: the ARN the credentials belong to.
pub async fn caller_arn(sts: &aws_sdk_sts::Client) -> Result<String, BreakglassError> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws_error("STS GetCallerIdentity", &e))?;
    out.arn()
        .map(str::to_owned)
        .ok_or_else(|| bad_reply("STS GetCallerIdentity", "no Arn"))
}

pub async fn assume_role(
    sts: &aws_sdk_sts::Client,
    req: &AssumeRequest<'_>,
) -> Result<Assumed, BreakglassError> {
    const OP: &str = "STS AssumeRole";
    let tag = aws_sdk_sts::types::Tag::builder()
        .key(super::naming::REASON_TAG)
        .value(req.reason_tag)
        .build()
        .map_err(|e| BreakglassError::Config(format!("cannot build the reason tag: {e}")))?;
    let out = sts
        .assume_role()
        .role_arn(req.role_arn)
        .role_session_name(req.session_name)
        .source_identity(req.source_identity)
        .serial_number(req.mfa_serial)
        .token_code(req.token_code)
        .tags(tag)
        .duration_seconds(i32::try_from(req.duration_seconds).unwrap_or(3600))
        .send()
        .await
        .map_err(|e| aws_error(OP, &e))?;
    let creds = out
        .credentials()
        .ok_or_else(|| bad_reply(OP, "no Credentials"))?;
    let expiration = Expiration::from_unix_seconds(creds.expiration().secs())
        .ok_or_else(|| bad_reply(OP, "an Expiration out of range"))?;
    let assumed_role_arn = out
        .assumed_role_user()
        .map(|u| u.arn().to_owned())
        .unwrap_or_default();
    Ok(Assumed {
        credentials: RoleCredentials {
            access_key_id: creds.access_key_id().to_owned(),
            secret_access_key: Secret::new(creds.secret_access_key().to_owned()),
            session_token: Secret::new(creds.session_token().to_owned()),
            expiration,
            received_at: None,
        },
        assumed_role_arn,
    })
}

/// One of the user's access keys, as IAM lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub access_key_id: String,
    pub created: Option<OffsetDateTime>,
    pub active: bool,
}

pub async fn list_access_keys(
    iam: &aws_sdk_iam::Client,
    user: &IamUserName,
) -> Result<Vec<KeyInfo>, BreakglassError> {
    let out = iam
        .list_access_keys()
        .user_name(user.as_str())
        .send()
        .await
        .map_err(|e| aws_error("IAM ListAccessKeys", &e))?;
    Ok(out
        .access_key_metadata()
        .iter()
        .filter_map(|k| {
            Some(KeyInfo {
                access_key_id: k.access_key_id()?.to_owned(),
                created: k
                    .create_date()
                    .and_then(|d| OffsetDateTime::from_unix_timestamp(d.secs()).ok()),
                active: k.status() != Some(&aws_sdk_iam::types::StatusType::Inactive),
            })
        })
        .collect())
}

/// A new key: (id, secret, creation time).
pub async fn create_access_key(
    iam: &aws_sdk_iam::Client,
    user: &IamUserName,
) -> Result<(String, Secret<String>, Option<OffsetDateTime>), BreakglassError> {
    const OP: &str = "IAM CreateAccessKey";
    let out = iam
        .create_access_key()
        .user_name(user.as_str())
        .send()
        .await
        .map_err(|e| aws_error(OP, &e))?;
    let key = out
        .access_key()
        .ok_or_else(|| bad_reply(OP, "no AccessKey"))?;
    Ok((
        key.access_key_id().to_owned(),
        Secret::new(key.secret_access_key().to_owned()),
        key.create_date()
            .and_then(|d| OffsetDateTime::from_unix_timestamp(d.secs()).ok()),
    ))
}

pub async fn delete_access_key(
    iam: &aws_sdk_iam::Client,
    user: &IamUserName,
    access_key_id: &str,
) -> Result<(), BreakglassError> {
    iam.delete_access_key()
        .user_name(user.as_str())
        .access_key_id(access_key_id)
        .send()
        .await
        .map_err(|e| aws_error("IAM DeleteAccessKey", &e))?;
    Ok(())
}

fn bad_reply(operation: &'static str, what: &str) -> BreakglassError {
    BreakglassError::Aws {
        operation,
        code: "BadReply".into(),
        message: format!("the reply has {what}"),
        hint: Some("try again, and report it if it persists".into()),
    }
}

/// The SDK error as code, message and advice. Only AWS's text and transport kinds go in:
/// the SDK's errors never carry request credentials.
pub fn aws_error<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> BreakglassError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message) = match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            (
                e.code()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("HTTP{}", service.raw().status().as_u16())),
                e.message().unwrap_or("no message").to_owned(),
            )
        }
        SdkError::TimeoutError(_) => ("Timeout".into(), "timed out".into()),
        SdkError::DispatchFailure(f) if f.is_io() || f.is_timeout() => (
            "Unreachable".into(),
            "cannot connect (network or endpoint unreachable)".into(),
        ),
        SdkError::DispatchFailure(_) => {
            ("Unreachable".into(), "the request could not be sent".into())
        }
        SdkError::ResponseError(_) => ("BadReply".into(), "unreadable response".into()),
        _ => ("SdkError".into(), "the request could not be made".into()),
    };
    let hint = hint(operation, &code, &message);
    BreakglassError::Aws {
        operation,
        code,
        message,
        hint,
    }
}

fn hint(operation: &str, code: &str, message: &str) -> Option<String> {
    let text = match code {
        "AccessDenied" if message.contains("MultiFactorAuthentication") => {
            "the MFA code was wrong, old or already used (codes are single-use); wait for the next code and try again"
        }
        "AccessDenied" if operation.starts_with("IAM") => {
            "the break-glass user's policy lacks this IAM action; print the policy with awsx breakglass policy"
        }
        "AccessDenied" => {
            "the role's trust policy does not allow this user with MFA, SourceIdentity and session tags; compare it with awsx breakglass policy, and check the profile's awsx_breakglass_role_arn and awsx_mfa_serial"
        }
        "InvalidClientTokenId" => {
            "the break-glass key was deleted or deactivated; enroll a working key with awsx breakglass enroll"
        }
        "SignatureDoesNotMatch" => {
            "the secret access key is wrong, or this machine's clock is off by more than 5 minutes"
        }
        "ValidationError" => "check the profile's break-glass settings",
        "LimitExceeded" => {
            "the user already has two access keys; delete the one awsx does not hold (see awsx breakglass check) and try again"
        }
        "Throttling" => "wait a few seconds and try again",
        "Unreachable" | "Timeout" => {
            "check the network, HTTPS_PROXY and AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL_IAM"
        }
        _ => return None,
    };
    Some(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_tell_a_wrong_mfa_code_from_a_wrong_trust_policy() {
        let mfa = hint(
            "STS AssumeRole",
            "AccessDenied",
            "MultiFactorAuthentication failed with invalid MFA one time pass code.",
        )
        .unwrap();
        assert!(mfa.contains("MFA code"), "{mfa}");
        let trust = hint(
            "STS AssumeRole",
            "AccessDenied",
            "User: x is not authorized",
        )
        .unwrap();
        assert!(trust.contains("trust policy"), "{trust}");
        assert!(hint("STS AssumeRole", "Weird", "").is_none());
    }
}
