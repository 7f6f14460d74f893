//! Credentials as awsx caches and serves them, with no network, D-Bus or async runtime:
//! the cached entry and its freshness rules ([`RoleCredentials`]), the binding of every
//! cached value to the login that made it ([`binding`]), the fast-tier policy ([`tier`]),
//! and the cache-hit answer both binaries give ([`serve`]). Fetching is `awsx_sso`'s job,
//! one layer up; the front `awsx` binary links only this side.
#![forbid(unsafe_code)]
pub mod binding;
pub mod console;
pub mod serve;
pub mod tier;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use awsx_config::AwsxProfile;
use awsx_core::secret::Secret;
use awsx_core::types::{AccountId, Expiration};

/// The account whose credentials `profile` serves: `awsx_account_id` for an SSO profile,
/// the account of the role ARN for a break-glass one. Goes into the document's `AccountId`,
/// which the SDKs use for account-based endpoints (DynamoDB) and `account_id` lookups.
pub fn account_of(profile: &AwsxProfile) -> Option<AccountId> {
    match profile {
        AwsxProfile::Sso(p) => Some(p.account_id.clone()),
        // arn:PARTITION:iam::ACCOUNT:role/NAME
        AwsxProfile::BreakGlass(p) => p.role_arn.account(),
        AwsxProfile::Console(p) => p.account_id(),
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
    /// When awsx received them from IAM Identity Center (`None`: entries cached before this
    /// was recorded, and break-glass sessions). Their lifetime on arrival decides how close
    /// to expiry they are still served: see [`RoleCredentials::effective_margin`].
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub received_at: Option<OffsetDateTime>,
}

/// The least an entry is renewed ahead of its expiry, however short it was when it arrived.
pub const MIN_MARGIN: time::Duration = time::Duration::seconds(60);

impl RoleCredentials {
    /// How long before expiry these credentials stop being served: the configured `margin`
    /// (15 min by default: botocore-family clients refresh 15 min ahead), or, for credentials
    /// that arrived with less than twice that left, half the lifetime they arrived with, and
    /// never less than [`MIN_MARGIN`] (nor more than `margin`). Credentials that arrive with
    /// 10 minutes left are served for 5 minutes and renewed in their last 5, instead of being
    /// fetched again on every call because they were "stale" on arrival.
    pub fn effective_margin(&self, margin: time::Duration) -> time::Duration {
        let Some(received) = self.received_at else {
            return margin;
        };
        let lifetime: time::Duration = self.expiration.at() - received;
        margin.min((lifetime / 2_i32).max(MIN_MARGIN))
    }

    /// Worth serving: more than the entry's effective margin left (see above).
    pub fn is_fresh(&self, now: OffsetDateTime, margin: time::Duration) -> bool {
        self.expiration.remaining(now) > self.effective_margin(margin)
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
            received_at: None,
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
    fn credentials_that_arrive_inside_the_margin_are_served_for_half_their_lifetime() {
        let received = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let margin = time::Duration::minutes(15);
        let arrived_with = |minutes: i64| RoleCredentials {
            received_at: Some(received),
            ..sample(1_800_000_000 + minutes * 60)
        };
        let at = |minutes: i64| received + time::Duration::minutes(minutes);
        // 10 minutes on arrival: served for 5, renewed in the last 5.
        let short = arrived_with(10);
        assert_eq!(short.effective_margin(margin), time::Duration::minutes(5));
        assert!(short.is_fresh(at(0), margin) && short.is_fresh(at(4), margin));
        assert!(!short.is_fresh(at(5), margin));
        // An hour on arrival: the configured margin.
        assert_eq!(arrived_with(60).effective_margin(margin), margin);
        // Twice the margin is where the two rules meet.
        assert_eq!(arrived_with(30).effective_margin(margin), margin);
        // Very short lifetimes are still renewed a minute ahead...
        assert_eq!(arrived_with(1).effective_margin(margin), MIN_MARGIN);
        // ...unless the configured margin is smaller still.
        let tiny = time::Duration::seconds(10);
        assert_eq!(arrived_with(1).effective_margin(tiny), tiny);
        // Entries cached before the arrival time was recorded keep the configured margin.
        assert_eq!(sample(1_800_000_600).effective_margin(margin), margin);
    }

    #[test]
    fn an_entry_cached_before_received_at_existed_still_parses() {
        let old = r#"{"access_key_id":"ASIAX","secret_access_key":"s","session_token":"t","expiration":"2027-01-15T08:00:00Z"}"#;
        let creds: RoleCredentials = serde_json::from_str(old).unwrap();
        assert_eq!(creds.received_at, None);
        let round = serde_json::to_string(&arrived_now(creds.clone())).unwrap();
        let back: RoleCredentials = serde_json::from_str(&round).unwrap();
        assert!(back.received_at.is_some());
    }

    fn arrived_now(creds: RoleCredentials) -> RoleCredentials {
        RoleCredentials {
            received_at: Some(OffsetDateTime::from_unix_timestamp(1_799_999_000).unwrap()),
            ..creds
        }
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
