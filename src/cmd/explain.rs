//! `awsx explain [ERROR… | --last]`: read the error (arguments, stdin, or awsx's own last
//! failure), recognise it, and render `crate::explain`'s answer on stdout, as text or as
//! the `--json` document (schema in docs/explain.md).
use std::io::{IsTerminal, Read};

use time::OffsetDateTime;

use super::Context;
use crate::cli::ExplainArgs;
use crate::doctor::Status;
use crate::error::Result;
use crate::explain::record::FailureRecord;
use crate::explain::{self, ExplainError, Explanation, Kind, Subject};

/// More than any error message; a runaway pipe is cut here rather than read whole.
const MAX_INPUT: u64 = 1 << 20;

pub fn run(ctx: &Context, args: ExplainArgs) -> Result<()> {
    let env = &ctx.env;
    let flag = super::common::given_profile_name(ctx, args.profile.as_deref())?;
    let (text, last) = if args.last {
        let record = FailureRecord::load(env).ok_or_else(|| ExplainError::NothingRecorded {
            path: FailureRecord::path(env),
        })?;
        (record.error.clone(), Some(record))
    } else if !args.text.is_empty() {
        (args.text.join(" "), None)
    } else if !std::io::stdin().is_terminal() {
        let mut text = String::new();
        std::io::stdin()
            .take(MAX_INPUT)
            .read_to_string(&mut text)
            .map_err(|e| {
                crate::error::Error::Usage(format!("cannot read the error from stdin: {e}"))
            })?;
        (text, None)
    } else {
        (String::new(), None)
    };
    if text.trim().is_empty() {
        return Err(ExplainError::NothingGiven.into());
    }
    let message = match &last {
        Some(record) => explain::recognise_record(record),
        None => explain::parse(&text),
    };
    let Some(message) = message else {
        not_recognised(&args, last.as_ref())?;
        return Err(ExplainError::NotRecognised.into());
    };
    let subject = Subject::choose(
        env,
        flag,
        last.as_ref().and_then(|r| r.profile.as_deref()),
        &message,
    );
    let explanation = explain::explain(env, &message, &subject);
    if args.json {
        print_json(&Report {
            version: 1,
            explanation: Some(&explanation),
            error: None,
            recognised: None,
            last: last.as_ref(),
        })?;
    } else {
        print!("{}", render(&explanation, &subject, last.as_ref()));
    }
    Ok(())
}

/// The `--json` document: an explanation, or `"error":"unrecognised"` with the list of
/// what explain knows.
#[derive(serde::Serialize)]
struct Report<'a> {
    version: u32,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    explanation: Option<&'a Explanation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recognised: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last: Option<&'a FailureRecord>,
}

fn print_json(report: &Report) -> Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(report).map_err(std::io::Error::other)?
    );
    Ok(())
}

fn not_recognised(args: &ExplainArgs, last: Option<&FailureRecord>) -> Result<()> {
    if args.json {
        return print_json(&Report {
            version: 1,
            explanation: None,
            error: Some("unrecognised"),
            recognised: Some(Kind::ALL.iter().map(|k| k.as_str()).collect()),
            last,
        });
    }
    let mut out = String::new();
    if let Some(record) = last {
        out.push_str(&last_failure(record));
        out.push_str("awsx's own message above says what to do next.\n\n");
    }
    out.push_str("awsx explain does not recognise this error. It knows:\n");
    for kind in Kind::ALL {
        out.push_str(&format!("  - {}: {}\n", kind.title(), kind.example()));
    }
    print!("{out}");
    Ok(())
}

/// `The last failure awsx recorded: …` and its message.
fn last_failure(record: &FailureRecord) -> String {
    let when = record
        .at()
        .map(|at| format!("{}, {}", ago(OffsetDateTime::now_utc() - at), record.at))
        .unwrap_or_else(|| record.at.clone());
    format!(
        "The last failure awsx recorded: {} exited {} ({when}):\n    {}\n\n",
        record.command_line(),
        record.exit_code,
        record.error
    )
}

fn ago(elapsed: time::Duration) -> String {
    let secs = elapsed.whole_seconds().max(0);
    match secs {
        0..90 => format!("{secs} s ago"),
        90..5400 => format!("{} min ago", secs / 60),
        5400..172_800 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

fn mark(status: Status) -> &'static str {
    match status {
        Status::Ok => "✔",
        Status::Warn => "!",
        Status::Fail => "✖",
    }
}

fn render(e: &Explanation, subject: &Subject, last: Option<&FailureRecord>) -> String {
    let mut out = String::new();
    if let Some(record) = last {
        out.push_str(&last_failure(record));
    }
    out.push_str(&format!("{}\n    {}\n\n", e.error.title(), e.diagnosis));
    match &e.profile {
        Some(name) => out.push_str(&format!(
            "What awsx sees of profile {name} ({}):\n",
            subject.origin.describe()
        )),
        None => out.push_str("What awsx sees:\n"),
    }
    for check in &e.seen {
        out.push_str(&format!("  {} {}\n", mark(check.status), check.summary));
        if check.status != Status::Ok
            && let Some(fix) = &check.fix
        {
            out.push_str(&format!("      fix: {fix}\n"));
        }
    }
    out.push_str("\nCauses, in the order to check:\n");
    for (n, cause) in e.causes.iter().enumerate() {
        out.push_str(&format!(
            "{:>3}. {} {}\n       {}\n",
            n + 1,
            mark(cause.status),
            cause.title,
            cause.summary
        ));
        if cause.status != Status::Ok
            && let Some(fix) = &cause.fix
        {
            out.push_str(&format!("       fix: {fix}\n"));
        }
        if let Some(snippet) = &cause.snippet {
            for line in snippet.lines() {
                out.push_str(&format!("         {line}\n"));
            }
        }
    }
    out
}
