//! Choosing the orders: libtest runs tests in name order or shuffled by a seed, and has no
//! reverse order, so the *reverse* run is the shuffle that best does what a reverse run is
//! for: run the tests that left state behind (when run alone) before the others, and
//! otherwise turn round as many pairs of the name order as it can.

use std::collections::HashSet;

use crate::process::libtest;

/// Seeds tried for the reverse run, fewer for big suites (each try scores every pair).
fn candidates(tests: usize) -> u64 {
    let pairs = (tests * tests).max(1) as u64;
    (8_000_000 / pairs).clamp(64, 4096)
}

/// The shuffle seed for the reverse run of a binary whose sorted test list is `listed`,
/// `leaving` being the tests that left state behind alone. Deterministic in its inputs.
pub(crate) fn reverse_seed(listed: &[String], leaving: &HashSet<String>, base: u64) -> u64 {
    let names: Vec<&str> = listed.iter().map(String::as_str).collect();
    let leaves: Vec<bool> = names.iter().map(|n| leaving.contains(*n)).collect();
    let n = names.len() as u64;
    let mut best = (0u64, base);
    for k in 0..candidates(names.len()) {
        let seed = base.wrapping_add(100_000 + k);
        let order = libtest::shuffled_order(&names, seed);
        let score = inversions(&order) + n * leavers_first(&order, &leaves);
        if k == 0 || score > best.0 {
            best = (score, seed);
        }
    }
    best.1
}

/// Pairs that `order` runs the other way round from name order.
fn inversions(order: &[usize]) -> u64 {
    let mut count = 0;
    for (i, a) in order.iter().enumerate() {
        count += order[i + 1..].iter().filter(|b| *b < a).count() as u64;
    }
    count
}

/// Pairs (a test that leaves state, a test that does not) that `order` runs in that order.
fn leavers_first(order: &[usize], leaves: &[bool]) -> u64 {
    let mut others_after = order.iter().filter(|&&i| !leaves[i]).count() as u64;
    let mut count = 0;
    for &i in order {
        if leaves[i] {
            count += others_after;
        } else {
            others_after -= 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_counted() {
        assert_eq!(inversions(&[0, 1, 2]), 0);
        assert_eq!(inversions(&[2, 1, 0]), 3);
        assert_eq!(leavers_first(&[0, 1, 2], &[false, false, true]), 0);
        assert_eq!(leavers_first(&[2, 0, 1], &[false, false, true]), 2);
    }

    #[test]
    fn the_reverse_run_puts_what_leaves_state_first() {
        let listed: Vec<String> = (0..12).map(|i| format!("t{i:02}")).collect();
        let leaving: HashSet<String> = ["t09".to_owned(), "t11".to_owned()].into();
        let seed = reverse_seed(&listed, &leaving, 7);
        assert_eq!(seed, reverse_seed(&listed, &leaving, 7), "deterministic");
        let names: Vec<&str> = listed.iter().map(String::as_str).collect();
        let order = libtest::shuffled_order(&names, seed);
        let first_two: HashSet<usize> = order[..2].iter().copied().collect();
        assert_eq!(first_two, [9, 11].into());
    }
}
