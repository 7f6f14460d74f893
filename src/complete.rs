//! Shell completion of profile names. The static parts of the completions come from the
//! clap definitions; profile names come from calling back into the binary (clap_complete's
//! `CompleteEnv`: the shell runs `COMPLETE=<shell> awsx -- <words>`), which reads the AWS
//! config file at that moment, so a fresh `awsx sync` is completed at once.
use clap_complete::CompletionCandidate;

use awsx_config::ConfigFile;
use awsx_core::env::Env;

/// Every profile in the AWS config file, with its account and role as help when synced.
pub fn profile_candidates() -> Vec<CompletionCandidate> {
    let env = Env::from_process();
    let Ok(file) = ConfigFile::load_config(&env) else {
        return Vec::new();
    };
    awsx_config::profile::profile_names(file.doc())
        .into_iter()
        .map(|name| {
            let help = awsx_config::Profile::find(file.doc(), &name)
                .ok()
                .flatten()
                .and_then(|p| {
                    let account = p
                        .get("awsx_account_name")
                        .or_else(|| p.get("awsx_account_id"))?;
                    let role = p.get("awsx_role_name")?;
                    Some(format!("{account} / {role}"))
                });
            CompletionCandidate::new(name.to_string()).help(help.map(Into::into))
        })
        .collect()
}
