//! `awsx whoami [PROFILE] [--json]`: STS GetCallerIdentity with the profile's credentials.
use std::io::Write;

use aws_credential_types::Credentials;

use crate::cli::WhoamiArgs;
use crate::cmd::{Context, common, credentials};
use crate::error::{Error, Result};
use awsx_config::AwsxProfile;
use awsx_core::types::Region;

/// Who the caller is, from GetCallerIdentity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    pub profile: String,
    pub account: String,
    pub arn: String,
    /// The role of an assumed-role ARN (`AWSReservedSSO_<permission set>_<id>` for SSO).
    pub role: Option<String>,
    /// The session name of an assumed-role ARN (the SSO user name).
    pub session: Option<String>,
    pub user_id: String,
}

pub fn run(ctx: &Context, args: WhoamiArgs) -> Result<()> {
    let given = args.name.as_deref().or(args.profile.as_deref());
    let name = common::profile_name(ctx, given)?;
    let (creds, profile) = credentials::for_profile(ctx, &name)?;
    let region: Region = match &profile {
        AwsxProfile::Sso(p) => p.region.clone().unwrap_or_else(|| p.session.region.clone()),
        AwsxProfile::BreakGlass(p) => p.region.clone().unwrap_or_else(us_east_1),
        AwsxProfile::Console(p) => p.region.clone().unwrap_or_else(us_east_1),
    };
    let credentials = Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.expose().clone(),
        Some(creds.session_token.expose().clone()),
        Some(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(creds.expiration.unix_seconds().max(0) as u64),
        ),
        "awsx",
    );
    let runtime = awsx_aws::runtime()?;
    let out = runtime.block_on(async {
        let config = awsx_aws::sdk_config(&ctx.env, &region, Some(credentials))
            .await
            .map_err(Error::Setup)?;
        let client = aws_sdk_sts::Client::new(&config);
        client
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| Error::Remote {
                operation: "STS GetCallerIdentity",
                message: format!(
                    "{}; check the network, or run awsx login if the session ended",
                    awsx_aws::describe_sdk_error(&e)
                ),
            })
    })?;
    let arn = out.arn().unwrap_or_default().to_owned();
    let (role, session) = assumed_role(&arn);
    let identity = Identity {
        profile: name.to_string(),
        account: out.account().unwrap_or_default().to_owned(),
        role,
        session,
        user_id: out.user_id().unwrap_or_default().to_owned(),
        arn,
    };
    let text = if args.json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&identity).unwrap_or_default()
        )
    } else {
        let mut text = format!(
            "Profile: {}\nAccount: {}\n",
            identity.profile, identity.account
        );
        if let Some(role) = &identity.role {
            text.push_str(&format!("Role:    {role}\n"));
        }
        if let Some(session) = &identity.session {
            text.push_str(&format!("Session: {session}\n"));
        }
        text.push_str(&format!("ARN:     {}\n", identity.arn));
        text
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn us_east_1() -> Region {
    // A valid literal; parsing cannot fail.
    "us-east-1".parse().unwrap_or_else(|_| unreachable!())
}

/// `arn:aws:sts::123456789012:assumed-role/ROLE/SESSION` → (ROLE, SESSION).
pub fn assumed_role(arn: &str) -> (Option<String>, Option<String>) {
    let Some(resource) = arn.splitn(6, ':').nth(5) else {
        return (None, None);
    };
    let mut parts = resource.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("assumed-role"), Some(role), session) => {
            (Some(role.to_owned()), session.map(str::to_owned))
        }
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_arns_give_role_and_session() {
        assert_eq!(
            assumed_role("arn:aws:sts::100000000001:assumed-role/AWSReservedSSO_Admin_0123/alice"),
            (
                Some("AWSReservedSSO_Admin_0123".into()),
                Some("alice".into())
            )
        );
        assert_eq!(
            assumed_role("arn:aws:iam::100000000001:user/bob"),
            (None, None)
        );
        assert_eq!(assumed_role("nonsense"), (None, None));
    }
}
