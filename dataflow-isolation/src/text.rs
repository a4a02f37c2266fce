//! Words for counts and lists, shared by the findings and the report.

/// `n` and the noun for it.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `items` joined, the first `max` of them and a count of the rest.
pub(crate) fn list(items: &[String], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(String::as_str).collect();
    match items.len().saturating_sub(max) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_right_noun_and_long_lists_are_cut() {
        assert_eq!(count(1, "run", "runs"), "1 run");
        assert_eq!(count(3, "run", "runs"), "3 runs");
        let items: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(list(&items, 4), "a, b, c");
        assert_eq!(list(&items, 2), "a, b and 1 more");
    }
}
