//! awsx's global settings: `config.toml` in awsx's config directory, each key overridable
//! by an `AWSX_*` variable (the variable wins). Per-profile and per-session settings are
//! `awsx_*` keys in the AWS config file instead (see `config`).
//!
//! | key | variable | values | default |
//! |---|---|---|---|
//! | `keychain` | `AWSX_KEYCHAIN` | auto, secret-service, keyutils, macos, windows | auto |
//! | `keychain_service` | `AWSX_KEYCHAIN_SERVICE` | any non-empty name | awsx |
//! | `refresh_margin_minutes` | `AWSX_REFRESH_MARGIN_MINUTES` (or `AWSX_REFRESH_MARGIN_SECONDS`) | 0–720 | 15 |
//! | `hot_tier` | `AWSX_HOT_TIER` | on, off | on |
//! | `auto_login` | `AWSX_AUTO_LOGIN` | on, off | off |
//! | `browser` | `AWSX_BROWSER` | open, none | open |
//! | `lock_wait_seconds` | `AWSX_LOCK_WAIT_SECONDS` | 0–3600 | 15 |
//! | `profile_name_template` | `AWSX_PROFILE_TEMPLATE` | text with {account_name} {account_id} {role_name} {sso_session} | {account_name}-{role_name} |
//! | `breakglass_notify_command` | `AWSX_BREAKGLASS_NOTIFY_COMMAND` | a command line | none |
use std::path::{Path, PathBuf};
use std::time::Duration;

use awsx_core::env::Env;
use awsx_core::exit::{ExitCode, HasExitCode};
use awsx_core::keychain::BackendChoice;

/// What `login` does with the verification URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    /// Open it in the default browser (and print it too).
    Open,
    /// Only print it (headless machines, tests).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Which keychain (an explicit choice never falls back; see `store::open`).
    pub keychain: BackendChoice,
    pub keychain_service: String,
    /// Refresh role credentials when less than this remains.
    pub refresh_margin: Duration,
    /// Kernel keyutils cache in front of the Secret Service (Linux).
    pub hot_tier: bool,
    /// Let `credential-process` start a login through `/dev/tty` (profiles may override).
    pub auto_login: bool,
    pub browser: Browser,
    /// How long to wait for another process's login or fetch before giving up.
    pub lock_wait: Duration,
    /// How `awsx sync` names profiles.
    pub profile_name_template: String,
    /// Run after a break-glass session starts (e.g. to post to a channel).
    pub breakglass_notify_command: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            keychain: BackendChoice::Auto,
            keychain_service: awsx_core::keychain::DEFAULT_SERVICE.to_owned(),
            refresh_margin: Duration::from_secs(15 * 60),
            hot_tier: true,
            auto_login: false,
            browser: Browser::Open,
            lock_wait: Duration::from_secs(15),
            profile_name_template: "{account_name}-{role_name}".to_owned(),
            breakglass_notify_command: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is {what}; awsx's settings file must be a UTF-8 TOML file: replace it with one, or delete it to use the defaults", path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{} is not valid TOML: {message}; fix it, or delete the file to use the defaults", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{} has an unknown key {key:?}; the keys are {}", path.display(), KEYS.join(", "))]
    UnknownKey { path: PathBuf, key: String },
    #[error("{origin} is {value:?}, which is not valid: expected {expected}")]
    Invalid {
        origin: String,
        value: String,
        expected: String,
    },
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Read { .. } => ExitCode::Failure,
            _ => ExitCode::Usage,
        }
    }
}

/// `config.toml`'s text, `None` when there is none. What is not a regular UTF-8 file of a
/// sane size is a configuration error (exit 2), like a TOML error, not a failed operation;
/// a FIFO or device is refused before it is opened (a FIFO would block, /dev/zero never ends).
fn read(path: &Path) -> Result<Option<String>, Error> {
    use std::io::Read as _;
    const MAX_BYTES: u64 = 1024 * 1024;
    let not_a_file = |what| Error::NotAFile {
        path: path.to_owned(),
        what,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return Err(not_a_file("a directory")),
        Ok(m) if !m.is_file() => return Err(not_a_file("not a regular file")),
        Ok(m) if m.len() > MAX_BYTES => return Err(not_a_file("larger than 1 MiB")),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_owned(),
                source,
            });
        }
    }
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(MAX_BYTES).read_to_end(&mut bytes));
    match read {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_owned(),
                source,
            });
        }
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| not_a_file("not valid UTF-8"))
}

const KEYS: [&str; 9] = [
    "keychain",
    "keychain_service",
    "refresh_margin_minutes",
    "hot_tier",
    "auto_login",
    "browser",
    "lock_wait_seconds",
    "profile_name_template",
    "breakglass_notify_command",
];

const PLACEHOLDERS: [&str; 4] = ["account_name", "account_id", "role_name", "sso_session"];

/// How long before expiry botocore-family clients (the AWS CLI, boto3, aiobotocore) stop
/// trusting credentials and run `credential_process` again.
pub const CLIENT_REFRESH_AHEAD: Duration = Duration::from_secs(15 * 60);

impl Settings {
    /// The warning for a `refresh_margin_minutes` below 15, for human-facing commands
    /// (`login`, `doctor`) to show; never for `credential-process`, whose stderr the SDKs
    /// show with every call. Such a margin serves credentials that botocore-family
    /// clients already consider stale, so they run awsx before every API call.
    pub fn margin_warning(&self) -> Option<String> {
        (self.refresh_margin < CLIENT_REFRESH_AHEAD).then(|| {
            format!(
                "refresh_margin_minutes is below 15 ({} s): botocore-family clients (AWS CLI, \
                 boto3) refresh credentials 15 minutes ahead, so they would run \
                 credential_process before every API call; set refresh_margin_minutes = 15 or \
                 more in config.toml (or unset AWSX_REFRESH_MARGIN_MINUTES)",
                self.refresh_margin.as_secs()
            )
        })
    }

    /// `config.toml` in awsx's config directory.
    pub fn path(env: &Env) -> PathBuf {
        env.config_dir().join("config.toml")
    }

    /// Defaults, then the file (if it exists), then `AWSX_*` variables.
    pub fn load(env: &Env) -> Result<Settings, Error> {
        let path = Self::path(env);
        // The read is the existence check: with no file, no TOML parser runs at all
        // (`credential-process` loads settings on every AWS call).
        let text = read(&path)?;
        Self::from_sources(text.as_deref().map(|t| (path.as_path(), t)), env)
    }

    /// Settings from `file` (path, contents) and `env`.
    pub fn from_sources(file: Option<(&Path, &str)>, env: &Env) -> Result<Settings, Error> {
        let table = match file {
            Some((path, text)) => {
                let table: toml::Table =
                    text.parse().map_err(|e: toml::de::Error| Error::Syntax {
                        path: path.to_owned(),
                        message: e.message().to_owned(),
                    })?;
                if let Some(key) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
                    return Err(Error::UnknownKey {
                        path: path.to_owned(),
                        key: key.clone(),
                    });
                }
                Some((path, table))
            }
            None => None,
        };
        let sources = Sources {
            file: table.as_ref().map(|(p, t)| (*p, t)),
            env,
        };
        let mut s = Settings::default();
        if let Some(v) = sources.get("keychain", "AWSX_KEYCHAIN")? {
            s.keychain = v.parse_with("auto, secret-service, keyutils, macos or windows", |x| {
                x.parse::<BackendChoice>().ok()
            })?;
        }
        if let Some(v) = sources.get("keychain_service", "AWSX_KEYCHAIN_SERVICE")? {
            s.keychain_service = v.parse_with("a non-empty name", |x| {
                (!x.trim().is_empty()).then(|| x.to_owned())
            })?;
        }
        if let Some(v) = sources.get("refresh_margin_minutes", "AWSX_REFRESH_MARGIN_MINUTES")? {
            s.refresh_margin = Duration::from_secs(
                60 * v.parse_with("whole minutes from 0 to 720", |x| number(x, 720))?,
            );
        }
        // Seconds are for tests with short-lived credentials; the more precise one wins.
        if let Some(v) = sources.env_only("AWSX_REFRESH_MARGIN_SECONDS") {
            s.refresh_margin = Duration::from_secs(
                v.parse_with("whole seconds from 0 to 43200", |x| number(x, 43_200))?,
            );
        }
        if let Some(v) = sources.get("hot_tier", "AWSX_HOT_TIER")? {
            s.hot_tier = v.parse_with("on or off", on_off)?;
        }
        if let Some(v) = sources.get("auto_login", "AWSX_AUTO_LOGIN")? {
            s.auto_login = v.parse_with("on or off", on_off)?;
        }
        if let Some(v) = sources.get("browser", "AWSX_BROWSER")? {
            s.browser = v.parse_with("open or none", |x| match x {
                "open" => Some(Browser::Open),
                "none" => Some(Browser::None),
                _ => None,
            })?;
        }
        if let Some(v) = sources.get("lock_wait_seconds", "AWSX_LOCK_WAIT_SECONDS")? {
            s.lock_wait = Duration::from_secs(
                v.parse_with("whole seconds from 0 to 3600", |x| number(x, 3600))?,
            );
        }
        if let Some(v) = sources.get("profile_name_template", "AWSX_PROFILE_TEMPLATE")? {
            let expected = "text with {account_name} or {account_id}, optionally {role_name} and {sso_session}";
            s.profile_name_template =
                v.parse_with(expected, |x| valid_template(x).then(|| x.to_owned()))?;
        }
        if let Some(v) = sources.get(
            "breakglass_notify_command",
            "AWSX_BREAKGLASS_NOTIFY_COMMAND",
        )? {
            s.breakglass_notify_command = Some(v.parse_with("a command line", |x| {
                (!x.trim().is_empty()).then(|| x.to_owned())
            })?);
        }
        Ok(s)
    }
}

struct Sources<'a> {
    file: Option<(&'a Path, &'a toml::Table)>,
    env: &'a Env,
}

/// One setting's raw text and where it came from (for the error message).
struct Raw {
    origin: String,
    value: String,
}

impl Raw {
    fn parse_with<T>(
        self,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, Error> {
        parse(self.value.trim()).ok_or_else(|| Error::Invalid {
            origin: self.origin,
            value: self.value,
            expected: expected.to_owned(),
        })
    }
}

impl Sources<'_> {
    fn env_only(&self, var: &str) -> Option<Raw> {
        self.env.var(var).map(|v| Raw {
            origin: var.to_owned(),
            value: v.to_owned(),
        })
    }

    fn get(&self, key: &str, var: &str) -> Result<Option<Raw>, Error> {
        if let Some(raw) = self.env_only(var) {
            return Ok(Some(raw));
        }
        let Some((path, table)) = self.file else {
            return Ok(None);
        };
        let origin = format!("{key} in {}", path.display());
        let value = match table.get(key) {
            None => return Ok(None),
            Some(toml::Value::String(s)) => s.clone(),
            Some(toml::Value::Integer(i)) => i.to_string(),
            Some(toml::Value::Boolean(b)) => b.to_string(),
            Some(other) => {
                return Err(Error::Invalid {
                    origin,
                    value: other.to_string(),
                    expected: "a string, a whole number or true/false".into(),
                });
            }
        };
        Ok(Some(Raw { origin, value }))
    }
}

fn number(s: &str, max: u64) -> Option<u64> {
    s.parse().ok().filter(|n| *n <= max)
}

fn on_off(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Known placeholders only, balanced braces, and something that tells accounts apart
/// (else every synced profile would get the same name).
fn valid_template(t: &str) -> bool {
    let mut rest = t;
    let mut names_account = false;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return false;
        }
        let Some(close) = rest[open..].find('}') else {
            return false;
        };
        let name = &rest[open + 1..open + close];
        if !PLACEHOLDERS.contains(&name) {
            return false;
        }
        names_account |= name == "account_name" || name == "account_id";
        rest = &rest[open + close + 1..];
    }
    names_account
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: Option<&str>, vars: &[(&str, &str)]) -> Result<Settings, Error> {
        let env = Env::from_vars(vars.iter().copied());
        Settings::from_sources(file.map(|t| (Path::new("/c/awsx/config.toml"), t)), &env)
    }

    #[test]
    fn a_missing_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::from_vars([("AWSX_CONFIG_DIR", dir.path().to_str().unwrap())]);
        assert_eq!(Settings::load(&env).unwrap(), Settings::default());
        assert_eq!(Settings::default().refresh_margin, Duration::from_secs(900));
    }

    #[test]
    fn reads_the_file_and_variables_win() {
        let file = "keychain = \"keyutils\"\nrefresh_margin_minutes = 5\nhot_tier = false\nbrowser = \"none\"\nlock_wait_seconds = 3\nbreakglass_notify_command = \"notify-send bg\"\n";
        let s = load(
            Some(file),
            &[
                ("AWSX_KEYCHAIN", "secret-service"),
                ("AWSX_AUTO_LOGIN", "on"),
            ],
        )
        .unwrap();
        assert_eq!(s.keychain, BackendChoice::SecretService);
        assert_eq!(s.refresh_margin, Duration::from_secs(300));
        assert!(!s.hot_tier);
        assert!(s.auto_login);
        assert_eq!(s.browser, Browser::None);
        assert_eq!(s.lock_wait, Duration::from_secs(3));
        assert_eq!(
            s.breakglass_notify_command.as_deref(),
            Some("notify-send bg")
        );
    }

    #[test]
    fn a_margin_below_the_clients_fifteen_minutes_is_warned_about() {
        assert_eq!(Settings::default().margin_warning(), None);
        let env = Env::from_vars([("AWSX_REFRESH_MARGIN_MINUTES", "5")]);
        let warning = Settings::from_sources(None, &env)
            .unwrap()
            .margin_warning()
            .unwrap();
        assert!(warning.contains("botocore"), "{warning}");
        assert!(warning.contains("refresh_margin_minutes = 15"), "{warning}");
        let env = Env::from_vars([("AWSX_REFRESH_MARGIN_MINUTES", "20")]);
        assert_eq!(
            Settings::from_sources(None, &env).unwrap().margin_warning(),
            None
        );
    }

    #[test]
    fn the_margin_can_be_given_in_seconds_for_tests() {
        let s = load(
            None,
            &[
                ("AWSX_REFRESH_MARGIN_MINUTES", "10"),
                ("AWSX_REFRESH_MARGIN_SECONDS", "42"),
            ],
        )
        .unwrap();
        assert_eq!(s.refresh_margin, Duration::from_secs(42));
    }

    #[test]
    fn errors_name_the_file_or_variable_the_key_and_the_fix() {
        let e = load(Some("keychain = \"gnome\"\n"), &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "keychain in /c/awsx/config.toml is \"gnome\", which is not valid: expected auto, secret-service, keyutils, macos or windows"
        );
        let e = load(None, &[("AWSX_LOCK_WAIT_SECONDS", "soon")])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("AWSX_LOCK_WAIT_SECONDS is \"soon\""), "{e}");
        let e = load(Some("keychian = \"auto\"\n"), &[]).unwrap_err();
        assert!(matches!(e, Error::UnknownKey { ref key, .. } if key == "keychian"));
        let e = load(Some("keychain = \n"), &[]).unwrap_err();
        assert!(
            e.to_string().contains("not valid TOML") && e.to_string().contains("delete the file")
        );
        assert_eq!(e.exit_code(), ExitCode::Usage);
    }

    #[test]
    fn templates_must_name_the_account_and_use_known_placeholders() {
        assert!(valid_template("{account_name}-{role_name}"));
        assert!(valid_template("{sso_session}/{account_id}"));
        assert!(!valid_template("{role_name}"));
        assert!(!valid_template("{account_name}-{role}"));
        assert!(!valid_template("{account_name"));
        assert!(!valid_template("account_name}{account_id}"));
        assert!(load(None, &[("AWSX_PROFILE_TEMPLATE", "{role_name}")]).is_err());
    }
}
