//! Where `credential_process` finds awsx: the one rule that `awsx sync` writes and
//! `awsx doctor` checks. What sync plans lives in `awsx_sso::sync`.
use std::path::{Path, PathBuf};

use awsx_core::env::Env;

/// What `credential_process` runs, the one rule that sync writes and doctor checks: bare
/// `awsx` when PATH finds this installation's front binary under that name, else that
/// binary's absolute path, quoted when botocore's shell-style split (and `sh -c`, which the
/// Rust, Go and JavaScript SDKs run it through) would otherwise read it differently.
pub fn credential_process_program(env: &Env) -> Result<String, UnquotableInstallPath> {
    let Some(me) = this_installation() else {
        return Ok("awsx".to_owned());
    };
    if path_resolves_to(env, "awsx", &me) {
        return Ok("awsx".to_owned());
    }
    let text = me.display().to_string();
    quote_program(&text).ok_or(UnquotableInstallPath(text))
}

/// awsx is installed at a path no `credential_process` line can hold (a usage error: the
/// fix is to install it elsewhere).
#[derive(Debug, thiserror::Error)]
#[error(
    "awsx is installed at {0:?}, a path with a line break or control character, which no credential_process line can hold; install awsx elsewhere"
)]
pub struct UnquotableInstallPath(pub String);

/// This installation's `awsx` front binary, symlinks resolved.
pub fn this_installation() -> Option<PathBuf> {
    awsx_core::install::front_binary()
        .and_then(|p| p.canonicalize())
        .ok()
}

/// Does PATH find `program` (a bare name) at `me` (symlinks resolved)?
pub fn path_resolves_to(env: &Env, program: &str, me: &Path) -> bool {
    let found = env.var("PATH").and_then(|path| {
        std::env::split_paths(path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    found.and_then(|p| p.canonicalize().ok()).as_deref() == Some(me)
}

/// `word` as one word of a `credential_process` line: as is when it holds only characters
/// no splitter treats specially, else in POSIX single quotes (`'` itself as `'\''`), which
/// Python's `shlex.split` (botocore) and `sh -c` (the other SDKs) both read back as `word`.
/// A `#` or `;` is also written outside the quotes, escaped (`'\#'`): the SDKs' config
/// parser cuts a value at a `#` or `;` that follows white space, quotes or not.
/// `None` for a line break or other control character, which no INI line can hold.
pub fn quote_program(word: &str) -> Option<String> {
    if word.chars().any(char::is_control) {
        return None;
    }
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain {
        return Some(word.to_owned());
    }
    let mut out = String::from("'");
    for c in word.chars() {
        match c {
            '\'' => out.push_str("'\\''"),
            '#' | ';' => {
                out.push_str("'\\");
                out.push(c);
                out.push('\'');
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    Some(out)
}
