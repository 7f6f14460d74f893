//! The command line, as clap derive types. `--help`, the shell completions and the man page
//! are all generated from these definitions, so they cannot drift apart.
use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::shell::Shell;

mod breakglass;
mod doctor;
mod explain;
pub use breakglass::*;
pub use doctor::*;
pub use explain::*;

/// SSO logins, keychain-cached short-lived AWS credentials and account switching.
///
/// awsx replaces static access keys on developer machines: log in through IAM Identity
/// Center once a day, and every AWS CLI and SDK call gets short-lived role credentials
/// from the OS keychain through `credential_process`.
#[derive(Debug, Parser)]
#[command(name = "awsx", version, about, long_about, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 operation failed, 2 usage or configuration error, \
3 login required, 4 keychain unavailable."
)]
pub struct Cli {
    /// Log what awsx does to stderr (secrets are always redacted). Same as AWSX_LOG=debug.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

// Profile-name completion convention: an argument whose id is `profile`, starts with
// `profile_` or ends with `_profile`, or whose value name is `PROFILE`, takes an AWS profile
// name. The completion script (`awsx completions SHELL`, which the packages install and
// `awsx init` sources) makes every such argument, in every subcommand, complete the profile
// names of the user's AWS config file by calling back into the binary
// (`awsx __complete-profiles`, see `cmd::completions`). A new command gets profile
// completion by following the convention, e.g.
//     /// The profile to use.
//     #[arg(long)]                          // id `profile`: completes
//     pub profile: Option<String>,
//     #[arg(value_name = "PROFILE")]        // a positional: completes
//     pub name: Option<String>,
// Nothing else needs changing; `is_profile_arg` below is the one place that decides.

/// True when `arg` takes an AWS profile name (see the convention above).
pub fn is_profile_arg(arg: &clap::Arg) -> bool {
    let id = arg.get_id().as_str();
    id == "profile"
        || id.starts_with("profile_")
        || id.ends_with("_profile")
        || arg
            .get_value_names()
            .is_some_and(|names| names.iter().any(|n| n.as_str() == "PROFILE"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up an IAM Identity Center session ([sso-session] in the AWS config file).
    Configure(ConfigureArgs),
    /// Log in to IAM Identity Center (browser or device code), or with --console to AWS Sign-In.
    Login(LoginArgs),
    /// End an SSO session (or a console sign-in with --profile) and remove it from the keychain.
    Logout(LogoutArgs),
    /// Show sessions, token expiry and cached role credentials (never a secret).
    Status(StatusArgs),
    /// Print credentials for the AWS CLI and SDKs (`credential_process` in ~/.aws/config).
    CredentialProcess(CredentialProcessArgs),
    /// Print a profile's credentials as environment variables or JSON, for scripts.
    Export(ExportArgs),
    Scan(ScanArgs),
    Breakglass(BreakglassArgs),
    Completions(CompletionsArgs),
    Man(ManArgs),
    // `awsx __complete-profiles` (the completion scripts' callback) is deliberately not a
    // variant: clap_complete would offer a hidden subcommand too. `crate::main` takes it
    // before clap sees the arguments; see `cmd::complete_profiles`.
    Doctor(DoctorArgs),
    Explain(ExplainArgs),
    Migrate(MigrateArgs),
    /// Print the shell integration: add `eval "$(awsx init zsh)"` to your rc file.
    Init(InitArgs),
    /// Switch the current shell to a profile (needs the shell integration: awsx init).
    Use(UseArgs),
    /// Write one profile per account and role you have into ~/.aws/config.
    Sync(SyncArgs),
    /// Run a command with a profile's credentials in its environment.
    Exec(ExecArgs),
    /// Open the AWS console signed in as a profile (or print the sign-in URL).
    Console(ConsoleArgs),
    /// Show who a profile's credentials are: account, role and ARN (STS GetCallerIdentity).
    Whoami(WhoamiArgs),
}

#[derive(Debug, Args)]
pub struct ConfigureArgs {
    /// The AWS access portal URL, e.g. https://acme.awsapps.com/start.
    #[arg(long, value_name = "URL")]
    pub start_url: String,
    /// The region of your IAM Identity Center instance, e.g. eu-west-1.
    #[arg(long, value_name = "REGION")]
    pub sso_region: String,
    /// Name of the [sso-session] section [default: the portal's alias, e.g. acme; asked for
    /// (or required) when the portal has none (https://d-xxxxxxxxxx.awsapps.com)].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Extra OAuth scopes to register (sso:account:access is always included).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Point an existing [sso-session NAME] at a different start URL (its profiles then
    /// sign in to the new portal).
    #[arg(long)]
    pub replace: bool,
}

/// Which SSO session a command is about: named directly, through a profile, or the only one.
#[derive(Debug, Args, Clone, Default)]
pub struct SessionSelector {
    /// The [sso-session] to use [default: the one of AWS_PROFILE, or the only one configured].
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub sso_session: Option<String>,
    /// Use the sso-session of this profile.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub session: SessionSelector,
    /// Log in with the browser on this machine (authorization code with PKCE), even where
    /// awsx would not open one by itself; it prints the URL to open if it cannot.
    #[arg(long, conflicts_with_all = ["device_code", "no_browser", "import_aws_cli"])]
    pub browser: bool,
    /// Log in with a device code (approve it in any browser, on any device); the
    /// verification page is opened when a browser can be opened here.
    #[arg(long)]
    pub device_code: bool,
    /// Device code login, and do not open a browser: only print the URL and code.
    #[arg(long)]
    pub no_browser: bool,
    /// Log in again even if the current token is still valid.
    #[arg(long)]
    pub force: bool,
    /// Take a still-valid token from the AWS CLI's cache (~/.aws/sso/cache) instead of logging in.
    #[arg(long)]
    pub import_aws_cli: bool,
    /// Sign in with the AWS console (AWS Sign-In, as `aws login`: an IAM user, the root user or
    /// a federated console session) instead of IAM Identity Center, and write [profile NAME]
    /// to serve its credentials. Needs --profile.
    #[arg(
        long,
        requires = "profile",
        conflicts_with_all = ["sso_session", "browser", "device_code", "no_browser", "import_aws_cli"]
    )]
    pub console: bool,
    /// With --console: the region of the sign-in endpoint and of the profile [default: the
    /// profile's region, else AWS_REGION].
    #[arg(long, value_name = "REGION", requires = "console")]
    pub region: Option<String>,
    /// With --console: sign in from a browser on another device (over SSH): awsx prints the
    /// URL and reads the code the sign-in page shows.
    #[arg(long, requires = "console")]
    pub remote: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub session: SessionSelector,
    /// Log out of every configured session.
    #[arg(long, conflicts_with_all = ["sso_session", "profile"])]
    pub all: bool,
    /// With --all: also remove every other awsx entry from the keychain (uninstall).
    #[arg(long, requires = "all")]
    pub purge: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Machine-readable output (schema in the README).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CredentialProcessArgs {
    /// The profile to serve [default: AWS_PROFILE].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum ExportFormat {
    /// `export AWS_ACCESS_KEY_ID=...` lines for sh-compatible shells.
    #[default]
    Env,
    /// The credential_process JSON document.
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The profile [default: AWS_PROFILE].
    #[arg(value_name = "PROFILE", conflicts_with = "profile")]
    pub name: Option<String>,
    /// The profile, as a flag.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: ExportFormat,
}

/// Print a shell completion script (bash, zsh, fish or PowerShell) on stdout.
///
/// Subcommands and flags complete from awsx's own definitions; profile names complete from
/// your AWS config file at the moment you press Tab (the script asks `awsx` for them).
/// The Debian package and the Homebrew formula install these scripts for you; to install
/// by hand:
///
///   bash: awsx completions bash > ~/.local/share/bash-completion/completions/awsx
///
///   zsh:  awsx completions zsh > ~/.zfunc/_awsx  (with `fpath+=~/.zfunc` before compinit)
///
///   fish: awsx completions fish > ~/.config/fish/completions/awsx.fish
///
///   PowerShell: awsx completions powershell | Out-String | Invoke-Expression  (in $PROFILE; untested)
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Print awsx's manual page (roff) on stdout, or write one page per command into a directory.
///
/// Read it with `awsx man | man -l -`. The packages install the pages generated by
/// `awsx man --dir`: awsx(1) and one page per subcommand, such as awsx-scan(1).
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write awsx.1 and awsx-SUBCOMMAND.1 pages into this directory instead of printing awsx.1.
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

/// Find AWS access keys in files and in the environment.
///
/// Reports access key IDs that are credentials (AKIA long-lived, ASIA temporary, ABIA STS
/// bearer token, ACCA context-specific), whether their 40-character secret access key sits
/// next to them (same line, or labelled `aws_secret_access_key`, `AWS_SECRET_ACCESS_KEY`,
/// `"SecretAccessKey"`, `secret_key` … within 5 lines), and labelled secrets found without
/// an ID. Keys are shown as `AKIA…WXYZ`; the full key and the secret are never printed.
///
/// With no PATH, scans the usual suspects in your home directory: ~/.aws/credentials
/// (or AWS_SHARED_CREDENTIALS_FILE), ~/.aws/config (or AWS_CONFIG_FILE), shell rc files and
/// histories (bash, zsh, fish, PowerShell), .env and .envrc files directly in HOME, ~/.s3cfg,
/// ~/.boto, ~/.passwd-s3fs and rclone.conf.
///
/// With PATHs, walks them in parallel, including hidden files and files that .gitignore
/// ignores (an ignored .env is still a key on your laptop; --respect-gitignore skips them
/// for speed). It skips .git directories, binary files (a NUL byte near the start) and
/// files over --max-filesize, and does not follow symlinks. A file named as PATH is always
/// searched, binary or not.
///
/// The process environment is scanned too (every variable, not only AWS_ACCESS_KEY_ID)
/// unless --no-env is given. AWS's documentation example keys (ending in EXAMPLE) are
/// skipped unless --include-examples is given.
#[derive(Debug, Args)]
#[command(
    after_help = "Output: one line per finding on stdout, `PATH:LINE: AKIA…WXYZ (long-lived access key id, \
with secret)`, sorted by path and line, environment first (`env:NAME: …`). A summary goes to stderr.

Exit codes: 0 no keys found, 1 keys found, 2 error (a PATH that does not exist, HOME unknown)."
)]
pub struct ScanArgs {
    /// Files or directories to scan (default: the usual suspects in your home directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Print findings as one JSON document on stdout: {"version":1,"findings":[{"source",
    /// "path","line","variable","kind","key_id_redacted","has_secret"}],"files_scanned",
    /// "skipped_binary","skipped_too_large","unreadable"}.
    #[arg(long)]
    pub json: bool,

    /// Skip what .gitignore, .git/info/exclude, the global gitignore and .ignore files
    /// exclude, as ripgrep does. Faster on trees full of build output, but misses keys in
    /// ignored files such as .env.
    #[arg(long)]
    pub respect_gitignore: bool,

    /// Search binary files too (by default a file with a NUL byte in its first 64 KiB is skipped).
    #[arg(long)]
    pub binary: bool,

    /// Follow symbolic links while walking.
    #[arg(short = 'L', long)]
    pub follow: bool,

    /// Skip files larger than this; suffixes K, M and G (powers of 1024) are allowed.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub max_filesize: u64,

    /// Report AWS's documentation example keys (AKIAIOSFODNN7EXAMPLE and others ending in EXAMPLE).
    #[arg(long)]
    pub include_examples: bool,

    /// Do not scan the process environment.
    #[arg(long)]
    pub no_env: bool,

    /// Number of threads for the walk (default: one per core).
    #[arg(
        short = 'j',
        long,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub threads: usize,
}

/// The shells of `awsx init` and `awsx completions`, as command-line values (the list
/// itself is `shell::Shell`, which knows nothing of clap).
impl ValueEnum for Shell {
    fn value_variants<'a>() -> &'a [Self] {
        &Shell::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let value = PossibleValue::new(self.name());
        Some(match self {
            Shell::PowerShell => value
                .help("PowerShell 7 (pwsh) and Windows PowerShell 5.1 (untested: see the README)"),
            Shell::Bash | Shell::Zsh | Shell::Fish => value,
        })
    }
}

/// Print the shell integration for SHELL.
///
/// Defines an `awsx` shell function that runs this binary and, for `awsx use`, applies the
/// switch to the current shell. Add to your rc file:
///
///   bash (~/.bashrc):         eval "$(awsx init bash)"
///   zsh (~/.zshrc):           eval "$(awsx init zsh)"
///   fish (config.fish):       awsx init fish | source
///   PowerShell ($PROFILE):    Invoke-Expression (& awsx init powershell | Out-String)
#[derive(Debug, Args)]
pub struct InitArgs {
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Switch the current shell to a profile.
///
/// Sets AWS_PROFILE and AWSX_PROFILE (and AWS_REGION when the profile names one), removes
/// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (which would override the
/// profile), and checks that the profile can get credentials, logging in first when you are
/// at a terminal. Each shell has its own profile. With no NAME, opens a fuzzy picker over
/// all profiles, most recently and frequently used first.
#[derive(Debug, Args)]
#[command(
    after_help = "Needs the shell integration (awsx init SHELL); without it, awsx use \
explains how to enable it and exits 2. Exit codes: 0 switched, 1 credentials could not be fetched, \
2 unknown profile or no shell integration, 3 login required and no terminal."
)]
pub struct UseArgs {
    /// The profile; `-` for the previous one.
    #[arg(value_name = "PROFILE", conflicts_with_all = ["profile", "unset"])]
    pub name: Option<String>,
    /// The profile, as a flag.
    #[arg(long, value_name = "NAME", conflicts_with = "unset")]
    pub profile: Option<String>,
    /// Clear the profile from this shell (AWS_PROFILE, AWSX_PROFILE, the region awsx set).
    #[arg(long)]
    pub unset: bool,
}

/// Write a profile for every account and role you have into the AWS config file.
///
/// Lists the accounts and roles of each SSO session through the portal and writes one
/// profile per account and role, named by the profile_name_template setting (default
/// {account_name}-{role_name}, in lowercase-with-dashes), into a block of ~/.aws/config that
/// awsx owns and marks. Running it again updates the block and drops profiles for roles you
/// lost; nothing outside the block changes.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Sync only this [sso-session] [default: every configured session].
    #[arg(long, value_name = "NAME")]
    pub sso_session: Option<String>,
    /// Show what would change as a unified diff on stdout; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the block even when a session's portal lists no accounts at all, which
    /// deletes every profile synced from it (without this, sync refuses, or asks at a
    /// terminal: an empty listing is more often an outage or a wrong user than the truth).
    #[arg(long)]
    pub allow_empty: bool,
}

/// Run a command with a profile's credentials in its environment.
///
/// Sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
/// AWS_CREDENTIAL_EXPIRATION, AWS_REGION and AWS_DEFAULT_REGION (when the profile names a
/// region) and AWSX_PROFILE, and removes AWS_PROFILE and AWS_DEFAULT_PROFILE so that SDKs
/// use the variables. On Unix awsx replaces itself with the command, so its exit code and
/// signals are the command's own.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  awsx exec prod-readonly -- aws s3 ls
  awsx exec --server prod-readonly -- terraform apply   # credentials renewed while it runs

Exit codes: the command's own (128+N when a signal N ended it under --server); 127 if the command is not found, 126 if it cannot be run; \
otherwise awsx's (2 unknown profile, 3 login required).")]
pub struct ExecArgs {
    /// The profile [default: AWS_PROFILE].
    #[arg(value_name = "PROFILE", conflicts_with = "profile")]
    pub name: Option<String>,
    /// The profile, as a flag.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Serve credentials from a local endpoint (the container credentials protocol) instead
    /// of putting them in the environment: they stay fresh however long the command runs.
    ///
    /// The command gets AWS_CONTAINER_CREDENTIALS_FULL_URI (http://127.0.0.1:PORT/...) and
    /// AWS_CONTAINER_AUTHORIZATION_TOKEN, and no AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or
    /// AWS_SESSION_TOKEN; the endpoint stops when the command exits.
    #[arg(long)]
    pub server: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

/// Open the AWS console signed in as a profile.
///
/// Exchanges the profile's role credentials for a sign-in token at the console federation
/// endpoint (AWSX_SIGNIN_ENDPOINT, default https://signin.aws.amazon.com/federation) and
/// opens the sign-in URL in your browser. The URL signs in whoever has it for 15 minutes:
/// --print puts it on stdout instead.
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The profile [default: AWS_PROFILE].
    #[arg(value_name = "PROFILE", conflicts_with = "profile")]
    pub name: Option<String>,
    /// The profile, as a flag.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub print: bool,
    /// The console page to land on [default: the console home in the profile's region].
    #[arg(long, value_name = "URL")]
    pub destination: Option<String>,
}

/// Show who a profile's credentials are (STS GetCallerIdentity).
#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// The profile [default: AWS_PROFILE].
    #[arg(value_name = "PROFILE", conflicts_with = "profile")]
    pub name: Option<String>,
    /// The profile, as a flag.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Print {"profile","account","arn","role","session","user_id"} as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `64M` → 67108864. Sizes are small integers with an optional K/M/G suffix, as in ripgrep.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((i, 'K' | 'k')) => (&text[..i], 10),
        Some((i, 'M' | 'm')) => (&text[..i], 20),
        Some((i, 'G' | 'g')) => (&text[..i], 30),
        _ => (text, 0),
    };
    let n: u64 = digits.parse().map_err(|_| {
        format!(
            "{text:?} is not a size; use a number with an optional K, M or G suffix, such as 64M"
        )
    })?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {

    /// A positional described as a profile must follow the completion convention, or the
    /// shells' completion scripts skip it (as `exec NAME` once was).
    #[test]
    fn every_profile_positional_follows_the_completion_convention() {
        fn check(cmd: &clap::Command, path: &str) {
            for arg in cmd.get_positionals() {
                let help = arg.get_help().map(|h| h.to_string().to_lowercase());
                if help.is_some_and(|h| h.starts_with("the profile")) {
                    assert!(
                        super::is_profile_arg(arg),
                        "{path} {}: a profile positional outside the convention",
                        arg.get_id()
                    );
                }
            }
            for sub in cmd.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        check(&<super::Cli as clap::CommandFactory>::command(), "awsx");
    }

    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
