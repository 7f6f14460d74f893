//! Unified line diffs for the `--dry-run` of commands that rewrite a file (`sync`,
//! `migrate`), with each shown line passed through a filter (masking secrets).
//!
//! Myers only, through `similar`'s algorithm module: the files are small, and linking one
//! algorithm instead of `TextDiff`'s three keeps ~200 KB out of the binary.
use std::fmt::Write;

use similar::algorithms::{Capture, Compact, Replace, myers};
use similar::{ChangeTag, DiffOp, group_diff_ops};

/// Lines of context around each change.
pub const CONTEXT: usize = 3;

/// `old` → `new` as a unified diff with `--- from` / `+++ to` headers and `@@` hunks.
/// `show` turns each line (with its line ending) into the text printed after the `-`, `+`
/// or ` `; a CRLF ending is printed as a visible `\r`. Empty when nothing changed.
pub fn unified(
    old: &str,
    new: &str,
    from: &str,
    to: &str,
    show: impl Fn(&str) -> String,
) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let mut hook = Compact::new(Replace::new(Capture::default()), &a, &b);
    // Infallible: Capture's error type is `Infallible` (and diff() calls finish() itself).
    let _ = myers::diff(&mut hook, &a, 0..a.len(), &b, 0..b.len());
    let ops = hook.into_inner().into_inner().into_ops();
    let groups = group_diff_ops(ops, CONTEXT);
    if groups.is_empty() {
        return String::new();
    }
    let mut out = format!("--- {from}\n+++ {to}\n");
    for group in &groups {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let _ = writeln!(
            out,
            "@@ -{} +{} @@",
            hunk_range(&old_range),
            hunk_range(&new_range)
        );
        for op in group {
            for (tag, line) in changes(op, &a, &b) {
                let sign = match tag {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                };
                out.push(sign);
                out.push_str(&visible(&show(line)));
                out.push('\n');
            }
        }
    }
    out
}

/// The lines one op covers, deletions before insertions.
fn changes<'a>(op: &DiffOp, a: &[&'a str], b: &[&'a str]) -> Vec<(ChangeTag, &'a str)> {
    let deleted = a[op.old_range()].iter().map(|l| (ChangeTag::Delete, *l));
    let inserted = b[op.new_range()].iter().map(|l| (ChangeTag::Insert, *l));
    match op {
        DiffOp::Equal { .. } => a[op.old_range()]
            .iter()
            .map(|l| (ChangeTag::Equal, *l))
            .collect(),
        DiffOp::Delete { .. } => deleted.collect(),
        DiffOp::Insert { .. } => inserted.collect(),
        DiffOp::Replace { .. } => deleted.chain(inserted).collect(),
    }
}

/// `start,len` with 1-based lines, as diff(1) writes it (`start` is the line before an
/// empty range).
fn hunk_range(range: &std::ops::Range<usize>) -> String {
    let len = range.end - range.start;
    let start = if len == 0 {
        range.start
    } else {
        range.start + 1
    };
    format!("{start},{len}")
}

/// A line without its `\n`, a CRLF's `\r` shown as `\r`.
fn visible(line: &str) -> String {
    let line = line.strip_suffix('\n').unwrap_or(line);
    match line.strip_suffix('\r') {
        Some(s) => format!("{s}\\r"),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(old: &str, new: &str) -> String {
        unified(old, new, "a", "b", str::to_owned)
    }

    #[test]
    fn nothing_changed_is_empty() {
        assert_eq!(plain("x\ny\n", "x\ny\n"), "");
    }

    #[test]
    fn hunks_have_context_and_diff_style_ranges() {
        let old: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let new = old.replace("10\n", "ten\n");
        assert_eq!(
            plain(&old, &new),
            "--- a\n+++ b\n@@ -7,7 +7,7 @@\n 7\n 8\n 9\n-10\n+ten\n 11\n 12\n 13\n"
        );
        // Two changes far apart make two hunks; appending to an empty file starts at 0.
        let new = old.replace("2\n", "two\n").replace("19\n", "nineteen\n");
        assert_eq!(plain(&old, &new).matches("@@ -").count(), 2);
        assert_eq!(plain("", "x\n"), "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n");
    }

    #[test]
    fn lines_go_through_the_filter_and_crlf_is_visible() {
        let diff = unified("k = secret\r\n", "", "a", "b", |_| {
            "k = ****\r\n".to_owned()
        });
        assert_eq!(diff, "--- a\n+++ b\n@@ -1,1 +0,0 @@\n-k = ****\\r\n");
    }
}
