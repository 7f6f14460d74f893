//! What STS is told about a break-glass session: the SourceIdentity (who), the
//! RoleSessionName, the reason tag and the duration, each fitted to STS's rules so that a
//! person's name or reason with a space or an accent never makes AssumeRole fail.
use std::time::Duration;

use super::BreakglassError;
use awsx_core::env::Env;

/// The session tag that carries the (sanitised) reason; the full text is in the audit log.
pub const REASON_TAG: &str = "BreakGlassReason";

/// Break-glass sessions are short on purpose: 1 h unless the profile asks for less.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(3600);
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// STS's floor for DurationSeconds.
pub const MIN_DURATION: Duration = Duration::from_secs(900);

/// STS's `[\w+=,.@-]` for SourceIdentity and RoleSessionName (ASCII, as STS means it).
fn is_sts_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// The SourceIdentity for `raw` (the configured identity or the OS user name): characters
/// STS refuses become `-` (runs of them collapse), at most 64 characters. Fewer than two
/// usable characters is a configuration error: name yourself with awsx_breakglass_identity.
pub fn source_identity(raw: &str) -> Result<String, BreakglassError> {
    let mut out = String::with_capacity(raw.len());
    let mut replaced_last = false;
    for c in raw.trim().chars() {
        if is_sts_name_char(c) {
            out.push(c);
            replaced_last = false;
        } else if !replaced_last {
            // Dashes the person typed stay; only runs of replacements collapse.
            out.push('-');
            replaced_last = true;
        }
    }
    let out: String = out.trim_matches('-').chars().take(64).collect();
    if out.len() < 2 {
        return Err(BreakglassError::Config(format!(
            "cannot name you to AWS from {raw:?} (SourceIdentity needs 2 to 64 of A-Z a-z 0-9 _+=,.@-); set awsx_breakglass_identity = you@example.com in the profile"
        )));
    }
    Ok(out)
}

/// `breakglass-<identity>`, cut to STS's 64 characters.
pub fn session_name(identity: &str) -> String {
    // `identity` came from `source_identity`, so it is ASCII and byte slicing is safe.
    let name = format!("breakglass-{identity}");
    name.chars().take(64).collect()
}

/// The reason as a session-tag value: letters, digits, spaces and `_ . : / = + - @`
/// (STS's tag character set), other characters as spaces, white space collapsed, at most
/// 256 characters. A reason with nothing left says so rather than sending an empty tag.
pub fn reason_tag(reason: &str) -> String {
    let mut out = String::new();
    for c in reason.chars() {
        let keep = c.is_alphanumeric() || "_.:/=+-@".contains(c);
        if keep {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    let out: String = out.trim_end().chars().take(256).collect();
    let out = out.trim_end().to_owned();
    if out.is_empty() {
        "see the awsx audit log".to_owned()
    } else {
        out
    }
}

/// The session length: `requested` (flag or profile) or the 1 h default, held to
/// [`MIN_DURATION`]..=[`MAX_DURATION`]. The second value says whether it was cut, so the
/// command can tell the user.
pub fn capped_duration(requested: Option<Duration>) -> (Duration, bool) {
    let wanted = requested.unwrap_or(DEFAULT_DURATION);
    let capped = wanted.clamp(MIN_DURATION, MAX_DURATION);
    (capped, capped != wanted)
}

/// The login name of the person running awsx: `USER`, `LOGNAME`, `USERNAME`, else the
/// password database entry of the process's user (Linux), else `None`.
pub fn os_user(env: &Env) -> Option<String> {
    for var in ["USER", "LOGNAME", "USERNAME"] {
        if let Some(v) = env.var(var) {
            return Some(v.to_owned());
        }
    }
    passwd_name()
}

#[cfg(target_os = "linux")]
fn passwd_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // The owner of /proc/self is this process's real user; no libc call needed.
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        (fields.next()?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

#[cfg(not(target_os = "linux"))]
fn passwd_name() -> Option<String> {
    None
}

/// This machine's name for the audit log (who ran break-glass from where).
pub fn host_name(env: &Env) -> Option<String> {
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let name = name.trim();
        if !name.is_empty() {
            return Some(name.to_owned());
        }
    }
    env.var("HOSTNAME")
        .or_else(|| env.var("COMPUTERNAME"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_identity_keeps_sts_characters_and_replaces_the_rest() {
        assert_eq!(
            source_identity("jane.doe@example.com").unwrap(),
            "jane.doe@example.com"
        );
        assert_eq!(source_identity("Jane  Doe").unwrap(), "Jane-Doe");
        assert_eq!(source_identity("zoë").unwrap(), "zo");
        assert_eq!(source_identity(" /alice/ ").unwrap(), "alice");
        assert_eq!(source_identity(&"a".repeat(100)).unwrap().len(), 64);
        assert!(source_identity("é").is_err());
        assert!(source_identity("x").is_err());
        assert!(source_identity("   ").is_err());
    }

    #[test]
    fn session_name_is_prefixed_and_at_most_64() {
        assert_eq!(session_name("alice"), "breakglass-alice");
        let long = session_name(&"b".repeat(64));
        assert_eq!(long.len(), 64);
        assert!(long.starts_with("breakglass-bbb"));
    }

    #[test]
    fn reason_tag_uses_the_tag_character_set() {
        assert_eq!(
            reason_tag("INC-123: IdP outage (EU)!"),
            "INC-123: IdP outage EU"
        );
        assert_eq!(reason_tag("line1\nline2\ttab"), "line1 line2 tab");
        assert_eq!(reason_tag("Störung: Anmeldung"), "Störung: Anmeldung");
        assert_eq!(reason_tag("a/b=c+d@e_f.g"), "a/b=c+d@e_f.g");
        assert_eq!(reason_tag(&"x".repeat(300)).chars().count(), 256);
        assert_eq!(reason_tag("!!!"), "see the awsx audit log");
    }

    #[test]
    fn duration_defaults_to_an_hour_and_is_capped() {
        assert_eq!(capped_duration(None), (Duration::from_secs(3600), false));
        assert_eq!(
            capped_duration(Some(Duration::from_secs(1800))),
            (Duration::from_secs(1800), false)
        );
        assert_eq!(
            capped_duration(Some(Duration::from_secs(4 * 3600))),
            (Duration::from_secs(3600), true)
        );
        assert_eq!(
            capped_duration(Some(Duration::from_secs(60))),
            (Duration::from_secs(900), true)
        );
    }

    #[test]
    fn os_user_comes_from_the_environment_first() {
        let env = Env::from_vars([("LOGNAME", "bob"), ("USERNAME", "x")]);
        assert_eq!(os_user(&env).as_deref(), Some("bob"));
    }
}
