//! Choosing the orders: libtest runs tests in name order or shuffled by a seed, and has no
//! reverse order, so the *reverse* run is the shuffle that best does what a reverse run is
//! for: run the tests that left state behind (when run alone) before the others, and
//! otherwise turn round as many pairs of the name order as it can.
//!
//! `--pairs` wants every ordered pair of tests next to each other at least once, in about
//! as many orders as there are tests (a Tuscan square: Wei et al., TACAS 2021; a Williams
//! design gives one in exactly n rows for even n). libtest can only be ordered by a shuffle
//! seed, not told an order, so [`pair_seeds`] builds the schedule greedily from seeds: each
//! next order is the seed, among many, whose shuffle puts the most not yet adjacent pairs
//! next to each other.

use std::collections::HashSet;

use crate::process::libtest;

/// Seeds tried for the reverse run, fewer for big suites (each try scores every pair).
fn candidates(tests: usize) -> u64 {
    let pairs = (tests * tests).max(1) as u64;
    (8_000_000 / pairs).clamp(64, 4096)
}

/// Seeds tried, after the rounds' own, for a round whose seed repeats an order.
const SPARE_SEEDS: u64 = 256;

/// The one-at-a-time orders of a binary's suite, each run only once: a second run in an
/// order already run (a shuffle that comes out as the forward order, say, as it often
/// does for two or three tests) tells nothing new, so it is not made. Deterministic in
/// its inputs, so every shard of a check chooses the same orders.
pub(crate) struct Orders<'a> {
    names: Vec<&'a str>,
    /// Whether each listed test runs (ignored ones are listed and skipped).
    runs: Vec<bool>,
    shuffler: libtest::Shuffler,
    /// The orders chosen so far, as the running tests' indices into `names`.
    seen: HashSet<Vec<usize>>,
}

impl<'a> Orders<'a> {
    /// The orders of `tests` (the tests that run) within `listed` (the sorted list libtest
    /// shuffles); the forward order counts as chosen.
    pub(crate) fn new(listed: &'a [String], tests: &[String]) -> Orders<'a> {
        let names: Vec<&str> = listed.iter().map(String::as_str).collect();
        let runs: Vec<bool> = names.iter().map(|n| tests.iter().any(|t| t == n)).collect();
        let forward: Vec<usize> = (0..names.len()).filter(|i| runs[*i]).collect();
        let shuffler = libtest::Shuffler::new(&names);
        Orders {
            names,
            runs,
            shuffler,
            seen: [forward].into(),
        }
    }

    /// Whether the forward run is worth making: with one test, it is that test's run
    /// alone over again.
    pub(crate) fn forward(&self) -> bool {
        self.runs.iter().filter(|r| **r).count() > 1
    }

    fn order(&self, seed: u64) -> Vec<usize> {
        running(&self.shuffler.order(seed), &self.runs)
    }

    /// The shuffles of `rounds` rounds from `base` on: round `r` is seed `base + r`, unless
    /// that order was chosen already; then the first seed after the rounds' that gives a
    /// new order. A round no seed makes new is dropped (two tests have two orders).
    pub(crate) fn rounds(&mut self, base: u64, rounds: u32) -> Vec<u64> {
        let mut seeds = Vec::new();
        if !self.forward() {
            return seeds;
        }
        let mut spare = base.wrapping_add(u64::from(rounds));
        let spare_end = spare.wrapping_add(SPARE_SEEDS);
        for round in 0..rounds {
            let mut seed = base.wrapping_add(u64::from(round));
            while self.seen.contains(&self.order(seed)) && spare != spare_end {
                seed = spare;
                spare = spare.wrapping_add(1);
            }
            if self.seen.insert(self.order(seed)) {
                seeds.push(seed);
            }
        }
        seeds
    }

    /// The shuffle seed for the reverse run, `leaving` being the tests that left state
    /// behind alone: the seed, among a few thousand, whose order runs those tests before
    /// the others and otherwise turns round the most pairs of the name order, among the
    /// orders not chosen yet. `None` when every order tried was.
    pub(crate) fn reverse(&mut self, leaving: &HashSet<String>, base: u64) -> Option<u64> {
        if !self.forward() {
            return None;
        }
        let leaves: Vec<bool> = self.names.iter().map(|n| leaving.contains(*n)).collect();
        let n = self.names.len() as u64;
        let mut best: Option<(u64, u64)> = None;
        for k in 0..candidates(self.names.len()) {
            let seed = base.wrapping_add(100_000 + k);
            let order = self.shuffler.order(seed);
            if self.seen.contains(&running(&order, &self.runs)) {
                continue;
            }
            let score = inversions(&order) + n * leavers_first(&order, &leaves);
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, seed));
            }
        }
        let (_, seed) = best?;
        self.seen.insert(self.order(seed));
        Some(seed)
    }
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

/// One process of the `--pairs` schedule: the suite, or a few tests, shuffled by `seed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PairsRun {
    /// `None`: the whole suite; else exactly these tests (sorted).
    pub tests: Option<Vec<String>>,
    pub seed: u64,
}

/// The longest chain of not yet adjacent pairs run as one process of a few tests: the seed
/// that orders that many tests as wanted is found among [`CHAIN_SEEDS`].
const CHAIN: usize = 6;
const CHAIN_SEEDS: u64 = 200_000;

/// Processes that together put every ordered pair of `tests` next to each other at least
/// once (tests not in `tests`, such as ignored ones, run nothing and are skipped over), and
/// the number of pairs still apart if the search gave up. `listed` is the sorted list
/// libtest shuffles. First whole-suite orders, each the seed (among many) that puts the
/// most pairs still apart next to each other, while one such order still brings several;
/// then the rest as chains `a, b, c...` of at most [`CHAIN`] tests, each a process of its
/// own. Deterministic in its inputs.
pub(crate) fn pairs_schedule(
    listed: &[String],
    tests: &[String],
    base: u64,
) -> (Vec<PairsRun>, usize) {
    let names: Vec<&str> = listed.iter().map(String::as_str).collect();
    let runs: Vec<bool> = names.iter().map(|n| tests.iter().any(|t| t == n)).collect();
    let n = runs.iter().filter(|r| **r).count();
    let size = names.len();
    // apart[a * size + b]: `a` has not yet run right before `b`.
    let mut apart = vec![false; size * size];
    let mut left = 0;
    for a in (0..size).filter(|i| runs[*i]) {
        for b in (0..size).filter(|i| runs[*i] && *i != a) {
            apart[a * size + b] = true;
            left += 1;
        }
    }
    let shuffler = libtest::Shuffler::new(&names);
    let tries = (12_000 / n.max(1)).clamp(32, 2048) as u64;
    let mut next = base.wrapping_add(200_000);
    let mut schedule = Vec::new();
    let gain = |order: &[usize], apart: &[bool]| {
        order
            .windows(2)
            .filter(|w| apart[w[0] * size + w[1]])
            .count()
    };
    // A whole-suite order is worth a process while it brings a few new pairs.
    let worth = (n / 8).max(3);
    while left > 0 && schedule.len() < 3 * n {
        let mut best = (0, 0u64);
        for _ in 0..tries {
            let seed = next;
            next = next.wrapping_add(1);
            let found = gain(&running(&shuffler.order(seed), &runs), &apart);
            if found > best.0 {
                best = (found, seed);
            }
        }
        if best.0 < worth {
            break;
        }
        for w in running(&shuffler.order(best.1), &runs).windows(2) {
            if std::mem::take(&mut apart[w[0] * size + w[1]]) {
                left -= 1;
            }
        }
        schedule.push(PairsRun {
            tests: None,
            seed: best.1,
        });
    }
    // The rest: chains of pairs still apart.
    while left > 0 {
        let Some(start) = apart.iter().position(|a| *a) else {
            break;
        };
        let mut chain = vec![start / size, start % size];
        while chain.len() < CHAIN {
            let last = *chain.last().expect("a chain has two tests");
            let Some(next) = (0..size).find(|b| apart[last * size + b] && !chain.contains(b))
            else {
                break;
            };
            chain.push(next);
        }
        let wanted: Vec<&str> = chain.iter().map(|i| names[*i]).collect();
        let Some(run) = chain_run(&wanted) else {
            // Cannot happen for a chain this short; leave the pair apart rather than loop.
            apart[start] = false;
            continue;
        };
        for w in chain.windows(2) {
            if std::mem::take(&mut apart[w[0] * size + w[1]]) {
                left -= 1;
            }
        }
        schedule.push(run);
    }
    (schedule, left)
}

/// A process of exactly `wanted`, run in that order.
fn chain_run(wanted: &[&str]) -> Option<PairsRun> {
    let mut sorted: Vec<&str> = wanted.to_vec();
    sorted.sort_unstable();
    let tests = Some(sorted.iter().map(|s| (*s).to_owned()).collect());
    let shuffler = libtest::Shuffler::new(&sorted);
    (1..=CHAIN_SEEDS)
        .find(|seed| {
            shuffler
                .order(*seed)
                .iter()
                .map(|i| sorted[*i])
                .eq(wanted.iter().copied())
        })
        .map(|seed| PairsRun { tests, seed })
}

/// `order` without the tests that do not run.
fn running(order: &[usize], runs: &[bool]) -> Vec<usize> {
    order.iter().copied().filter(|i| runs[*i]).collect()
}

/// The ordered pairs of `tests` that no process of `orders` (each the tests in the order
/// they started) ran next to each other.
pub(crate) fn pairs_apart(tests: &[String], orders: &[&[String]]) -> Vec<(String, String)> {
    let mut next_to: HashSet<(&str, &str)> = HashSet::new();
    for order in orders {
        let order: Vec<&str> = order
            .iter()
            .map(String::as_str)
            .filter(|t| tests.iter().any(|x| x == t))
            .collect();
        for w in order.windows(2) {
            next_to.insert((w[0], w[1]));
        }
    }
    let mut apart = Vec::new();
    for a in tests {
        for b in tests {
            if a != b && !next_to.contains(&(a.as_str(), b.as_str())) {
                apart.push((a.clone(), b.clone()));
            }
        }
    }
    apart
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
        let reverse = |listed| Orders::new(listed, listed).reverse(&leaving, 7).unwrap();
        let seed = reverse(&listed);
        assert_eq!(seed, reverse(&listed), "deterministic");
        let names: Vec<&str> = listed.iter().map(String::as_str).collect();
        let order = libtest::shuffled_order(&names, seed);
        let first_two: HashSet<usize> = order[..2].iter().copied().collect();
        assert_eq!(first_two, [9, 11].into());
    }

    /// The order of the tests that run, as libtest runs them with `seed`.
    fn order_of(listed: &[String], tests: &[String], seed: u64) -> Vec<String> {
        let names: Vec<&str> = listed.iter().map(String::as_str).collect();
        libtest::shuffled_order(&names, seed)
            .into_iter()
            .map(|i| listed[i].clone())
            .filter(|t| tests.contains(t))
            .collect()
    }

    #[test]
    fn no_order_is_run_twice_and_one_test_has_no_orders() {
        let names = |n: usize| -> Vec<String> { (0..n).map(|i| format!("t{i}")).collect() };
        let one = names(1);
        let mut orders = Orders::new(&one, &one);
        assert!(!orders.forward(), "one test's order is its run alone");
        assert!(orders.rounds(11, 3).is_empty());
        assert_eq!(orders.reverse(&HashSet::new(), 11), None);

        // Two tests have two orders: forward, then one shuffle that turns them round.
        let two = names(2);
        let mut orders = Orders::new(&two, &two);
        assert!(orders.forward());
        let seeds = orders.rounds(11, 3);
        assert_eq!(seeds.len(), 1, "{seeds:?}");
        assert_eq!(order_of(&two, &two, seeds[0]), ["t1", "t0"]);
        assert_eq!(
            orders.reverse(&HashSet::new(), 11),
            None,
            "nothing left to run"
        );

        // Ignored tests are listed and do not count: three listed, two run.
        let listed = names(3);
        let running = vec!["t0".to_owned(), "t2".to_owned()];
        let seeds = Orders::new(&listed, &running).rounds(5, 4);
        assert_eq!(seeds.len(), 1, "{seeds:?}");
        assert_eq!(order_of(&listed, &running, seeds[0]), ["t2", "t0"]);

        // Three tests have six orders: forward, three rounds and reverse are five of them.
        let three = names(3);
        let mut orders = Orders::new(&three, &three);
        let mut seen: Vec<Vec<String>> = vec![three.clone()];
        for seed in orders.rounds(0, 3) {
            seen.push(order_of(&three, &three, seed));
        }
        let reverse = orders
            .reverse(&HashSet::new(), 0)
            .expect("a sixth order is left");
        seen.push(order_of(&three, &three, reverse));
        let distinct: HashSet<&Vec<String>> = seen.iter().collect();
        assert_eq!((seen.len(), distinct.len()), (5, 5), "{seen:?}");

        // Many tests: the rounds keep their seeds, as before.
        let many = names(15);
        assert_eq!(Orders::new(&many, &many).rounds(11, 3), [11, 12, 13]);
    }

    /// The orders a schedule's processes run, as libtest would run them.
    fn predicted(listed: &[String], schedule: &[PairsRun]) -> Vec<Vec<String>> {
        schedule
            .iter()
            .map(|run| {
                let names: Vec<String> = run.tests.clone().unwrap_or_else(|| listed.to_vec());
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                libtest::shuffled_order(&refs, run.seed)
                    .into_iter()
                    .map(|i| names[i].clone())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_pairs_schedule_puts_every_ordered_pair_next_to_each_other_in_about_n_processes() {
        for n in 1..=40usize {
            let listed: Vec<String> = (0..n).map(|i| format!("t{i:02}")).collect();
            let (schedule, apart) = pairs_schedule(&listed, &listed, 3);
            assert_eq!(apart, 0, "n = {n}");
            let orders = predicted(&listed, &schedule);
            let orders: Vec<&[String]> = orders.iter().map(Vec::as_slice).collect();
            assert!(pairs_apart(&listed, &orders).is_empty(), "n = {n}");
            // A Tuscan square needs n orders of the whole suite; seeds, not orders, are
            // what libtest takes, and the schedule stays within a small factor of n, far
            // from the n * (n - 1) processes of one pair each.
            assert!(
                schedule.len() <= 5 * n / 2 + 2,
                "n = {n}: {} processes",
                schedule.len()
            );
        }
    }

    #[test]
    fn tests_that_do_not_run_are_skipped_over() {
        let listed: Vec<String> = ["a", "b", "ignored", "c"].map(String::from).to_vec();
        let tests: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let (schedule, apart) = pairs_schedule(&listed, &tests, 0);
        assert_eq!(apart, 0);
        let orders = predicted(&listed, &schedule);
        let orders: Vec<&[String]> = orders.iter().map(Vec::as_slice).collect();
        assert!(pairs_apart(&tests, &orders).is_empty(), "{schedule:?}");
        let with_ignored: Vec<String> = ["b", "ignored", "a"].map(String::from).to_vec();
        let apart = pairs_apart(&tests, &[&with_ignored]);
        assert!(!apart.contains(&("b".into(), "a".into())), "{apart:?}");
        assert!(apart.contains(&("a".into(), "b".into())));
    }
}
