//! The files `awsx scan` reads when given no paths: where keys end up on a developer's
//! machine. A whole-home walk would take minutes on a home full of checkouts and caches; these
//! files take milliseconds and hold nearly every key that tools and tutorials leave behind.
//!
//! Not on the list, on purpose:
//! - `~/.docker/config.json`: it holds registry auths (base64 `user:password`); ECR logins
//!   go through a credential helper or a 12-hour token, not an access key.
//! - `~/.aws/cli/cache` and `~/.aws/sso/cache`: the AWS CLI's own caches of temporary
//!   credentials and SSO tokens, which expire on their own.
use std::path::{Path, PathBuf};

use super::ScanError;
use awsx_core::env::Env;

/// Files relative to HOME that may hold a key.
const HOME_FILES: &[&str] = &[
    // AWS's own files: the credentials file is the classic place, but keys in config work too.
    ".aws/credentials",
    ".aws/config",
    // Shell start-up files, where `export AWS_ACCESS_KEY_ID=…` gets pasted.
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".config/fish/config.fish",
    ".config/powershell/Microsoft.PowerShell_profile.ps1",
    // Shell histories, where the same export, or `aws configure set`, stays after the fact.
    ".bash_history",
    ".zsh_history",
    ".histfile",
    ".local/share/fish/fish_history",
    ".local/share/powershell/PSReadLine/ConsoleHost_history.txt",
    // Other S3 and AWS tools' own credential files.
    ".s3cfg",
    ".boto",
    ".passwd-s3fs",
    ".config/rclone/rclone.conf",
];

/// The files to scan in the home directory. Missing ones are included too (the scan skips
/// them), so the list does not depend on the file system beyond HOME's own entries.
pub fn targets(env: &Env) -> Result<Vec<PathBuf>, ScanError> {
    let home = env.home().ok_or(ScanError::NoHome)?;
    let mut files: Vec<PathBuf> = vec![env.aws_credentials_file(), env.aws_config_file()];
    files.extend(HOME_FILES.iter().map(|f| home.join(f)));
    if let Some(histfile) = env.var("HISTFILE") {
        files.push(PathBuf::from(histfile));
    }
    // PowerShell on Windows keeps its history under the roaming profile.
    if let Some(appdata) = env.var("APPDATA") {
        files.push(
            Path::new(appdata)
                .join("Microsoft/Windows/PowerShell/PSReadLine/ConsoleHost_history.txt"),
        );
    }
    files.extend(dir_entries(&home.join(".config/fish/conf.d"), |name| {
        name.ends_with(".fish")
    }));
    // `.env`, `.env.local`, `.env.production` … and direnv's `.envrc`, directly in HOME.
    files.extend(dir_entries(&home, |name| {
        name == ".env" || name == ".envrc" || name.starts_with(".env.")
    }));
    files.sort();
    files.dedup();
    Ok(files)
}

/// Entries of `dir` whose name passes `keep`; a missing or unreadable directory has none.
fn dir_entries(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(&keep))
        .map(|e| e.path())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_the_aws_variables_and_find_dotenv_files() {
        let home = tempfile::tempdir().expect("temp dir");
        for name in [".env", ".env.local", ".envrc", ".envrc-not", "notes.env"] {
            std::fs::write(home.path().join(name), "x").expect("write");
        }
        let h = home.path().to_str().expect("utf-8 temp path");
        let env = Env::from_vars([
            ("HOME", h),
            ("AWS_SHARED_CREDENTIALS_FILE", "/elsewhere/creds"),
        ]);
        let files = targets(&env).expect("home is set");
        assert!(files.contains(&PathBuf::from("/elsewhere/creds")));
        assert!(files.contains(&home.path().join(".aws/config")));
        assert!(files.contains(&home.path().join(".zsh_history")));
        assert!(files.contains(&home.path().join(".env")));
        assert!(files.contains(&home.path().join(".env.local")));
        assert!(files.contains(&home.path().join(".envrc")));
        assert!(!files.contains(&home.path().join(".envrc-not")));
        assert!(!files.contains(&home.path().join("notes.env")));
    }
}
