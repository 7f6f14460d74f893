//! `awsx man`: the manual pages, rendered by clap_mangen from the clap definitions in
//! `cli.rs` (never written by hand). Without `--dir`, awsx(1) goes to stdout; with it, one
//! page per visible command is written: awsx.1, awsx-scan.1, … (nested commands as
//! awsx-breakglass-assume.1), which is what the packages install.
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Command, CommandFactory};

use crate::cli::{Cli, ManArgs};
use crate::cmd::Context;
use crate::error::{Error, Result};

pub fn run(_ctx: &Context, args: ManArgs) -> Result<()> {
    match args.dir {
        None => {
            let page = render(Cli::command())?;
            let mut out = std::io::stdout().lock();
            out.write_all(&page)
                .and_then(|()| out.flush())
                .map_err(|source| Error::WriteOutput {
                    what: "the manual page to stdout".into(),
                    source,
                })
        }
        Some(dir) => {
            let written = write_pages(Cli::command(), &dir)?;
            for path in written {
                eprintln!("{}", path.display());
            }
            Ok(())
        }
    }
}

/// The top-level page, awsx(1), as roff.
pub fn render(cmd: Command) -> Result<Vec<u8>> {
    let mut page = Vec::new();
    // As in `write_pages`: clap's `help` subcommand gets no page, so awsx(1) lists none.
    clap_mangen::Man::new(cmd.disable_help_subcommand(true))
        .render(&mut page)
        .map_err(|source| Error::WriteOutput {
            what: "the manual page".into(),
            source,
        })?;
    Ok(page)
}

/// Write one page per visible command into `dir` (created if missing); returns their paths.
pub fn write_pages(cmd: Command, dir: &Path) -> Result<Vec<PathBuf>> {
    let io_error = |source| Error::WriteOutput {
        what: format!("manual pages into {}", dir.display()),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io_error)?;
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_tree(&cmd, dir, &mut written).map_err(io_error)?;
    written.sort();
    Ok(written)
}

fn write_tree(cmd: &Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_tree(sub, dir, written)?;
    }
    written.push(clap_mangen::Man::new(cmd.clone()).generate_to(dir)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_every_visible_subcommand() {
        let page = String::from_utf8(render(Cli::command()).expect("render")).expect("utf-8");
        assert!(
            page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH awsx 1"),
            "{page}"
        );
        for sub in Cli::command()
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
        {
            // roff escapes hyphens: credential-process is written credential\-process.
            let roff_name = sub.get_name().replace('-', "\\-");
            assert!(
                page.contains(sub.get_name()) || page.contains(&roff_name),
                "awsx(1) lacks {}",
                sub.get_name()
            );
        }
    }

    #[test]
    fn one_page_per_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let written = write_pages(Cli::command(), dir.path()).expect("write");
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        assert!(names.contains(&"awsx.1".to_owned()), "{names:?}");
        assert!(names.contains(&"awsx-scan.1".to_owned()), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }
}
