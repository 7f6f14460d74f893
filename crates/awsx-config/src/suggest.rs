//! "Did you mean …?" for mistyped profile names.

/// At most three candidates close to `wanted`, best first: those that contain it (or that
/// it contains), then those within a small edit distance, then those with a part within a
/// small edit distance (`prodution` for `production-read-only`: a typo in a prefix, the
/// way people type a long synced name). Case is ignored.
pub fn suggest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let wanted_lc = wanted.to_lowercase();
    // Longer names tolerate more typos; one or two edits are always allowed.
    let max_distance = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let c_lc = c.to_lowercase();
            if c_lc == wanted_lc {
                return Some((0, c));
            }
            if !wanted_lc.is_empty() && (c_lc.contains(&wanted_lc) || wanted_lc.contains(&c_lc)) {
                return Some((1, c));
            }
            let d = edit_distance(&wanted_lc, &c_lc, Ends::Counted);
            if d <= max_distance {
                return Some((1 + d, c));
            }
            // A short fragment matches too much by chance; a long one may have two typos.
            let fragment_max = (wanted.chars().count() / 4).min(2);
            let f = edit_distance(&wanted_lc, &c_lc, Ends::Free);
            (f <= fragment_max).then_some((FRAGMENT + f, c))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// Scores of fragment matches come after every whole-name match.
const FRAGMENT: usize = 1000;

/// Whether `edit_distance` charges for the part of `b` before and after what matches `a`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ends {
    Counted,
    /// The distance from `a` to the closest substring of `b` (Sellers' approximate match).
    Free,
}

/// Levenshtein distance with adjacent transpositions counted as one edit (`readonyl`).
fn edit_distance(a: &str, b: &str, ends: Ends) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0; b.len() + 1];
    // Row 0: reaching position j of `b` with none of `a` costs j, or nothing with a free start.
    let mut prev: Vec<usize> = match ends {
        Ends::Counted => (0..=b.len()).collect(),
        Ends::Free => vec![0; b.len() + 1],
    };
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    match ends {
        Ends::Counted => prev[b.len()],
        Ends::Free => prev.iter().copied().min().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 5] = [
        "prod-readonly",
        "prod-admin",
        "dev-readonly",
        "staging",
        "default",
    ];

    #[test]
    fn suggests_typos_and_fragments_best_first() {
        assert_eq!(suggest("prod-readonyl", NAMES), vec!["prod-readonly"]);
        assert_eq!(suggest("stagin", NAMES), vec!["staging"]);
        assert_eq!(
            suggest("readonly", NAMES),
            vec!["dev-readonly", "prod-readonly"]
        );
        assert_eq!(suggest("PROD-ADMIN", NAMES), vec!["prod-admin"]);
    }

    #[test]
    fn suggests_a_long_name_for_a_mistyped_part_of_it() {
        let synced = [
            "production-read-only-access",
            "production-administrator-access",
            "sandbox-read-only-access",
        ];
        assert_eq!(
            suggest("prodution-read", synced),
            vec!["production-read-only-access"]
        );
        assert_eq!(suggest("sandbx", synced), vec!["sandbox-read-only-access"]);
        // Whole-name matches still come first.
        assert_eq!(suggest("prod-readonyl", NAMES), vec!["prod-readonly"]);
        // Too short a fragment to guess from.
        assert!(suggest("prx", synced).is_empty());
    }

    #[test]
    fn suggests_nothing_for_unrelated_names() {
        assert!(suggest("zzzzzzzz", NAMES).is_empty());
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("ab", "ba", Ends::Counted), 1);
        assert_eq!(edit_distance("kitten", "sitting", Ends::Counted), 3);
        assert_eq!(edit_distance("", "abc", Ends::Counted), 3);
        assert_eq!(edit_distance("itten", "a-sitting-b", Ends::Free), 1);
        assert_eq!(edit_distance("", "abc", Ends::Free), 0);
    }
}
