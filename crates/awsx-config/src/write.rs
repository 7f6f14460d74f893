//! Replacing a file so that a crash, a full disk or a concurrent editor never leaves it
//! half-written or silently overwritten: temp file in the same directory, fsync, rename,
//! fsync the directory, under a lock that serialises awsx processes.
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{Error, Result};

/// What a file held when it was read: `save` refuses to replace a file that no longer
/// matches (someone else edited it meanwhile), rather than clobber their change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    contents: Option<(u64, u64)>,
}

impl Snapshot {
    /// `None` for a file that did not exist.
    pub fn of(bytes: Option<&[u8]>) -> Self {
        Snapshot {
            contents: bytes.map(|b| (b.len() as u64, digest(b))),
        }
    }

    /// Read `path` now.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        match std::fs::read(path) {
            Ok(b) => Ok(Snapshot::of(Some(&b))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Snapshot::of(None)),
            Err(e) => Err(e),
        }
    }

    /// Would writing `bytes` change nothing? (A missing file equals an empty one here.)
    pub fn matches(&self, bytes: &[u8]) -> bool {
        match self.contents {
            Some(c) => c == (bytes.len() as u64, digest(bytes)),
            None => bytes.is_empty(),
        }
    }
}

/// Not cryptographic: it only has to notice an edit between our read and our write.
fn digest(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Replace `path` with `contents` atomically. A symlinked `path` (dotfile managers link
/// `~/.aws/config`) is followed: the target is replaced and the link stays. The file keeps
/// its permissions, owner and group; a new file gets 0600 (it may name accounts and roles).
///
/// With `expected`, the write happens only if the file still holds what was read, and is a
/// no-op if it already holds `contents` (two identical edits racing both succeed);
/// otherwise [`Error::Changed`]. awsx processes take a lock on the file's directory for the
/// check and the rename, so two of them cannot both pass the check and lose one's edit.
///
/// A file the user made read-only, or one with other hard links (which a rename would
/// split from it), is refused rather than replaced. On any failure the original is untouched.
pub fn atomic_write(path: &Path, contents: &[u8], expected: Option<&Snapshot>) -> Result<()> {
    let write_err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let target = follow_symlinks(path).map_err(write_err)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&dir).map_err(write_err)?;
    let lock = lock_dir(&dir);
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{file_name}.awsx-");
    if lock.is_some() {
        // Every temp file of ours is created and renamed under this lock, so one that is
        // here now was left by a writer that died (kill -9, power loss).
        remove_stale_temp_files(&dir, &prefix);
    }
    // The file as it is now, held open: an editor that writes into it in place (`>>`,
    // most editors' save) writes into this inode, which stays readable after the rename.
    let original = match std::fs::File::open(&target) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(write_err(e)),
    };
    if let Some(expected) = expected {
        let now = current(&target, original.as_ref()).map_err(write_err)?;
        if now.matches(contents) {
            return Ok(());
        }
        if now != *expected {
            return Err(Error::Changed {
                path: path.to_owned(),
            });
        }
    }
    let existing = match &original {
        Some(f) => Some(f.metadata().map_err(write_err)?),
        None => None,
    };
    if let Some(metadata) = existing.as_ref().filter(|m| m.is_file()) {
        refuse_unreplaceable(path, metadata)?;
    }
    // Same directory, so the rename cannot cross file systems; dropped (deleted) on error.
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(write_err)?;
    tmp.write_all(contents).map_err(write_err)?;
    if let Some(metadata) = &existing {
        // tempfile creates 0600 files, which is already right for a new file.
        tmp.as_file()
            .set_permissions(metadata.permissions())
            .map_err(write_err)?;
        keep_owner(tmp.as_file(), metadata).map_err(write_err)?;
    }
    tmp.as_file().sync_all().map_err(write_err)?;
    // Writing and syncing a big file takes a while, and an editor does not take our lock:
    // look again, as late as possible before the rename.
    if let Some(expected) = expected
        && current(&target, original.as_ref()).map_err(write_err)? != *expected
    {
        return Err(Error::Changed {
            path: path.to_owned(),
        });
    }
    tmp.persist(&target).map_err(|e| write_err(e.error))?;
    // Make the rename itself durable. The new file is in place by now, so a failure here
    // cannot be reported as "unchanged"; it is also practically unheard of: ignore it.
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    // What remains is the instant between that last look and the rename: an edit made
    // then went into the replaced inode. Compare and swap: if the old inode no longer
    // holds what was read, put the edited text back and report, so no edit is lost.
    if let (Some(expected), Some(original)) = (expected, original.as_ref()) {
        let (after, bytes) = read_handle(original).map_err(write_err)?;
        if after != *expected {
            tracing::debug!(path = %path.display(), "an edit landed during the rename; restoring it");
            drop(lock);
            restore(&target, &bytes, contents).map_err(write_err)?;
            return Err(Error::Changed {
                path: path.to_owned(),
            });
        }
    }
    Ok(())
}

/// What `target` holds now: through `original` (the inode read first) while `target`
/// still names it, else through the path (an editor replaced the file by a rename).
fn current(target: &Path, original: Option<&std::fs::File>) -> std::io::Result<Snapshot> {
    match original {
        Some(file) if same_file(target, file)? => Ok(read_handle(file)?.0),
        _ => Snapshot::read(target),
    }
}

/// Does `path` still name the inode `file` has open?
fn same_file(path: &Path, file: &std::fs::File) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (a, b) = match std::fs::metadata(path) {
            Ok(m) => (m, file.metadata()?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        Ok((a.dev(), a.ino()) == (b.dev(), b.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, file);
        Ok(false)
    }
}

/// The whole contents of an open file, from its start.
fn read_handle(file: &std::fs::File) -> std::io::Result<(Snapshot, Vec<u8>)> {
    use std::io::{Read as _, Seek as _};
    let mut file = file;
    file.seek(std::io::SeekFrom::Start(0))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok((Snapshot::of(Some(&bytes)), bytes))
}

/// Put `edited` (the text an editor wrote while we renamed) back in place of `ours`,
/// unless someone has replaced `ours` meanwhile too.
fn restore(target: &Path, edited: &[u8], ours: &[u8]) -> std::io::Result<()> {
    match atomic_write(target, edited, Some(&Snapshot::of(Some(ours)))) {
        Ok(()) | Err(Error::Changed { .. }) => Ok(()),
        Err(Error::Write { source, .. }) => Err(source),
        Err(other) => Err(std::io::Error::other(other.to_string())),
    }
}

/// How old a temp file of ours must be before it counts as left behind. Ours are created
/// and renamed under the directory lock, so any is stale; the age only guards a writer
/// that could not take the lock (a file system without locks).
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Delete `{prefix}*.tmp` regular files of this user older than [`STALE_TEMP_AGE`]:
/// what a killed awsx left (a copy of the config, mode 0600). Nothing else is touched.
fn remove_stale_temp_files(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    // Only this user's: the owner of /proc/self is this process's user.
    #[cfg(unix)]
    let me = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").map(|m| m.uid()).ok()
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !(name.starts_with(prefix) && name.ends_with(".tmp")) {
            continue;
        }
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if me != Some(meta.uid()) {
                continue;
            }
        }
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= STALE_TEMP_AGE);
        if meta.is_file() && old {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::debug!(file = name, "removed a temp file a killed awsx left"),
                Err(e) => tracing::debug!(file = name, error = %e, "stale temp file not removed"),
            }
        }
    }
}

/// Refuse what a rename would silently change beyond the contents.
fn refuse_unreplaceable(path: &Path, metadata: &std::fs::Metadata) -> Result<()> {
    let refuse = |reason: String| {
        Err(Error::Unreplaceable {
            path: path.to_owned(),
            reason,
        })
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if metadata.mode() & 0o200 == 0 {
            return refuse(format!(
                "it is read-only (mode {:04o}); if awsx may change it, run chmod u+w {}",
                metadata.mode() & 0o7777,
                path.display()
            ));
        }
        if metadata.nlink() > 1 {
            return refuse(format!(
                "it has {} hard links, and awsx replaces files by renaming, which would leave the other links with the old text; replace the links with symlinks (ln -sf), which awsx follows",
                metadata.nlink()
            ));
        }
    }
    #[cfg(not(unix))]
    if metadata.permissions().readonly() {
        return refuse(
            "it is read-only; clear its read-only attribute if awsx may change it".to_owned(),
        );
    }
    Ok(())
}

/// Give the replacement the original's owner and group (it matters when root edits a
/// user's file, e.g. under sudo). A no-op when they already match, as they usually do.
#[cfg(unix)]
fn keep_owner(file: &std::fs::File, original: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let new = file.metadata()?;
    if (new.uid(), new.gid()) == (original.uid(), original.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(original.uid()), Some(original.gid()))
}

#[cfg(not(unix))]
fn keep_owner(_: &std::fs::File, _: &std::fs::Metadata) -> std::io::Result<()> {
    Ok(())
}

/// An exclusive lock on `dir`, held until dropped, shared by every awsx process writing a
/// file in it. A directory's inode survives the renames that replace the files in it, which
/// a lock on the file itself would not. Best effort: without one (a directory that cannot
/// be opened, Windows) the snapshot check still catches all but a same-millisecond race.
fn lock_dir(dir: &Path) -> Option<std::fs::File> {
    #[cfg(unix)]
    {
        let handle = std::fs::File::open(dir).ok()?;
        // Held only for a check and a rename, so waiting without a timeout is safe; the
        // kernel releases it if the holder dies.
        match handle.lock() {
            Ok(()) => Some(handle),
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "no lock on the directory");
                None
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// The file a chain of symlinks ends at (which may not exist yet).
fn follow_symlinks(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_the_file_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "old").unwrap();
        atomic_write(&path, b"new", None).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_private_and_existing_files_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("sub").join("config");
        atomic_write(&new, b"x", None).unwrap();
        assert_eq!(
            std::fs::metadata(&new).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let old = dir.path().join("credentials");
        std::fs::write(&old, "x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o640)).unwrap();
        atomic_write(&old, b"y", None).unwrap();
        assert_eq!(
            std::fs::metadata(&old).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_config_keeps_its_link_and_the_target_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dotfiles")).unwrap();
        let target = dir.path().join("dotfiles").join("aws-config");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("config");
        std::os::unix::fs::symlink("dotfiles/aws-config", &link).unwrap();
        atomic_write(&link, b"new", None).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn refuses_to_overwrite_a_file_changed_since_it_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "as read").unwrap();
        let snap = Snapshot::read(&path).unwrap();
        std::fs::write(&path, "someone else's edit").unwrap();
        let err = atomic_write(&path, b"ours", Some(&snap)).unwrap_err();
        assert!(matches!(err, Error::Changed { .. }), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "someone else's edit"
        );
        let absent = Snapshot::of(None);
        assert!(matches!(
            atomic_write(&path, b"ours", Some(&absent)),
            Err(Error::Changed { .. })
        ));
    }

    #[test]
    fn racing_writers_never_lose_an_edit_and_identical_ones_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "original").unwrap();
        let snap = Snapshot::read(&path).unwrap();
        let outcomes: Vec<bool> = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..8)
                .map(|i| {
                    let (path, snap) = (&path, &snap);
                    scope.spawn(move || {
                        atomic_write(path, format!("edit {i}").as_bytes(), Some(snap)).is_ok()
                    })
                })
                .collect();
            writers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        // Exactly one edit landed, and the file holds it; the rest were told.
        let winner = outcomes.iter().position(|&ok| ok).unwrap();
        assert_eq!(outcomes.iter().filter(|&&ok| ok).count(), 1, "{outcomes:?}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("edit {winner}")
        );

        let snap = Snapshot::read(&path).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| atomic_write(&path, b"same edit", Some(&snap)).unwrap());
            }
        });
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "same edit");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// An editor (which takes no lock of ours) appends to the file the moment our temp
    /// file appears, i.e. after the first check: its line must survive every round,
    /// whether our write then lands (the line is appended to it) or is refused.
    #[test]
    fn an_editor_appending_while_the_temp_file_is_written_never_loses_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        // ~300 KB, the size of a config with thousands of synced profiles.
        let big: String = (0..6_000)
            .map(|i| format!("[profile p{i}]\nregion = eu-west-1\n"))
            .collect();
        let (mut refused, mut landed) = (0, 0);
        for round in 0..20 {
            std::fs::write(&path, &big).unwrap();
            let snap = Snapshot::read(&path).unwrap();
            let ours = format!("{big}# our edit {round}\n");
            let marker = format!("# editor {round}\n");
            let done = std::sync::atomic::AtomicBool::new(false);
            let outcome = std::thread::scope(|scope| {
                let editor = scope.spawn(|| {
                    let prefix = ".config.awsx-";
                    // Wait for our temp file to appear (or the write to be over).
                    while !done.load(std::sync::atomic::Ordering::SeqCst) {
                        let seen = std::fs::read_dir(dir.path())
                            .unwrap()
                            .flatten()
                            .any(|e| e.file_name().to_string_lossy().starts_with(prefix));
                        if seen {
                            break;
                        }
                    }
                    let mut f = std::fs::OpenOptions::new()
                        .append(true)
                        .open(&path)
                        .unwrap();
                    f.write_all(marker.as_bytes()).unwrap();
                });
                let outcome = atomic_write(&path, ours.as_bytes(), Some(&snap));
                done.store(true, std::sync::atomic::Ordering::SeqCst);
                editor.join().unwrap();
                outcome
            });
            let now = std::fs::read_to_string(&path).unwrap();
            assert!(
                now.ends_with(&marker),
                "round {round}: the editor's line was lost ({outcome:?})"
            );
            match outcome {
                Ok(()) => {
                    assert!(now.starts_with(&ours), "round {round}");
                    landed += 1;
                }
                Err(Error::Changed { .. }) => {
                    assert_eq!(now, format!("{big}{marker}"), "round {round}");
                    refused += 1;
                }
                Err(e) => panic!("round {round}: {e}"),
            }
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .collect();
            assert_eq!(left.len(), 1, "round {round}: {left:?}");
        }
        assert_eq!(refused + landed, 20);
    }

    #[cfg(unix)]
    #[test]
    fn temp_files_a_killed_awsx_left_are_removed_at_the_next_write_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "old").unwrap();
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let file = |name: &str, old: bool| {
            let p = dir.path().join(name);
            let f = std::fs::File::create(&p).unwrap();
            if old {
                f.set_modified(long_ago).unwrap();
            }
            p
        };
        let stale = file(".config.awsx-AbC123.tmp", true);
        let fresh = file(".config.awsx-XyZ789.tmp", false);
        let other_file = file(".credentials.awsx-AbC123.tmp", true);
        let not_ours = file(".config.vim-AbC123.tmp", true);
        let not_tmp = file(".config.awsx-AbC123.bak", true);
        atomic_write(&path, b"new", None).unwrap();
        assert!(!stale.exists());
        for kept in [&fresh, &other_file, &not_ours, &not_tmp] {
            assert!(kept.exists(), "{}", kept.display());
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }

    #[cfg(unix)]
    #[test]
    fn read_only_and_hard_linked_files_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "mine").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let err = atomic_write(&path, b"new", None).unwrap_err();
        assert!(err.to_string().contains("chmod u+w"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("backup");
        std::fs::hard_link(&path, &link).unwrap();
        let err = atomic_write(&path, b"new", None).unwrap_err();
        assert!(err.to_string().contains("2 hard links"), "{err}");
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "mine");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    /// Root (CI runs as root) can hand the file to another user, as `sudo awsx` would meet
    /// it; anyone else can check only that their own ownership stays.
    #[cfg(unix)]
    #[test]
    fn the_owner_and_group_are_kept() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "old").unwrap();
        let _ = std::os::unix::fs::chown(&path, Some(4321), Some(4321));
        let before = std::fs::metadata(&path).unwrap();
        atomic_write(&path, b"new", None).unwrap();
        let after = std::fs::metadata(&path).unwrap();
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        assert_ne!(after.ino(), before.ino(), "replaced, not edited in place");
    }

    #[test]
    fn a_failed_rename_leaves_the_original_and_no_temp_file() {
        // Renaming a file over a non-empty directory fails, even for root.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), "original").unwrap();
        let result = atomic_write(&path, b"new", None);
        assert!(matches!(result, Err(Error::Write { .. })), "{result:?}");
        assert_eq!(
            std::fs::read_to_string(path.join("keep")).unwrap(),
            "original"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
