//! The AWS config and credentials files: a lossless reader/editor (`document`, `edit`,
//! `write`), typed views of profiles and sso-sessions (`profile`, `session`) and the
//! `credential-process` hot path (`fast`, and `cache` for big files).
//!
//! Reading follows the AWS SDKs' rules, their shared profile-parser suite (see `lex`): a
//! file they refuse (an unclosed header, a line without `=`, a stray indented line, a BOM…)
//! is refused by every command with exit 2, naming the line and the fix, and never edited.
//! What they accept is read as they read it (repeated sections merge, the last value wins;
//! the AWS CLI v1 refuses those, which the document reports as warnings).
//!
//! Also the files of awsx's own: its settings (`settings`, config.toml), the profile-use
//! history (`history`), and the static-key migration plan (`migrate`), with `diff` for
//! showing an edit before it is made. Nothing here talks to a keychain or the network.
#![forbid(unsafe_code)]
pub mod cache;
pub mod document;
pub mod edit;
pub mod fast;
pub mod lex;
pub mod mask;
pub mod profile;
pub mod session;
pub mod suggest;
pub mod write;

pub mod diff;
pub mod history;
pub mod migrate;
pub mod settings;

use std::path::{Path, PathBuf};

use awsx_core::env::Env;
use awsx_core::exit::{ExitCode, HasExitCode};

pub use cache::find_awsx_profile_cached;
pub use document::{Document, Entry, Flavor, Section, Warning};
pub use edit::{MANAGED_BEGIN, MANAGED_END};
pub use fast::find_awsx_profile;
pub use profile::{AwsxProfile, BreakGlassProfile, ConsoleProfile, Profile, SsoProfile};
pub use session::SsoSession;
pub use suggest::suggest;
pub use write::{Snapshot, atomic_write};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{} is {what}, not a regular file; AWS tools read only a regular file there: replace it with one (or point {var} elsewhere)", path.display())]
    NotRegular {
        path: PathBuf,
        what: &'static str,
        var: &'static str,
    },

    #[error("{} is {size} bytes, more than the {limit} bytes (16 MiB) awsx reads; an AWS config this big is almost certainly not one: check what the file is", path.display(), limit = MAX_FILE_BYTES)]
    TooLarge { path: PathBuf, size: u64 },

    #[error("{} (line {line}): {problem}, which makes the AWS SDKs and CLI refuse the whole file, so awsx neither reads nor edits it; {fix}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        problem: &'static str,
        fix: &'static str,
    },

    #[error("{} (line {line}) is not valid UTF-8; save it as UTF-8", path.display())]
    NotUtf8 { path: PathBuf, line: usize },

    #[error("{} (line {line}) ends a line with a bare carriage return (classic Mac OS line endings), which awsx would read and edit as one long line; save it with LF (Unix) or CRLF (Windows) line endings", path.display())]
    BareCarriageReturn { path: PathBuf, line: usize },

    #[error("profile {name} is not in {}{}; run awsx sync, or awsx use to pick one", path.display(), did_you_mean(.suggestions))]
    ProfileNotFound {
        name: String,
        path: PathBuf,
        suggestions: Vec<String>,
    },

    #[error("profile {name} in {} (line {line}) is not an awsx profile (no awsx_sso_session or awsx_breakglass_role_arn); run awsx sync or add those keys", path.display())]
    NotAwsx {
        name: String,
        path: PathBuf,
        line: usize,
    },

    #[error("{section} in {} (line {line}) has no {key}; {fix}", path.display())]
    MissingKey {
        section: String,
        path: PathBuf,
        line: usize,
        key: &'static str,
        fix: &'static str,
    },

    #[error(transparent)]
    InvalidKey(Box<InvalidKey>),

    #[error("{section} appears twice in {} (lines {first} and {second}), which the AWS CLI refuses; merge the two sections", path.display())]
    DuplicateSection {
        section: String,
        path: PathBuf,
        first: usize,
        second: usize,
    },

    #[error("{section} in {} sets {key} twice (lines {first} and {second}), which the AWS CLI refuses; keep one", path.display())]
    DuplicateKey {
        section: String,
        path: PathBuf,
        key: String,
        first: usize,
        second: usize,
    },

    #[error("profile {profile} in {} (line {line}) uses sso-session {name}, but there is no [sso-session {name}] section; run awsx configure or add it", path.display())]
    SsoSessionNotFound {
        name: String,
        profile: String,
        path: PathBuf,
        line: usize,
    },

    #[error("{} (line {line}): {problem}", path.display())]
    ManagedBlock {
        path: PathBuf,
        line: usize,
        problem: String,
    },

    #[error("{section} is inside the block awsx sync manages in {} (line {line}); {fix}", path.display())]
    InsideManagedBlock {
        section: String,
        path: PathBuf,
        line: usize,
        fix: &'static str,
    },

    #[error("{} changed on disk since awsx read it; nothing was written: run the command again", path.display())]
    Changed { path: PathBuf },

    #[error("awsx will not replace {}: {reason}; nothing was written", path.display())]
    Unreplaceable { path: PathBuf, reason: String },

    #[error("cannot write {}: {source}; the original file is unchanged", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("invalid edit of {}: {reason}", path.display())]
    InvalidEdit { path: PathBuf, reason: String },
}

/// A key with a value awsx cannot use (boxed: it is the largest error).
#[derive(Debug, thiserror::Error)]
#[error("{section} in {} (line {line}): {key} = {value:?} is not valid: {reason}; correct it", path.display())]
pub struct InvalidKey {
    pub section: String,
    pub path: PathBuf,
    pub line: usize,
    pub key: String,
    pub value: String,
    pub reason: String,
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean {one}?)"),
        many => format!(" (did you mean one of {}?)", many.join(", ")),
    }
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Read { .. } | Error::Write { .. } | Error::Changed { .. } => ExitCode::Failure,
            _ => ExitCode::Usage,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One of the two AWS files as read from disk, ready to query, edit and save.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    doc: Document,
    /// What was on disk when we read it, so `save` refuses to clobber someone else's edit.
    snapshot: Snapshot,
}

impl ConfigFile {
    /// `AWS_CONFIG_FILE` or `~/.aws/config`.
    pub fn load_config(env: &Env) -> Result<Self> {
        Self::load(&env.aws_config_file(), Flavor::Config)
    }

    /// `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.
    pub fn load_credentials(env: &Env) -> Result<Self> {
        Self::load(&env.aws_credentials_file(), Flavor::Credentials)
    }

    /// Read `path`; a missing file is an empty document (the first save creates it).
    pub fn load(path: &Path, flavor: Flavor) -> Result<Self> {
        let (text, snapshot) = read_text(path)?;
        Ok(ConfigFile {
            doc: Document::parse(text, flavor, path),
            snapshot,
        })
    }

    pub fn path(&self) -> &Path {
        self.doc.path()
    }

    pub fn doc(&self) -> &Document {
        &self.doc
    }

    /// For edits (see `edit.rs`); nothing reaches the disk before `save`.
    pub fn doc_mut(&mut self) -> &mut Document {
        &mut self.doc
    }

    /// Write the edited document atomically, unless the file changed on disk since it was
    /// read. Writes nothing when there was no edit.
    pub fn save(&mut self) -> Result<()> {
        let bytes = self.doc.render().as_bytes();
        if self.snapshot.matches(bytes) {
            return Ok(());
        }
        atomic_write(self.doc.path(), bytes, Some(&self.snapshot))?;
        self.snapshot = Snapshot::of(Some(bytes));
        Ok(())
    }
}

/// The largest config or credentials file awsx reads (documented in the README). The
/// biggest real configs (tens of thousands of synced profiles) are a few megabytes.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The file as UTF-8 text (empty when missing) and a snapshot of what was read.
pub(crate) fn read_text(path: &Path) -> Result<(String, Snapshot)> {
    let Some(bytes) = read_bounded(path)? else {
        return Ok((String::new(), Snapshot::of(None)));
    };
    let snapshot = Snapshot::of(Some(&bytes));
    Ok((utf8(path, bytes)?, snapshot))
}

/// The bytes of the regular file at `path` (symlinks followed), `None` when it does not
/// exist. Anything else is refused before it is opened or read whole: a FIFO would block
/// forever, `/dev/zero` never ends, a directory is a mistake, and a file over
/// [`MAX_FILE_BYTES`] is not an AWS config.
pub(crate) fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let read_err = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let check = |meta: &std::fs::Metadata| -> Result<()> {
        if !meta.is_file() {
            return Err(Error::NotRegular {
                path: path.to_owned(),
                what: file_kind(meta),
                var: if path.file_name().is_some_and(|n| n == "credentials") {
                    "AWS_SHARED_CREDENTIALS_FILE"
                } else {
                    "AWS_CONFIG_FILE"
                },
            });
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(Error::TooLarge {
                path: path.to_owned(),
                size: meta.len(),
            });
        }
        Ok(())
    };
    // stat before open: opening a FIFO for reading blocks until a writer comes.
    match std::fs::metadata(path) {
        Ok(meta) => check(&meta)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(e)),
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(e)),
    };
    // The same checks on what was opened (it may have been swapped since the stat).
    check(&file.metadata().map_err(read_err)?)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
        });
    }
    Ok(Some(bytes))
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// `bytes` read from `path` as text, or which line is not UTF-8, ends in a bare CR, or
/// breaks the SDKs' grammar (the file is then refused whole, as the SDKs refuse it).
pub(crate) fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String> {
    // botocore reads a lone `\r` as a line end (Python's universal newlines); the lexer
    // does not, and an edit of such a file could join or split lines botocore sees.
    // Searching for one byte is a memchr, so the hot path pays next to nothing.
    let text = decode(path, bytes)?;
    let bytes = text.as_bytes();
    if let Some(at) = text
        .match_indices('\r')
        .map(|(at, _)| at)
        .find(|&at| bytes.get(at + 1) != Some(&b'\n'))
    {
        return Err(Error::BareCarriageReturn {
            path: path.to_owned(),
            line: 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count(),
        });
    }
    if let Some((line, why)) = lex::first_error(&text) {
        return Err(Error::Syntax {
            path: path.to_owned(),
            line,
            problem: why.explain(),
            fix: why.fix(),
        });
    }
    Ok(text)
}

fn decode(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::NotUtf8 {
            path: path.to_owned(),
            line,
        }
    })
}
