//! "Did you mean …?" for mistyped profile names.

/// At most three candidates close to `wanted`, best first: those that contain it (or that
/// it contains), then those within a small edit distance. Case is ignored.
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
            let d = edit_distance(&wanted_lc, &c_lc);
            (d <= max_distance).then_some((1 + d, c))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// Levenshtein distance with adjacent transpositions counted as one edit (`readonyl`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
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
    prev[b.len()]
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
    fn suggests_nothing_for_unrelated_names() {
        assert!(suggest("zzzzzzzz", NAMES).is_empty());
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
