//! STS: AssumeRole (trust policy, MFA, SourceIdentity, session tags, duration limits, role
//! chaining), GetSessionToken and GetCallerIdentity, for an already-authenticated caller.

use axum::response::Response;
use time::OffsetDateTime;

use crate::fixture::Trust;
use crate::ops::Op;
use crate::query::{Caller, Params, QueryError, Service, el, iso8601, success};
use crate::totp;
use crate::world::{Key, Principal, Shared, World, secs};

/// AWS caps a session reached by role chaining at one hour.
const CHAINED_MAX_SECONDS: u64 = 3600;

pub fn handle(
    shared: &Shared,
    now: OffsetDateTime,
    op: Op,
    params: &Params,
    caller: &Caller,
) -> Result<Response, QueryError> {
    match op {
        Op::AssumeRole => assume_role(shared, now, params, &caller.key),
        Op::GetSessionToken => get_session_token(shared, now, params, &caller.key),
        _ => {
            let p = &caller.key.principal;
            Ok(success(
                Service::Sts,
                "GetCallerIdentity",
                Some(&format!(
                    "    {}\n    {}\n    {}",
                    el("Arn", &p.arn()),
                    el("UserId", &p.user_id()),
                    el("Account", p.account())
                )),
            ))
        }
    }
}

/// STS's `[\w+=,.@-]*` with length bounds, as its validation errors phrase it.
fn check_name(value: &str, member: &str, min: usize, max: usize) -> Result<(), QueryError> {
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if value.len() < min || value.len() > max {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have length {}",
            if value.len() < min {
                format!("greater than or equal to {min}")
            } else {
                format!("less than or equal to {max}")
            }
        )));
    }
    if !ok_chars {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    Ok(())
}

fn duration(params: &Params, default: u64, min: u64, max: u64) -> Result<u64, QueryError> {
    let Some(raw) = params.get("DurationSeconds") else {
        return Ok(default);
    };
    let Ok(d) = raw.parse::<u64>() else {
        return Err(QueryError::validation(format!(
            "Value '{raw}' for parameter DurationSeconds is invalid. Must be an integer."
        )));
    };
    if d < min {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {min}"
        )));
    }
    if d > max {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {max}"
        )));
    }
    Ok(d)
}

/// Checks SerialNumber + TokenCode against the calling IAM user's device. `Ok(None)` when
/// the request carries no MFA; a used or wrong code is AccessDenied, as on AWS.
fn check_mfa(
    w: &mut World,
    now: OffsetDateTime,
    params: &Params,
    caller: &Key,
) -> Result<Option<OffsetDateTime>, QueryError> {
    let (serial, code) = (params.get("SerialNumber"), params.get("TokenCode"));
    if serial.is_none() && code.is_none() {
        return Ok(None);
    }
    let (Some(serial), Some(code)) = (serial, code) else {
        return Err(QueryError::validation(
            "SerialNumber and TokenCode must be given together",
        ));
    };
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value '{code}' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*"
        )));
    }
    let unable = || {
        QueryError::access_denied(
            "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.",
        )
    };
    let Principal::IamUser { name, .. } = &caller.principal else {
        return Err(unable());
    };
    let Some(user) = w.fixture.iam_user(name) else {
        return Err(unable());
    };
    if user.mfa_serial.as_deref() != Some(serial) {
        return Err(unable());
    }
    let Some(seed) = user.totp_secret.as_deref().and_then(totp::decode_secret) else {
        return Err(unable());
    };
    let invalid = || {
        QueryError::access_denied(
            "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
        )
    };
    let step = totp::matching_step(&seed, totp::step_at(now.unix_timestamp()), code)
        .ok_or_else(invalid)?;
    // A code (or an older one) that already served is refused: codes are single-use.
    let last = w.last_totp_step.get(name).copied();
    if last.is_some_and(|l| step <= l) {
        return Err(invalid());
    }
    w.last_totp_step.insert(name.clone(), step);
    Ok(Some(now))
}

fn credentials_xml(key: &Key) -> String {
    format!(
        "    <Credentials>\n      {}\n      {}\n      {}\n      {}\n    </Credentials>",
        el("AccessKeyId", &key.access_key_id),
        el("SecretAccessKey", &key.secret),
        el("SessionToken", key.session_token.as_deref().unwrap_or("")),
        el(
            "Expiration",
            &key.expires_at.map(iso8601).unwrap_or_default()
        ),
    )
}

fn parse_role_arn(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path = resource.strip_prefix("role/")?;
    let name = path.rsplit('/').next()?;
    (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) && !name.is_empty())
        .then(|| (account.to_string(), name.to_string()))
}

/// `Tags.member.N.Key` / `.Value`, in N order.
fn session_tags(params: &Params) -> Result<Vec<(String, String)>, QueryError> {
    let mut tags = Vec::new();
    for n in 1.. {
        let Some(key) = params.get(&format!("Tags.member.{n}.Key")) else {
            break;
        };
        let value = params.get(&format!("Tags.member.{n}.Value")).unwrap_or("");
        if key.is_empty() || key.len() > 128 || value.len() > 256 {
            return Err(QueryError::validation(format!(
                "1 validation error detected: Value at 'tags.{n}.member' failed to satisfy constraint: tag keys must have 1 to 128 characters and values at most 256"
            )));
        }
        tags.push((key.to_string(), value.to_string()));
    }
    if tags.len() > 50 {
        return Err(QueryError::validation(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
        ));
    }
    Ok(tags)
}

fn assume_role(
    shared: &Shared,
    now: OffsetDateTime,
    params: &Params,
    caller: &Key,
) -> Result<Response, QueryError> {
    let Some(role_arn) = params.get("RoleArn") else {
        return Err(QueryError::validation(
            "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
        ));
    };
    let Some(session) = params.get("RoleSessionName") else {
        return Err(QueryError::validation(
            "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
        ));
    };
    check_name(session, "roleSessionName", 2, 64)?;
    if role_arn.len() < 20 {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value '{role_arn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
        )));
    }
    let requested = duration(params, 3600, 900, 43200)?;
    let source_identity = params.get("SourceIdentity");
    if let Some(si) = source_identity {
        check_name(si, "sourceIdentity", 2, 64)?;
    }
    let tags = session_tags(params)?;

    let caller_arn = caller.principal.arn();
    let denied = |action: &str| {
        QueryError::access_denied(format!(
            "User: {caller_arn} is not authorized to perform: {action} on resource: {role_arn}"
        ))
    };
    let mut w = shared.world();
    // An unknown or malformed role is indistinguishable from a forbidden one, as on AWS.
    let (account, role_name) = parse_role_arn(role_arn).ok_or_else(|| denied("sts:AssumeRole"))?;
    let trust = match w.fixture.role(&account, &role_name).map(|r| &r.trust) {
        Some(Trust::IamRole(t)) => t.clone(),
        _ => return Err(denied("sts:AssumeRole")),
    };
    if !trust
        .principals
        .iter()
        .any(|p| caller.principal.matches_trust_principal(p))
    {
        return Err(denied("sts:AssumeRole"));
    }
    let mfa_at = match check_mfa(&mut w, now, params, caller)? {
        Some(t) => Some(t),
        None => caller.mfa_at,
    };
    if trust.require_mfa && mfa_at.is_none() {
        return Err(denied("sts:AssumeRole"));
    }
    if let (Some(max_age), Some(at)) = (trust.max_mfa_age_seconds, mfa_at)
        && now - at > time::Duration::seconds(max_age as i64)
    {
        return Err(denied("sts:AssumeRole"));
    }
    if source_identity.is_some() && !trust.allow_source_identity {
        return Err(denied("sts:SetSourceIdentity"));
    }
    // A source identity, once set, follows the session through role chaining.
    if let (Some(prev), Some(new)) = (&caller.source_identity, source_identity)
        && prev != new
    {
        return Err(denied("sts:SetSourceIdentity"));
    }
    if !tags.is_empty() && !trust.allow_tags {
        return Err(denied("sts:TagSession"));
    }
    let chained = matches!(caller.principal, Principal::Role { .. });
    if chained && requested > CHAINED_MAX_SECONDS {
        return Err(QueryError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if requested > trust.max_session_seconds {
        return Err(QueryError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let principal = Principal::Role {
        account,
        role: role_name,
        session: session.to_string(),
    };
    let source_identity = source_identity
        .map(str::to_string)
        .or_else(|| caller.source_identity.clone());
    let key = w.mint_session(
        principal,
        now,
        secs(requested),
        mfa_at,
        source_identity.clone(),
    );
    let mut result = String::new();
    if let Some(si) = &source_identity {
        result.push_str(&format!("    {}\n", el("SourceIdentity", si)));
    }
    result.push_str(&format!(
        "    <AssumedRoleUser>\n      {}\n      {}\n    </AssumedRoleUser>\n{}",
        el("AssumedRoleId", &key.principal.user_id()),
        el("Arn", &key.principal.arn()),
        credentials_xml(&key)
    ));
    if !tags.is_empty() {
        // The share of the packed-policy budget the tags use, as a percentage.
        result.push_str(&format!(
            "\n    <PackedPolicySize>{}</PackedPolicySize>",
            (tags.len() * 2).min(100)
        ));
    }
    Ok(success(Service::Sts, "AssumeRole", Some(&result)))
}

fn get_session_token(
    shared: &Shared,
    now: OffsetDateTime,
    params: &Params,
    caller: &Key,
) -> Result<Response, QueryError> {
    if caller.is_temporary() {
        return Err(QueryError::access_denied(
            "Cannot call GetSessionToken with session credentials",
        ));
    }
    let requested = duration(params, 43200, 900, 129_600)?;
    let mut w = shared.world();
    let mfa_at = check_mfa(&mut w, now, params, caller)?;
    let key = w.mint_session(caller.principal.clone(), now, secs(requested), mfa_at, None);
    Ok(success(
        Service::Sts,
        "GetSessionToken",
        Some(&credentials_xml(&key)),
    ))
}
