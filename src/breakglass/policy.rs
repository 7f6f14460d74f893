//! The IAM policies an administrator pastes to set break-glass up: the trust policy of
//! the break-glass role in every account, and the identity policy of the break-glass
//! users in the management account.
use serde_json::{Value, json};

use awsx_core::types::{AccountId, IamUserName, RoleName};

/// What the policies are generated for.
#[derive(Debug, Clone)]
pub struct PolicyInput {
    /// `aws`, `aws-us-gov` or `aws-cn`.
    pub partition: String,
    pub management_account: AccountId,
    pub users: Vec<IamUserName>,
    pub role_name: RoleName,
    /// `aws:MultiFactorAuthAge` must be below this (seconds).
    pub max_mfa_age_seconds: u64,
    /// The users are keyless (`enroll --console`): their source credentials come from a
    /// console sign-in, so they need AWS Sign-In's actions and no access-key management.
    pub console: bool,
}

/// The break-glass role's trust policy: only the listed users of the management account,
/// only with MFA proven within `max_mfa_age_seconds`, and allowed to set SourceIdentity
/// and session tags (awsx sends both; without these actions AssumeRole is refused).
pub fn trust_policy(input: &PolicyInput) -> Value {
    let principals: Vec<String> = input
        .users
        .iter()
        .map(|u| {
            format!(
                "arn:{}:iam::{}:user/{u}",
                input.partition, input.management_account
            )
        })
        .collect();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "BreakGlassUsersWithMfa",
            "Effect": "Allow",
            "Principal": { "AWS": principals },
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            "Condition": {
                "Bool": { "aws:MultiFactorAuthPresent": "true" },
                "NumericLessThan": { "aws:MultiFactorAuthAge": input.max_mfa_age_seconds.to_string() }
            }
        }]
    })
}

/// The break-glass users' identity policy: assume the break-glass role in any account,
/// name and tag the session, and either manage their own access keys (`check`, `rotate`)
/// or, for keyless users (`console`), turn a console sign-in into credentials: the two
/// actions of the AWS managed policy `SignInLocalDevelopmentAccess`, on its resource.
pub fn user_policy(input: &PolicyInput) -> Value {
    let source = if input.console {
        json!({
            "Sid": "ConsoleSignInForLocalDevelopment",
            "Effect": "Allow",
            "Action": ["signin:AuthorizeOAuth2Access", "signin:CreateOAuth2Token"],
            "Resource": format!("arn:{}:signin:*:*:oauth2/public-client/*", input.partition)
        })
    } else {
        json!({
            "Sid": "ManageOwnAccessKeys",
            "Effect": "Allow",
            "Action": ["iam:ListAccessKeys", "iam:CreateAccessKey", "iam:DeleteAccessKey"],
            "Resource": format!(
                "arn:{}:iam::{}:user/${{aws:username}}",
                input.partition, input.management_account
            )
        })
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeBreakGlassRole",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
                "Resource": format!("arn:{}:iam::*:role/{}", input.partition, input.role_name)
            },
            source
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PolicyInput {
        PolicyInput {
            partition: "aws".into(),
            management_account: "100000000001".parse().unwrap(),
            users: vec![
                "breakglass-alice".parse().unwrap(),
                "breakglass-bob".parse().unwrap(),
            ],
            role_name: "BreakGlass".parse().unwrap(),
            max_mfa_age_seconds: 900,
            console: false,
        }
    }

    #[test]
    fn keyless_users_get_sign_in_actions_and_no_key_management() {
        let p = user_policy(&PolicyInput {
            console: true,
            ..input()
        });
        let s = &p["Statement"][1];
        assert_eq!(s["Sid"], "ConsoleSignInForLocalDevelopment");
        assert_eq!(
            s["Action"],
            json!(["signin:AuthorizeOAuth2Access", "signin:CreateOAuth2Token"])
        );
        assert_eq!(s["Resource"], "arn:aws:signin:*:*:oauth2/public-client/*");
        assert!(!p.to_string().contains("iam:CreateAccessKey"));
        // The trust policy is the same for both sources: MFA is proven in AssumeRole.
        assert_eq!(
            trust_policy(&PolicyInput {
                console: true,
                ..input()
            }),
            trust_policy(&input())
        );
    }

    #[test]
    fn trust_policy_names_the_users_and_requires_mfa() {
        let p = trust_policy(&input());
        let s = &p["Statement"][0];
        assert_eq!(
            s["Principal"]["AWS"][1],
            "arn:aws:iam::100000000001:user/breakglass-bob"
        );
        assert_eq!(s["Condition"]["Bool"]["aws:MultiFactorAuthPresent"], "true");
        assert_eq!(
            s["Condition"]["NumericLessThan"]["aws:MultiFactorAuthAge"],
            "900"
        );
        let actions = s["Action"].as_array().unwrap();
        assert_eq!(actions.len(), 3);
    }

    #[test]
    fn user_policy_targets_the_role_everywhere_and_the_user_itself() {
        let p = user_policy(&input());
        assert_eq!(
            p["Statement"][0]["Resource"],
            "arn:aws:iam::*:role/BreakGlass"
        );
        assert_eq!(
            p["Statement"][1]["Resource"],
            "arn:aws:iam::100000000001:user/${aws:username}"
        );
    }
}
