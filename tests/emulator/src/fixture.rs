//! The emulated world as data: Identity Center instance, accounts and roles, users and their
//! assignments, break-glass IAM users. Loaded from TOML so a test (or the binary's `--fixture`)
//! can describe any organisation; `Fixture::default()` is `fixtures/default.toml`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole world the emulator starts from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The Identity Center start URL that StartDeviceAuthorization accepts.
    pub start_url: String,
    /// The Identity Center region (informational: every endpoint is on one port).
    pub sso_region: String,
    #[serde(default)]
    pub lifetimes: Lifetimes,
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// Identity Center users. The first one is who auto-approve logs in as.
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub iam_users: Vec<IamUser>,
}

/// How long each issued thing lives, in seconds (whole seconds, as the APIs speak).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lifetimes {
    pub device_code_seconds: u64,
    /// The `interval` StartDeviceAuthorization returns; polling faster is a SlowDownException.
    pub poll_interval_seconds: u64,
    /// The interval the emulator enforces, when more than the one it announces (0: the
    /// announced one). A server that asks for slower polling than it said is how a client's
    /// slow_down handling gets tested.
    pub enforced_poll_interval_seconds: u64,
    pub access_token_seconds: u64,
    /// The Identity Center session: refresh tokens die this long after the login that began
    /// the chain, however often they are rotated.
    pub refresh_token_seconds: u64,
    pub role_credentials_seconds: u64,
    pub client_secret_seconds: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            device_code_seconds: 600,
            poll_interval_seconds: 1,
            enforced_poll_interval_seconds: 0,
            access_token_seconds: 3600,
            refresh_token_seconds: 8 * 3600,
            role_credentials_seconds: 3600,
            client_secret_seconds: 90 * 24 * 3600,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// 12 digits.
    pub id: String,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub roles: Vec<Role>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub name: String,
    #[serde(default)]
    pub trust: Trust,
}

/// Who may become the role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trust {
    /// An Identity Center permission set: reached through the portal's GetRoleCredentials by
    /// assigned users; never through sts:AssumeRole (its trust names the SAML provider).
    #[default]
    PermissionSet,
    /// A plain IAM role reached through sts:AssumeRole.
    IamRole(IamTrust),
}

/// The parts of an IAM trust policy the emulator enforces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IamTrust {
    /// IAM user ARNs, role ARNs (any session of that role) or `arn:aws:iam::ACCT:root`
    /// (any principal of that account).
    pub principals: Vec<String>,
    /// `aws:MultiFactorAuthPresent = true`.
    pub require_mfa: bool,
    /// `aws:MultiFactorAuthAge` upper bound.
    pub max_mfa_age_seconds: Option<u64>,
    /// The trust allows `sts:SetSourceIdentity`.
    pub allow_source_identity: bool,
    /// The trust allows `sts:TagSession`.
    pub allow_tags: bool,
    /// The role's MaxSessionDuration (3600..=43200).
    pub max_session_seconds: u64,
}

impl Default for IamTrust {
    fn default() -> Self {
        IamTrust {
            principals: Vec::new(),
            require_mfa: false,
            max_mfa_age_seconds: None,
            allow_source_identity: false,
            allow_tags: false,
            max_session_seconds: 3600,
        }
    }
}

/// An Identity Center user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub email: String,
    /// account id → permission-set role names.
    #[serde(default)]
    pub assignments: BTreeMap<String, Vec<String>>,
}

/// An IAM user with one long-term access key and optionally a virtual MFA device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamUser {
    pub name: String,
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default)]
    pub mfa_serial: Option<String>,
    /// Base32 (RFC 4648) TOTP seed of the MFA device.
    #[serde(default)]
    pub totp_secret: Option<String>,
}

/// The text of `fixtures/default.toml`.
pub const DEFAULT_FIXTURE_TOML: &str = include_str!("../fixtures/default.toml");

impl Default for Fixture {
    fn default() -> Self {
        // The file is part of the crate and covered by a test; a parse failure is a bug here.
        Fixture::from_toml(DEFAULT_FIXTURE_TOML).expect("fixtures/default.toml is valid")
    }
}

/// Permission sets handed out, in order, by `Fixture::generated`.
const GENERATED_PERMISSION_SETS: [&str; 6] = [
    "AdministratorAccess",
    "ReadOnlyAccess",
    "PowerUserAccess",
    "Billing",
    "DatabaseAdministrator",
    "SecurityAudit",
];

impl Fixture {
    pub fn from_toml(text: &str) -> Result<Fixture, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn to_toml(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    pub fn load(path: &std::path::Path) -> std::io::Result<Fixture> {
        let text = std::fs::read_to_string(path)?;
        Fixture::from_toml(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
    }

    /// A big organisation for sync benchmarks: `accounts` accounts with `roles_per_account`
    /// permission sets each, all assigned to alice (bob gets ReadOnlyAccess where it exists).
    /// The default fixture's start URL, lifetimes and break-glass IAM users are kept, the
    /// latter living in the first generated account.
    pub fn generated(accounts: usize, roles_per_account: usize) -> Fixture {
        let base = Fixture::default();
        let role_name = |i: usize| match GENERATED_PERMISSION_SETS.get(i) {
            Some(name) => (*name).to_string(),
            None => format!("PermissionSet{:02}", i + 1),
        };
        let accounts: Vec<Account> = (0..accounts)
            .map(|i| Account {
                id: format!("{:012}", 700_000_000_000u64 + i as u64),
                name: format!("account-{:04}", i + 1),
                email: format!("aws+account-{:04}@example.com", i + 1),
                roles: (0..roles_per_account)
                    .map(|r| Role {
                        name: role_name(r),
                        trust: Trust::PermissionSet,
                    })
                    .collect(),
            })
            .collect();
        let first = accounts.first().map(|a| a.id.clone()).unwrap_or_default();
        let alice = User {
            name: "alice".into(),
            email: "alice@example.com".into(),
            assignments: accounts
                .iter()
                .map(|a| {
                    (
                        a.id.clone(),
                        a.roles.iter().map(|r| r.name.clone()).collect(),
                    )
                })
                .collect(),
        };
        let bob = User {
            name: "bob".into(),
            email: "bob@example.com".into(),
            assignments: if roles_per_account > 1 {
                accounts
                    .iter()
                    .map(|a| (a.id.clone(), vec![role_name(1)]))
                    .collect()
            } else {
                BTreeMap::new()
            },
        };
        let iam_users = base
            .iam_users
            .iter()
            .map(|u| IamUser {
                account_id: first.clone(),
                mfa_serial: Some(format!("arn:aws:iam::{first}:mfa/{}", u.name)),
                ..u.clone()
            })
            .collect();
        Fixture {
            start_url: base.start_url,
            sso_region: base.sso_region,
            lifetimes: base.lifetimes,
            accounts,
            users: vec![alice, bob],
            iam_users,
        }
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn iam_user(&self, name: &str) -> Option<&IamUser> {
        self.iam_users.iter().find(|u| u.name == name)
    }

    pub fn role(&self, account_id: &str, role: &str) -> Option<&Role> {
        self.account(account_id)?
            .roles
            .iter()
            .find(|r| r.name == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fixture_parses_and_models_the_startup_org() {
        let f = Fixture::default();
        let names: Vec<&str> = f.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "management",
                "sandbox",
                "staging",
                "integrations",
                "production"
            ]
        );
        for a in &f.accounts {
            assert!(
                matches!(&a.roles.iter().find(|r| r.name == "BreakGlass").map(|r| &r.trust),
                    Some(Trust::IamRole(t)) if t.require_mfa && t.max_session_seconds == 3600)
            );
        }
        assert_eq!(f.users[0].name, "alice");
        assert_eq!(f.iam_users.len(), 2);
    }

    #[test]
    fn fixture_round_trips_through_toml() {
        let f = Fixture::default();
        assert_eq!(Fixture::from_toml(&f.to_toml()).ok(), Some(f));
    }

    #[test]
    fn generated_world_has_the_requested_size() {
        let f = Fixture::generated(1000, 4);
        assert_eq!(f.accounts.len(), 1000);
        assert!(f.accounts.iter().all(|a| a.roles.len() == 4));
        assert_eq!(f.users[0].assignments.len(), 1000);
        assert_eq!(f.iam_users[0].account_id, f.accounts[0].id);
    }
}
