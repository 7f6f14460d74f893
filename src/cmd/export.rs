//! `awsx export [PROFILE]`: a profile's credentials for scripts, as `export` lines for
//! sh-compatible shells or as the credential_process JSON.
use std::io::Write;

use crate::cli::{ExportArgs, ExportFormat};
use crate::cmd::{Context, common, credentials};
use crate::error::Result;
use awsx_config::AwsxProfile;
use awsx_core::types::AccountId;
use awsx_creds::RoleCredentials;

pub fn run(ctx: &Context, args: ExportArgs) -> Result<()> {
    let given = args.name.as_deref().or(args.profile.as_deref());
    let name = common::profile_name(ctx, given)?;
    let (creds, profile) = credentials::for_profile(ctx, &name)?;
    let account = awsx_creds::account_of(&profile);
    let text = match args.format {
        ExportFormat::Json => format!("{}\n", creds.to_process_json(account.as_ref())),
        ExportFormat::Env => env_lines(&creds, region(&profile), account.as_ref()),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn region(profile: &AwsxProfile) -> Option<&str> {
    match profile {
        AwsxProfile::Sso(p) => p.region.as_ref().map(|r| r.as_str()),
        AwsxProfile::BreakGlass(p) => p.region.as_ref().map(|r| r.as_str()),
        AwsxProfile::Console(p) => p.region.as_ref().map(|r| r.as_str()),
    }
}

/// `export NAME='value'` lines. Values are single-quoted so that nothing in them (a
/// session token has `/`, `+` and `=`) is interpreted by the shell.
/// `AWS_ACCOUNT_ID` is what the SDKs read for account-based endpoints, as `AccountId` in
/// the JSON document.
pub fn env_lines(
    creds: &RoleCredentials,
    region: Option<&str>,
    account: Option<&AccountId>,
) -> String {
    let mut pairs = vec![
        ("AWS_ACCESS_KEY_ID", creds.access_key_id.as_str()),
        (
            "AWS_SECRET_ACCESS_KEY",
            creds.secret_access_key.expose().as_str(),
        ),
        ("AWS_SESSION_TOKEN", creds.session_token.expose().as_str()),
    ];
    let expiration = creds.expiration.to_rfc3339();
    pairs.push(("AWS_CREDENTIAL_EXPIRATION", &expiration));
    if let Some(account) = account {
        pairs.push(("AWS_ACCOUNT_ID", account.as_str()));
    }
    if let Some(region) = region {
        pairs.push(("AWS_REGION", region));
        pairs.push(("AWS_DEFAULT_REGION", region));
    }
    pairs
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", sh_quote(v)))
        .collect()
}

fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_core::secret::Secret;
    use awsx_core::types::Expiration;

    #[test]
    fn env_lines_quote_values_and_include_the_expiration() {
        let creds = RoleCredentials {
            access_key_id: "ASIAX".into(),
            secret_access_key: Secret::new("a/b+c".into()),
            session_token: Secret::new("it's".into()),
            expiration: Expiration::from_unix_seconds(1_800_000_000).unwrap(),
            received_at: None,
        };
        let account: AccountId = "123456789012".parse().unwrap();
        let text = env_lines(&creds, Some("eu-west-1"), Some(&account));
        assert!(text.contains("export AWS_SECRET_ACCESS_KEY='a/b+c'\n"));
        assert!(text.contains(r"export AWS_SESSION_TOKEN='it'\''s'"));
        assert!(text.contains("export AWS_CREDENTIAL_EXPIRATION='2027-01-15T08:00:00Z'\n"));
        assert!(text.contains("export AWS_REGION='eu-west-1'\n"));
        assert!(text.contains("export AWS_ACCOUNT_ID='123456789012'\n"));
    }
}
