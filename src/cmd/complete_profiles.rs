//! `awsx __complete-profiles`: the profile names of the AWS config file (`AWS_CONFIG_FILE` or
//! `~/.aws/config`), one a line, in file order. The completion scripts from
//! `awsx completions` run it when Tab is pressed where a profile goes.
//!
//! It is no clap subcommand (clap_complete would offer it among the real ones);
//! `crate::main` recognises it as the first argument. Extra arguments are ignored, so a
//! later version can pass the word being completed without breaking older scripts.
use std::io::Write as _;

use crate::error::{Error, Result};
use awsx_config::ConfigFile;
use awsx_config::profile::profile_names;
use awsx_core::env::Env;

/// The first argument that selects this command.
pub const SUBCOMMAND: &str = "__complete-profiles";

pub fn run(env: &Env) -> Result<()> {
    let config = ConfigFile::load_config(env)?;
    let mut text = String::new();
    for name in profile_names(config.doc()) {
        text.push_str(name.as_str());
        text.push('\n');
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| Error::WriteOutput {
            what: "profile names to stdout".into(),
            source,
        })
}
