//! Probes: runs of a few chosen tests in one process, in a chosen order.
//!
//! libtest cannot be told an order, only a shuffle seed; [`libtest::shuffled_order`]
//! finds the seed that puts the tests in the wanted order, and every probe looks at the
//! order that actually ran.

use std::collections::HashSet;

use crate::process::libtest::{self, Outcome};
use crate::runner::{Order, Purpose, Request, RunResult, Runner};
use crate::Error;

/// What a suspect did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Passes alone, failed in some order.
    Victim,
    /// Fails alone, passed in some order.
    Brittle,
}

impl Role {
    /// What the evidence calls the suspect, and the test that explains it.
    pub(crate) fn nouns(self) -> (&'static str, &'static str) {
        match self {
            Role::Victim => ("the victim", "the polluter"),
            Role::Brittle => ("the brittle test", "the setter"),
        }
    }

    /// Whether `outcome` is the flipped one (a failure for a victim, a pass for a brittle
    /// test).
    pub(crate) fn flipped(self, outcome: &Outcome) -> bool {
        match self {
            Role::Victim => outcome.failed(),
            Role::Brittle => outcome.passed(),
        }
    }
}

/// A test whose outcome changed with the order.
#[derive(Debug, Clone)]
pub(crate) struct Suspect {
    pub binary: usize,
    pub test: String,
    pub role: Role,
}

impl Suspect {
    pub(crate) fn new(binary: usize, test: &str, role: Role) -> Suspect {
        Suspect {
            binary,
            test: test.to_owned(),
            role,
        }
    }
}

/// A search for the tests that explain one suspect: the probes it made, and what they cost.
pub(crate) struct Search<'r, 'a> {
    pub runner: &'r Runner<'a>,
    pub binary: usize,
    pub test: &'r str,
    pub role: Role,
    /// Test-binary runs made.
    pub runs: usize,
    /// Tests probed one at a time (a pair run each).
    pub pairs: usize,
    /// Tests a pair run has already shown not to flip the suspect.
    pub cleared: HashSet<String>,
}

impl<'r, 'a> Search<'r, 'a> {
    pub(crate) fn new(runner: &'r Runner<'a>, suspect: &'r Suspect) -> Self {
        Search {
            runner,
            binary: suspect.binary,
            test: &suspect.test,
            role: suspect.role,
            runs: 0,
            pairs: 0,
            cleared: HashSet::new(),
        }
    }

    /// Whether `run` ran the suspect and flipped it (failed for a victim, passed for a
    /// brittle test).
    pub(crate) fn flips(&self, run: &RunResult) -> bool {
        run.outcome(self.test).is_some_and(|o| self.role.flipped(o))
    }

    /// Runs `first`, then the suspect: `Some` (the pair run) when that flips it. A test
    /// already probed is not run again.
    pub(crate) fn pair(&mut self, first: &str) -> Result<Option<RunResult>, Error> {
        if self.cleared.contains(first) {
            return Ok(None);
        }
        let run = probe_sequence(self.runner, self.binary, &[first, self.test])?;
        self.runs += 1;
        self.pairs += 1;
        if ran_after(&run, first, self.test) && self.flips(&run) {
            return Ok(Some(run));
        }
        self.cleared.insert(first.to_owned());
        Ok(None)
    }

    /// Runs `first` (if any), then `middle`, then the suspect, in one process.
    pub(crate) fn around(
        &mut self,
        first: Option<&str>,
        middle: &[String],
        attempt: u64,
    ) -> Result<RunResult, Error> {
        let run = probe_around(self.runner, self.binary, first, middle, self.test, attempt)?;
        self.runs += 1;
        Ok(run)
    }

    /// Bisection: runs `first` (if any), half of `pool`, then the suspect; keeps the half
    /// when `did_it` says that run showed the effect, the other half otherwise, down to
    /// one test (not yet confirmed). `None` when the halves stop making sense (the effect
    /// needs two tests together) or the steps run out; also the number of steps taken.
    pub(crate) fn bisect(
        &mut self,
        first: Option<&str>,
        mut pool: Vec<String>,
        did_it: impl Fn(&RunResult) -> bool,
    ) -> Result<(Option<String>, usize), Error> {
        let max_steps = 2 * (usize::BITS - pool.len().leading_zeros()) as usize + 6;
        let mut steps = 0;
        let mut attempt = 0;
        while pool.len() > 1 && steps < max_steps {
            steps += 1;
            let half: Vec<String> = pool[pool.len() / 2..].to_vec();
            let run = self.around(first, &half, attempt)?;
            let before = run.before(self.test, true);
            let after_first = match first {
                Some(first) => before
                    .iter()
                    .position(|t| t == first)
                    .map_or(&[][..], |at| &before[at + 1..]),
                None => &before[..],
            };
            if run.outcome(self.test).is_none() || !half.iter().any(|t| after_first.contains(t)) {
                attempt += 1; // the order did not come out as asked: try another seed
                continue;
            }
            let kept = did_it(&run);
            pool.retain(|t| after_first.contains(t) == kept);
        }
        Ok((pool.pop().filter(|_| pool.is_empty()), steps))
    }

    /// Runs `sequence` (ending with the suspect) in that order, in one process.
    pub(crate) fn sequence(&mut self, sequence: &[&str]) -> Result<RunResult, Error> {
        let run = probe_sequence(self.runner, self.binary, sequence)?;
        self.runs += 1;
        Ok(run)
    }
}

/// Whether `first` ran before `then` in the process `then` ran in.
pub(crate) fn ran_after(run: &RunResult, first: &str, then: &str) -> bool {
    run.before(then, true).iter().any(|t| t == first)
}

/// Whether `run` ran `sequence` in that order, in one process (other tests may sit
/// between them).
pub(crate) fn ran_in_order(run: &RunResult, sequence: &[&str]) -> bool {
    sequence
        .windows(2)
        .all(|pair| ran_after(run, pair[0], pair[1]))
}

/// Runs `sequence` in that order in one process: a pair (`first`, then the suspect) or a
/// triple (polluter, cleaner, victim). Tries a few seeds when the order cannot be
/// predicted; the result says what ran ([`ran_in_order`]).
pub(crate) fn probe_sequence(
    runner: &Runner<'_>,
    binary: usize,
    sequence: &[&str],
) -> Result<RunResult, Error> {
    let mut run = None;
    for attempt in 0..4 {
        let names = sequence.iter().map(|s| (*s).to_owned()).collect();
        let result = probe(runner, binary, names, attempt, |order| order == sequence)?;
        let good = ran_in_order(&result, sequence);
        run = Some(result);
        if good {
            break;
        }
    }
    Ok(run.expect("at least one attempt"))
}

/// Runs exactly `names` in one process, in an order `want` accepts if one can be found.
pub(crate) fn probe(
    runner: &Runner<'_>,
    binary: usize,
    mut names: Vec<String>,
    attempt: u64,
    want: impl Fn(&[&str]) -> bool,
) -> Result<RunResult, Error> {
    names.sort();
    names.dedup();
    let order = choose_order(runner, &names, attempt, want);
    runner.execute(&Request::exact(binary, names, order, Purpose::Probe))
}

/// Runs `first` (if any), then `middle` in some order, then `last`, in one process.
pub(crate) fn probe_around(
    runner: &Runner<'_>,
    binary: usize,
    first: Option<&str>,
    middle: &[String],
    last: &str,
    attempt: u64,
) -> Result<RunResult, Error> {
    let mut names: Vec<String> = middle.to_vec();
    names.push(last.to_owned());
    names.extend(first.map(str::to_owned));
    probe(runner, binary, names, attempt, |order| {
        order.last() == Some(&last) && first.is_none_or(|f| order.first() == Some(&f))
    })
}

fn choose_order(
    runner: &Runner<'_>,
    names: &[String],
    attempt: u64,
    want: impl Fn(&[&str]) -> bool,
) -> Order {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    if want(&names) {
        return Order::Forward;
    }
    if runner.predictor() != Some(false) && attempt == 0 {
        for seed in 1..=50_000u64 {
            let order: Vec<&str> = libtest::shuffled_order(&names, seed)
                .into_iter()
                .map(|i| names[i])
                .collect();
            if want(&order) {
                return Order::Seeded(seed);
            }
        }
    }
    // No prediction to go by: try a seed and look at what ran.
    Order::Seeded(attempt + 1)
}
