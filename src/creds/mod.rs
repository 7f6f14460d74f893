//! Role credentials: the cached entry, its freshness rules, and the `credential_process` output.
pub mod provider;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::AwsxProfile;
use crate::secret::Secret;
use crate::types::{AccountId, Expiration};

/// The account whose credentials `profile` serves: `awsx_account_id` for an SSO profile,
/// the account of the role ARN for a break-glass one. Goes into the document's `AccountId`,
/// which the SDKs use for account-based endpoints (DynamoDB) and `account_id` lookups.
pub fn account_of(profile: &AwsxProfile) -> Option<AccountId> {
    match profile {
        AwsxProfile::Sso(p) => Some(p.account_id.clone()),
        // arn:PARTITION:iam::ACCOUNT:role/NAME
        AwsxProfile::BreakGlass(p) => p.role_arn.split(':').nth(4)?.parse().ok(),
    }
}

/// Short-lived credentials for one role, as stored (JSON) in the keychain entry
/// `role:<session>/<account>/<role>` and the hot tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Secret<String>,
    pub expiration: Expiration,
}

impl RoleCredentials {
    /// Worth serving: more than `margin` left. botocore re-runs the process on nearly every
    /// call when less than 15 minutes remain, so serving those would only move the cost.
    pub fn is_fresh(&self, now: OffsetDateTime, margin: time::Duration) -> bool {
        self.expiration.remaining(now) > margin
    }

    /// The `credential_process` Version 1 document, with `AccountId` when it is known.
    pub fn to_process_json(&self, account_id: Option<&AccountId>) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct ProcessOutput<'a> {
            version: u8,
            access_key_id: &'a str,
            secret_access_key: &'a str,
            session_token: &'a str,
            expiration: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            account_id: Option<&'a str>,
        }
        serde_json::to_string(&ProcessOutput {
            version: 1,
            access_key_id: &self.access_key_id,
            secret_access_key: self.secret_access_key.expose(),
            session_token: self.session_token.expose(),
            expiration: self.expiration.to_rfc3339(),
            account_id: account_id.map(|a| a.as_str()),
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(expiration_unix: i64) -> RoleCredentials {
        RoleCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("secret".into()),
            session_token: Secret::new("token".into()),
            expiration: Expiration::from_unix_seconds(expiration_unix).unwrap(),
        }
    }

    #[test]
    fn process_json_is_the_version_1_contract() {
        let json: serde_json::Value =
            serde_json::from_str(&sample(1_800_000_000).to_process_json(None)).unwrap();
        assert_eq!(json["Version"], 1);
        assert_eq!(json["AccessKeyId"], "ASIAEXAMPLE");
        assert_eq!(json["SecretAccessKey"], "secret");
        assert_eq!(json["SessionToken"], "token");
        assert_eq!(json["Expiration"], "2027-01-15T08:00:00Z");
        assert!(json.get("AccountId").is_none(), "{json}");
    }

    #[test]
    fn process_json_names_the_account_when_known() {
        let account: AccountId = "123456789012".parse().unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&sample(1_800_000_000).to_process_json(Some(&account))).unwrap();
        assert_eq!(json["AccountId"], "123456789012");
    }

    #[test]
    fn freshness_respects_the_margin() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let margin = time::Duration::minutes(15);
        assert!(sample(1_800_000_000 + 16 * 60).is_fresh(now, margin));
        assert!(!sample(1_800_000_000 + 14 * 60).is_fresh(now, margin));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let dbg = format!("{:?}", sample(1_800_000_000));
        assert!(
            !dbg.contains("secret\"") && !dbg.contains("\"token"),
            "{dbg}"
        );
        assert!(dbg.contains("REDACTED"));
    }
}
