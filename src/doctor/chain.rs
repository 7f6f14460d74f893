//! `awsx doctor --profile NAME`: the profile's credential chain as an SDK walks it, each
//! step a [`Check`] (`chain.*`). The credential_process command is run for real; what it
//! returns is used for STS and shown only as a redacted key id and an expiry.
use std::process::{Command, Stdio};

use aws_credential_types::Credentials;
use serde::Deserialize;

use super::{Check, Status};
use awsx_config::{ConfigFile, Profile};
use awsx_core::env::Env;
use awsx_core::secret::Secret;
use awsx_core::secret::redact_key_id;
use awsx_core::types::{ProfileName, Region};

/// The credential_process contract's Version 1 document.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput {
    version: u32,
    access_key_id: String,
    secret_access_key: Secret<String>,
    session_token: Option<Secret<String>>,
    expiration: Option<String>,
}

/// The region an SDK would use for this profile.
pub fn region_for(env: &Env, profile: Option<&Profile>) -> Region {
    profile
        .and_then(|p| p.get("awsx_region").or(p.region()))
        .or(env.var("AWS_REGION"))
        .or(env.var("AWS_DEFAULT_REGION"))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| "us-east-1".parse().expect("a valid region literal"))
}

/// Set (to `1`) in the environment of the credential_process that the chain walk runs as a
/// probe (`doctor --profile`, and `explain` through it). A probe's failure does not replace
/// `explain --last`'s record, and a probe never starts a login: it reports "login required"
/// like any process without a terminal.
pub const PROBE_VAR: &str = "AWSX_PROBE";

/// Whether this process is the chain walk's probe of a profile (see [`PROBE_VAR`]).
pub fn is_probe(env: &Env) -> bool {
    env.var(PROBE_VAR).is_some()
}

/// How to fix a failed AssumeRole of a role-chaining profile, from its error text, the role's
/// ARN and the source profile. Reading AWS's error messages is `explain`'s knowledge
/// (`explain::assume_role::chain_fix`), so the caller passes it in: doctor's checks sit
/// below explain and never call up into it.
pub type AssumeRoleFix = fn(error: &str, role_arn: &str, source: &ProfileName) -> String;

/// What walking a profile's chain found: the steps, the identity it reached, and the
/// AssumeRole error of a role-chaining profile.
#[derive(Debug, Default)]
pub struct Walk {
    pub checks: Vec<Check>,
    /// STS GetCallerIdentity's ARN for the credentials at the end of the chain.
    pub identity: Option<String>,
    /// The profile's AssumeRole (role chaining) failed with this error.
    pub assume_role_error: Option<String>,
}

impl Walk {
    /// The first failed step of the profile itself (credentials in the environment,
    /// which win over any profile, aside).
    pub fn profile_failure(&self) -> Option<&Check> {
        self.checks
            .iter()
            .find(|c| c.status == Status::Fail && c.id != "chain.environment")
    }
}

/// `doctor --profile NAME`: the chain's steps as checks.
pub fn run(env: &Env, name: &ProfileName, fix: AssumeRoleFix, checks: &mut Vec<Check>) {
    checks.extend(walk(env, name, fix).checks);
}

/// The profile (as found in the config file, as found in the credentials file).
pub fn find_profile(env: &Env, name: &ProfileName) -> (Option<Profile>, Option<Profile>) {
    let from = |f: awsx_config::Result<ConfigFile>| {
        f.ok()
            .and_then(|f| Profile::find(f.doc(), name).ok().flatten())
    };
    (
        from(ConfigFile::load_config(env)),
        from(ConfigFile::load_credentials(env)),
    )
}

/// Walk profile `name`'s credential chain as an SDK does, each step a check.
pub fn walk(env: &Env, name: &ProfileName, fix: AssumeRoleFix) -> Walk {
    let mut walk = Walk::default();
    steps(env, name, fix, &mut walk);
    walk
}

fn steps(env: &Env, name: &ProfileName, assume_role_fix: AssumeRoleFix, walk: &mut Walk) {
    if env.var("AWS_ACCESS_KEY_ID").is_some() {
        walk.checks.push(Check::fail(
            "chain.environment",
            "AWS_ACCESS_KEY_ID is set: an SDK takes these environment credentials and never looks at the profile",
            "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN",
        ));
    } else {
        walk.checks.push(Check::ok(
            "chain.environment",
            "no credentials in the environment (the SDK goes on to the profile)",
        ));
    }
    let (in_config, in_credentials) = find_profile(env, name);
    if in_config.is_none() && in_credentials.is_none() {
        walk.checks.push(Check::fail(
            "chain.profile",
            format!(
                "profile {name} is in neither {} nor {}: an SDK says \"Unable to locate credentials\" (or \"config profile could not be found\")",
                env.aws_config_file().display(),
                env.aws_credentials_file().display()
            ),
            "check the name (awsx doctor lists the awsx profiles), or run awsx sync",
        ));
        return;
    }
    let profile = in_config.clone().or(in_credentials.clone());
    let region = region_for(env, profile.as_ref());
    walk.checks.push(Check::ok(
        "chain.profile",
        format!("profile {name} found (region {region})"),
    ));

    // Role chaining: the source profile's credentials, then AssumeRole.
    let role_arn = profile
        .as_ref()
        .and_then(|p| p.role_arn())
        .map(str::to_owned);
    let (source_name, source_config, source_credentials) =
        match (&role_arn, profile.as_ref().and_then(|p| p.source_profile())) {
            (Some(arn), Some(source)) => {
                let Ok(source_name) = source.parse::<ProfileName>() else {
                    walk.checks.push(Check::fail(
                        "chain.source_profile",
                        format!("source_profile {source:?} is not a valid profile name"),
                        format!("correct source_profile in [profile {name}]"),
                    ));
                    return;
                };
                walk.checks.push(Check::ok(
                    "chain.source_profile",
                    format!(
                        "profile {name} assumes {arn} with the credentials of profile {source_name}"
                    ),
                ));
                let (c, k) = find_profile(env, &source_name);
                (source_name, c, k)
            }
            _ => (name.clone(), in_config, in_credentials),
        };

    let creds = match source_credentials_of(
        &source_name,
        source_config.as_ref(),
        source_credentials.as_ref(),
        &mut walk.checks,
    ) {
        Some(c) => c,
        None => return,
    };
    let creds = match &role_arn {
        Some(arn) if source_name != *name => match assume_role(env, &region, creds, arn) {
            Ok(c) => {
                walk.checks.push(Check::ok(
                    "chain.assume_role",
                    format!("AssumeRole {arn}: granted"),
                ));
                c
            }
            Err(e) => {
                let fix = assume_role_fix(&e, arn, &source_name);
                walk.checks.push(Check::fail(
                    "chain.assume_role",
                    format!("AssumeRole {arn} as profile {source_name} failed: {e}"),
                    fix,
                ));
                walk.assume_role_error = Some(e);
                return;
            }
        },
        _ => creds,
    };
    match caller_arn(env, &region, creds) {
        Ok(arn) => {
            walk.checks
                .push(Check::ok("chain.sts", format!("STS GetCallerIdentity: {arn}")));
            walk.identity = Some(arn);
        }
        Err(e) => walk.checks.push(Check::fail(
            "chain.sts",
            format!("STS GetCallerIdentity with these credentials failed: {e}"),
            "ExpiredToken: run the command again (awsx refreshes); InvalidClientTokenId: the key was deleted or is for another partition; SignatureDoesNotMatch: check the clock (see the clock check); awsx explain with the error text walks through the causes",
        )),
    }
}

/// What the SDK would get for a profile that is not itself role chaining.
fn source_credentials_of(
    name: &ProfileName,
    config: Option<&Profile>,
    credentials: Option<&Profile>,
    checks: &mut Vec<Check>,
) -> Option<Credentials> {
    // The credentials file's static keys win over the config file's, and both over
    // credential_process (botocore's order within a profile).
    for (file, profile) in [("credentials", credentials), ("config", config)] {
        let Some(p) = profile else { continue };
        if let (Some(id), Some(secret)) =
            (p.get("aws_access_key_id"), p.get("aws_secret_access_key"))
        {
            let long_lived = id.starts_with("AKIA");
            let summary = format!(
                "profile {name} has static keys in the {file} file ({}){}",
                redact_key_id(id),
                if long_lived { ", a long-lived key" } else { "" }
            );
            checks.push(if long_lived {
                Check::warn(
                    "chain.credentials",
                    summary,
                    "run awsx migrate to move it out of the file",
                )
            } else {
                Check::ok("chain.credentials", summary)
            });
            return Some(Credentials::new(
                id,
                secret,
                p.get("aws_session_token").map(str::to_owned),
                None,
                "profile",
            ));
        }
    }
    let Some(profile) = config else {
        checks.push(Check::fail(
            "chain.credential_process",
            format!("profile {name} has no credentials: an SDK says \"Unable to locate credentials\""),
            format!("add credential_process = awsx credential-process --profile {name} to [profile {name}] in the config file"),
        ));
        return None;
    };
    if profile.shadowed_by_standard_sso() {
        checks.push(Check::fail(
            "chain.credential_process",
            format!("profile {name} has sso_* keys: the SDK's SSO provider answers, not credential_process"),
            format!("remove the sso_* keys from [profile {name}]"),
        ));
        return None;
    }
    let Some(command) = profile.credential_process() else {
        checks.push(Check::fail(
            "chain.credential_process",
            format!("profile {name} has no credential_process (and no keys): an SDK says \"Unable to locate credentials\""),
            format!("add credential_process = awsx credential-process --profile {name} to [profile {name}]"),
        ));
        return None;
    };
    match run_process(command) {
        Ok(out) => {
            let expiry = out.expiration.as_deref().unwrap_or("never (no Expiration)");
            checks.push(Check::ok(
                "chain.credential_process",
                format!(
                    "credential_process returned key {} (expires {expiry})",
                    redact_key_id(&out.access_key_id)
                ),
            ));
            Some(Credentials::new(
                out.access_key_id,
                out.secret_access_key.into_inner(),
                out.session_token.map(Secret::into_inner),
                None,
                "credential_process",
            ))
        }
        Err(ProcessFailure::LoginRequired(stderr)) => {
            let session = profile.get("awsx_sso_session").unwrap_or("NAME");
            checks.push(Check::fail(
                "chain.credential_process",
                format!("credential_process exited 3 (login required): {stderr}"),
                format!("run awsx login --sso-session {session}"),
            ));
            None
        }
        Err(ProcessFailure::Other(why)) => {
            checks.push(Check::fail(
                "chain.credential_process",
                format!("credential_process `{command}` failed: {why}"),
                "run the command yourself to see its error; check the binary path (see the profile checks)",
            ));
            None
        }
    }
}

enum ProcessFailure {
    LoginRequired(String),
    Other(String),
}

/// Run `command` as the Rust SDK does (`sh -c`), and parse its Version 1 document.
fn run_process(command: &str) -> Result<ProcessOutput, ProcessFailure> {
    let output = if cfg!(windows) {
        Command::new("cmd")
            .args(["/C", command])
            .env(PROBE_VAR, "1")
            .stdin(Stdio::null())
            .output()
    } else {
        Command::new("sh")
            .args(["-c", command])
            .env(PROBE_VAR, "1")
            .stdin(Stdio::null())
            .output()
    }
    .map_err(|e| ProcessFailure::Other(format!("cannot start it: {e}")))?;
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    match output.status.code() {
        Some(0) => {}
        Some(3) => return Err(ProcessFailure::LoginRequired(stderr)),
        code => {
            return Err(ProcessFailure::Other(format!(
                "exit {}: {stderr}",
                code.map_or("by signal".to_owned(), |c| c.to_string())
            )));
        }
    }
    let parsed: ProcessOutput = serde_json::from_slice(&output.stdout).map_err(|e| {
        ProcessFailure::Other(format!(
            "its output is not the credential_process JSON document ({})",
            e.classify_name()
        ))
    })?;
    if parsed.version != 1 {
        return Err(ProcessFailure::Other(format!(
            "Version {} (the SDKs accept only 1)",
            parsed.version
        )));
    }
    Ok(parsed)
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "missing or wrong fields",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

/// One STS call with `creds` on a runtime of its own; errors in words.
fn with_sts<T, F, Fut>(env: &Env, region: &Region, creds: Credentials, call: F) -> Result<T, String>
where
    F: FnOnce(aws_sdk_sts::Client) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let rt = awsx_aws::runtime().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let config = awsx_aws::sdk_config(env, region, Some(creds))
            .await
            .map_err(|e| e.to_string())?;
        call(aws_sdk_sts::Client::new(&config)).await
    })
}

fn caller_arn(env: &Env, region: &Region, creds: Credentials) -> Result<String, String> {
    with_sts(env, region, creds, |sts| async move {
        let out = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| awsx_aws::describe_sdk_error(&e))?;
        Ok(out.arn().unwrap_or("(no ARN returned)").to_owned())
    })
}

fn assume_role(
    env: &Env,
    region: &Region,
    creds: Credentials,
    arn: &str,
) -> Result<Credentials, String> {
    with_sts(env, region, creds, |sts| async move {
        let out = sts
            .assume_role()
            .role_arn(arn)
            .role_session_name("awsx-doctor")
            .send()
            .await
            .map_err(|e| awsx_aws::describe_sdk_error(&e))?;
        let c = out
            .credentials()
            .ok_or("AssumeRole returned no credentials")?;
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "assume-role",
        ))
    })
}
