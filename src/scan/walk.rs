//! Reading files for the scan: a parallel tree walk with ripgrep's walker, or a fixed list.
//!
//! What the walk skips, and why:
//! - `.git` directories: objects are zlib-compressed, so a text search finds nothing there
//!   and only costs time (keys in history are a job for gitleaks or trufflehog).
//! - Binary files (a NUL byte in the first 64 KiB, ripgrep's test), unless `binary` is set.
//!   A file named on the command line is always searched, as ripgrep does.
//! - Files over `max_filesize`, counted and listed in the report.
//! - Symlinks, unless `follow_links`: a link into a big tree elsewhere would be scanned twice.
//!
//! `.gitignore` is NOT honoured by default: an ignored `.env` is exactly where keys hide, and a
//! key in an ignored file is still a key on the laptop. `respect_gitignore` trades that for
//! ripgrep's speed on trees full of ignored build output.
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ignore::{WalkBuilder, WalkState};

use super::{Finding, Location, ScanError, patterns};

/// The part of a file that decides whether it is binary: ripgrep's first read buffer.
const BINARY_PROBE: usize = 64 * 1024;
/// A thread's read buffer grows to the largest file it has read; past this it is given back.
const KEEP_BUFFER: usize = 4 * 1024 * 1024;

/// How to walk and what to read.
#[derive(Debug, Clone)]
pub struct Options {
    /// Honour `.gitignore`, `.git/info/exclude`, the global gitignore and `.ignore` as ripgrep does.
    pub respect_gitignore: bool,
    /// Follow symbolic links while walking.
    pub follow_links: bool,
    /// Search files that look binary too.
    pub binary: bool,
    /// Skip files larger than this many bytes.
    pub max_filesize: u64,
    /// Worker threads; 0 picks one per core (ripgrep's choice, capped at 12).
    pub threads: usize,
    /// Report AWS's documentation example keys (`…EXAMPLE`).
    pub include_examples: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            respect_gitignore: false,
            follow_links: false,
            binary: false,
            max_filesize: 64 * 1024 * 1024,
            threads: 0,
            include_examples: false,
        }
    }
}

/// What was not searched, so the user knows how complete a clean result is.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub binary: u64,
    pub too_large: Vec<PathBuf>,
    /// Files or directories that could not be read, as `path: reason`.
    pub unreadable: Vec<String>,
}

/// The result of a scan: findings sorted by location, and what was (not) read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub files_scanned: u64,
    pub skipped: Skipped,
}

impl Report {
    fn sort(&mut self) {
        self.findings.sort();
        self.findings.dedup();
        self.skipped.too_large.sort();
        self.skipped.unreadable.sort();
    }
}

/// Walk `roots` (files or directories) in parallel and search every file.
pub fn scan_tree(roots: &[PathBuf], options: &Options) -> Result<Report, ScanError> {
    let Some((first, rest)) = roots.split_first() else {
        return Ok(Report::default());
    };
    // A missing or unreadable root is a usage error (exit 2), not a warning: the user asked
    // for that path and would otherwise read "no keys found" as "that place is clean".
    for root in roots {
        if let Err(source) = std::fs::metadata(root) {
            return Err(match source.kind() {
                std::io::ErrorKind::NotFound => ScanError::PathNotFound { path: root.clone() },
                _ => ScanError::PathUnreadable {
                    path: root.clone(),
                    source,
                },
            });
        }
    }

    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    builder
        .standard_filters(options.respect_gitignore)
        // Dotfiles (.env, .aws, .npmrc …) are where keys live: never skip hidden files.
        .hidden(false)
        .follow_links(options.follow_links)
        .threads(options.threads)
        .filter_entry(|entry| {
            !(entry.file_name() == ".git" && entry.file_type().is_some_and(|t| t.is_dir()))
        });

    let shared = Shared::default();
    builder.build_parallel().run(|| {
        let shared = &shared;
        let mut buf = Vec::new();
        Box::new(move |result| {
            match result {
                Ok(entry) => {
                    if entry.file_type().is_some_and(|t| t.is_file()) {
                        // Files named on the command line are searched even if binary.
                        let binary = options.binary || entry.depth() == 0;
                        shared.scan_file(entry.path(), &mut buf, options, binary, true);
                    }
                }
                Err(err) => shared.unreadable(err.to_string()),
            }
            WalkState::Continue
        })
    });
    Ok(shared.into_report())
}

/// Search a fixed list of files (the home directory's usual suspects). Missing files are
/// skipped silently: the list names files that may or may not exist. These are known text
/// files, so they are searched even where a stray NUL would make them look binary.
pub fn scan_files(files: &[PathBuf], options: &Options) -> Report {
    let shared = Shared::default();
    let mut buf = Vec::new();
    for file in files {
        shared.scan_file(file, &mut buf, options, true, false);
    }
    shared.into_report()
}

#[derive(Default)]
struct Shared {
    findings: Mutex<Vec<Finding>>,
    files_scanned: AtomicU64,
    binary: AtomicU64,
    too_large: Mutex<Vec<PathBuf>>,
    unreadable: Mutex<Vec<String>>,
}

enum Outcome {
    Searched,
    Missing,
    NotAFile,
    Binary,
    TooLarge,
}

impl Shared {
    fn scan_file(
        &self,
        path: &Path,
        buf: &mut Vec<u8>,
        options: &Options,
        binary: bool,
        walked: bool,
    ) {
        match read_file(path, buf, options.max_filesize, binary, walked) {
            Ok(Outcome::Searched) => {
                self.files_scanned.fetch_add(1, Ordering::Relaxed);
                let hits = patterns::scan(buf, options.include_examples);
                if !hits.is_empty() {
                    let found = hits.into_iter().map(|hit| Finding {
                        location: Location::File {
                            path: path.to_path_buf(),
                            line: hit.line,
                        },
                        kind: hit.kind,
                        key_id: hit.key_id,
                        has_secret: hit.has_secret,
                    });
                    lock(&self.findings).extend(found);
                }
            }
            Ok(Outcome::Missing | Outcome::NotAFile) => {}
            Ok(Outcome::Binary) => {
                self.binary.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Outcome::TooLarge) => lock(&self.too_large).push(path.to_path_buf()),
            Err(err) => self.unreadable(format!("{}: {err}", path.display())),
        }
        // The buffer holds the file's contents, keys included: do not keep a large one around.
        buf.clear();
        if buf.capacity() > KEEP_BUFFER {
            *buf = Vec::new();
        }
    }

    fn unreadable(&self, message: String) {
        lock(&self.unreadable).push(message);
    }

    fn into_report(self) -> Report {
        let mut report = Report {
            findings: into_inner(self.findings),
            files_scanned: self.files_scanned.into_inner(),
            skipped: Skipped {
                binary: self.binary.into_inner(),
                too_large: into_inner(self.too_large),
                unreadable: into_inner(self.unreadable),
            },
        };
        report.sort();
        report
    }
}

/// Read a whole file into `buf`, deciding on the way whether to search it at all.
///
/// Most files in a tree are small, so the common path is open, one read, one read that
/// returns EOF, close: no stat. `walked` says the walker already knows this is a regular
/// file; otherwise (the home list) an fstat rules out FIFOs and devices, which could block.
/// A file that fills the first read is stat'ed before the rest is read, so a huge one is
/// skipped without reading it.
fn read_file(
    path: &Path,
    buf: &mut Vec<u8>,
    max_filesize: u64,
    binary: bool,
    walked: bool,
) -> std::io::Result<Outcome> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Outcome::Missing),
        Err(err) => return Err(err),
    };
    if !walked && !file.metadata()?.is_file() {
        return Ok(Outcome::NotAFile);
    }
    buf.clear();
    let probe = max_filesize.saturating_add(1).min(BINARY_PROBE as u64);
    // One byte more than the probe so that read_to_end sees EOF without growing the buffer.
    buf.reserve(BINARY_PROBE + 1);
    (&file).take(probe).read_to_end(buf)?;
    if buf.len() as u64 > max_filesize {
        return Ok(Outcome::TooLarge);
    }
    if !binary && memchr::memchr(0, buf).is_some() {
        return Ok(Outcome::Binary);
    }
    if buf.len() as u64 == probe {
        let len = file.metadata()?.len();
        if len > max_filesize {
            return Ok(Outcome::TooLarge);
        }
        buf.reserve(usize::try_from(len).unwrap_or(0).saturating_sub(buf.len()) + 1);
        // The file may have grown since the stat: still stop at the cap.
        let remaining = (max_filesize + 1).saturating_sub(buf.len() as u64);
        (&file).take(remaining).read_to_end(buf)?;
        if buf.len() as u64 > max_filesize {
            return Ok(Outcome::TooLarge);
        }
    }
    Ok(Outcome::Searched)
}

/// A poisoned lock only means another worker panicked; its data is still a plain list.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn into_inner<T>(mutex: Mutex<T>) -> T {
    mutex
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
