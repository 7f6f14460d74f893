//! The `credential-process` hot path with a big config: remember how a profile resolved,
//! next to a stamp of the config file it came from, so that a call does not re-read and
//! re-scan hundreds of kilobytes of synced profiles to find the same answer again.
//!
//! The stamp is the file's device, inode, size, mtime and ctime. ctime cannot be set by
//! `touch`, `cp -p` or `rsync -t`; every write, rename into place or chmod moves it to the
//! current time. What remains is the racy case git's index knows: two writes within one
//! timestamp tick leave the same stamp. So, as git does, an entry is only written for a file
//! whose ctime is at least [`SETTLED`] in the past: any later write then gets a newer ctime.
//!
//! The cache holds names, ids and URLs, never a secret; it is only a shortcut, so every
//! failure to read or write it falls back to reading the config.
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::Result;
use super::fast::find_awsx_profile;
use super::profile::AwsxProfile;
use awsx_core::types::ProfileName;

/// Below this size reading the config is as cheap as reading a cache entry (one small file
/// either way; measured with bench/credential-process.sh), so small configs are not cached.
pub const CACHE_FROM_BYTES: u64 = 64 * 1024;

/// How old a config's last change must be before a resolution of it is remembered.
const SETTLED: Duration = Duration::from_secs(2);

/// Changes whenever the entry's layout or the resolution rules change (2: the SDKs' grammar).
const VERSION: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        Some(Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        })
    }

    /// No ctime off Unix: nothing is cached there.
    #[cfg(not(unix))]
    fn of(_meta: &std::fs::Metadata) -> Option<Stamp> {
        None
    }

    fn settled(&self, now: SystemTime) -> bool {
        let now_ns = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        now_ns - self.ctime_ns >= SETTLED.as_nanos() as i128
    }
}

#[derive(Serialize, Deserialize)]
struct Entry {
    version: u32,
    config: PathBuf,
    stamp: Stamp,
    profile: AwsxProfile,
}

/// [`find_awsx_profile`], through the cache in `cache_dir` when the config is big.
pub fn find_awsx_profile_cached(
    cache_dir: &Path,
    config: &Path,
    name: &ProfileName,
) -> Result<AwsxProfile> {
    find_at(cache_dir, config, name, SystemTime::now())
}

fn find_at(
    cache_dir: &Path,
    config: &Path,
    name: &ProfileName,
    now: SystemTime,
) -> Result<AwsxProfile> {
    let stamp = match std::fs::metadata(config) {
        Ok(meta) if meta.len() >= CACHE_FROM_BYTES => Stamp::of(&meta),
        _ => None,
    };
    let Some(stamp) = stamp else {
        return find_awsx_profile(config, name);
    };
    let path = entry_path(cache_dir, config, name);
    if let Some(profile) = read_entry(&path, config, &stamp, name) {
        return Ok(profile);
    }
    let profile = find_awsx_profile(config, name)?;
    // Remember it only if the file did not change while it was read, and changed long
    // enough ago that a later change cannot keep this stamp.
    let unchanged = std::fs::metadata(config)
        .ok()
        .and_then(|m| Stamp::of(&m))
        .is_some_and(|now| now == stamp);
    if unchanged && stamp.settled(now) {
        let entry = Entry {
            version: VERSION,
            config: config.to_owned(),
            stamp,
            profile: profile.clone(),
        };
        if let Err(e) = write_entry(&path, &entry) {
            tracing::debug!(path = %path.display(), error = %e, "profile cache not written");
        }
    }
    Ok(profile)
}

/// One file per (config path, profile): a hit reads a few hundred bytes.
fn entry_path(cache_dir: &Path, config: &Path, name: &ProfileName) -> PathBuf {
    let mut hash = sha1_smol::Sha1::new();
    hash.update(config.as_os_str().as_encoded_bytes());
    hash.update(b"\0");
    hash.update(name.as_str().as_bytes());
    cache_dir
        .join("profiles")
        .join(format!("{}.json", hash.digest()))
}

fn read_entry(
    path: &Path,
    config: &Path,
    stamp: &Stamp,
    name: &ProfileName,
) -> Option<AwsxProfile> {
    let bytes = std::fs::read(path).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    (entry.version == VERSION
        && entry.stamp == *stamp
        && entry.config == config
        && entry.profile.name() == name)
        .then_some(entry.profile)
}

fn write_entry(path: &Path, entry: &Entry) -> std::io::Result<()> {
    let dir = path.parent().expect("an entry path has a directory");
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".entry-")
        .tempfile_in(dir)?;
    serde_json::to_writer(&mut tmp, entry)?;
    // No fsync: a cache entry lost in a crash is only a slower next call.
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SsoProfile;

    fn name(s: &str) -> ProfileName {
        s.parse().unwrap()
    }

    /// A config over the caching threshold: `count` filler profiles, then `dev`.
    fn big_config(account: &str) -> String {
        let mut text = String::from(
            "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
        );
        let mut i = 0;
        while text.len() < CACHE_FROM_BYTES as usize {
            text.push_str(&format!(
                "\n[profile filler{i}]\nawsx_sso_session = corp\nawsx_account_id = {:012}\nawsx_role_name = ReadOnly\n",
                100_000_000_000u64 + i
            ));
            i += 1;
        }
        text.push_str(&format!(
            "\n[profile dev]\nawsx_sso_session = corp\nawsx_account_id = {account}\nawsx_role_name = Dev\n"
        ));
        text
    }

    /// A temporary directory with a big config (account 111111111111 for `dev`) and the path
    /// of a cache directory not yet created; the directory lives as long as the guard.
    fn big_config_in_tempdir() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let cache = dir.path().join("cache");
        std::fs::write(&config, big_config("111111111111")).unwrap();
        (dir, config, cache)
    }

    fn account(p: &AwsxProfile) -> &str {
        match p {
            AwsxProfile::Sso(SsoProfile { account_id, .. }) => account_id.as_str(),
            AwsxProfile::BreakGlass(_) | AwsxProfile::Console(_) => {
                panic!("expected an SSO profile")
            }
        }
    }

    #[test]
    fn a_settled_big_config_is_served_from_the_entry() {
        let (_dir, config, cache) = big_config_in_tempdir();
        let path = entry_path(&cache, &config, &name("dev"));

        // Just written: resolved, but not remembered (the racy window).
        let p = find_awsx_profile_cached(&cache, &config, &name("dev")).unwrap();
        assert_eq!(account(&p), "111111111111");
        assert!(!path.exists());

        // Settled (seen from a little later): remembered.
        let later = SystemTime::now() + 2 * SETTLED;
        find_at(&cache, &config, &name("dev"), later).unwrap();
        let mut entry: Entry = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(account(&entry.profile), "111111111111");

        // And the entry is what answers next: plant another answer under the same stamp.
        if let AwsxProfile::Sso(s) = &mut entry.profile {
            s.account_id = "999999999999".parse().unwrap();
        }
        write_entry(&path, &entry).unwrap();
        let p = find_at(&cache, &config, &name("dev"), later).unwrap();
        assert_eq!(account(&p), "999999999999");
    }

    #[test]
    fn any_change_to_the_file_misses_even_with_the_old_mtime() {
        let (_dir, config, cache) = big_config_in_tempdir();
        let old = Stamp::of(&std::fs::metadata(&config).unwrap()).unwrap();
        let later = SystemTime::now() + 2 * SETTLED;
        find_at(&cache, &config, &name("dev"), later).unwrap();
        assert!(entry_path(&cache, &config, &name("dev")).exists());

        // Same size, same inode, mtime put back: only the ctime tells.
        std::fs::write(&config, big_config("222222222222")).unwrap();
        let f = std::fs::File::options().write(true).open(&config).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_nanos(old.mtime_ns as u64))
            .unwrap();
        let p = find_awsx_profile_cached(&cache, &config, &name("dev")).unwrap();
        assert_eq!(account(&p), "222222222222");
    }

    #[test]
    fn a_corrupt_or_foreign_entry_is_ignored() {
        let (_dir, config, cache) = big_config_in_tempdir();
        let path = entry_path(&cache, &config, &name("dev"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{not json").unwrap();
        let later = SystemTime::now() + 2 * SETTLED;
        let p = find_at(&cache, &config, &name("dev"), later).unwrap();
        assert_eq!(account(&p), "111111111111");
        // ... and replaced by a good one.
        let entry: Entry = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(entry.version, VERSION);
    }

    #[test]
    fn small_configs_and_errors_are_never_cached() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let cache = dir.path().join("cache");
        std::fs::write(
            &config,
            "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n[profile dev]\nawsx_sso_session = corp\nawsx_account_id = 111111111111\nawsx_role_name = Dev\n",
        )
        .unwrap();
        let later = SystemTime::now() + 2 * SETTLED;
        find_at(&cache, &config, &name("dev"), later).unwrap();
        assert!(!cache.exists());
        std::fs::write(&config, big_config("111111111111")).unwrap();
        assert!(find_at(&cache, &config, &name("absent"), later).is_err());
        assert!(!cache.exists());
        assert!(find_awsx_profile_cached(&cache, &dir.path().join("none"), &name("dev")).is_err());
    }
}
