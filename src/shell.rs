//! Shell code: the init scripts (templates under `shell/`, embedded at build time) and the
//! variable assignments `awsx use` prints for the shell function to evaluate, quoted so that
//! no value is ever interpreted by the shell.
//!
//! [`Shell`] is the one list of shells awsx integrates with (`awsx init`, `awsx completions`,
//! and `AWSX_SHELL` for `awsx use`). It knows nothing of clap: `cli` makes it a value of the
//! command line.

/// A shell awsx integrates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    /// PowerShell 7 (pwsh) and Windows PowerShell 5.1 (untested: see the README).
    PowerShell,
}

impl Shell {
    /// Every shell, in the order `--help` lists them.
    pub const ALL: [Shell; 4] = [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell];

    /// The shell's name on the command line (`awsx init NAME`) and in `AWSX_SHELL`.
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::PowerShell => "powershell",
        }
    }

    /// The shell `AWSX_SHELL` names: [`Shell::name`], or `pwsh` for PowerShell.
    pub fn from_name(name: &str) -> Option<Shell> {
        match name {
            "pwsh" => Some(Shell::PowerShell),
            _ => Shell::ALL.into_iter().find(|s| s.name() == name),
        }
    }
}

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
        Shell::PowerShell => POWERSHELL,
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
            (Shell::PowerShell, Action::Set(k, v)) => format!("$env:{k} = {}", quote(shell, v)),
            (Shell::PowerShell, Action::Unset(k)) => {
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
        Shell::PowerShell => powershell_quote(value),
    }
}

/// What PowerShell's tokenizer takes for a single quote: ASCII `'` and U+2018–U+201B
/// (‘ ’ ‚ ‛). Any of them ends a single-quoted string; doubled, it is one literal.
fn is_powershell_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// `value` as a PowerShell expression that evaluates to exactly `value`: a single-quoted
/// literal (no `$`, backtick or double quote — ASCII or “ ” „ — is special inside one) with
/// every single-quote character PowerShell accepts doubled. Control characters would not
/// survive the trip through the function (`& awsx` splits its output into lines), so they
/// are spliced in as `[char]N`: `('a' + [char]10 + 'b')`.
fn powershell_quote(value: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut literal = String::new();
    for c in value.chars() {
        if c.is_control() {
            if !literal.is_empty() {
                parts.push(format!("'{}'", std::mem::take(&mut literal)));
            }
            parts.push(format!("[char]{}", u32::from(c)));
            continue;
        }
        if is_powershell_single_quote(c) {
            literal.push(c);
        }
        literal.push(c);
    }
    if parts.is_empty() {
        return format!("'{literal}'");
    }
    if !literal.is_empty() {
        parts.push(format!("'{literal}'"));
    }
    // `'' + [char]N` keeps the sum a string even when it starts with a character code.
    format!("('' + {})", parts.join(" + "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_are_named_as_the_shell_function_sets_them() {
        for shell in Shell::ALL {
            assert_eq!(Shell::from_name(shell.name()), Some(shell));
        }
        assert_eq!(Shell::from_name("pwsh"), Some(Shell::PowerShell));
        assert_eq!(Shell::from_name("tcsh"), None);
    }

    #[test]
    fn values_are_quoted_for_each_shell() {
        let v = r"it's a \ test $HOME";
        assert_eq!(quote(Shell::Bash, v), r"'it'\''s a \ test $HOME'");
        assert_eq!(quote(Shell::Fish, v), r"'it\'s a \\ test $HOME'");
        assert_eq!(quote(Shell::PowerShell, v), r"'it''s a \ test $HOME'");
    }

    /// PowerShell's reading of what `powershell_quote` emits, per its tokenizer: a
    /// single-quoted string ends at a lone single-quote character (any of five), a doubled
    /// one is one literal; `[char]N` is that character; `+` concatenates. Anything else is
    /// a test failure: the output must be nothing but this grammar.
    fn powershell_eval(code: &str) -> String {
        let chars: Vec<char> = code.chars().collect();
        let mut i = 0;
        let mut out = String::new();
        let (wrapped, end) = if code.starts_with("('' + ") {
            i = 6;
            (true, chars.len() - 1)
        } else {
            (false, chars.len())
        };
        if wrapped {
            assert_eq!(chars[end], ')', "{code:?}");
        }
        loop {
            if is_powershell_single_quote(chars[i]) {
                i += 1;
                loop {
                    assert!(i < end, "unterminated string in {code:?}");
                    let c = chars[i];
                    if is_powershell_single_quote(c) {
                        if i + 1 < end && is_powershell_single_quote(chars[i + 1]) {
                            out.push(chars[i + 1]);
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    out.push(c);
                    i += 1;
                }
            } else {
                let rest: String = chars[i..end].iter().collect();
                let digits: String = rest
                    .strip_prefix("[char]")
                    .unwrap_or_else(|| panic!("unexpected {rest:?} in {code:?}"))
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                out.push(char::from_u32(digits.parse().unwrap()).unwrap());
                i += 6 + digits.len();
            }
            if i == end {
                return out;
            }
            assert!(
                wrapped,
                "more than one literal outside parentheses: {code:?}"
            );
            let sep: String = chars[i..(i + 3).min(end)].iter().collect();
            assert_eq!(sep, " + ", "{code:?}");
            i += 3;
        }
    }

    #[test]
    fn powershell_quoting_round_trips_every_character() {
        let specials = [
            '\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}', '"', '\u{201C}', '\u{201D}',
            '\u{201E}', '$', '`', ';', '(', ')', '{', '}', '@', '#', '|', '&', '\\', ' ',
            '\u{2013}',
        ];
        // Every Unicode scalar value alone, and between text and next to each special.
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            for value in [c.to_string(), format!("x{c}y")] {
                assert_eq!(powershell_eval(&quote(Shell::PowerShell, &value)), value);
            }
        }
        for a in specials
            .iter()
            .chain(&['\n', '\r', '\0', '\x1b', '\x7f', '\u{85}'])
        {
            for b in &specials {
                let value = format!("{a}{b}; Start-Process calc; {b}{a}");
                let quoted = quote(Shell::PowerShell, &value);
                assert_eq!(powershell_eval(&quoted), value, "{quoted}");
            }
        }
        // A typographic quote that would close the string and run a command stays inside it.
        let hostile = "x\u{2019}; Start-Process calc; \u{2019}";
        assert_eq!(
            quote(Shell::PowerShell, hostile),
            "'x\u{2019}\u{2019}; Start-Process calc; \u{2019}\u{2019}'"
        );
        assert_eq!(
            quote(Shell::PowerShell, "a\nb"),
            "('' + 'a' + [char]10 + 'b')"
        );
        assert_eq!(quote(Shell::PowerShell, "\r"), "('' + [char]13)");
        assert_eq!(quote(Shell::PowerShell, ""), "''");
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
            render(Shell::PowerShell, &actions),
            "$env:AWS_PROFILE = 'dev'\nRemove-Item -ErrorAction SilentlyContinue Env:AWS_SESSION_TOKEN\n"
        );
    }

    #[test]
    fn init_scripts_call_the_given_binary() {
        for shell in Shell::ALL {
            let script = init_script(shell, "/opt/my tools/awsx");
            assert!(!script.contains(BIN_PLACEHOLDER));
            assert!(script.contains("'/opt/my tools/awsx'"), "{script}");
        }
    }
}
