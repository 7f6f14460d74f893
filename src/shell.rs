//! Shell code: the init scripts (templates under `shell/`, embedded at build time) and the
//! variable assignments `awsx use` prints for the shell function to evaluate, quoted so that
//! no value is ever interpreted by the shell.
use crate::cli::Shell;

const BASH: &str = include_str!("../shell/bash.sh");
const ZSH: &str = include_str!("../shell/zsh.zsh");
const FISH: &str = include_str!("../shell/fish.fish");
const POWERSHELL: &str = include_str!("../shell/powershell.ps1");

/// Where the templates call the binary.
const BIN_PLACEHOLDER: &str = "__AWSX_BIN__";

/// The init script for `shell`, calling the binary at `bin` (quoted for that shell).
pub fn init_script(shell: Shell, bin: &str) -> String {
    let template = match shell {
        Shell::Bash => BASH,
        Shell::Zsh => ZSH,
        Shell::Fish => FISH,
        Shell::Powershell => POWERSHELL,
    };
    template.replace(BIN_PLACEHOLDER, &quote(shell, bin))
}

/// One change to the shell's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Set(&'static str, String),
    Unset(&'static str),
}

/// `actions` as code for `shell`, one statement per line.
pub fn render(shell: Shell, actions: &[Action]) -> String {
    let mut out = String::new();
    for action in actions {
        let line = match (shell, action) {
            (Shell::Bash | Shell::Zsh, Action::Set(k, v)) => {
                format!("export {k}={}", quote(shell, v))
            }
            (Shell::Bash | Shell::Zsh, Action::Unset(k)) => format!("unset {k}"),
            (Shell::Fish, Action::Set(k, v)) => format!("set -gx {k} {}", quote(shell, v)),
            (Shell::Fish, Action::Unset(k)) => format!("set -e {k}"),
            (Shell::Powershell, Action::Set(k, v)) => format!("$env:{k} = {}", quote(shell, v)),
            (Shell::Powershell, Action::Unset(k)) => {
                format!("Remove-Item -ErrorAction SilentlyContinue Env:{k}")
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `value` as a single-quoted literal of `shell`.
pub fn quote(shell: Shell, value: &str) -> String {
    match shell {
        Shell::Bash | Shell::Zsh => format!("'{}'", value.replace('\'', r"'\''")),
        Shell::Fish => format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'")),
        Shell::Powershell => format!("'{}'", value.replace('\'', "''")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_for_each_shell() {
        let v = r"it's a \ test $HOME";
        assert_eq!(quote(Shell::Bash, v), r"'it'\''s a \ test $HOME'");
        assert_eq!(quote(Shell::Fish, v), r"'it\'s a \\ test $HOME'");
        assert_eq!(quote(Shell::Powershell, v), r"'it''s a \ test $HOME'");
    }

    #[test]
    fn actions_render_per_shell() {
        let actions = [
            Action::Set("AWS_PROFILE", "dev".into()),
            Action::Unset("AWS_SESSION_TOKEN"),
        ];
        assert_eq!(
            render(Shell::Zsh, &actions),
            "export AWS_PROFILE='dev'\nunset AWS_SESSION_TOKEN\n"
        );
        assert_eq!(
            render(Shell::Fish, &actions),
            "set -gx AWS_PROFILE 'dev'\nset -e AWS_SESSION_TOKEN\n"
        );
        assert_eq!(
            render(Shell::Powershell, &actions),
            "$env:AWS_PROFILE = 'dev'\nRemove-Item -ErrorAction SilentlyContinue Env:AWS_SESSION_TOKEN\n"
        );
    }

    #[test]
    fn init_scripts_call_the_given_binary() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell] {
            let script = init_script(shell, "/opt/my tools/awsx");
            assert!(!script.contains(BIN_PLACEHOLDER));
            assert!(script.contains("'/opt/my tools/awsx'"), "{script}");
        }
    }
}
