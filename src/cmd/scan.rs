//! `awsx scan`: render what `crate::scan` found. Findings go to stdout (they are the
//! result, as with grep); the summary and what was skipped go to stderr.
use std::io::Write;

use serde::Serialize;

use super::Context;
use crate::cli::ScanArgs;
use crate::error::Result;
use crate::scan::{self, Finding, Location, Options, Report, ScanError};

/// How many unreadable paths to list without --verbose: enough to notice a pattern, not a flood.
const UNREADABLE_SHOWN: usize = 10;

pub fn run(ctx: &Context, args: ScanArgs) -> Result<()> {
    let options = Options {
        respect_gitignore: args.respect_gitignore,
        follow_links: args.follow,
        binary: args.binary,
        max_filesize: args.max_filesize,
        threads: args.threads,
        include_examples: args.include_examples,
    };
    let mut report = if args.paths.is_empty() {
        scan::walk::scan_files(&scan::home::targets(&ctx.env)?, &options)
    } else {
        scan::walk::scan_tree(&args.paths, &options)?
    };
    let own_ids = drop_own_audit_ids(&mut report, &crate::breakglass::audit::path(&ctx.env));
    if !args.no_env {
        report
            .findings
            .extend(scan::scan_environment(&ctx.env, options.include_examples));
        report.findings.sort();
    }

    let mut out = std::io::stdout().lock();
    let written = if args.json {
        write_json(&mut out, &report)
    } else {
        write_text(&mut out, &report)
    };
    written
        .and_then(|()| out.flush())
        .map_err(|source| ScanError::Output { source })?;
    drop(out);

    summarize(ctx, &report, args.max_filesize);
    if own_ids > 0 {
        eprintln!(
            "awsx: not reported: {own_ids} key id{} in awsx's own break-glass audit log (ids only; the keys are in the keychain)",
            plural(own_ids as u64)
        );
    }
    match report.findings.len() {
        0 => Ok(()),
        count => Err(ScanError::KeysFound { count }.into()),
    }
}

/// Remove the findings in awsx's own audit log that are key ids alone: it names each
/// enrolled break-glass key by id, by design, and their secrets are in the keychain. A
/// secret found there would still be reported. Returns how many were removed.
fn drop_own_audit_ids(report: &mut Report, audit_log: &std::path::Path) -> usize {
    let Ok(audit_log) = audit_log.canonicalize() else {
        return 0;
    };
    let before = report.findings.len();
    report.findings.retain(|finding| {
        let Location::File { path, .. } = &finding.location else {
            return true;
        };
        finding.has_secret
            || finding.key_id.is_none()
            || path.file_name() != audit_log.file_name()
            || path.canonicalize().ok().as_ref() != Some(&audit_log)
    });
    before - report.findings.len()
}

/// `path:line: AKIA…WXYZ (long-lived access key id, with secret)`.
fn write_text(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    for finding in &report.findings {
        match &finding.location {
            Location::Environment { variable } => write!(out, "env:{variable}: ")?,
            Location::File { path, line } => write!(out, "{}:{line}: ", path.display())?,
        }
        match &finding.key_id {
            Some(id) => {
                let secret = if finding.has_secret {
                    "with secret"
                } else {
                    "no secret nearby"
                };
                writeln!(out, "{id} ({}, {secret})", finding.kind.describe())?;
            }
            None => writeln!(out, "{} (no access key id nearby)", finding.kind.describe())?,
        }
    }
    Ok(())
}

/// The `--json` document. Its field names are a documented, stable interface (docs/scan.md).
#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    findings: Vec<JsonFinding<'a>>,
    files_scanned: u64,
    skipped_binary: u64,
    skipped_too_large: usize,
    unreadable: usize,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    source: &'static str,
    path: Option<String>,
    line: Option<usize>,
    variable: Option<&'a str>,
    kind: &'static str,
    key_id_redacted: Option<&'a str>,
    has_secret: bool,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(finding: &'a Finding) -> Self {
        let (source, path, line, variable) = match &finding.location {
            Location::Environment { variable } => {
                ("environment", None, None, Some(variable.as_str()))
            }
            Location::File { path, line } => (
                "file",
                Some(path.to_string_lossy().into_owned()),
                Some(*line),
                None,
            ),
        };
        JsonFinding {
            source,
            path,
            line,
            variable,
            kind: finding.kind.as_str(),
            key_id_redacted: finding.key_id.as_ref().map(|id| id.as_str()),
            has_secret: finding.has_secret,
        }
    }
}

fn write_json(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    let doc = JsonReport {
        version: 1,
        findings: report.findings.iter().map(JsonFinding::from).collect(),
        files_scanned: report.files_scanned,
        skipped_binary: report.skipped.binary,
        skipped_too_large: report.skipped.too_large.len(),
        unreadable: report.skipped.unreadable.len(),
    };
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)
}

/// One line on what was read and what was not, so a clean result can be judged; the lists
/// of skipped files with --verbose. The found-keys advice comes from the error in `main`.
fn summarize(ctx: &Context, report: &Report, max_filesize: u64) {
    let skipped = &report.skipped;
    let mut parts = vec![format!(
        "scanned {} file{}",
        report.files_scanned,
        plural(report.files_scanned)
    )];
    if skipped.binary > 0 {
        parts.push(format!(
            "skipped {} binary (--binary to search them)",
            skipped.binary
        ));
    }
    if !skipped.too_large.is_empty() {
        parts.push(format!(
            "skipped {} over {} (--max-filesize)",
            skipped.too_large.len(),
            human_size(max_filesize)
        ));
    }
    if !skipped.unreadable.is_empty() {
        parts.push(format!("{} unreadable", skipped.unreadable.len()));
    }
    let shown = if ctx.verbose {
        usize::MAX
    } else {
        UNREADABLE_SHOWN
    };
    for problem in skipped.unreadable.iter().take(shown) {
        eprintln!("awsx: warning: not scanned: {problem}");
    }
    if skipped.unreadable.len() > shown {
        eprintln!(
            "awsx: warning: … and {} more not scanned (--verbose lists them)",
            skipped.unreadable.len() - shown
        );
    }
    if ctx.verbose {
        for path in &skipped.too_large {
            eprintln!("awsx: skipped (too large): {}", path.display());
        }
    }
    let none = if report.findings.is_empty() {
        "no AWS access keys found; "
    } else {
        ""
    };
    eprintln!("awsx: {none}{}", parts.join(", "));
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}
