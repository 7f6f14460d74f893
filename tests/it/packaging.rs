//! Packaging: `awsx completions SHELL` and `awsx man` (what the .deb, the Homebrew formula and
//! install.sh ship), the scripts loaded in real shells, and the Homebrew formula's paths.
#![allow(clippy::disallowed_methods)] // reads the outer test environment (PATH) on purpose

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use awsx::shell::Shell;
use clap::{Arg, ArgAction};

use crate::harness::awsx_bin;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the freshly built awsx with no inherited AWS settings.
fn awsx(args: &[&str]) -> String {
    let out = Command::new(awsx_bin())
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .expect("run awsx");
    assert!(
        out.status.success(),
        "awsx {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The visible subcommands, from the same definitions the scripts come from.
fn subcommands() -> Vec<String> {
    use clap::CommandFactory;
    awsx::cli::Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_owned())
        .collect()
}

/// A scratch directory with a HOME, an AWS config with two profiles, and `awsx` on PATH
/// (a link to the binary under test: the scripts call back into the `awsx` on PATH).
struct Shells {
    dir: tempfile::TempDir,
}

impl Shells {
    fn new() -> Shells {
        let dir = tempfile::Builder::new()
            .prefix("awsx-packaging-")
            .tempdir()
            .expect("tempdir");
        std::fs::create_dir_all(dir.path().join("bin")).expect("mkdir bin");
        std::fs::create_dir_all(dir.path().join(".aws")).expect("mkdir .aws");
        std::os::unix::fs::symlink(awsx_bin(), dir.path().join("bin/awsx")).expect("link awsx");
        std::fs::write(
            dir.path().join(".aws/config"),
            "[profile dev-admin]\nregion = us-east-1\n\n[profile prod-readonly]\nregion = eu-west-1\n",
        )
        .expect("write config");
        Shells { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).expect("write script");
        path
    }

    /// `shell ARGS` with HOME and PATH pointing into the scratch directory; stdout on success.
    fn run(&self, shell: &str, args: &[&str]) -> String {
        let outer_path = std::env::var("PATH").unwrap_or_default();
        let out = Command::new(shell)
            .args(args)
            .env_clear()
            .env("HOME", self.path())
            .env(
                "PATH",
                format!("{}:{outer_path}", self.path().join("bin").display()),
            )
            .env("AWS_CONFIG_FILE", self.path().join(".aws/config"))
            .env("XDG_CONFIG_HOME", self.path().join(".config"))
            .env("XDG_DATA_HOME", self.path().join(".local/share"))
            .current_dir(self.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {shell} (scripts/install-test-deps installs it): {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{shell} {args:?} failed\n--- stdout\n{stdout}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

/// Commands shaped like the ones that take profiles (`use NAME`, `--profile NAME`,
/// `breakglass assume PROFILE`), so that profile completion is tested whatever awsx has today.
fn tree_with_profile_args() -> clap::Command {
    clap::Command::new("awsx")
        .arg(
            Arg::new("verbose")
                .long("verbose")
                .global(true)
                .action(ArgAction::SetTrue),
        )
        .subcommand(
            clap::Command::new("use")
                .arg(Arg::new("profile_pos").value_name("NAME"))
                .arg(Arg::new("profile").long("profile").value_name("NAME")),
        )
        .subcommand(
            clap::Command::new("breakglass").subcommand(
                clap::Command::new("assume").arg(Arg::new("name").value_name("PROFILE")),
            ),
        )
}

#[test]
fn completion_scripts_name_every_subcommand() {
    let subs = subcommands();
    assert!(subs.contains(&"completions".to_owned()) && subs.contains(&"man".to_owned()));
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = awsx(&["completions", shell]);
        assert!(script.len() > 1000, "{shell} script is tiny:\n{script}");
        for sub in &subs {
            assert!(script.contains(sub.as_str()), "{shell} script lacks {sub}");
        }
    }
}

#[test]
fn man_page_describes_every_subcommand() {
    let page = awsx(&["man"]);
    assert!(page.contains(".TH awsx 1"), "{page}");
    assert!(page.contains(".SH SYNOPSIS") && page.contains(".SH SUBCOMMANDS"));
    for sub in subcommands() {
        // roff escapes every hyphen: awsx\-credential\-process(1).
        let roff = format!("awsx-{sub}(1)").replace('-', "\\-");
        assert!(page.contains(&roff), "awsx(1) lacks {sub}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_arg = dir.path().to_str().expect("utf-8 temp path");
    awsx(&["man", "--dir", dir_arg]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("awsx.1")).expect("awsx.1"),
        page,
        "awsx man and awsx man --dir disagree"
    );
    for sub in subcommands() {
        let sub_page = std::fs::read_to_string(dir.path().join(format!("awsx-{sub}.1")))
            .unwrap_or_else(|e| panic!("awsx-{sub}.1: {e}"));
        assert!(sub_page.contains(".SH SYNOPSIS"), "awsx-{sub}.1");
    }
}

#[test]
fn bash_completion_defines_the_function_and_completes_subcommands() {
    let shells = Shells::new();
    let script = shells.write("awsx.bash", &awsx(&["completions", "bash"]));
    let out = shells.run(
        "bash",
        &[
            "-c",
            r#"source "$1"
               complete -p awsx
               declare -F _awsx
               COMP_WORDS=(awsx ""); COMP_CWORD=1
               _awsx awsx "" awsx
               printf 'reply:%s\n' "${COMPREPLY[@]}""#,
            "bash",
            script.to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        out.lines()
            .next()
            .is_some_and(|l| l.contains("-F _awsx") && l.ends_with(" awsx")),
        "{out}"
    );
    for sub in subcommands() {
        assert!(
            out.contains(&format!("reply:{sub}\n")),
            "no {sub} in\n{out}"
        );
    }
}

#[test]
fn bash_completes_profile_names_from_the_config_file() {
    let shells = Shells::new();
    let script = shells.write(
        "awsx.bash",
        &awsx::cmd::completions::render(Shell::Bash, tree_with_profile_args()),
    );
    let complete = |words: &str, cur: &str, prev: &str| {
        shells.run(
            "bash",
            &[
                "-c",
                &format!(
                    r#"source "$1"
                       COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
                       _awsx awsx "{cur}" "{prev}"
                       printf '%s\n' "${{COMPREPLY[@]}}""#
                ),
                "bash",
                script.to_str().expect("utf-8 path"),
            ],
        )
    };
    assert_eq!(
        complete("awsx use --profile ''", "", "--profile"),
        "dev-admin\nprod-readonly\n"
    );
    assert_eq!(complete("awsx use prod", "prod", "use"), "prod-readonly\n");
    assert_eq!(
        complete("awsx breakglass assume d", "d", "assume"),
        "dev-admin\n"
    );
}

/// awsx's own script, not a model tree: each command that takes a profile positional
/// offers the profile names there.
#[test]
fn bash_completes_profile_positionals_of_awsx_own_commands() {
    let shells = Shells::new();
    let script = shells.write("own.bash", &awsx(&["completions", "bash"]));
    for sub in ["use", "exec", "whoami", "export", "console", "breakglass"] {
        let out = shells.run(
            "bash",
            &[
                "-c",
                &format!(
                    r#"source "$1"
                       COMP_WORDS=(awsx {sub} ''); COMP_CWORD=2
                       _awsx awsx '' {sub}
                       printf '%s\n' "${{COMPREPLY[@]}}""#
                ),
                "bash",
                script.to_str().expect("utf-8 path"),
            ],
        );
        assert!(
            out.lines().any(|l| l == "dev-admin") && out.lines().any(|l| l == "prod-readonly"),
            "awsx {sub} does not complete profiles:\n{out}"
        );
    }
}

#[test]
fn fish_completes_subcommands_and_profile_names() {
    let shells = Shells::new();
    let own = shells.write("awsx.fish", &awsx(&["completions", "fish"]));
    let out = shells.run(
        "fish",
        &[
            "--no-config",
            "-c",
            &format!("source {}; complete -C 'awsx '", own.display()),
        ],
    );
    for sub in subcommands() {
        assert!(
            out.lines()
                .any(|l| l.split('\t').next() == Some(sub.as_str())),
            "fish does not offer {sub}:\n{out}"
        );
    }

    let profiles = shells.write(
        "profiles.fish",
        &awsx::cmd::completions::render(Shell::Fish, tree_with_profile_args()),
    );
    let out = shells.run(
        "fish",
        &[
            "--no-config",
            "-c",
            &format!(
                "source {}; complete -C 'awsx use --profile '; echo SEP; complete -C 'awsx breakglass assume '",
                profiles.display()
            ),
        ],
    );
    let (flag, positional) = out.split_once("SEP\n").expect("separator");
    assert!(
        flag.contains("dev-admin") && flag.contains("prod-readonly"),
        "{out}"
    );
    assert!(
        positional.contains("dev-admin") && positional.contains("prod-readonly"),
        "{out}"
    );
}

#[test]
fn zsh_registers_the_completion_and_lists_profiles() {
    let shells = Shells::new();
    let functions = shells.path().join("zfunc");
    std::fs::create_dir_all(&functions).expect("mkdir zfunc");
    std::fs::write(functions.join("_awsx"), awsx(&["completions", "zsh"])).expect("write _awsx");
    let out = shells.run(
        "zsh",
        &[
            "-fc",
            r#"fpath=("$1" $fpath)
               autoload -Uz compinit && compinit -u -d "$HOME/.zcompdump"
               print -r -- "comps:$_comps[awsx]""#,
            "zsh",
            functions.to_str().expect("utf-8 path"),
        ],
    );
    assert!(out.contains("comps:_awsx"), "{out}");

    // The profile helper, run outside a completion widget: `_wanted … compadd -a NAME` is
    // replaced by a stub that prints the array it would offer.
    let script = shells.write(
        "profiles.zsh",
        &awsx::cmd::completions::render(Shell::Zsh, tree_with_profile_args()),
    );
    let out = shells.run(
        "zsh",
        &[
            "-fc",
            r#"compdef() { :; }
               source "$1"
               _wanted() { print -rl -- "${(@P)${@[-1]}}" }
               _awsx__profiles"#,
            "zsh",
            script.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(out, "dev-admin\nprod-readonly\n");
}

#[test]
fn complete_profiles_prints_the_config_file_profiles() {
    let shells = Shells::new();
    let out = Command::new(awsx_bin())
        .arg("__complete-profiles")
        .env_clear()
        .env("HOME", shells.path())
        .env("AWS_CONFIG_FILE", shells.path().join(".aws/config"))
        .output()
        .expect("run awsx");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "dev-admin\nprod-readonly\n"
    );
}

/// Every repository file the Homebrew formula installs exists, and every awsx command it
/// runs works: `generate_completions_from_executable(bin/"awsx", "completions")` runs
/// `awsx completions bash|zsh|fish`, and `awsx man --dir DIR` writes the `man/*.1` it installs.
#[test]
fn homebrew_formula_names_files_that_exist() {
    let formula = std::fs::read_to_string(repo_root().join("packaging/homebrew/awsx.rb"))
        .expect("read the formula");
    // The install block: what the formula takes from the tarball (the test block writes its own files).
    let install = formula
        .split_once("def install")
        .and_then(|(_, rest)| rest.split_once("test do"))
        .map(|(block, _)| block)
        .expect("the formula has an install block before its test block");
    let strings: Vec<&str> = install
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split('"').skip(1).step_by(2))
        .collect();
    let repo_files: Vec<&&str> = strings
        .iter()
        .filter(|s| !s.contains("://") && !s.contains("#{") && !s.contains(' ') && s.contains('.'))
        .filter(|s| !s.starts_with("man/") && !s.starts_with("Apache") && s.len() != 64)
        .collect();
    assert!(
        repo_files.contains(&&"README.md"),
        "expected the formula to install README.md: {strings:?}"
    );
    for file in repo_files {
        assert!(
            repo_root().join(file).is_file(),
            "the formula names {file}, which does not exist"
        );
    }
    assert!(formula.contains(r#"generate_completions_from_executable(bin/"awsx", "completions")"#));
    for shell in ["bash", "zsh", "fish"] {
        assert!(!awsx(&["completions", shell]).is_empty());
    }
    assert!(formula.contains(r#"system bin/"awsx", "man", "--dir", buildpath/"man""#));
    assert!(formula.contains(r#"man1.install Dir[buildpath/"man/*.1"]"#));
    let dir = tempfile::tempdir().expect("tempdir");
    awsx(&["man", "--dir", dir.path().to_str().expect("utf-8 path")]);
    assert!(dir.path().join("awsx.1").is_file());
    assert!(formula.contains(r#"system "cargo", "install", *std_cargo_args"#));
    assert!(repo_root().join("Cargo.toml").is_file() && repo_root().join("Cargo.lock").is_file());
}
