//! AccessDenied on sts:AssumeRole: the three usual causes in the order to check them (the
//! role's trust policy, the caller's own permission, a service control policy), each with
//! the policy statement to look for, filled in with the ARNs at hand.
//!
//! The one subtle step is the trust policy's `Principal`: STS names the caller by its
//! *session* (`arn:aws:sts::ACCT:assumed-role/NAME/SESSION`), which never matches in a
//! policy; the trust policy must name the *role* (`arn:aws:iam::ACCT:role/PATH/NAME`).
//! [`trust_principal`] converts one into the other, with the path Identity Center gives its
//! roles.
use serde::Serialize;

use super::parse::{Denial, Deny, Facts, parse};
use super::{Cause, Kind};
use crate::doctor::Status;
use awsx_core::types::ProfileName;

/// The parts of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`).
struct Arn<'a> {
    partition: &'a str,
    service: &'a str,
    account: &'a str,
    resource: &'a str,
}

fn split_arn(arn: &str) -> Option<Arn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(_region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some(Arn {
        partition,
        service,
        account,
        resource,
    })
}

/// The account of an ARN, when it has one.
pub fn account_of(arn: &str) -> Option<&str> {
    split_arn(arn).map(|a| a.account).filter(|a| !a.is_empty())
}

/// A role ARN's name (the last part of `role/PATH/NAME`).
fn role_name(arn: &str) -> Option<&str> {
    split_arn(arn)?
        .resource
        .strip_prefix("role/")?
        .rsplit('/')
        .next()
}

/// What a trust policy's `"Principal": {"AWS": …}` must say for a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPrincipal {
    pub arn: String,
    /// Why it differs from the ARN in the message, and what to double-check.
    pub note: Option<String>,
}

/// The principal a trust policy names for `caller` (an ARN as STS reports callers).
/// `sso_region` is the Identity Center region when the caller is one of its roles
/// (`AWSReservedSSO_…`): outside us-east-1 the role's path carries the region.
pub fn trust_principal(caller: &str, sso_region: Option<&str>) -> Option<TrustPrincipal> {
    let arn = split_arn(caller)?;
    let (partition, account) = (arn.partition, arn.account);
    match (arn.service, arn.resource.split_once('/')) {
        ("sts", Some(("assumed-role", rest))) => {
            let role = rest.split('/').next().filter(|r| !r.is_empty())?;
            let mut note = format!(
                "STS names the caller by its role session, {caller}; a trust policy must name the role itself (as below), "
            );
            let path = if role.starts_with("AWSReservedSSO_") {
                let region_part = match sso_region {
                    Some("us-east-1") => String::new(),
                    Some(region) => format!("{region}/"),
                    None => String::new(),
                };
                note.push_str(&format!(
                    "and IAM Identity Center keeps its roles under the path /aws-reserved/sso.amazonaws.com/{region_part}"
                ));
                if sso_region.is_none() {
                    note.push_str(
                        " (with the Identity Center region after it, e.g. .../sso.amazonaws.com/eu-west-1/, unless that region is us-east-1)",
                    );
                }
                note.push_str(&format!(
                    ". The suffix of {role} changes when the permission set is assigned anew; a statement that survives that names the account (\"AWS\": \"arn:{partition}:iam::{account}:root\") with \"Condition\": {{\"ArnLike\": {{\"aws:PrincipalArn\": \"arn:{partition}:iam::{account}:role/aws-reserved/sso.amazonaws.com/*{}_*\"}}}} (the * also covers the region part).",
                    role.rsplit_once('_').map_or(role, |(prefix, _)| prefix)
                ));
                format!("aws-reserved/sso.amazonaws.com/{region_part}")
            } else {
                note.push_str(&format!(
                    "with its path if it has one (aws iam get-role --role-name {role} --query Role.Arn shows it); a session ARN there never matches."
                ));
                String::new()
            };
            Some(TrustPrincipal {
                arn: format!("arn:{partition}:iam::{account}:role/{path}{role}"),
                note: Some(note),
            })
        }
        ("sts", Some(("federated-user", _))) => Some(TrustPrincipal {
            arn: format!("arn:{partition}:iam::{account}:root"),
            note: Some(format!(
                "The caller {caller} is a federated user (GetFederationToken); a trust policy cannot name one, only its account."
            )),
        }),
        ("iam", _) => Some(TrustPrincipal {
            arn: caller.to_owned(),
            note: None,
        }),
        _ => None,
    }
}

/// An AccessDenied on AssumeRole, with the ARNs filled in from the message or, where it
/// says nothing, from the profile.
#[derive(Debug, Clone)]
pub struct Denied {
    /// The caller as STS names it.
    pub caller: Option<String>,
    /// The role that was to be assumed.
    pub role: Option<String>,
    /// `sts:AssumeRole`, or the `sts:TagSession` / `sts:SetSourceIdentity` that was refused.
    pub action: String,
    pub denial: Option<Denial>,
    /// Identity Center's region, when the caller is one of its roles.
    pub sso_region: Option<String>,
}

impl Denied {
    pub fn from_facts(facts: &Facts) -> Denied {
        Denied {
            caller: facts.caller_arn.clone(),
            role: facts.resource_arn.clone(),
            action: facts
                .action
                .clone()
                .unwrap_or_else(|| "sts:AssumeRole".to_owned()),
            denial: facts.denial,
            sso_region: None,
        }
    }

    fn role_or_placeholder(&self) -> &str {
        self.role.as_deref().unwrap_or("<the role's ARN>")
    }

    fn principal(&self) -> Option<TrustPrincipal> {
        self.caller
            .as_deref()
            .and_then(|c| trust_principal(c, self.sso_region.as_deref()))
    }

    /// The actions a trust policy must allow: AssumeRole, and the refused one with it.
    fn trust_actions(&self) -> Vec<String> {
        let mut actions = vec!["sts:AssumeRole".to_owned()];
        if self.action != "sts:AssumeRole" {
            actions.push(self.action.clone());
        }
        actions
    }

    /// The trust-policy statement that lets the caller in.
    pub fn trust_statement(&self) -> Statement {
        let principal = self
            .principal()
            .map_or_else(|| "<your role's or user's ARN>".to_owned(), |p| p.arn);
        Statement {
            effect: "Allow",
            principal: Some(AwsPrincipal { aws: principal }),
            action: self.trust_actions(),
            resource: None,
        }
    }

    /// The caller's identity-policy statement that allows the call.
    pub fn identity_statement(&self) -> Statement {
        Statement {
            effect: "Allow",
            principal: None,
            action: vec![self.action.clone()],
            resource: Some(self.role_or_placeholder().to_owned()),
        }
    }

    /// The kind of statement to look for in a service control (or resource control) policy.
    pub fn scp_statement(&self) -> Statement {
        Statement {
            effect: "Deny",
            principal: None,
            action: vec![self.action.clone()],
            resource: Some(self.role_or_placeholder().to_owned()),
        }
    }

    /// The causes still in question, in the order to check them. When AWS named the policy
    /// type that denied the call, only that cause is left: the others cannot be judged
    /// until that one is fixed.
    pub fn causes(&self) -> Vec<Cause> {
        match self.denial.map(|d| d.policy) {
            None => vec![
                self.trust_cause(),
                self.permission_cause(),
                self.scp_cause(),
            ],
            Some(Deny::ResourceBasedPolicy) => vec![self.trust_cause()],
            Some(Deny::IdentityPolicy | Deny::PermissionsBoundary | Deny::SessionPolicy) => {
                vec![self.permission_cause()]
            }
            Some(Deny::ServiceControlPolicy | Deny::ResourceControlPolicy) => {
                vec![self.scp_cause()]
            }
        }
    }

    /// `(status, "AWS says …")` for the cause the message blames, else `(Warn, "")`.
    fn blamed(&self, policies: &[Deny]) -> (Status, String) {
        match self.denial {
            Some(d) if policies.contains(&d.policy) => (
                Status::Fail,
                format!(
                    "AWS says so: the message reports {}. ",
                    match (d.policy, d.explicit) {
                        (Deny::ServiceControlPolicy, _) =>
                            "an explicit deny in a service control policy",
                        (Deny::ResourceControlPolicy, _) =>
                            "an explicit deny in a resource control policy",
                        (Deny::IdentityPolicy, true) =>
                            "an explicit deny in an identity-based policy",
                        (Deny::IdentityPolicy, false) => "that no identity-based policy allows it",
                        (Deny::PermissionsBoundary, true) =>
                            "an explicit deny in a permissions boundary",
                        (Deny::PermissionsBoundary, false) =>
                            "that no permissions boundary allows it",
                        (Deny::SessionPolicy, true) => "an explicit deny in a session policy",
                        (Deny::SessionPolicy, false) => "that no session policy allows it",
                        (Deny::ResourceBasedPolicy, true) =>
                            "an explicit deny in a resource-based policy (the trust policy)",
                        (Deny::ResourceBasedPolicy, false) =>
                            "that no resource-based policy (the trust policy) allows it",
                    }
                ),
            ),
            _ => (Status::Warn, String::new()),
        }
    }

    fn trust_cause(&self) -> Cause {
        let role = self.role_or_placeholder();
        let name = self.role.as_deref().and_then(role_name).unwrap_or("ROLE");
        let account = self.role.as_deref().and_then(account_of);
        let (status, says) = self.blamed(&[Deny::ResourceBasedPolicy]);
        let principal = self.principal();
        let lives = account
            .map(|a| format!(" (it lives in account {a})"))
            .unwrap_or_default();
        let summary = match principal.as_ref().and_then(|p| p.note.as_deref()) {
            Some(note) => {
                format!("{says}awsx cannot read the trust policy from here{lives}. {note}")
            }
            None => format!(
                "{says}The trust policy of {role} must name {}; awsx cannot read it from here{lives}.",
                self.caller.as_deref().unwrap_or("the caller"),
            ),
        };
        Cause {
            id: "trust_policy",
            status,
            title: format!("The role's trust policy does not name the caller ({name})"),
            summary,
            fix: Some(format!(
                "in account {}, add this statement to the trust policy of {name} (aws iam get-role --role-name {name} --query Role.AssumeRolePolicyDocument shows the current one); if a statement like it is there, check its Condition (MFA, ExternalId, source identity, tags) against how you call",
                account.unwrap_or("of the role"),
            )),
            snippet: Some(pretty(&self.trust_statement())),
        }
    }

    fn permission_cause(&self) -> Cause {
        let role = self.role_or_placeholder();
        let (status, says) = self.blamed(&[
            Deny::IdentityPolicy,
            Deny::PermissionsBoundary,
            Deny::SessionPolicy,
        ]);
        let caller_account = self.caller.as_deref().and_then(account_of);
        let role_account = self.role.as_deref().and_then(account_of);
        let scope = match (caller_account, role_account) {
            (Some(c), Some(r)) if c == r => format!(
                "Caller and role are in the same account ({c}): a trust policy that names the caller's ARN is enough by itself, but one that names the account (:root) needs this permission too."
            ),
            (Some(c), Some(r)) => format!(
                "The caller (account {c}) and the role (account {r}) are in different accounts, so the caller's own policies must allow it as well as the trust policy."
            ),
            _ => "Across accounts, the caller's own policies must allow it as well as the trust policy.".to_owned(),
        };
        let source = self
            .principal()
            .map(|p| p.arn)
            .unwrap_or_else(|| "<your role's or user's ARN>".to_owned());
        let identity_center = self
            .caller
            .as_deref()
            .is_some_and(|c| c.contains("/AWSReservedSSO_"));
        let where_to = if identity_center {
            "to the permission set in IAM Identity Center (an inline policy; the AWSReservedSSO_ role itself is managed by Identity Center)"
        } else {
            "to a policy of the caller's role or user"
        };
        Cause {
            id: "caller_permission",
            status,
            title: format!(
                "The caller's own policies do not allow {} on the role",
                self.action
            ),
            summary: format!(
                "{says}{scope} A permissions boundary or a session policy can take it away too."
            ),
            fix: Some(format!(
                "add this statement {where_to}; check with: aws iam simulate-principal-policy --policy-source-arn {source} --action-names {} --resource-arns {role}",
                self.action
            )),
            snippet: Some(pretty(&self.identity_statement())),
        }
    }

    fn scp_cause(&self) -> Cause {
        let (status, says) =
            self.blamed(&[Deny::ServiceControlPolicy, Deny::ResourceControlPolicy]);
        let rcp = self
            .denial
            .is_some_and(|d| d.policy == Deny::ResourceControlPolicy);
        let caller_account = self
            .caller
            .as_deref()
            .and_then(account_of)
            .unwrap_or("CALLER_ACCOUNT");
        let role_account = self
            .role
            .as_deref()
            .and_then(account_of)
            .unwrap_or("ROLE_ACCOUNT");
        Cause {
            id: "service_control_policy",
            status,
            title: if rcp {
                format!("A resource control policy denies {}", self.action)
            } else {
                format!("A service control policy denies {}", self.action)
            },
            summary: format!(
                "{says}An SCP on the caller's account {caller_account}, or on an organisational unit above it, denies whatever IAM allows (SCPs never restrict the management account); a resource control policy on the role's account {role_account} can deny it from that side. Look for a Deny like the statement below (its Action may read sts:* or *, its Resource * or a pattern, with a Condition)."
            ),
            fix: Some(format!(
                "from the organisation's management account (or a delegated administrator): aws organizations list-policies-for-target --target-id {caller_account} --filter SERVICE_CONTROL_POLICY, the same for each parent (aws organizations list-parents --child-id {caller_account}) and for the role's side aws organizations list-policies-for-target --target-id {role_account} --filter RESOURCE_CONTROL_POLICY; aws organizations describe-policy --policy-id p-... shows each document"
            )),
            snippet: Some(pretty(&self.scp_statement())),
        }
    }
}

/// An IAM policy statement, its fields in the order policies are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub effect: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<AwsPrincipal>,
    /// One action is written as a string, several as a list.
    #[serde(serialize_with = "one_or_many")]
    pub action: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsPrincipal {
    #[serde(rename = "AWS")]
    pub aws: String,
}

fn one_or_many<S: serde::Serializer>(items: &[String], s: S) -> Result<S::Ok, S::Error> {
    match items {
        [one] => s.serialize_str(one),
        many => many.serialize(s),
    }
}

impl std::fmt::Display for Statement {
    /// Compact JSON, for one-line fixes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| std::fmt::Error)?)
    }
}

fn pretty(statement: &Statement) -> String {
    serde_json::to_string_pretty(statement).unwrap_or_default()
}

/// The fix `doctor --profile` shows when the chain's AssumeRole fails: for an
/// AccessDenied, the three causes on one line with the statements filled in.
pub fn chain_fix(error: &str, role_arn: &str, source: &ProfileName) -> String {
    let Some(message) = parse(error).filter(|m| m.kind == Kind::AccessDeniedAssumeRole) else {
        return format!(
            "check profile {source}'s own chain (awsx doctor --profile {source}); awsx explain with the error text walks through the causes"
        );
    };
    let mut denied = Denied::from_facts(&message.facts);
    if denied.role.is_none() {
        denied.role = Some(role_arn.to_owned());
    }
    format!(
        "AccessDenied on AssumeRole has three usual causes, in order: (1) the role's trust policy does not name the caller: it needs {}; (2) the caller's own policy lacks {}; (3) a service control policy denies it. awsx explain with the error text shows each with how to check it",
        denied.trust_statement(),
        denied.identity_statement(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_arn_becomes_the_role_arn() {
        let p = trust_principal("arn:aws:sts::111122223333:assumed-role/Dev/alice", None).unwrap();
        assert_eq!(p.arn, "arn:aws:iam::111122223333:role/Dev");
        assert!(p.note.unwrap().contains("must name the role itself"));
    }

    #[test]
    fn identity_center_roles_get_their_path_and_region() {
        let caller = "arn:aws:sts::200000000002:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice";
        let east = trust_principal(caller, Some("us-east-1")).unwrap();
        assert_eq!(
            east.arn,
            "arn:aws:iam::200000000002:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef"
        );
        let west = trust_principal(caller, Some("eu-west-1")).unwrap();
        assert_eq!(
            west.arn,
            "arn:aws:iam::200000000002:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef"
        );
        assert!(west.note.unwrap().contains(
            "arn:aws:iam::200000000002:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_AdministratorAccess_*"
        ));
        let unknown = trust_principal(caller, None).unwrap();
        assert!(
            unknown
                .note
                .unwrap()
                .contains("unless that region is us-east-1")
        );
    }

    #[test]
    fn users_stay_and_other_partitions_are_kept() {
        let user = trust_principal("arn:aws:iam::111122223333:user/ci", None).unwrap();
        assert_eq!(user.arn, "arn:aws:iam::111122223333:user/ci");
        assert_eq!(user.note, None);
        let gov =
            trust_principal("arn:aws-us-gov:sts::111122223333:assumed-role/Dev/a", None).unwrap();
        assert_eq!(gov.arn, "arn:aws-us-gov:iam::111122223333:role/Dev");
        let federated =
            trust_principal("arn:aws:sts::111122223333:federated-user/bob", None).unwrap();
        assert_eq!(federated.arn, "arn:aws:iam::111122223333:root");
        assert_eq!(trust_principal("not an arn", None), None);
    }

    fn denied(tail: &str) -> Denied {
        let m = parse(&format!(
            "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:sts::111122223333:assumed-role/Dev/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::444455556666:role/Deploy{tail}"
        ))
        .unwrap();
        Denied::from_facts(&m.facts)
    }

    #[test]
    fn three_causes_in_order_with_filled_in_statements() {
        let causes = denied("").causes();
        let ids: Vec<&str> = causes.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "trust_policy",
                "caller_permission",
                "service_control_policy"
            ]
        );
        assert!(causes.iter().all(|c| c.status == Status::Warn));
        let trust: serde_json::Value =
            serde_json::from_str(causes[0].snippet.as_deref().unwrap()).unwrap();
        assert_eq!(
            trust["Principal"]["AWS"],
            "arn:aws:iam::111122223333:role/Dev"
        );
        let identity: serde_json::Value =
            serde_json::from_str(causes[1].snippet.as_deref().unwrap()).unwrap();
        assert_eq!(
            identity["Resource"],
            "arn:aws:iam::444455556666:role/Deploy"
        );
        assert_eq!(identity["Action"], "sts:AssumeRole");
        assert!(causes[1].fix.as_deref().unwrap().contains(
            "aws iam simulate-principal-policy --policy-source-arn arn:aws:iam::111122223333:role/Dev --action-names sts:AssumeRole --resource-arns arn:aws:iam::444455556666:role/Deploy"
        ));
        assert!(causes[2].fix.as_deref().unwrap().contains(
            "aws organizations list-policies-for-target --target-id 111122223333 --filter SERVICE_CONTROL_POLICY"
        ));
    }

    #[test]
    fn a_named_policy_type_leaves_only_its_cause() {
        let scp = denied(" with an explicit deny in a service control policy").causes();
        assert_eq!(scp.len(), 1);
        assert_eq!(scp[0].id, "service_control_policy");
        assert_eq!(scp[0].status, Status::Fail);
        let identity =
            denied(" because no identity-based policy allows the sts:AssumeRole action").causes();
        assert_eq!(identity.len(), 1);
        assert_eq!(identity[0].id, "caller_permission");
        let trust = denied(" with an explicit deny in a resource-based policy").causes();
        assert_eq!(trust[0].id, "trust_policy");
    }

    #[test]
    fn a_refused_session_tag_is_allowed_with_assume_role() {
        let m = parse("User: arn:aws:iam::100000000001:user/bg is not authorized to perform: sts:TagSession on resource: arn:aws:iam::500000000005:role/BreakGlass").unwrap();
        let d = Denied::from_facts(&m.facts);
        assert_eq!(
            d.trust_statement().to_string(),
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::100000000001:user/bg"},"Action":["sts:AssumeRole","sts:TagSession"]}"#
        );
    }
}
