//! Names and values with meaning: a `ProfileName` is not an `AccountId`. Each is checked
//! once where it enters (command line, config file, server reply) and trusted afterwards.
use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A value that failed its check, with the reason in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct InvalidValue {
    pub what: &'static str,
    pub value: String,
    pub reason: &'static str,
}

macro_rules! checked_string {
    ($(#[$meta:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                let check: fn(&str) -> Result<(), &'static str> = $check;
                check(s).map_err(|reason| InvalidValue { what: $what, value: s.to_owned(), reason })?;
                Ok($name(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(s: String) -> Result<Self, InvalidValue> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Names that appear inside `[profile NAME]` / `[sso-session NAME]` headers and keychain entry names.
fn section_name(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("it is empty");
    }
    if s.trim() != s {
        return Err("it starts or ends with white space");
    }
    if s.chars()
        .any(|c| c.is_control() || c == '[' || c == ']' || c == '/')
    {
        return Err("it contains '[', ']', '/' or a control character");
    }
    Ok(())
}

checked_string!(
    /// The name of a profile in the AWS config file (`[profile NAME]`, or `default`).
    ProfileName, "profile name", section_name
);
checked_string!(
    /// The name of an `[sso-session NAME]` section.
    SsoSessionName, "sso-session name", section_name
);
checked_string!(
    /// A 12-digit AWS account id.
    AccountId, "account id", |s| {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err("an account id is exactly 12 digits")
        }
    }
);
checked_string!(
    /// An IAM role (or permission set) name.
    RoleName, "role name", |s| {
        if (1..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        {
            Ok(())
        } else {
            Err("a role name is 1 to 64 letters, digits or +=,.@_-")
        }
    }
);
checked_string!(
    /// An IAM user name (the break-glass user whose access key awsx keeps in the keychain).
    IamUserName, "IAM user name", |s| {
        if (1..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        {
            Ok(())
        } else {
            Err("an IAM user name is 1 to 64 letters, digits or +=,.@_-")
        }
    }
);
checked_string!(
    /// An MFA device as STS AssumeRole's SerialNumber takes it: a virtual device's ARN
    /// (`arn:aws:iam::123456789012:mfa/alice`) or a hardware token's serial (`GAHT12345678`).
    MfaSerial, "MFA serial", |s| {
        if (9..=256).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=/:,.@_-".contains(&b))
        {
            Ok(())
        } else {
            Err("an MFA serial is an ARN such as arn:aws:iam::123456789012:mfa/alice, or a hardware token's serial (9 to 256 letters, digits or +=/:,.@_-)")
        }
    }
);
checked_string!(
    /// An IAM role's ARN (`arn:aws:iam::123456789012:role/BreakGlass`), as STS AssumeRole
    /// takes it.
    RoleArn, "role ARN", |s| {
        if s.starts_with("arn:") && s.contains(":role/") {
            Ok(())
        } else {
            Err("expected a role ARN such as arn:aws:iam::123456789012:role/BreakGlass")
        }
    }
);

impl RoleArn {
    /// The account the role is in (the ARN's fifth field), when it is an account id.
    pub fn account(&self) -> Option<AccountId> {
        self.0.split(':').nth(4)?.parse().ok()
    }
}

checked_string!(
    /// An AWS region such as `eu-west-1` or `us-gov-west-1`.
    Region, "region", |s| {
        let parts: Vec<&str> = s.split('-').collect();
        let well_formed = parts.len() >= 3
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
            && parts[0].bytes().all(|b| b.is_ascii_lowercase())
            && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit());
        if well_formed { Ok(()) } else { Err("a region looks like eu-west-1") }
    }
);
checked_string!(
    /// The AWS access portal URL of an IAM Identity Center instance.
    StartUrl, "start URL", |s| {
        let Some(rest) = s.strip_prefix("https://") else {
            return Err("the start URL begins with https:// (e.g. https://acme.awsapps.com/start)");
        };
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || host.contains(char::is_whitespace) || s.contains(char::is_whitespace) {
            return Err("the start URL needs a host and no spaces (e.g. https://acme.awsapps.com/start)");
        }
        Ok(())
    }
);

impl StartUrl {
    /// Whether both name the same portal: the host's case, a trailing `/` and the `#/`
    /// fragment the portal adds to its address bar do not matter.
    pub fn is_same_portal(&self, other: &StartUrl) -> bool {
        fn key(url: &StartUrl) -> (String, &str) {
            let rest = &url.as_str()["https://".len()..];
            let rest = rest.split('#').next().unwrap_or("");
            let (host, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
            (host.to_ascii_lowercase(), path.trim_end_matches('/'))
        }
        key(self) == key(other)
    }
}

/// When a credential or token stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Expiration(OffsetDateTime);

impl Expiration {
    pub fn new(at: OffsetDateTime) -> Self {
        Expiration(at)
    }

    pub fn from_unix_seconds(secs: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .map(Expiration)
    }

    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .ok()
            .map(Expiration)
    }

    pub fn at(self) -> OffsetDateTime {
        self.0
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Time left at `now` (negative once expired).
    pub fn remaining(self, now: OffsetDateTime) -> time::Duration {
        self.0 - now
    }

    /// RFC 3339 in UTC with a `Z` suffix and whole seconds, as `credential_process` and the
    /// Rust SDK's token cache expect.
    pub fn to_rfc3339(self) -> String {
        let utc = self
            .0
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap_or(self.0);
        utc.format(&Rfc3339)
            .unwrap_or_else(|_| utc.unix_timestamp().to_string())
    }

    pub fn parse_rfc3339(s: &str) -> Result<Self, InvalidValue> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(Expiration)
            .map_err(|_| InvalidValue {
                what: "timestamp",
                value: s.to_owned(),
                reason: "expected RFC 3339, e.g. 2026-11-23T10:00:00Z",
            })
    }
}

impl serde::Serialize for Expiration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Expiration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Expiration::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Expiration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A duration as people write one in a config file or a flag: seconds (`3600`, `3600s`),
/// minutes (`30m`) or hours (`1h`). `None` for anything else, zero included.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let secs = match unit.trim() {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    }?;
    (secs > 0).then(|| std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_minutes_or_hours() {
        assert_eq!(
            parse_duration("3600"),
            Some(std::time::Duration::from_secs(3600))
        );
        assert_eq!(parse_duration("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("30m").unwrap().as_secs(), 1800);
        assert_eq!(parse_duration(" 1 h ").unwrap().as_secs(), 3600);
        for bad in [
            "",
            "0",
            "0m",
            "1d",
            "m",
            "-5m",
            "30m # half an hour",
            "99999999999999999999h",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn mfa_serials_are_arns_or_hardware_serials() {
        for ok in [
            "arn:aws:iam::123456789012:mfa/alice",
            "GAHT12345678",
            "arn:aws-us-gov:iam::123456789012:mfa/a.b@c",
        ] {
            assert!(ok.parse::<MfaSerial>().is_ok(), "{ok}");
        }
        for bad in [
            "short",
            "arn:aws:iam::123456789012:mfa/alice   # the enrolled one",
            "arn:aws:iam::1:mfa/a b",
        ] {
            assert!(bad.parse::<MfaSerial>().is_err(), "{bad}");
        }
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!("123456789012".parse::<AccountId>().is_ok());
        assert!("12345678901".parse::<AccountId>().is_err());
        assert!("12345678901a".parse::<AccountId>().is_err());
    }

    #[test]
    fn role_arns_name_a_role_and_its_account() {
        let arn: RoleArn = "arn:aws:iam::123456789012:role/ops/BreakGlass"
            .parse()
            .unwrap();
        assert_eq!(arn.account().unwrap().as_str(), "123456789012");
        let odd: RoleArn = "arn:aws:iam::acme:role/X".parse().unwrap();
        assert_eq!(odd.account(), None);
        for bad in ["", "BreakGlass", "arn:aws:iam::123456789012:user/alice"] {
            assert!(bad.parse::<RoleArn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn regions_are_checked() {
        for ok in ["eu-west-1", "us-gov-west-1", "ap-southeast-2", "cn-north-1"] {
            assert!(ok.parse::<Region>().is_ok(), "{ok}");
        }
        for bad in ["", "eu", "EU-WEST-1", "eu-west", "eu west 1", "https://x"] {
            assert!(bad.parse::<Region>().is_err(), "{bad}");
        }
    }

    #[test]
    fn start_urls_must_be_https_with_a_host() {
        assert!("https://acme.awsapps.com/start".parse::<StartUrl>().is_ok());
        assert!("http://acme.awsapps.com/start".parse::<StartUrl>().is_err());
        assert!("https:///start".parse::<StartUrl>().is_err());
        assert!("acme".parse::<StartUrl>().is_err());
        let url = |s: &str| s.parse::<StartUrl>().unwrap();
        let acme = url("https://acme.awsapps.com/start");
        assert!(acme.is_same_portal(&url("https://ACME.awsapps.com/start/#/")));
        assert!(!acme.is_same_portal(&url("https://other.awsapps.com/start")));
        assert!(!acme.is_same_portal(&url("https://acme.awsapps.com/other")));
    }

    #[test]
    fn profile_names_reject_brackets_and_blank() {
        assert!("prod-readonly".parse::<ProfileName>().is_ok());
        assert!("".parse::<ProfileName>().is_err());
        assert!("a]b".parse::<ProfileName>().is_err());
        assert!(" a".parse::<ProfileName>().is_err());
    }

    #[test]
    fn expiration_formats_as_utc_z_and_parses_back() {
        let e = Expiration::from_unix_millis(1_795_000_000_123).unwrap();
        let s = e.to_rfc3339();
        assert!(s.ends_with('Z'), "{s}");
        assert_eq!(
            Expiration::parse_rfc3339(&s).unwrap().unix_seconds(),
            1_795_000_000
        );
    }
}
