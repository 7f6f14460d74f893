//! Which profiles `awsx use` switched to, how often and when (no secret: names and times),
//! so that the picker shows the likely ones first. `use-history.json` in awsx's data dir.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use awsx_core::env::Env;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visits {
    pub count: u32,
    /// Unix seconds of the last switch.
    pub last: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default)]
    pub profiles: BTreeMap<String, Visits>,
}

/// How many profiles the file remembers; the least used go first.
const KEEP: usize = 500;

impl History {
    pub fn path(env: &Env) -> PathBuf {
        env.data_dir().join("use-history.json")
    }

    /// The history, or an empty one when the file is missing or unreadable (it only orders
    /// a list: losing it is harmless).
    pub fn load(path: &Path) -> History {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn record(&mut self, profile: &str, now: i64) {
        let v = self.profiles.entry(profile.to_owned()).or_insert(Visits {
            count: 0,
            last: now,
        });
        v.count = v.count.saturating_add(1);
        v.last = now;
        if self.profiles.len() > KEEP {
            let mut scored: Vec<(f64, String)> = self
                .profiles
                .iter()
                .map(|(k, v)| (score(v, now), k.clone()))
                .collect();
            scored.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (_, k) in scored.into_iter().take(self.profiles.len() - KEEP) {
                self.profiles.remove(&k);
            }
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), crate::Error> {
        let json = serde_json::to_vec_pretty(self).unwrap_or_default();
        crate::atomic_write(path, &json, None)
    }

    /// `names` ordered by frecency (recent and frequent first); names never used keep their
    /// order after them.
    pub fn rank<'a>(&self, names: &'a [String], now: i64) -> Vec<&'a str> {
        let mut indexed: Vec<(usize, f64, &str)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let s = self.profiles.get(n).map_or(0.0, |v| score(v, now));
                (i, s, n.as_str())
            })
            .collect();
        indexed.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        indexed.into_iter().map(|(_, _, n)| n).collect()
    }
}

/// zoxide's frecency: the count, weighted by how recent the last use was.
fn score(v: &Visits, now: i64) -> f64 {
    let age = now.saturating_sub(v.last);
    let weight = match age {
        a if a < 3600 => 4.0,
        a if a < 86_400 => 2.0,
        a if a < 7 * 86_400 => 0.5,
        _ => 0.25,
    };
    f64::from(v.count) * weight
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_and_frequent_profiles_come_first() {
        let now = 1_800_000_000;
        let mut h = History::default();
        for _ in 0..3 {
            h.record("old-favourite", now - 30 * 86_400);
        }
        h.record("just-now", now);
        h.record("yesterday", now - 2 * 3600);
        let names: Vec<String> = ["a", "old-favourite", "yesterday", "b", "just-now"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            h.rank(&names, now),
            ["just-now", "yesterday", "old-favourite", "a", "b"]
        );
    }

    #[test]
    fn a_missing_or_corrupt_file_is_an_empty_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.json");
        assert_eq!(History::load(&path), History::default());
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(History::load(&path), History::default());
        let mut h = History::default();
        h.record("x", 5);
        h.save(&path).unwrap();
        assert_eq!(History::load(&path).profiles["x"].count, 1);
    }
}
