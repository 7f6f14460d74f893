//! Profiles: the generic view (`Profile`, any key) and what awsx serves (`AwsxProfile`).
//!
//! An awsx profile carries awsx's own keys, never the standard `sso_*` ones: botocore's
//! SSO provider runs before its process provider, so a profile with both bypasses awsx.
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::document::{Document, Section};
use super::lex::SectionName;
use super::session::{Found, SsoSession, has_inline_comment, optional, pick, required};
use super::{Error, Result};
use awsx_core::types::{
    AccountId, IamUserName, MfaSerial, ProfileName, Region, RoleArn, RoleName, SsoSessionName,
    parse_duration,
};

/// Any profile, with every key it sets (lower-cased, continuation lines joined by `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: ProfileName,
    /// The header's line.
    pub line: usize,
    keys: BTreeMap<String, String>,
}

impl Profile {
    /// Profile `name` in `doc` (`[default]` and `[profile default]` are the same profile;
    /// the later section wins, as in botocore). `None` if absent.
    pub fn find(doc: &Document, name: &ProfileName) -> Result<Option<Profile>> {
        Self::from_sections(doc, name, doc.profile_sections(name.as_str()))
    }

    /// [`Profile::find`] given the sections that name the profile (from an [`Index`]).
    pub fn from_sections<'a>(
        doc: &Document,
        name: &ProfileName,
        sections: impl Iterator<Item = &'a Section>,
    ) -> Result<Option<Profile>> {
        let section = pick(sections, &format!("profile {name}"), doc.path())?;
        Ok(section.map(|s| Profile {
            name: name.clone(),
            line: s.line,
            keys: s.properties(),
        }))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.keys.get(&key.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn region(&self) -> Option<&str> {
        self.get("region")
    }
    pub fn credential_process(&self) -> Option<&str> {
        self.get("credential_process")
    }
    pub fn source_profile(&self) -> Option<&str> {
        self.get("source_profile")
    }
    pub fn role_arn(&self) -> Option<&str> {
        self.get("role_arn")
    }

    /// The standard `sso_*` keys (`sso_session`, `sso_start_url`, `sso_account_id`, …).
    pub fn sso_keys(&self) -> impl Iterator<Item = (&str, &str)> {
        self.keys
            .iter()
            .filter(|(k, _)| k.starts_with("sso_"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// awsx's own keys (`awsx_*`).
    pub fn awsx_keys(&self) -> impl Iterator<Item = (&str, &str)> {
        self.keys
            .iter()
            .filter(|(k, _)| k.starts_with("awsx_"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when botocore's SSO provider would answer for this profile before awsx's
    /// `credential_process` is ever run (for doctor).
    pub fn shadowed_by_standard_sso(&self) -> bool {
        self.get("sso_start_url").is_some() || self.get("sso_session").is_some()
    }
}

/// The sections of a document by the profile or sso-session they define, built in one
/// pass: for callers that visit every profile (doctor), so that each lookup does not scan
/// the whole file again.
pub struct Index<'d> {
    profiles: std::collections::HashMap<&'d str, Vec<&'d Section>>,
    sessions: std::collections::HashMap<&'d str, Vec<&'d Section>>,
}

impl<'d> Index<'d> {
    pub fn new(doc: &'d Document) -> Self {
        let mut index = Index {
            profiles: Default::default(),
            sessions: Default::default(),
        };
        for s in doc.sections() {
            match &s.name {
                SectionName::Profile(n) => index.profiles.entry(n.as_str()).or_default().push(s),
                SectionName::SsoSession(n) => index.sessions.entry(n.as_str()).or_default().push(s),
                _ => {}
            }
        }
        index
    }

    /// The sections that name profile `name`, in file order.
    pub fn profile_sections(&self, name: &str) -> impl Iterator<Item = &'d Section> + '_ {
        self.profiles.get(name).into_iter().flatten().copied()
    }

    /// [`AwsxProfile::resolve`] through the index.
    pub fn resolve(&self, doc: &Document, name: &ProfileName) -> Result<AwsxProfile> {
        let what = format!("profile {name}");
        let Some(section) = pick(self.profile_sections(name.as_str()), &what, doc.path())? else {
            return Err(not_found(
                name,
                doc.path(),
                profile_names(doc).iter().map(|n| n.as_str()),
            ));
        };
        AwsxProfile::from_section(name, &section, doc.path(), |session| {
            let sections = self
                .sessions
                .get(session.as_str())
                .into_iter()
                .flatten()
                .copied();
            match pick(sections, &format!("[sso-session {session}]"), doc.path())? {
                Some(s) => SsoSession::from_section(session.clone(), &s, doc.path()).map(Some),
                None => Ok(None),
            }
        })
    }
}

/// Every profile name in `doc`, in file order, each once (completion, `use`, suggestions).
pub fn profile_names(doc: &Document) -> Vec<ProfileName> {
    let mut seen = std::collections::HashSet::new();
    doc.sections()
        .iter()
        .filter_map(|s| match &s.name {
            SectionName::Profile(n) => n.parse::<ProfileName>().ok(),
            _ => None,
        })
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

/// A profile awsx serves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AwsxProfile {
    Sso(SsoProfile),
    BreakGlass(BreakGlassProfile),
    Console(ConsoleProfile),
}

impl AwsxProfile {
    pub fn name(&self) -> &ProfileName {
        match self {
            AwsxProfile::Sso(p) => &p.profile,
            AwsxProfile::BreakGlass(p) => &p.profile,
            AwsxProfile::Console(p) => &p.profile,
        }
    }
}

/// Role credentials through IAM Identity Center.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SsoProfile {
    pub profile: ProfileName,
    pub session: SsoSession,
    pub account_id: AccountId,
    pub role_name: RoleName,
    /// `awsx_region`, else the standard `region`.
    pub region: Option<Region>,
    /// `awsx_auto_login`; `None` means "use the global setting".
    pub auto_login: Option<bool>,
}

/// A break-glass role assumed through an IAM user with MFA.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BreakGlassProfile {
    pub profile: ProfileName,
    /// `awsx_breakglass_role_arn`.
    pub role_arn: RoleArn,
    /// `awsx_breakglass_user`: the IAM user whose key is in the keychain.
    pub user: IamUserName,
    /// `awsx_mfa_serial`; `None` lets the break-glass code derive it.
    pub mfa_serial: Option<MfaSerial>,
    /// `awsx_breakglass_duration` (`3600`, `3600s`, `60m`, `1h`); `None` means the default.
    pub duration: Option<Duration>,
    /// `awsx_breakglass_identity`, the SourceIdentity (e.g. the person's email).
    pub identity: Option<String>,
    /// `awsx_region`, else `region`.
    pub region: Option<Region>,
}

/// Credentials of a console sign-in session (`awsx login --console`, AWS Sign-In): the
/// session itself lives in the keychain under the profile's name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConsoleProfile {
    pub profile: ProfileName,
    /// `awsx_login_session`: the signed-in principal's ARN (the id token's `sub`), e.g.
    /// `arn:aws:iam::123456789012:user/Admin`.
    pub login_session: String,
    /// `awsx_region`, else `region`.
    pub region: Option<Region>,
}

impl ConsoleProfile {
    /// The account of the principal ARN (`arn:PARTITION:iam::ACCOUNT:...`).
    pub fn account_id(&self) -> Option<AccountId> {
        self.login_session.split(':').nth(4)?.parse().ok()
    }
}

impl AwsxProfile {
    /// Resolve profile `name` from a whole parsed document.
    pub fn resolve(doc: &Document, name: &ProfileName) -> Result<AwsxProfile> {
        let what = format!("profile {name}");
        let Some(section) = pick(doc.profile_sections(name.as_str()), &what, doc.path())? else {
            return Err(not_found(
                name,
                doc.path(),
                profile_names(doc).iter().map(|n| n.as_str()),
            ));
        };
        Self::from_section(name, &section, doc.path(), |session| {
            SsoSession::find(doc, session)
        })
    }

    /// Shared by `resolve` and the hot path, which finds sections its own way.
    pub(super) fn from_section(
        name: &ProfileName,
        section: &Section,
        path: &Path,
        find_session: impl FnOnce(&SsoSessionName) -> Result<Option<SsoSession>>,
    ) -> Result<AwsxProfile> {
        let what = format!("profile {name}");
        let region = match optional(section, &what, "awsx_region")
            .or_else(|| optional(section, &what, "region"))
        {
            Some(f) if !f.value().is_empty() => Some(f.map::<Region>(path)?),
            _ => None,
        };
        if let Some(role) = optional(section, &what, "awsx_breakglass_role_arn") {
            return breakglass(name, section, &what, path, &role, region);
        }
        if let Some(arn) = optional(section, &what, "awsx_login_session") {
            let login_session = arn.value().trim();
            if !(login_session.starts_with("arn:") && login_session.split(':').count() >= 6) {
                return Err(arn.invalid(
                    path,
                    "expected the signed-in principal's ARN, e.g. arn:aws:iam::123456789012:user/Admin; run awsx login --console --profile NAME again",
                ));
            }
            return Ok(AwsxProfile::Console(ConsoleProfile {
                profile: name.clone(),
                login_session: login_session.to_owned(),
                region,
            }));
        }
        let Some(session) = optional(section, &what, "awsx_sso_session") else {
            return Err(Error::NotAwsx {
                name: name.to_string(),
                path: path.to_owned(),
                line: section.line,
            });
        };
        let fix = "run awsx sync or add it";
        let session_name: SsoSessionName = session.map(path)?;
        let account_id = required(section, &what, path, "awsx_account_id", fix)?.map(path)?;
        let role_name = required(section, &what, path, "awsx_role_name", fix)?.map(path)?;
        let auto_login = match optional(section, &what, "awsx_auto_login") {
            Some(f) => {
                Some(parse_bool(f.value()).ok_or_else(|| f.invalid(path, "use true or false"))?)
            }
            None => None,
        };
        let session = find_session(&session_name)?.ok_or_else(|| Error::SsoSessionNotFound {
            name: session_name.to_string(),
            profile: name.to_string(),
            path: path.to_owned(),
            line: section.line,
        })?;
        Ok(AwsxProfile::Sso(SsoProfile {
            profile: name.clone(),
            session,
            account_id,
            role_name,
            region,
            auto_login,
        }))
    }
}

fn breakglass(
    name: &ProfileName,
    section: &Section,
    what: &str,
    path: &Path,
    role: &Found<'_>,
    region: Option<Region>,
) -> Result<AwsxProfile> {
    let role_arn: RoleArn = role.map(path)?;
    let fix = "run awsx breakglass enroll or add it";
    let user =
        required(section, what, path, "awsx_breakglass_user", fix)?.map::<IamUserName>(path)?;
    let given = |key| optional(section, what, key).filter(|f| !f.value().is_empty());
    let mfa_serial = match given("awsx_mfa_serial") {
        Some(f) => Some(f.map::<MfaSerial>(path)?),
        None => None,
    };
    // Held to the break-glass limits (15 min to 1 h) when used, with a warning, as
    // --duration is; here only its form is checked.
    let duration = match given("awsx_breakglass_duration") {
        Some(f) => Some(parse_duration(f.value()).ok_or_else(|| {
            f.invalid(path, "use a duration such as 3600, 30m or 1h (a break-glass session lasts 15 min to 1 h)")
        })?),
        None => None,
    };
    // Sanitised to STS's character set when used; a comment pasted after it is a mistake
    // to report, not to sanitise into the identity.
    let identity = match given("awsx_breakglass_identity") {
        Some(f) if has_inline_comment(f.value()) => {
            return Err(f.invalid(path, "it names the person to AWS, e.g. alice@example.com"));
        }
        Some(f) => Some(f.value().to_owned()),
        None => None,
    };
    Ok(AwsxProfile::BreakGlass(BreakGlassProfile {
        profile: name.clone(),
        role_arn,
        user,
        mfa_serial,
        duration,
        identity,
        region,
    }))
}

pub(super) fn not_found<'a>(
    name: &ProfileName,
    path: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Error {
    Error::ProfileNotFound {
        name: name.to_string(),
        path: path.to_owned(),
        suggestions: super::suggest(name.as_str(), names)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    }
}

/// The spellings people use in INI files.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flavor;

    const SESSION: &str = "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n";

    fn doc(text: &str) -> Document {
        Document::parse(text, Flavor::Config, "~/.aws/config")
    }

    fn name(s: &str) -> ProfileName {
        s.parse().unwrap()
    }

    #[test]
    fn resolves_an_sso_profile_with_its_session() {
        let d = doc(&format!(
            "[profile dev]\ncredential_process = awsx credential-process --profile dev\nawsx_sso_session = corp\nawsx_account_id = 123456789012\nawsx_role_name = ReadOnly\nregion = eu-central-1\nawsx_auto_login = true\n\n{SESSION}"
        ));
        let AwsxProfile::Sso(p) = AwsxProfile::resolve(&d, &name("dev")).unwrap() else {
            panic!("expected an SSO profile");
        };
        assert_eq!(p.account_id.as_str(), "123456789012");
        assert_eq!(p.role_name.as_str(), "ReadOnly");
        assert_eq!(p.region.as_ref().map(Region::as_str), Some("eu-central-1"));
        assert_eq!(
            p.session.start_url.as_str(),
            "https://corp.awsapps.com/start"
        );
        assert_eq!(p.auto_login, Some(true));
    }

    #[test]
    fn resolves_a_console_sign_in_profile() {
        let d = doc(
            "[profile admin]\ncredential_process = awsx credential-process --profile admin\nawsx_login_session = arn:aws:iam::123456789012:user/Admin\nregion = eu-west-1\n",
        );
        let AwsxProfile::Console(p) = AwsxProfile::resolve(&d, &name("admin")).unwrap() else {
            panic!("expected a console profile");
        };
        assert_eq!(p.login_session, "arn:aws:iam::123456789012:user/Admin");
        assert_eq!(p.account_id().unwrap().as_str(), "123456789012");
        assert_eq!(p.region.as_ref().map(Region::as_str), Some("eu-west-1"));
        let bad = doc("[profile admin]\nawsx_login_session = Admin\n");
        let err = AwsxProfile::resolve(&bad, &name("admin")).unwrap_err();
        assert!(err.to_string().contains("awsx login --console"), "{err}");
    }

    #[test]
    fn a_missing_awsx_key_says_file_line_and_fix() {
        let d = doc(&format!(
            "{SESSION}\n\n\n\n\n\n\n[profile prod-readonly]\nawsx_sso_session = corp\nawsx_account_id = 123456789012\n"
        ));
        let err = AwsxProfile::resolve(&d, &name("prod-readonly")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "profile prod-readonly in ~/.aws/config (line 11) has no awsx_role_name; run awsx sync or add it"
        );
        assert_eq!(
            awsx_core::exit::HasExitCode::exit_code(&err),
            awsx_core::exit::ExitCode::Usage
        );
    }

    #[test]
    fn a_missing_profile_suggests_near_names() {
        let d = doc("[profile prod-readonly]\n[profile dev]\n");
        let err = AwsxProfile::resolve(&d, &name("prod-readonyl"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean prod-readonly?"), "{err}");
    }

    #[test]
    fn a_missing_session_section_is_named() {
        let d = doc(
            "[profile dev]\nawsx_sso_session = nope\nawsx_account_id = 123456789012\nawsx_role_name = R\n",
        );
        let err = AwsxProfile::resolve(&d, &name("dev"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no [sso-session nope] section"), "{err}");
    }

    #[test]
    fn a_plain_profile_is_not_awsx() {
        let d = doc("[default]\nregion = eu-west-1\n");
        assert!(matches!(
            AwsxProfile::resolve(&d, &name("default")),
            Err(Error::NotAwsx { line: 1, .. })
        ));
    }

    #[test]
    fn resolves_a_breakglass_profile() {
        let d = doc(
            "[profile prod-bg]\nawsx_breakglass_role_arn = arn:aws:iam::123456789012:role/BreakGlass\nawsx_breakglass_user = bg-alice\nawsx_mfa_serial = arn:aws:iam::999999999999:mfa/bg-alice\nawsx_breakglass_duration = 1h\nregion = us-east-1\n",
        );
        let AwsxProfile::BreakGlass(p) = AwsxProfile::resolve(&d, &name("prod-bg")).unwrap() else {
            panic!("expected break-glass");
        };
        assert_eq!(p.user.as_str(), "bg-alice");
        assert_eq!(p.duration, Some(Duration::from_secs(3600)));
        assert_eq!(p.identity, None);
        assert_eq!(
            p.mfa_serial.as_ref().map(MfaSerial::as_str),
            Some("arn:aws:iam::999999999999:mfa/bg-alice")
        );
    }

    #[test]
    fn a_breakglass_duration_is_checked_for_its_form_only() {
        // The 15 min to 1 h limits apply when the session is requested, with a warning.
        let bg = |duration: &str| {
            doc(&format!(
                "[profile bg]\nawsx_breakglass_role_arn = arn:aws:iam::123456789012:role/B\nawsx_breakglass_user = u\nawsx_breakglass_duration = {duration}\n"
            ))
        };
        let AwsxProfile::BreakGlass(p) = AwsxProfile::resolve(&bg("13h"), &name("bg")).unwrap()
        else {
            panic!("expected break-glass");
        };
        assert_eq!(p.duration, Some(Duration::from_secs(13 * 3600)));
        let err = AwsxProfile::resolve(&bg("soon"), &name("bg"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("(line 4)") && err.contains("30m") && err.contains("15 min to 1 h"),
            "{err}"
        );
    }

    #[test]
    fn a_comment_after_a_value_is_cut_as_the_sdks_cut_it() {
        let d = doc(
            "[profile bg]\nawsx_breakglass_role_arn = arn:aws:iam::123456789012:role/B\nawsx_breakglass_user = bg-alice\nawsx_mfa_serial = arn:aws:iam::100000000001:mfa/bg-alice   # default: the enrolled device\nawsx_breakglass_duration = 30m ; default 1h\n",
        );
        let AwsxProfile::BreakGlass(p) = AwsxProfile::resolve(&d, &name("bg")).unwrap() else {
            panic!("expected break-glass");
        };
        assert_eq!(
            p.mfa_serial.as_ref().map(MfaSerial::as_str),
            Some("arn:aws:iam::100000000001:mfa/bg-alice")
        );
        assert_eq!(p.duration, Some(Duration::from_secs(30 * 60)));
        let d = doc(
            "[profile bg]\nawsx_breakglass_role_arn = arn:aws:iam::123456789012:role/B\nawsx_breakglass_user = bg-alice\nawsx_mfa_serial = alice\n",
        );
        let err = AwsxProfile::resolve(&d, &name("bg"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("arn:aws:iam::123456789012:mfa/alice"), "{err}");
    }

    #[test]
    fn profile_default_wins_over_default_as_in_the_sdks() {
        for text in [
            "[profile default]\nregion = eu-west-1\n[default]\nregion = us-east-1\n",
            "[default]\nregion = us-east-1\n[profile default]\nregion = eu-west-1\n",
        ] {
            let d = doc(text);
            let p = Profile::find(&d, &name("default")).unwrap().unwrap();
            assert_eq!(p.region(), Some("eu-west-1"), "{text}");
            assert_eq!(profile_names(&d), vec![name("default")]);
        }
    }

    #[test]
    fn repeated_sections_merge_and_the_last_value_wins_as_in_the_sdks() {
        let d = doc(
            "[profile a]\nk=1\nx=1\n[profile a]\nk=2\n[profile b]\nk=1\nK=2\n[profile c]\nk=1\n",
        );
        let a = Profile::find(&d, &name("a")).unwrap().unwrap();
        assert_eq!((a.get("k"), a.get("x")), (Some("2"), Some("1")));
        let b = Profile::find(&d, &name("b")).unwrap().unwrap();
        assert_eq!(b.get("k"), Some("2"));
        assert!(Profile::find(&d, &name("c")).unwrap().is_some());
    }

    #[test]
    fn credentials_file_headers_have_no_prefix() {
        let d = Document::parse(
            "[prod]\naws_access_key_id = AKIA\n[profile x]\n",
            Flavor::Credentials,
            "c",
        );
        assert_eq!(profile_names(&d), vec![name("prod")]);
        let p = Profile::find(&d, &name("prod")).unwrap().unwrap();
        assert_eq!(p.get("AWS_ACCESS_KEY_ID"), Some("AKIA"));
    }

    #[test]
    fn parses_durations_and_bools() {
        assert_eq!(parse_duration("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1 h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1d"), None);
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("maybe"), None);
    }
}
