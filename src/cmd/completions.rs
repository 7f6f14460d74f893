//! `awsx completions SHELL`: shell completion scripts, generated from the clap definitions in
//! `cli.rs` by clap_complete's ahead-of-time generators, never written by hand.
//!
//! Profile names cannot be known when the script is generated, so the script asks the
//! binary for them when Tab is pressed (`awsx __complete-profiles`). clap_complete has no
//! stable hook for a value that runs a command, so generation goes in two steps:
//! 1. every argument that takes a profile (`cli::is_profile_arg`) gets one placeholder
//!    possible value, [`PLACEHOLDER`], in a copy of the command used only for generation;
//! 2. each shell's output has that placeholder, which clap_complete writes where a list of
//!    candidate values goes, replaced by that shell's way of running `awsx __complete-profiles`.
//!
//! If a clap_complete release ever writes the placeholder somewhere new, the output would
//! offer it literally; the tests in this module and in tests/it/packaging.rs fail first.
use std::fmt::Write as _;
use std::io::Write as _;

use clap::builder::PossibleValue;
use clap::{Command, CommandFactory};

use crate::cli::{Cli, CompletionsArgs, is_profile_arg};
use crate::cmd::Context;
use crate::cmd::complete_profiles::SUBCOMMAND as COMPLETE_PROFILES;
use crate::error::{Error, Result};
use crate::shell::Shell;

/// Stands for "the profile names" in clap_complete's output until it is spliced out.
const PLACEHOLDER: &str = "__AWSX_PROFILE_NAMES__";

/// The binary the scripts call back into: the `awsx` on PATH, the one the user runs.
const BIN: &str = "awsx";

pub fn run(_ctx: &Context, args: CompletionsArgs) -> Result<()> {
    let script = render(args.shell, Cli::command());
    let mut out = std::io::stdout().lock();
    out.write_all(script.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| Error::WriteOutput {
            what: "the completion script to stdout".into(),
            source,
        })
}

/// The completion script for `shell`, for the command tree `cmd` (awsx's own, or a test's).
pub fn render(shell: Shell, cmd: Command) -> String {
    let mut cmd = mark_profile_args(cmd);
    let mut buf = Vec::new();
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::PowerShell => clap_complete::Shell::PowerShell,
    };
    clap_complete::generate(generator, &mut cmd, BIN, &mut buf);
    let script = String::from_utf8_lossy(&buf).into_owned();
    match shell {
        Shell::Bash => splice_bash(&script),
        Shell::Zsh => splice_zsh(&script),
        Shell::Fish => splice_fish(&script, &cmd),
        Shell::PowerShell => splice_powershell(&script, &cmd),
    }
}

/// Give every profile argument, in every subcommand, the placeholder as its only value.
fn mark_profile_args(cmd: Command) -> Command {
    cmd.mut_args(|arg| {
        if is_profile_arg(&arg) {
            arg.value_parser([PossibleValue::new(PLACEHOLDER)])
        } else {
            arg
        }
    })
    .mut_subcommands(mark_profile_args)
}

/// bash: the placeholder stands inside double-quoted word lists (`opts="… PLACEHOLDER"` for
/// positionals, `compgen -W "PLACEHOLDER"` after `--profile`); a command substitution there
/// runs at Tab time.
fn splice_bash(script: &str) -> String {
    script.replace(
        PLACEHOLDER,
        &format!("$({BIN} {COMPLETE_PROFILES} 2>/dev/null)"),
    )
}

/// zsh: the placeholder is an `_arguments` action `(PLACEHOLDER)`; it becomes a completion
/// function, defined next to clap_complete's own helpers.
fn splice_zsh(script: &str) -> String {
    let function = format!(
        "(( $+functions[_{BIN}__profiles] )) ||
_{BIN}__profiles() {{
    local -a profiles
    profiles=(${{(f)\"$({BIN} {COMPLETE_PROFILES} 2>/dev/null)\"}})
    _wanted profiles expl 'AWS profile' compadd -a profiles
}}

"
    );
    let script = script.replace(&format!("({PLACEHOLDER})"), &format!("_{BIN}__profiles"));
    let tail = format!("if [ \"$funcstack[1]\" = \"_{BIN}\" ]; then");
    match script.find(&tail) {
        Some(at) => format!("{}{function}{}", &script[..at], &script[at..]),
        // Unknown layout: still a valid script, with the function at the end.
        None => format!("{script}\n{function}"),
    }
}

/// fish: options get `-a "PLACEHOLDER\t''"`; positionals get no line at all from
/// clap_complete, so one line per subcommand with a profile positional is added.
fn splice_fish(script: &str, cmd: &Command) -> String {
    let candidates = format!("({BIN} {COMPLETE_PROFILES} 2>/dev/null)");
    let mut script = script.replace(&format!("{PLACEHOLDER}\\t''"), &candidates);
    let mut paths = Vec::new();
    profile_positional_paths(cmd, &mut Vec::new(), &mut paths);
    for path in paths {
        let condition = fish_condition(cmd, &path);
        writeln!(
            script,
            "complete -c {BIN} -n \"{condition}\" -f -a \"{candidates}\" -d 'AWS profile'"
        )
        .expect("writing to a String cannot fail");
    }
    script
}

/// PowerShell: clap_complete's script completes subcommands and flags only, never values,
/// so the placeholder never appears there. Its `switch` has one block per command path
/// (`'awsx;use' {`), reached both when a positional and when an option's value is being
/// completed (the path stops at the first flag); each block of a command that takes a
/// profile gets the profile names first. (Untested: pwsh cannot be installed here.)
fn splice_powershell(script: &str, cmd: &Command) -> String {
    let mut script = script.to_owned();
    let mut paths = Vec::new();
    profile_arg_paths(cmd, &mut Vec::new(), &mut paths);
    for path in paths {
        let head = format!("        '{BIN};{}' {{\n", path.join(";"));
        let Some(at) = script.find(&head) else {
            continue;
        };
        let line = format!(
            "            {BIN} {COMPLETE_PROFILES} 2>$null | ForEach-Object {{ [CompletionResult]::new($_, $_, [CompletionResultType]::ParameterValue, 'AWS profile') }}\n"
        );
        script.insert_str(at + head.len(), &line);
    }
    script
}

/// The subcommand paths (`["login"]`, `["breakglass", "assume"]`) whose command takes a
/// profile as a positional argument.
fn profile_positional_paths(cmd: &Command, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    subcommand_paths(cmd, prefix, out, &|sub| {
        sub.get_positionals().any(is_profile_arg)
    });
}

/// The subcommand paths whose command takes a profile, as a positional or as an option.
fn profile_arg_paths(cmd: &Command, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    subcommand_paths(cmd, prefix, out, &|sub| {
        sub.get_arguments().any(is_profile_arg)
    });
}

fn subcommand_paths(
    cmd: &Command,
    prefix: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
    wanted: &dyn Fn(&Command) -> bool,
) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        prefix.push(sub.get_name().to_owned());
        if wanted(sub) {
            out.push(prefix.clone());
        }
        subcommand_paths(sub, prefix, out, wanted);
        prefix.pop();
    }
}

/// The `-n` condition clap_complete's fish script uses for the command at `path`.
fn fish_condition(root: &Command, path: &[String]) -> String {
    let mut condition = format!("__fish_{BIN}_using_subcommand {}", path[0]);
    for name in &path[1..] {
        write!(condition, "; and __fish_seen_subcommand_from {name}")
            .expect("writing to a String cannot fail");
    }
    // While no sub-subcommand is typed yet, the positional is what comes next.
    let target = path
        .iter()
        .try_fold(root, |cmd, name| cmd.find_subcommand(name));
    if let Some(target) = target {
        // `cmd` was built by clap_complete, so clap's own `help` subcommand is listed too.
        let subs: Vec<&str> = target.get_subcommands().map(Command::get_name).collect();
        if !subs.is_empty() {
            write!(
                condition,
                "; and not __fish_seen_subcommand_from {}",
                subs.join(" ")
            )
            .expect("writing to a String cannot fail");
        }
    }
    condition
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    /// A command tree shaped like the commands that take profiles, whatever awsx has today.
    fn profile_tree() -> Command {
        Command::new("awsx")
            .arg(
                Arg::new("verbose")
                    .short('v')
                    .long("verbose")
                    .global(true)
                    .action(ArgAction::SetTrue),
            )
            .subcommand(
                Command::new("use")
                    .arg(Arg::new("profile_pos").value_name("NAME"))
                    .arg(Arg::new("profile").long("profile").value_name("NAME")),
            )
            .subcommand(
                Command::new("breakglass")
                    .arg(Arg::new("name").value_name("PROFILE"))
                    .arg(Arg::new("reason").long("reason"))
                    .subcommand(
                        Command::new("assume").arg(Arg::new("target_profile").required(true)),
                    ),
            )
            .subcommand(Command::new("scan").arg(Arg::new("path").value_name("PATH")))
    }

    #[test]
    fn the_convention_picks_profile_arguments_only() {
        let cmd = profile_tree();
        let use_ = cmd.find_subcommand("use").expect("use");
        assert!(use_.get_arguments().all(is_profile_arg));
        let scan = cmd.find_subcommand("scan").expect("scan");
        assert!(!scan.get_arguments().any(is_profile_arg));
    }

    #[test]
    fn no_shell_script_keeps_the_placeholder() {
        for shell in Shell::ALL {
            let script = render(shell, profile_tree());
            assert!(
                !script.contains(PLACEHOLDER),
                "{shell:?} script offers the placeholder:\n{script}"
            );
            assert!(script.contains("breakglass"), "{shell:?}");
        }
    }

    #[test]
    fn bash_completes_profiles_for_options_and_positionals() {
        let script = render(Shell::Bash, profile_tree());
        let call = "$(awsx __complete-profiles 2>/dev/null)";
        // `use NAME`, `use --profile NAME`, `breakglass NAME`, `breakglass assume NAME`.
        assert_eq!(script.matches(call).count(), 4, "{script}");
    }

    #[test]
    fn zsh_completes_profiles_through_one_function() {
        let script = render(Shell::Zsh, profile_tree());
        assert_eq!(script.matches(":_awsx__profiles'").count(), 4, "{script}");
        let defined = script
            .find("_awsx__profiles() {")
            .expect("function defined");
        let dispatch = script
            .find("if [ \"$funcstack[1]\" = \"_awsx\" ]")
            .expect("dispatch");
        assert!(defined < dispatch, "defined before the script runs _awsx");
    }

    #[test]
    fn fish_completes_profiles_for_options_and_positionals() {
        let script = render(Shell::Fish, profile_tree());
        assert!(script.contains(
            "-n \"__fish_awsx_using_subcommand use\" -l profile -r -f -a \"(awsx __complete-profiles 2>/dev/null)\""
        ), "{script}");
        assert!(script.contains(
            "complete -c awsx -n \"__fish_awsx_using_subcommand use\" -f -a \"(awsx __complete-profiles 2>/dev/null)\""
        ), "{script}");
        assert!(script.contains(
            "-n \"__fish_awsx_using_subcommand breakglass; and not __fish_seen_subcommand_from assume help\" -f -a"
        ), "{script}");
        assert!(script.contains(
            "-n \"__fish_awsx_using_subcommand breakglass; and __fish_seen_subcommand_from assume\" -f -a"
        ), "{script}");
    }

    #[test]
    fn powershell_completes_profiles_for_every_command_that_takes_one() {
        let script = render(Shell::PowerShell, profile_tree());
        let call = "awsx __complete-profiles 2>$null | ForEach-Object";
        // `use` (positional and flag: one block), `breakglass`, `breakglass assume`; not `scan`.
        assert_eq!(script.matches(call).count(), 3, "{script}");
        for head in [
            "'awsx;use' {",
            "'awsx;breakglass' {",
            "'awsx;breakglass;assume' {",
        ] {
            let block = &script[script.find(head).expect(head)..];
            let block = &block[..block.find("\n            break\n").expect("block end")];
            assert!(block.contains(call), "{head}: {block}");
        }
        let scan = &script[script.find("'awsx;scan' {").expect("scan")..];
        assert!(!scan[..scan.find("\n            break\n").expect("end")].contains(call));
    }

    #[test]
    fn awsx_own_scripts_render() {
        for shell in Shell::ALL {
            let script = render(shell, Cli::command());
            assert!(script.contains("completions"), "{shell:?}");
            // The helper is no clap subcommand, so no script offers it.
            assert!(
                !script.contains("-a \"__complete-profiles\"")
                    && !script.contains(",__complete-profiles)"),
                "{shell:?} offers the hidden helper"
            );
        }
    }
}
