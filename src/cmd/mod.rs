//! One module per subcommand; `run` is only a dispatch. Commands render (stderr for people,
//! stdout only for machine-read output); the library below them never prints.
use crate::cli::{Cli, Command};
use crate::env::Env;
use crate::error::Result;

pub mod complete_profiles;
pub mod completions;
pub mod man;
pub mod scan;

/// What every command gets: the environment read once, and the global flags.
#[derive(Debug)]
pub struct Context {
    pub env: Env,
    pub verbose: bool,
}

pub fn run(cli: Cli) -> Result<()> {
    let ctx = Context {
        env: Env::from_process(),
        verbose: cli.verbose,
    };
    match cli.command {
        Command::Scan(args) => scan::run(&ctx, args),
        Command::Completions(args) => completions::run(&ctx, args),
        Command::Man(args) => man::run(&ctx, args),
    }
}
