//! The `awsx` front binary: `credential-process` cache hits, and nothing else.
//!
//! Every AWS CLI and SDK call waits for `awsx credential-process`, and almost all of them
//! are hot-tier hits: a few `keyctl` calls. What such a call costs is then mostly the
//! process start, which grows with the binary (page faults, the loader's work): the full
//! awsx, with the AWS SDK, TLS, D-Bus and clap, starts about twice as slowly as `cat`.
//! So `awsx` is a small binary that answers exactly that case and `exec`s `awsx-main`
//! (installed next to it) for everything else, with the same arguments: a miss, any other
//! command, `--help`, logging, errors. Nothing here decides anything `awsx-main` would
//! decide differently: it runs the same functions ([`awsx_creds::serve::cached_process_json`]
//! and the profile lookup) and gives up at the first doubt. A hit is served only to the
//! login that made it: the session record in awsx's cache dir (one small file) names the
//! login and the keychain it chose, and the cached value must carry that binding (see
//! `sso::binding`); with keyutils as the keychain the hit is read from it directly.
use std::ffi::{OsStr, OsString};

use awsx_core::env::Env;
use awsx_core::install::main_binary;
use awsx_core::types::ProfileName;

/// The Version 1 JSON for a plain `credential-process [--profile NAME]` whose credentials
/// are fresh in the hot tier; `None` for anything else (then `awsx-main` runs).
pub fn serve(args: &[OsString], env: &Env) -> Option<String> {
    let given = plain_credential_process(args)?;
    // Logging is awsx-main's job.
    if env.var("AWSX_LOG").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let name: ProfileName = match given {
        Some(name) => name.parse().ok()?,
        None => env
            .var("AWS_PROFILE")
            .filter(|n| !n.is_empty())?
            .parse()
            .ok()?,
    };
    awsx_creds::serve::cached_process_json(env, &name)
}

/// `Some(profile)` for `credential-process`, `credential-process --profile NAME` or
/// `credential-process --profile=NAME` (`Some(None)`: the profile comes from AWS_PROFILE);
/// `None` for any other command line.
fn plain_credential_process(args: &[OsString]) -> Option<Option<&str>> {
    let args: Vec<&str> = args.iter().map(|a| a.to_str()).collect::<Option<_>>()?;
    match args.as_slice() {
        ["credential-process"] => Some(None),
        ["credential-process", "--profile", name] if !name.starts_with('-') => Some(Some(name)),
        ["credential-process", flag] => flag.strip_prefix("--profile=").map(Some),
        _ => None,
    }
}

/// Run `awsx-main` with these arguments in place of this process (on Unix, `exec`: same
/// pid, terminal, signals and exit code). Returns only on failure.
pub fn hand_over(arg0: &OsStr, args: &[OsString]) -> std::io::Error {
    let main = match main_binary() {
        Ok(path) => path,
        Err(e) => return e,
    };
    let mut command = std::process::Command::new(&main);
    command.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // argv[0] stays what the user typed, so usage lines and completions say `awsx`.
        command.arg0(arg0).exec()
    }
    #[cfg(not(unix))]
    {
        let _ = arg0;
        match command.status() {
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn only_a_plain_credential_process_call_is_served() {
        let cases: &[(&[&str], Option<Option<&str>>)] = &[
            (&["credential-process"], Some(None)),
            (
                &["credential-process", "--profile", "dev"],
                Some(Some("dev")),
            ),
            (&["credential-process", "--profile=dev"], Some(Some("dev"))),
            (&["credential-process", "--profile", "--help"], None),
            (&["credential-process", "-v", "--profile", "dev"], None),
            (&["credential-process", "--profile", "dev", "-v"], None),
            (&["credential-process", "--help"], None),
            (&["export", "--profile", "dev"], None),
            (&["--version"], None),
            (&[], None),
        ];
        for (given, expected) in cases {
            let given = args(given);
            assert_eq!(plain_credential_process(&given), *expected, "{given:?}");
        }
    }

    #[test]
    fn logging_and_unknown_profiles_go_to_awsx_main() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        let env = Env::from_vars([("HOME", home), ("AWS_PROFILE", "dev")]);
        assert_eq!(serve(&args(&["credential-process"]), &env), None);
        let env = Env::from_vars([("HOME", home), ("AWSX_LOG", "debug")]);
        assert_eq!(
            serve(&args(&["credential-process", "--profile", "dev"]), &env),
            None
        );
    }
}
