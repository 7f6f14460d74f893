//! One module per subcommand; `run` is only a dispatch.
use crate::cli::{Cli, Command};
use crate::error::Result;

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {}
}
