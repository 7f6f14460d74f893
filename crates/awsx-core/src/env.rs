//! The process environment, read once. Everything else asks this type for variables and
//! well-known paths, so tests can inject HOME and variables without touching the real
//! machine (clippy.toml forbids `std::env::var` elsewhere).
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// Snapshot of this process's environment (variables that are not UTF-8 are ignored).
    #[allow(clippy::disallowed_methods)]
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment made of exactly these variables (for tests).
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable's value; an empty value counts as unset, as the AWS CLI treats it.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// All variables whose name starts with `prefix` (for doctor's override checks).
    pub fn vars_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.vars
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every variable, sorted by name so that whatever iterates them (scan's environment
    /// check) behaves the same on every run.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut vars: Vec<(&str, &str)> = self
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        vars.sort_unstable();
        vars.into_iter()
    }

    pub fn home(&self) -> Option<PathBuf> {
        self.var("HOME")
            .or_else(|| self.var("USERPROFILE"))
            .map(PathBuf::from)
            .or_else(dirs::home_dir)
    }

    fn home_or_dot(&self) -> PathBuf {
        self.home().unwrap_or_else(|| PathBuf::from("."))
    }

    /// `AWS_CONFIG_FILE`, else `~/.aws/config`.
    pub fn aws_config_file(&self) -> PathBuf {
        match self.var("AWS_CONFIG_FILE") {
            Some(p) => expand_tilde(p, &self.home_or_dot()),
            None => self.home_or_dot().join(".aws").join("config"),
        }
    }

    /// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
    pub fn aws_credentials_file(&self) -> PathBuf {
        match self.var("AWS_SHARED_CREDENTIALS_FILE") {
            Some(p) => expand_tilde(p, &self.home_or_dot()),
            None => self.home_or_dot().join(".aws").join("credentials"),
        }
    }

    /// The AWS CLI's SSO token cache (read only: awsx never writes there).
    pub fn aws_cli_sso_cache_dir(&self) -> PathBuf {
        self.home_or_dot().join(".aws").join("sso").join("cache")
    }

    /// Non-secret metadata and lock files: `AWSX_CACHE_DIR`, else the platform cache dir.
    pub fn cache_dir(&self) -> PathBuf {
        self.xdg_dir(
            "AWSX_CACHE_DIR",
            "XDG_CACHE_HOME",
            ".cache",
            dirs::cache_dir,
        )
    }

    /// Durable data such as the break-glass audit log: `AWSX_DATA_DIR`, else the platform data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.xdg_dir(
            "AWSX_DATA_DIR",
            "XDG_DATA_HOME",
            ".local/share",
            dirs::data_dir,
        )
    }

    /// Global settings (`config.toml`): `AWSX_CONFIG_DIR`, else the platform config dir.
    pub fn config_dir(&self) -> PathBuf {
        self.xdg_dir(
            "AWSX_CONFIG_DIR",
            "XDG_CONFIG_HOME",
            ".config",
            dirs::config_dir,
        )
    }

    fn xdg_dir(
        &self,
        override_var: &str,
        xdg_var: &str,
        home_relative: &str,
        platform: fn() -> Option<PathBuf>,
    ) -> PathBuf {
        if let Some(dir) = self.var(override_var) {
            return PathBuf::from(dir);
        }
        if cfg!(target_os = "linux") {
            if let Some(dir) = self.var(xdg_var).filter(|d| d.starts_with('/')) {
                return PathBuf::from(dir).join("awsx");
            }
            return self.home_or_dot().join(home_relative).join("awsx");
        }
        platform()
            .unwrap_or_else(|| self.home_or_dot().join(home_relative))
            .join("awsx")
    }
}

fn expand_tilde(path: &str, home: &std::path::Path) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_files_follow_the_standard_variables() {
        let env = Env::from_vars([("HOME", "/h"), ("AWS_CONFIG_FILE", "~/cfg")]);
        assert_eq!(env.aws_config_file(), PathBuf::from("/h/cfg"));
        assert_eq!(
            env.aws_credentials_file(),
            PathBuf::from("/h/.aws/credentials")
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let env = Env::from_vars([("HOME", "/h"), ("AWS_CONFIG_FILE", "")]);
        assert_eq!(env.aws_config_file(), PathBuf::from("/h/.aws/config"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn cache_dir_prefers_override_then_xdg_then_home() {
        let env = Env::from_vars([("HOME", "/h")]);
        assert_eq!(env.cache_dir(), PathBuf::from("/h/.cache/awsx"));
        let env = Env::from_vars([("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(env.cache_dir(), PathBuf::from("/x/awsx"));
        let env = Env::from_vars([("HOME", "/h"), ("AWSX_CACHE_DIR", "/c")]);
        assert_eq!(env.cache_dir(), PathBuf::from("/c"));
    }
}
