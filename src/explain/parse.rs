//! Reading an error message: which of the errors `awsx explain` knows it is, and what the
//! message itself carries (the caller and target ARNs of an AccessDenied, the operation,
//! the policy type AWS blames, a profile or sso-session name).
//!
//! The phrases are the ones the AWS CLI v1/v2, botocore/boto3 and the Rust, Go, JavaScript
//! and Java SDKs print (the table in the tests below). The text can be a whole captured
//! stderr (`aws s3 ls 2>&1 | awsx explain`): the kinds are tried in a fixed order, most
//! specific first, and the first one that matches anywhere in the text wins.
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// The errors `awsx explain` recognises. The names are the stable `error` of `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// IAM Identity Center's login (the SSO token) expired and could not be renewed.
    SsoSessionExpired,
    /// AccessDenied on sts:AssumeRole (or the sts:TagSession / sts:SetSourceIdentity that
    /// come with it).
    AccessDeniedAssumeRole,
    /// `ExpiredToken`: temporary credentials past their expiry.
    ExpiredToken,
    /// `InvalidClientTokenId`: AWS does not know the access key.
    InvalidClientTokenId,
    /// `SignatureDoesNotMatch`: the wrong secret, or a clock more than 5 minutes off.
    SignatureDoesNotMatch,
    /// "Unable to locate credentials": the SDK's whole chain came up empty.
    NoCredentials,
    /// awsx's own exit 4: the keychain is unreachable, locked or not answering (known only
    /// from a record of awsx's own failure, see `record`).
    KeychainUnavailable,
}

impl Kind {
    /// Every kind, in the order `--help` and the "not recognised" message list them.
    pub const ALL: [Kind; 7] = [
        Kind::AccessDeniedAssumeRole,
        Kind::NoCredentials,
        Kind::ExpiredToken,
        Kind::InvalidClientTokenId,
        Kind::SignatureDoesNotMatch,
        Kind::SsoSessionExpired,
        Kind::KeychainUnavailable,
    ];

    /// The stable name (`--json`'s `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SsoSessionExpired => "sso_session_expired",
            Kind::AccessDeniedAssumeRole => "access_denied_assume_role",
            Kind::ExpiredToken => "expired_token",
            Kind::InvalidClientTokenId => "invalid_client_token_id",
            Kind::SignatureDoesNotMatch => "signature_does_not_match",
            Kind::NoCredentials => "no_credentials",
            Kind::KeychainUnavailable => "keychain_unavailable",
        }
    }

    /// The error's usual name, as a heading.
    pub fn title(self) -> &'static str {
        match self {
            Kind::SsoSessionExpired => "The SSO session has expired",
            Kind::AccessDeniedAssumeRole => "AccessDenied on sts:AssumeRole",
            Kind::ExpiredToken => "ExpiredToken",
            Kind::InvalidClientTokenId => "InvalidClientTokenId",
            Kind::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Kind::NoCredentials => "Unable to locate credentials",
            Kind::KeychainUnavailable => "The keychain is unavailable",
        }
    }

    /// How the error reads (besides its name), for the list of what explain recognises.
    pub fn example(self) -> &'static str {
        match self {
            Kind::AccessDeniedAssumeRole => {
                "User: ARN is not authorized to perform: sts:AssumeRole on resource: ROLE"
            }
            Kind::NoCredentials => {
                "NoCredentialProviders, Could not load credentials from any providers, The config profile (NAME) could not be found"
            }
            Kind::ExpiredToken => "The security token included in the request is expired",
            Kind::InvalidClientTokenId => "The security token included in the request is invalid",
            Kind::SignatureDoesNotMatch => {
                "Signature expired, The request signature we calculated does not match"
            }
            Kind::SsoSessionExpired => {
                "The SSO session associated with this profile has expired, Token has expired and refresh failed"
            }
            Kind::KeychainUnavailable => "awsx's own failures with exit code 4 (explain --last)",
        }
    }
}

/// Which policy type AWS says denied the request ("with an explicit deny in a service
/// control policy", "because no identity-based policy allows …"), in newer messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Deny {
    /// A service control policy of the caller's organisation.
    ServiceControlPolicy,
    /// A resource control policy of the target account's organisation.
    ResourceControlPolicy,
    /// The caller's own (identity-based) policies.
    IdentityPolicy,
    /// The caller's permissions boundary.
    PermissionsBoundary,
    /// The session policy passed when the caller's session was made.
    SessionPolicy,
    /// A resource-based policy: for a role, its trust policy.
    ResourceBasedPolicy,
}

/// What AWS blamed, and whether it was an explicit `Deny` (else: nothing allowed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Denial {
    pub policy: Deny,
    pub explicit: bool,
}

/// What the message carries besides its kind. Every field is optional: messages differ
/// between SDKs and over the years.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// `User: ARN is not authorized …`: who made the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    /// `… on resource: ARN`: for AssumeRole, the role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_arn: Option<String>,
    /// `… to perform: sts:AssumeRole`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `when calling the AssumeRole operation` (botocore) / `operation error STS: AssumeRole` (Go).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denial: Option<Denial>,
    /// `The config profile (NAME) could not be found`, and awsx's own `profile NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// awsx's `sso-session NAME`, the AWS CLI's `Token for NAME does not exist`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso_session: Option<String>,
    /// The signature was refused for its time ("Signature expired", RequestTimeTooSkewed):
    /// the clock, not the secret.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub clock: bool,
    /// The JavaScript SDK v2's "Missing credentials in config": it reads ~/.aws/config only
    /// with AWS_SDK_LOAD_CONFIG=1.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sdk_load_config: bool,
    /// The JavaScript SDKs' summaries ("Could not load credentials from any providers" from
    /// v3's default chain and v2, "Missing credentials in config" from v2), printed instead
    /// of credential_process's own stderr: awsx's reason is not in the text.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub process_stderr_hidden: bool,
}

/// A recognised error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: Kind,
    pub facts: Facts,
}

/// Recognise `text`, or `None` when it is none of the errors explain knows.
pub fn parse(text: &str) -> Option<Message> {
    let lower = text.to_ascii_lowercase();
    let has = |needles: &[&str]| {
        needles
            .iter()
            .any(|n| lower.contains(&n.to_ascii_lowercase()))
    };
    let missing_profile = capture(&PROFILE_NOT_FOUND, text);
    let mut facts = Facts {
        operation: capture(&OPERATION, text),
        profile: missing_profile.clone(),
        sso_session: capture(&AWSX_SSO_SESSION, text)
            .or_else(|| capture(&CLI_TOKEN_FOR, text).filter(|s| !s.contains("://"))),
        ..Facts::default()
    };
    let sso_oidc = has(&["SSO OIDC", "sso-oidc", "ssooidc"]);
    let kind = if has(SSO_EXPIRED) || (sso_oidc && has(&["InvalidGrant", "ExpiredToken"])) {
        Kind::SsoSessionExpired
    } else if let Some(action) = assume_role_denied(text, &lower) {
        facts.action = action;
        facts.caller_arn = capture(&CALLER, text).map(trim_arn);
        facts.resource_arn = capture(&RESOURCE, text).map(trim_arn);
        facts.denial = denial(&lower);
        Kind::AccessDeniedAssumeRole
    } else if has(EXPIRED_TOKEN) {
        Kind::ExpiredToken
    } else if has(INVALID_CLIENT_TOKEN_ID) {
        Kind::InvalidClientTokenId
    } else if has(SIGNATURE_CLOCK) {
        facts.clock = true;
        Kind::SignatureDoesNotMatch
    } else if has(SIGNATURE_MISMATCH) {
        Kind::SignatureDoesNotMatch
    } else if has(NO_CREDENTIALS) || missing_profile.is_some() {
        facts.sdk_load_config = has(&["AWS_SDK_LOAD_CONFIG"]);
        facts.process_stderr_hidden = has(JAVASCRIPT_SUMMARIES);
        Kind::NoCredentials
    } else {
        return None;
    };
    Some(Message { kind, facts })
}

const SSO_EXPIRED: &[&str] = &[
    "SSO session associated with this profile",
    "Error when retrieving token from sso",
    "Token has expired and refresh failed",
    "Error loading SSO Token",
    "To refresh this SSO session run",
    "SSO session has expired or is invalid",
    "refresh cached SSO token failed",
    // awsx's own (SsoError::LoginRequired), also as botocore relays it from credential_process.
    "not logged in to sso-session",
];
const EXPIRED_TOKEN: &[&str] = &[
    "ExpiredToken",
    "security token included in the request is expired",
    "provided token has expired",
];
const INVALID_CLIENT_TOKEN_ID: &[&str] = &[
    "InvalidClientTokenId",
    "security token included in the request is invalid",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "Access Key Id you provided does not exist in our records",
];
/// A signature refused for its time: the clock, not the secret.
const SIGNATURE_CLOCK: &[&str] = &[
    "Signature expired",
    "Signature not yet current",
    "RequestTimeTooSkewed",
    "difference between the request time and the current time is too large",
];
const SIGNATURE_MISMATCH: &[&str] = &[
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "request signature we calculated does not match",
];
const NO_CREDENTIALS: &[&str] = &[
    "Unable to locate credentials",
    "NoCredentialProviders",
    "NoCredentialsError",
    "Could not load credentials from any providers",
    "Missing credentials in config",
    "Unable to load AWS credentials from any provider in the chain",
    "Unable to load credentials from any of the providers",
    "no valid credential sources",
    "no EC2 IMDS role found",
    "no providers in chain provided credentials",
];

/// What the JavaScript SDKs print when no provider (credential_process included) gave
/// credentials; neither shows the process's stderr.
const JAVASCRIPT_SUMMARIES: &[&str] = &[
    "Could not load credentials from any providers",
    "Missing credentials in config",
];

/// `Some(action)` when the text is an AccessDenied on AssumeRole (the action it names, if
/// any); `None` otherwise. AssumeRoleWithWebIdentity and AssumeRoleWithSAML are other
/// errors (their trust names an identity provider) and are not taken.
fn assume_role_denied(text: &str, lower: &str) -> Option<Option<String>> {
    if let Some(action) = capture(&ACTION, text).map(trim_arn) {
        return matches!(
            action.as_str(),
            "sts:AssumeRole" | "sts:TagSession" | "sts:SetSourceIdentity"
        )
        .then_some(Some(action));
    }
    let denied = lower.contains("accessdenied") || lower.contains("access denied");
    let assume_role = OPERATION_ASSUME_ROLE.is_match(text);
    (denied && assume_role).then_some(None)
}

fn denial(lower: &str) -> Option<Denial> {
    let explicit = lower.contains("with an explicit deny in");
    let policy = if lower.contains("service control policy") {
        Deny::ServiceControlPolicy
    } else if lower.contains("resource control policy") {
        Deny::ResourceControlPolicy
    } else if lower.contains("permissions boundary") {
        Deny::PermissionsBoundary
    } else if lower.contains("session policy") {
        Deny::SessionPolicy
    } else if lower.contains("identity-based policy") {
        Deny::IdentityPolicy
    } else if lower.contains("resource-based policy") {
        Deny::ResourceBasedPolicy
    } else {
        return None;
    };
    Some(Denial { policy, explicit })
}

/// The first group that took part in the first match (patterns with alternatives have one
/// group per alternative).
fn capture(re: &Regex, text: &str) -> Option<String> {
    re.captures(text)
        .and_then(|c| c.iter().skip(1).flatten().next())
        .map(|m| m.as_str().to_owned())
}

/// An ARN or action as it sits in prose: without the quotes, brackets and punctuation that
/// SDKs and log formats wrap around it.
fn trim_arn(s: String) -> String {
    s.trim_matches(|c: char| "\"'`.,;:()[]{}<>\\".contains(c))
        .to_owned()
}

fn regex(pattern: &str) -> Regex {
    // The patterns are literals of this file, covered by the tests below.
    Regex::new(pattern).expect("a valid regular expression literal")
}

static OPERATION: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"when calling the (\w+) operation|operation error [\w ]+?: (\w+)|\bSTS (\w+) failed")
});
static OPERATION_ASSUME_ROLE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"when calling the AssumeRole operation|operation error STS: AssumeRole\b|\bSTS AssumeRole failed|\bAssumeRole failed|Not authorized to perform sts:AssumeRole\b",
    )
});
static CALLER: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?:User|Principal): (\S+) is not authorized to perform"));
static RESOURCE: LazyLock<Regex> = LazyLock::new(|| regex(r"on resource: (\S+)"));
static ACTION: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)not authorized to perform:? (\S+)"));
static PROFILE_NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"config profile \(([^)\s]+)\) could not be found|failed to get shared config profile,? ([^\s,]+)",
    )
});
static AWSX_SSO_SESSION: LazyLock<Regex> =
    LazyLock::new(|| regex(r"not logged in to sso-session ([^\s,;]+)"));
static CLI_TOKEN_FOR: LazyLock<Regex> = LazyLock::new(|| regex(r"Token for (\S+) does not exist"));

#[cfg(test)]
mod tests {
    use super::*;

    const CALLER: &str = "arn:aws:sts::111122223333:assumed-role/Dev/alice";
    const ROLE: &str = "arn:aws:iam::444455556666:role/Deploy";

    fn kind(text: &str) -> Option<Kind> {
        parse(text).map(|m| m.kind)
    }

    /// Messages as the AWS CLI, botocore and the SDKs print them, and what each must be.
    #[test]
    fn recognises_real_messages() {
        use Kind::*;
        let table: &[(&str, Option<Kind>)] = &[
            // AWS CLI v1/v2 and boto3 (botocore's ClientError)
            (
                "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:sts::111122223333:assumed-role/Dev/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::444455556666:role/Deploy",
                Some(AccessDeniedAssumeRole),
            ),
            // Go SDK v2
            (
                "operation error STS: AssumeRole, https response error StatusCode: 403, RequestID: 0f7b, api error AccessDenied: User: arn:aws:iam::111122223333:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::444455556666:role/Deploy",
                Some(AccessDeniedAssumeRole),
            ),
            // JavaScript SDK v2, old STS wording without ARNs
            (
                "AccessDenied: Not authorized to perform sts:AssumeRole",
                Some(AccessDeniedAssumeRole),
            ),
            // the trust policy forbids setting a source identity (break-glass, chained roles)
            (
                "ClientError('An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:sts::111122223333:assumed-role/Hub/s is not authorized to perform: sts:SetSourceIdentity on resource: arn:aws:iam::444455556666:role/Spoke')",
                Some(AccessDeniedAssumeRole),
            ),
            // other AssumeRole flavours and other actions are other errors
            (
                "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity",
                None,
            ),
            (
                "An error occurred (AccessDenied) when calling the ListBuckets operation: User: arn:aws:iam::111122223333:user/ci is not authorized to perform: s3:ListAllMyBuckets because no identity-based policy allows the s3:ListAllMyBuckets action",
                None,
            ),
            // ExpiredToken on the AssumeRole call is about the caller's own credentials
            (
                "An error occurred (ExpiredToken) when calling the AssumeRole operation: The security token included in the request is expired",
                Some(ExpiredToken),
            ),
            (
                "Unable to locate credentials. You can configure credentials by running \"aws configure\".",
                Some(NoCredentials),
            ),
            (
                "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
                Some(NoCredentials),
            ),
            (
                "NoCredentialProviders: no valid providers in chain. Deprecated.\n\tFor verbose messaging see aws.Config.CredentialsChainVerboseErrors",
                Some(NoCredentials),
            ),
            (
                "CredentialsProviderError: Could not load credentials from any providers",
                Some(NoCredentials),
            ),
            (
                "CredentialsError: Missing credentials in config, if using AWS_CONFIG_FILE, set AWS_SDK_LOAD_CONFIG=1",
                Some(NoCredentials),
            ),
            (
                "com.amazonaws.SdkClientException: Unable to load AWS credentials from any provider in the chain",
                Some(NoCredentials),
            ),
            (
                "Error: No valid credential sources found",
                Some(NoCredentials),
            ),
            (
                "failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, request canceled",
                Some(NoCredentials),
            ),
            (
                "The config profile (prod-admin) could not be found",
                Some(NoCredentials),
            ),
            (
                "An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token included in the request is expired",
                Some(ExpiredToken),
            ),
            (
                "ExpiredTokenException: The security token included in the request is expired",
                Some(ExpiredToken),
            ),
            (
                "An error occurred (ExpiredToken) when calling the ListObjectsV2 operation: The provided token has expired.",
                Some(ExpiredToken),
            ),
            (
                "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid.",
                Some(InvalidClientTokenId),
            ),
            (
                "UnrecognizedClientException: The security token included in the request is invalid.",
                Some(InvalidClientTokenId),
            ),
            (
                "An error occurred (InvalidAccessKeyId) when calling the ListBuckets operation: The AWS Access Key Id you provided does not exist in our records.",
                Some(InvalidClientTokenId),
            ),
            (
                "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity operation: Signature expired: 20240101T120000Z is now earlier than 20240101T121000Z (20240101T122500Z - 15 min.)",
                Some(SignatureDoesNotMatch),
            ),
            (
                "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity operation: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
                Some(SignatureDoesNotMatch),
            ),
            (
                "An error occurred (RequestTimeTooSkewed) when calling the ListBuckets operation: The difference between the request time and the current time is too large.",
                Some(SignatureDoesNotMatch),
            ),
            (
                "Error when retrieving token from sso: Token has expired and refresh failed",
                Some(SsoSessionExpired),
            ),
            (
                "The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login with the corresponding profile.",
                Some(SsoSessionExpired),
            ),
            (
                "operation error STS: GetCallerIdentity, get identity: get credentials: failed to refresh cached credentials, refresh cached SSO token failed, unable to refresh SSO token, operation error SSO OIDC: CreateToken, https response error StatusCode: 400, RequestID: 06215636, InvalidGrantException:",
                Some(SsoSessionExpired),
            ),
            (
                "Error when retrieving credentials from custom-process: awsx: not logged in to sso-session acme (or the session expired); run: awsx login --sso-session acme",
                Some(SsoSessionExpired),
            ),
            (
                "An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The specified bucket does not exist",
                None,
            ),
            ("", None),
        ];
        for (text, expected) in table {
            assert_eq!(kind(text), *expected, "{text}");
        }
    }

    #[test]
    fn access_denied_carries_caller_target_and_operation() {
        let m = parse(&format!(
            "\nAn error occurred (AccessDenied) when calling the AssumeRole operation: User: {CALLER} is not authorized to perform: sts:AssumeRole on resource: {ROLE}\n"
        ))
        .unwrap();
        assert_eq!(m.facts.caller_arn.as_deref(), Some(CALLER));
        assert_eq!(m.facts.resource_arn.as_deref(), Some(ROLE));
        assert_eq!(m.facts.action.as_deref(), Some("sts:AssumeRole"));
        assert_eq!(m.facts.operation.as_deref(), Some("AssumeRole"));
        assert_eq!(m.facts.denial, None);
    }

    #[test]
    fn arns_lose_the_quotes_and_punctuation_around_them() {
        // The Rust SDK's DisplayErrorContext and a Python repr.
        let rust = format!(
            "service error: unhandled error (AccessDenied): Error {{ code: \"AccessDenied\", message: \"User: {CALLER} is not authorized to perform: sts:AssumeRole on resource: {ROLE}\", aws_request_id: \"x\" }}"
        );
        let python = format!(
            "ClientError('An error occurred (AccessDenied) when calling the AssumeRole operation: User: {CALLER} is not authorized to perform: sts:AssumeRole on resource: {ROLE}.')"
        );
        for text in [rust, python] {
            let m = parse(&text).unwrap();
            assert_eq!(m.facts.resource_arn.as_deref(), Some(ROLE), "{text}");
            assert_eq!(m.facts.caller_arn.as_deref(), Some(CALLER), "{text}");
        }
    }

    #[test]
    fn the_policy_type_aws_blames_is_read() {
        let base = format!(
            "An error occurred (AccessDenied) when calling the AssumeRole operation: User: {CALLER} is not authorized to perform: sts:AssumeRole on resource: {ROLE}"
        );
        let cases = [
            (
                " with an explicit deny in a service control policy",
                Deny::ServiceControlPolicy,
                true,
            ),
            (
                " with an explicit deny in a resource control policy",
                Deny::ResourceControlPolicy,
                true,
            ),
            (
                " because no identity-based policy allows the sts:AssumeRole action",
                Deny::IdentityPolicy,
                false,
            ),
            (
                " with an explicit deny in an identity-based policy",
                Deny::IdentityPolicy,
                true,
            ),
            (
                " because no permissions boundary allows the sts:AssumeRole action",
                Deny::PermissionsBoundary,
                false,
            ),
            (
                " with an explicit deny in a resource-based policy",
                Deny::ResourceBasedPolicy,
                true,
            ),
        ];
        for (tail, policy, explicit) in cases {
            let m = parse(&format!("{base}{tail}")).unwrap();
            assert_eq!(m.facts.denial, Some(Denial { policy, explicit }), "{tail}");
            assert_eq!(m.facts.resource_arn.as_deref(), Some(ROLE), "{tail}");
        }
    }

    #[test]
    fn names_in_the_message_are_kept() {
        let m = parse("The config profile (prod-admin) could not be found").unwrap();
        assert_eq!(m.facts.profile.as_deref(), Some("prod-admin"));
        let m = parse("failed to get shared config profile, prod-admin").unwrap();
        assert_eq!(m.kind, Kind::NoCredentials);
        assert_eq!(m.facts.profile.as_deref(), Some("prod-admin"));
        let m = parse(
            "not logged in to sso-session acme (or the session expired); run: awsx login --sso-session acme",
        )
        .unwrap();
        assert_eq!(m.facts.sso_session.as_deref(), Some("acme"));
        let m = parse("Error loading SSO Token: Token for acme does not exist").unwrap();
        assert_eq!(m.kind, Kind::SsoSessionExpired);
        assert_eq!(m.facts.sso_session.as_deref(), Some("acme"));
        let m = parse(
            "Error loading SSO Token: Token for https://acme.awsapps.com/start does not exist",
        )
        .unwrap();
        assert_eq!(m.facts.sso_session, None);
    }

    #[test]
    fn clock_and_secret_signature_errors_are_told_apart() {
        let clock = parse("InvalidSignatureException: Signature not yet current: 20240101T130000Z is still later than 20240101T124500Z (20240101T124000Z + 5 min.)").unwrap();
        assert!(clock.facts.clock);
        let secret =
            parse("SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided.")
                .unwrap();
        assert!(!secret.facts.clock);
    }

    #[test]
    fn the_javascript_summaries_that_hide_credential_process_stderr_are_noticed() {
        for text in [
            "CredentialsProviderError: Could not load credentials from any providers",
            "CredentialsError: Missing credentials in config, if using AWS_CONFIG_FILE, set AWS_SDK_LOAD_CONFIG=1",
        ] {
            let m = parse(text).unwrap();
            assert_eq!(m.kind, Kind::NoCredentials, "{text}");
            assert!(m.facts.process_stderr_hidden, "{text}");
        }
        assert!(
            !parse("Unable to locate credentials")
                .unwrap()
                .facts
                .process_stderr_hidden
        );
    }

    #[test]
    fn the_javascript_v2_config_hint_is_noticed() {
        let m = parse("CredentialsError: Missing credentials in config, if using AWS_CONFIG_FILE, set AWS_SDK_LOAD_CONFIG=1").unwrap();
        assert!(m.facts.sdk_load_config);
        assert!(
            !parse("Unable to locate credentials")
                .unwrap()
                .facts
                .sdk_load_config
        );
    }
}
