//! What awsx can see of this machine, gathered once ([`View`]), and for each kind of error
//! its causes in the order to check them, each judged by what awsx saw.
use time::OffsetDateTime;

use super::{Cause, Kind, Message, Origin, Subject, assume_role, parse};
use crate::doctor::chain::{self, Walk};
use crate::doctor::{Check, Status, clock, setup};
use awsx_config::settings::Settings;
use awsx_config::{AwsxProfile, ConfigFile, Document, Profile};
use awsx_core::env::Env;
use awsx_core::secret::redact_key_id;
use awsx_core::types::{Expiration, ProfileName, SsoSessionName};

/// What awsx can see, gathered once.
pub(super) struct View<'a> {
    env: &'a Env,
    message: &'a Message,
    subject: &'a Subject,
    config: Option<ConfigFile>,
    credentials: Option<ConfigFile>,
    /// The profile as an SDK merges it (config file first, else credentials file).
    profile: Option<Profile>,
    /// The profile that holds the credentials: the source_profile of a role-chaining one.
    source: Option<ProfileName>,
    /// `None` when there was no profile worth walking.
    walk: Option<Walk>,
}

impl<'a> View<'a> {
    pub(super) fn new(env: &'a Env, message: &'a Message, subject: &'a Subject) -> View<'a> {
        let config = ConfigFile::load_config(env).ok();
        let credentials = ConfigFile::load_credentials(env).ok();
        let find = |file: &Option<ConfigFile>| {
            file.as_ref()
                .and_then(|f| Profile::find(f.doc(), &subject.name).ok().flatten())
        };
        let profile = find(&config).or_else(|| find(&credentials));
        let source = profile.as_ref().and_then(|p| {
            p.role_arn()?;
            p.source_profile()?.parse::<ProfileName>().ok()
        });
        // Walking a `default` nobody asked for, which does not exist, would only say so;
        // for "Unable to locate credentials" that is the point.
        let worth_walking = profile.is_some()
            || subject.origin != Origin::Default
            || message.kind == Kind::NoCredentials;
        let walk =
            worth_walking.then(|| chain::walk(env, &subject.name, super::assume_role::chain_fix));
        View {
            env,
            message,
            subject,
            config,
            credentials,
            profile,
            source,
            walk,
        }
    }

    /// The diagnosis and the causes, in the order to check them.
    pub(super) fn diagnose(&self) -> (String, Vec<Cause>) {
        match self.message.kind {
            Kind::AccessDeniedAssumeRole => self.access_denied(),
            Kind::NoCredentials => self.no_credentials(),
            Kind::ExpiredToken => self.expired_token(),
            Kind::InvalidClientTokenId => self.invalid_client_token_id(),
            Kind::SignatureDoesNotMatch => self.signature(),
            Kind::SsoSessionExpired => self.sso_session_expired(),
            Kind::KeychainUnavailable => self.keychain(),
        }
    }

    /// Whether there was a profile to walk.
    pub(super) fn walked(&self) -> bool {
        self.walk.is_some()
    }

    /// The profile's chain as the SDK walks it (and, for AccessDenied, whether the
    /// message's caller is who the profile is now).
    pub(super) fn seen(&self) -> Vec<Check> {
        let Some(walk) = &self.walk else {
            return vec![Check::warn(
                "chain",
                format!(
                    "no profile to look at: AWS_PROFILE is unset and there is no [default] profile in {}",
                    self.env.aws_config_file().display()
                ),
                "pass --profile NAME (the profile the failing command used) to see its chain and caller identity",
            )];
        };
        let mut seen = walk.checks.clone();
        if self.message.kind == Kind::AccessDeniedAssumeRole {
            // The chain's own AccessDenied: its one-line fix is the causes below.
            for check in seen.iter_mut().filter(|c| c.id == "chain.assume_role") {
                if check.status == Status::Fail {
                    check.fix = Some("see the causes below".to_owned());
                }
            }
            seen.extend(self.caller_check());
        }
        seen
    }

    fn name(&self) -> &ProfileName {
        &self.subject.name
    }

    fn config_doc(&self) -> Option<&Document> {
        self.config.as_ref().map(|f| f.doc())
    }

    fn credentials_doc(&self) -> Option<&Document> {
        self.credentials.as_ref().map(|f| f.doc())
    }

    /// The profile whose keys or credential_process an SDK uses: the source profile of a
    /// role-chaining profile, else the profile itself.
    fn holder(&self) -> ProfileName {
        self.source.clone().unwrap_or_else(|| self.name().clone())
    }

    /// Static keys of the holder profile, credentials file first (botocore's order).
    fn file_keys(&self) -> Option<FileKeys> {
        let holder = self.holder();
        for (file, doc) in [
            ("credentials", self.credentials_doc()),
            ("config", self.config_doc()),
        ] {
            let Some(p) = doc.and_then(|d| Profile::find(d, &holder).ok().flatten()) else {
                continue;
            };
            if let Some(id) = p.get("aws_access_key_id") {
                return Some(FileKeys {
                    file,
                    profile: holder,
                    key_id: id.to_owned(),
                    has_token: p.get("aws_session_token").is_some(),
                    secret_problem: p
                        .get("aws_secret_access_key")
                        .map_or(Some("is missing".to_owned()), secret_problem),
                });
            }
        }
        None
    }

    /// The awsx profile (resolved) of the holder, when it is one.
    fn awsx_holder(&self) -> Option<AwsxProfile> {
        AwsxProfile::resolve(self.config_doc()?, &self.holder()).ok()
    }

    /// The chain's verdict as a cause: fail at the first failed step, else ok with the
    /// identity it reached. `ok_means` says what a working chain implies for this error.
    fn chain_cause(&self, id: &'static str, title: &str, ok_means: &str) -> Cause {
        let name = self.name();
        let check = match &self.walk {
            None => Check::warn(
                id,
                "awsx had no profile to walk",
                "pass --profile NAME to check the profile the failing command used",
            ),
            // Credentials in the environment are a cause of their own; here the question
            // is what the profile itself gives.
            Some(walk) => match (walk.profile_failure(), &walk.identity) {
                (Some(failed), _) => Check::fail(
                    id,
                    format!("profile {name}'s chain fails now: {}", failed.summary),
                    failed.fix.clone().unwrap_or_default(),
                ),
                (None, Some(identity)) => Check::ok(
                    id,
                    format!(
                        "profile {name} gets working credentials now (STS GetCallerIdentity: {identity}); {ok_means}"
                    ),
                ),
                (None, None) => Check::warn(
                    id,
                    format!("profile {name}'s chain did not reach STS"),
                    format!("run awsx doctor --profile {name}"),
                ),
            },
        };
        Cause::new(id, title, check)
    }

    /// Who the profile's credentials call AssumeRole as now: the caller in the chain's own
    /// AccessDenied, else STS GetCallerIdentity at the end of a chain without role chaining
    /// (with it, the end of the chain is the assumed role, not the caller).
    fn caller_now(&self) -> Option<String> {
        let walk = self.walk.as_ref()?;
        let denied_caller = walk
            .assume_role_error
            .as_deref()
            .and_then(parse)
            .and_then(|m| m.facts.caller_arn);
        match self.source {
            Some(_) => denied_caller,
            None => denied_caller.or_else(|| walk.identity.clone()),
        }
    }

    /// Whether the message's caller is who the profile is now (compared as roles: the
    /// session names differ between one AssumeRole and the next).
    fn caller_check(&self) -> Option<Check> {
        let (said, now) = (
            self.message.facts.caller_arn.as_deref()?,
            self.caller_now()?,
        );
        let as_role =
            |arn: &str| assume_role::trust_principal(arn, None).map_or(arn.to_owned(), |p| p.arn);
        let name = self.name();
        Some(if as_role(said) == as_role(&now) {
            Check::ok(
                "caller",
                format!("profile {name} calls as {now}, the caller in the message"),
            )
        } else {
            Check::warn(
                "caller",
                format!(
                    "the message's caller is {said}, but profile {name} calls as {now}: the failing command used other credentials"
                ),
                "run awsx explain --profile NAME with the profile that command used, and check the environment it ran in (AWS_PROFILE, AWS_ACCESS_KEY_ID)",
            )
        })
    }

    fn access_denied(&self) -> (String, Vec<Cause>) {
        let mut denied = assume_role::Denied::from_facts(&self.message.facts);
        // What the message leaves out, from the profile: its role_arn, and the caller as
        // the chain saw it (its own AccessDenied, or GetCallerIdentity).
        if denied.role.is_none() {
            denied.role = self
                .profile
                .as_ref()
                .and_then(|p| p.role_arn())
                .map(str::to_owned);
        }
        if denied.caller.is_none() {
            denied.caller = self.caller_now();
        }
        denied.sso_region = self.sso_region_of(denied.caller.as_deref());
        let diagnosis = format!(
            "{} may not assume {}: STS lets a caller assume a role only when the role's trust policy names it, the caller's own policies allow it (across accounts), and no service control policy denies it.",
            denied.caller.as_deref().unwrap_or("The caller"),
            denied.role.as_deref().unwrap_or("the role"),
        );
        let mut causes = denied.causes();
        if self.message.facts.denial.is_some() {
            // Fix the named one first; the others can only be judged after.
            if let Some(first) = causes.first_mut() {
                first.summary.push_str(
                    " The other two causes cannot be judged until this one is fixed: run awsx explain on the next error.",
                );
            }
        }
        (diagnosis, causes)
    }

    /// Identity Center's region, when `caller` is the Identity Center role of an awsx
    /// profile (the profile or its source): it decides the role's path.
    fn sso_region_of(&self, caller: Option<&str>) -> Option<String> {
        let caller = caller?;
        let doc = self.config_doc()?;
        [Some(self.name().clone()), self.source.clone()]
            .into_iter()
            .flatten()
            .find_map(|name| match AwsxProfile::resolve(doc, &name).ok()? {
                AwsxProfile::Sso(p)
                    if caller.contains(&format!(
                        ":{}:assumed-role/AWSReservedSSO_{}_",
                        p.account_id, p.role_name
                    )) =>
                {
                    Some(p.session.region.to_string())
                }
                _ => None,
            })
    }

    fn no_credentials(&self) -> (String, Vec<Cause>) {
        let mut diagnosis = "The SDK found no credentials anywhere in its chain: not in the environment, not in the profile's keys, SSO settings or credential_process, not from a container or instance role.".to_owned();
        if self.message.facts.process_stderr_hidden {
            diagnosis.push_str(" The JavaScript SDKs print this summary instead of credential_process's own message: when the profile runs awsx, awsx explain --last shows what awsx said, and the chain below runs it again.");
        }
        let name = self.name();
        let mut causes = Vec::new();
        if self.message.facts.sdk_load_config {
            // JS v2 prints the hint with every such failure, AWS_SDK_LOAD_CONFIG set or not.
            let load_config = self
                .env
                .var("AWS_SDK_LOAD_CONFIG")
                .is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"));
            let check = if load_config {
                Check::ok(
                    "sdk_load_config",
                    "AWS_SDK_LOAD_CONFIG is set in this shell, so the JavaScript SDK v2 reads ~/.aws/config (it prints that hint whatever the cause): the profile's credentials are the suspect",
                )
            } else {
                Check::fail(
                    "sdk_load_config",
                    "the message is the JavaScript SDK v2's: it reads the config file, where credential_process lives, only with AWS_SDK_LOAD_CONFIG=1",
                    "export AWS_SDK_LOAD_CONFIG=1 for the program (the JavaScript SDK v3 reads the file always)",
                )
            };
            causes.push(Cause::new(
                "sdk_load_config",
                "The JavaScript SDK v2 does not read ~/.aws/config",
                check,
            ));
        }
        let profile = match (self.subject.origin, &self.profile) {
            (_, Some(_)) => Check::ok(
                "profile",
                format!("profile {name} exists ({})", self.subject.origin.describe()),
            ),
            (Origin::Default, None) => Check::fail(
                "profile",
                "AWS_PROFILE is unset and there is no [default] profile, so an SDK started from here has no profile to read",
                format!(
                    "in this shell: awsx use PROFILE; for one program: AWS_PROFILE=PROFILE or its --profile option; profiles: {}",
                    self.known_profiles().join(", ")
                ),
            ),
            (_, None) => {
                let unknown = setup::unknown_profile(
                    name.as_str(),
                    self.config_doc(),
                    self.credentials_doc(),
                );
                let (close, known) = unknown
                    .map(|u| (u.did_you_mean(), u.known))
                    .unwrap_or_default();
                Check::fail(
                    "profile",
                    format!(
                        "profile {name} ({}) is in neither the config nor the credentials file{close}",
                        self.subject.origin.describe()
                    ),
                    format!(
                        "use a profile that exists (awsx use PROFILE, or AWS_PROFILE=PROFILE), or run awsx sync to write your SSO profiles; profiles: {}",
                        known.join(", ")
                    ),
                )
            }
        };
        causes.push(Cause::new(
            "profile",
            "No profile, or one that does not exist",
            profile,
        ));
        let files = self.files_check();
        causes.push(Cause::new(
            "config_files",
            "The SDK reads other files, or none",
            files,
        ));

        if self.profile.is_some() {
            causes.push(self.chain_cause(
                "profile_credentials",
                "The profile has no credentials an SDK can use",
                "the program that failed did not use this profile or this environment",
            ));
        }
        causes.push(Cause::new(
            "other_environment",
            "The failing program runs with another environment",
            Check::warn(
                "other_environment",
                "what awsx sees here is this shell's environment; sudo resets HOME (so ~/.aws is root's), containers do not see ~/.aws, cron, systemd units, IDEs and GUI apps start without AWS_PROFILE and with another PATH",
                "give the program its profile explicitly (AWS_PROFILE=NAME, --profile NAME), mount ~/.aws read-only into containers, or run it through awsx exec NAME -- CMD, which puts the credentials in its environment",
            ),
        ));
        (diagnosis, causes)
    }

    fn known_profiles(&self) -> Vec<String> {
        self.config_doc()
            .map(|d| {
                awsx_config::profile::profile_names(d)
                    .iter()
                    .map(|n| n.to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE pointing nowhere (doctor's checks),
    /// or no config file at all.
    fn files_check(&self) -> Check {
        let mut env_checks = Vec::new();
        setup::environment(
            self.env,
            self.config_doc(),
            self.credentials_doc(),
            &mut env_checks,
        );
        if let Some(bad) = env_checks.into_iter().find(|c| {
            c.status != Status::Ok
                && (c.id == "env.AWS_CONFIG_FILE" || c.id == "env.AWS_SHARED_CREDENTIALS_FILE")
        }) {
            return bad;
        }
        let config = self.env.aws_config_file();
        let credentials = self.env.aws_credentials_file();
        if !config.is_file() && !credentials.is_file() {
            return Check::fail(
                "config_files",
                format!(
                    "neither {} nor {} exists",
                    config.display(),
                    credentials.display()
                ),
                "run awsx configure --start-url URL --sso-region REGION, then awsx login and awsx sync",
            );
        }
        Check::ok(
            "config_files",
            format!(
                "the SDKs read {} and {}",
                config.display(),
                credentials.display()
            ),
        )
    }

    /// Credentials in the environment, judged for `kind`.
    fn environment_cause(&self, title: &str) -> Cause {
        let env = self.env;
        let Some(id) = env.var("AWS_ACCESS_KEY_ID") else {
            return Cause::new(
                "environment",
                title,
                Check::ok(
                    "environment",
                    "no AWS_ACCESS_KEY_ID in this shell's environment",
                ),
            );
        };
        let token = env.var("AWS_SESSION_TOKEN").is_some();
        let now = OffsetDateTime::now_utc();
        let expiry = env
            .var("AWS_CREDENTIAL_EXPIRATION")
            .and_then(|e| Expiration::parse_rfc3339(e).ok());
        let mut summary = format!(
            "AWS_ACCESS_KEY_ID={} is set{}: every SDK uses environment credentials before any profile",
            redact_key_id(id),
            if token { " with AWS_SESSION_TOKEN" } else { "" }
        );
        let mut fix = "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION (and look for them in your shell's rc file); for one command, awsx exec PROFILE -- CMD fetches fresh ones each time".to_owned();
        match self.message.kind {
            Kind::ExpiredToken => {
                summary.push_str(", and nothing renews them");
                if let Some(expiry) = expiry {
                    summary.push_str(&format!(
                        "; AWS_CREDENTIAL_EXPIRATION says {} ({})",
                        expiry.to_rfc3339(),
                        if expiry.at() <= now {
                            "expired"
                        } else {
                            "not yet expired"
                        }
                    ));
                }
            }
            Kind::InvalidClientTokenId if id.starts_with("ASIA") && !token => {
                summary = format!(
                    "AWS_ACCESS_KEY_ID={} is a temporary key but AWS_SESSION_TOKEN is not set: without its token AWS does not know the key",
                    redact_key_id(id)
                );
                fix = format!("set the AWS_SESSION_TOKEN that came with it, or {fix}");
            }
            Kind::InvalidClientTokenId => {
                summary.push_str("; if that key was deleted or deactivated, this is the error");
            }
            Kind::SignatureDoesNotMatch => {
                if let Some(problem) = env.var("AWS_SECRET_ACCESS_KEY").and_then(secret_problem) {
                    summary = format!(
                        "AWS_SECRET_ACCESS_KEY (with AWS_ACCESS_KEY_ID={}) {problem}",
                        redact_key_id(id)
                    );
                } else {
                    summary.push_str(
                        "; if AWS_SECRET_ACCESS_KEY is not the secret of that key (another key's, or an old one), this is the error",
                    );
                }
            }
            _ => {}
        }
        Cause::new(
            "environment",
            title,
            Check::fail("environment", summary, fix),
        )
    }

    fn expired_token(&self) -> (String, Vec<Cause>) {
        let diagnosis = "The temporary credentials the request was signed with have expired, and whatever supplied them did not renew them.".to_owned();
        let file_keys = match self.file_keys() {
            Some(k) if k.has_token => Check::fail(
                "file_session_keys",
                format!(
                    "profile {} has temporary keys ({}, with aws_session_token) pasted into the {} file: they expire and nothing renews them",
                    k.profile,
                    redact_key_id(&k.key_id),
                    k.file
                ),
                format!(
                    "remove aws_access_key_id, aws_secret_access_key and aws_session_token from [{0}] and let awsx serve it (awsx sync writes SSO profiles; or credential_process = awsx credential-process --profile {0} with the awsx_* keys)",
                    k.profile
                ),
            ),
            _ => Check::ok(
                "file_session_keys",
                format!(
                    "no temporary keys pasted into the files for profile {}",
                    self.holder()
                ),
            ),
        };
        let causes = vec![
            self.environment_cause("Expired credentials in the environment"),
            Cause::new(
                "file_session_keys",
                "Temporary keys pasted into a file",
                file_keys,
            ),
            self.chain_cause(
                "profile_credentials",
                "The profile cannot get fresh credentials",
                "run the command again; if it fails the same way, the program holds old credentials (next cause)",
            ),
            Cause::new(
                "long_running",
                "A program kept its credentials past their expiry",
                Check::warn(
                    "long_running",
                    "a program that read its credentials once keeps them: a long-running process, or a shell that ran eval \"$(awsx export …)\" hours ago. SDKs renew credential_process credentials by themselves, environment variables never",
                    "restart the program, or run awsx export again; give long-running programs the profile (AWS_PROFILE) rather than exported keys",
                ),
            ),
        ];
        (diagnosis, causes)
    }

    fn invalid_client_token_id(&self) -> (String, Vec<Cause>) {
        let diagnosis = "AWS does not know the access key the request was signed with: it was deleted or deactivated, it belongs to another partition or to a region that is not enabled, or it is a temporary key sent without its session token.".to_owned();
        let file_keys = match self.file_keys() {
            Some(k) if k.key_id.starts_with("ASIA") && !k.has_token => Check::fail(
                "file_keys",
                format!(
                    "profile {} has the temporary key {} in the {} file without an aws_session_token: AWS does not know the key without it",
                    k.profile,
                    redact_key_id(&k.key_id),
                    k.file
                ),
                format!(
                    "remove the keys from [{}] and let awsx serve the profile (awsx sync), or add the session token that came with them",
                    k.profile
                ),
            ),
            Some(k) => Check::warn(
                "file_keys",
                format!(
                    "{}; if that key was deleted or deactivated (rotated), AWS answers InvalidClientTokenId",
                    k.signs_with()
                ),
                "check the key in the IAM console (Users → Security credentials) and replace static keys with SSO: awsx migrate",
            ),
            None => Check::ok(
                "file_keys",
                format!("profile {} has no static keys in the files", self.holder()),
            ),
        };
        let region = chain::region_for(self.env, self.profile.as_ref());
        let causes = vec![
            self.environment_cause("Other credentials in the environment"),
            Cause::new("file_keys", "A deleted, deactivated or incomplete key in a file", file_keys),
            self.chain_cause(
                "profile_credentials",
                "The profile's own credentials are refused",
                "the request that failed was signed with other credentials (another profile, the environment, an old copy)",
            ),
            Cause::new(
                "region",
                "A region that is not enabled, or another partition",
                Check::warn(
                    "region",
                    format!(
                        "the profile's region is {region}; in a region the account has not enabled (opt-in regions such as af-south-1, ap-east-1, me-south-1), with session tokens from the global STS endpoint used in an opt-in region, or with keys of another partition (aws-cn, aws-us-gov), AWS answers InvalidClientTokenId even for a good key"
                    ),
                    "enable the region (AWS console → Account → AWS Regions), use regional STS endpoints (AWS_STS_REGIONAL_ENDPOINTS=regional), or use the partition's own endpoints",
                ),
            ),
        ];
        (diagnosis, causes)
    }

    fn signature(&self) -> (String, Vec<Cause>) {
        let region = chain::region_for(self.env, self.profile.as_ref());
        let clock = Cause::new(
            "clock",
            "This machine's clock is off",
            clock::check(self.env, &region),
        );
        if self.message.facts.clock {
            let diagnosis = "AWS refused the request's signature for its time: SigV4 signatures are valid for 5 minutes around AWS's clock, and this one was outside.".to_owned();
            let causes = vec![
                clock,
                Cause::new(
                    "clock_jump",
                    "The clock was off when the request was signed",
                    Check::warn(
                        "clock_jump",
                        "virtual machines, WSL and containers keep a clock that stops while the host sleeps; a request signed just after a resume, or a signed request replayed later (a presigned URL, a queued retry), is outside the window even when the clock is right now",
                        "resynchronise after a resume (WSL: sudo hwclock -s; Linux: timedatectl set-ntp true), and sign requests again rather than reusing them",
                    ),
                ),
            ];
            return (diagnosis, causes);
        }
        let diagnosis = "AWS computed a different signature than the one sent: the secret access key does not belong to the access key id, or the request changed after it was signed.".to_owned();
        let secret = if self.env.var("AWS_ACCESS_KEY_ID").is_some() {
            self.environment_cause("The secret does not belong to the key id")
        } else {
            let check = match self.file_keys() {
                Some(FileKeys {
                    secret_problem: Some(problem),
                    profile,
                    file,
                    key_id,
                    ..
                }) => Check::fail(
                    "secret",
                    format!(
                        "the aws_secret_access_key of profile {profile} in the {file} file (key {}) {problem}",
                        redact_key_id(&key_id)
                    ),
                    format!(
                        "paste the secret again, exactly, into [{profile}]; better, replace the static key: awsx migrate"
                    ),
                ),
                Some(k) => Check::warn(
                    "secret",
                    format!(
                        "{}; if its secret is another key's (an old one after a rotation), this is the error",
                        k.signs_with()
                    ),
                    "compare the key with the IAM console and paste the matching secret, or replace static keys: awsx migrate",
                ),
                None => Check::ok(
                    "secret",
                    format!(
                        "profile {} has no static keys: its credential_process hands out key and secret together",
                        self.holder()
                    ),
                ),
            };
            Cause::new("secret", "The secret does not belong to the key id", check)
        };
        let proxy = self.env.var("HTTPS_PROXY").or(self.env.var("https_proxy"));
        let causes = vec![
            secret,
            clock,
            Cause::new(
                "request_changed",
                "The request changed after it was signed",
                Check::warn(
                    "request_changed",
                    format!(
                        "a proxy that rewrites requests ({}), a tool that alters headers, or an S3 key or presigned URL with characters encoded differently than signed gives this error with good credentials",
                        proxy.map_or("none set here".to_owned(), |p| format!("HTTPS_PROXY={p}"))
                    ),
                    "retry without the proxy (NO_PROXY=.amazonaws.com), and check special characters in S3 keys and the region in presigned URLs",
                ),
            ),
        ];
        (diagnosis, causes)
    }

    fn sso_session_expired(&self) -> (String, Vec<Cause>) {
        let diagnosis = "The IAM Identity Center login behind the profile has expired, or never happened, and could not be renewed: a new login is needed.".to_owned();
        let name = self.name();
        let holder = self.holder();
        let holder_profile = self
            .config_doc()
            .and_then(|d| Profile::find(d, &holder).ok().flatten());
        let provider = match &holder_profile {
            Some(p) if p.shadowed_by_standard_sso() => {
                let keys: Vec<&str> = p.sso_keys().map(|(k, _)| k).collect();
                Check::fail(
                    "sdk_sso_provider",
                    format!(
                        "profile {holder} sets {}: the SDKs' own SSO provider answers for it, with the AWS CLI's login (~/.aws/sso/cache), not awsx",
                        keys.join(", ")
                    ),
                    format!(
                        "either aws sso login --profile {holder}, or let awsx serve it: replace {} in [profile {holder}] with credential_process = awsx credential-process --profile {holder} and the awsx_sso_session, awsx_account_id, awsx_role_name keys (awsx sync writes such profiles)",
                        keys.join(", ")
                    ),
                )
            }
            Some(p) if setup::is_awsx(p) => Check::ok(
                "sdk_sso_provider",
                format!("profile {holder} is served by awsx (credential_process)"),
            ),
            Some(_) => Check::warn(
                "sdk_sso_provider",
                format!(
                    "profile {holder} uses neither SSO nor awsx: the error came from another profile"
                ),
                "run awsx explain --profile NAME with the profile the failing command used",
            ),
            None => Check::warn(
                "sdk_sso_provider",
                format!("profile {name} is not in the config file"),
                "run awsx explain --profile NAME with the profile the failing command used",
            ),
        };
        let session: Option<SsoSessionName> = self
            .message
            .facts
            .sso_session
            .as_deref()
            .and_then(|s| s.parse().ok())
            .or_else(|| match self.awsx_holder()? {
                AwsxProfile::Sso(p) => Some(p.session.name),
                AwsxProfile::BreakGlass(_) | AwsxProfile::Console(_) => None,
            })
            .or_else(|| holder_profile.as_ref()?.get("sso_session")?.parse().ok());
        let login = match &session {
            Some(session) => match Settings::load(self.env) {
                Ok(settings) => {
                    let opened =
                        awsx_keychain::open(settings.keychain, &settings.keychain_service).ok();
                    setup::session(self.env, &settings, opened.as_ref(), session)
                }
                Err(e) => Check::warn(
                    "awsx_login",
                    format!("awsx's settings cannot be read: {e}"),
                    e.to_string(),
                ),
            },
            None => Check::warn(
                "awsx_login",
                "no sso-session to check (the profile names none)",
                "awsx login --sso-session NAME (awsx status lists the sessions)",
            ),
        };
        let causes = vec![
            Cause::new(
                "sdk_sso_provider",
                "The SDK's own SSO provider answered, not awsx",
                provider,
            ),
            Cause::new("awsx_login", "The awsx login has ended", login),
            Cause::new(
                "session_duration",
                "Identity Center ended the session",
                Check::warn(
                    "session_duration",
                    "a login renews itself only until Identity Center's session duration runs out (8 hours unless your administrator set another); after that a new login is needed, which is expected about once a day",
                    format!(
                        "awsx login{}; with awsx_auto_login = true in the profile, credential-process starts the login itself when you are at a terminal",
                        session
                            .as_ref()
                            .map(|s| format!(" --sso-session {s}"))
                            .unwrap_or_default()
                    ),
                ),
            ),
        ];
        (diagnosis, causes)
    }

    fn keychain(&self) -> (String, Vec<Cause>) {
        let diagnosis =
            "awsx could not use the keychain that holds its logins and cached credentials."
                .to_owned();
        let mut checks = Vec::new();
        let settings = Settings::load(self.env).unwrap_or_default();
        setup::keychain(&settings, &mut checks);
        let keychain = checks
            .into_iter()
            .find(|c| c.id == "keychain")
            .unwrap_or_else(|| {
                Check::warn(
                    "keychain",
                    "the keychain was not checked",
                    "run awsx doctor",
                )
            });
        let choice = settings.keychain.as_str();
        let explicit = Check::warn(
            "keychain_choice",
            format!(
                "the keychain setting is {choice}{}",
                if choice == "auto" {
                    ": awsx falls back to kernel keyutils when the Secret Service does not answer"
                } else {
                    ": an explicit choice never falls back"
                }
            ),
            "where no Secret Service runs (ssh sessions, cron, containers), AWSX_KEYCHAIN=keyutils keeps short-lived credentials in the kernel keyring (logins then last until reboot)",
        );
        let causes = vec![
            Cause::new(
                "keychain",
                "The keychain does not answer or is locked",
                keychain,
            ),
            Cause::new(
                "keychain_choice",
                "No keychain in this kind of session",
                explicit,
            ),
        ];
        (diagnosis, causes)
    }
}

/// A profile's static keys as found in a file (the key id only ever shown redacted).
struct FileKeys {
    file: &'static str,
    profile: ProfileName,
    key_id: String,
    has_token: bool,
    /// What is wrong with the secret's shape, without showing it.
    secret_problem: Option<String>,
}

impl FileKeys {
    /// `profile P signs with the static key AKIA…WXYZ from the credentials file`.
    fn signs_with(&self) -> String {
        format!(
            "profile {} signs with the static key {} from the {} file",
            self.profile,
            redact_key_id(&self.key_id),
            self.file
        )
    }
}

/// What is wrong with a secret access key's shape (40 characters of base64), in words that
/// do not reveal it.
fn secret_problem(secret: &str) -> Option<String> {
    let len = secret.chars().count();
    if secret
        .chars()
        .any(|c| c.is_whitespace() || "\"'`".contains(c))
    {
        Some("contains a space or a quote, which a secret access key never has: something was pasted with it".to_owned())
    } else if len != 40 {
        Some(format!(
            "is {len} characters long; a secret access key has 40: part of it is missing or something was pasted with it"
        ))
    } else if !secret
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+')
    {
        Some(
            "has characters a secret access key never has (only letters, digits, / and +)"
                .to_owned(),
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_shapes_are_judged_without_showing_them() {
        assert_eq!(
            secret_problem("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            None
        );
        let short = secret_problem("wJalrXUtnFEMI").unwrap();
        assert!(short.contains("13 characters"), "{short}");
        assert!(!short.contains("wJalr"));
        assert!(secret_problem("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ").is_some());
        assert!(secret_problem("wJalrXUtnFEMI-K7MDENG/bPxRfiCYEXAMPLEKEY").is_some());
    }
}
