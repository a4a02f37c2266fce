//! A run: what to run ([`Request`]: which tests, in which order, for what) and what it did
//! ([`RunResult`]), and how many runs the check made ([`RunCounts`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::trace::{Access, Summary};
use crate::process::libtest::Outcome;
use crate::process::Ran;

/// The tests a run selects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Selection {
    /// The suite: every test the filters select.
    Suite,
    /// Exactly these tests (sorted).
    Exact(Vec<String>),
}

/// The order a run runs its tests in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Order {
    /// As `cargo test` does: threads in parallel.
    Parallel,
    /// One at a time, in libtest's name order.
    Forward,
    /// One at a time, shuffled with this seed.
    Seeded(u64),
}

impl Order {
    pub(crate) fn seed(self) -> Option<u64> {
        match self {
            Order::Seeded(seed) => Some(seed),
            _ => None,
        }
    }
}

/// Why a run is made (what it counts as).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Purpose {
    Plain,
    Baseline,
    Solo,
    Order,
    Reverse,
    /// The `--pairs` schedule.
    Pairs,
    Probe,
}

/// One run to make.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub binary: usize,
    pub selection: Selection,
    pub order: Order,
    pub purpose: Purpose,
}

impl Request {
    pub(crate) fn suite(binary: usize, order: Order, purpose: Purpose) -> Request {
        Request {
            binary,
            selection: Selection::Suite,
            order,
            purpose,
        }
    }

    pub(crate) fn exact(
        binary: usize,
        mut tests: Vec<String>,
        order: Order,
        purpose: Purpose,
    ) -> Request {
        tests.sort();
        tests.dedup();
        Request {
            binary,
            selection: Selection::Exact(tests),
            order,
            purpose,
        }
    }
}

/// One process of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Segment {
    pub ran: Ran,
    pub trace: Summary,
}

/// What one run did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunResult {
    pub binary: usize,
    pub selection: Selection,
    pub order: Order,
    pub purpose: Purpose,
    /// One per process: more than one when a test crashed or hung and the run went on
    /// with the tests that had not run yet.
    pub segments: Vec<Segment>,
    pub files_left: Vec<String>,
    pub databases_left: Vec<String>,
    pub duration: Duration,
    /// The `cargo test` command that makes the same run.
    pub command: String,
}

impl RunResult {
    pub(crate) fn selection_names(&self) -> &[String] {
        match &self.selection {
            Selection::Exact(names) => names,
            Selection::Suite => &[],
        }
    }

    /// How `test` ended in this run, if it ran.
    pub(crate) fn outcome(&self, test: &str) -> Option<&Outcome> {
        self.segments.iter().rev().find_map(|s| {
            s.ran
                .outcomes
                .iter()
                .find(|(name, _)| name == test)
                .map(|(_, o)| o)
        })
    }

    /// The tests that started before `test`: in any process of the run (`same_process`
    /// false), or in the process `test` ran in.
    pub(crate) fn before(&self, test: &str, same_process: bool) -> Vec<String> {
        let mut before = Vec::new();
        for segment in &self.segments {
            if same_process && !segment.ran.started.iter().any(|t| t == test) {
                continue;
            }
            for name in &segment.ran.started {
                if name == test {
                    return before;
                }
                before.push(name.clone());
            }
            if same_process {
                break;
            }
        }
        before
    }

    /// Whether every process of the run ended as libtest ends a suite and left no
    /// registry entry and no file in its temporary directory.
    pub(crate) fn left_nothing(&self) -> bool {
        self.files_left.is_empty()
            && self
                .segments
                .iter()
                .all(|s| s.ran.finished && s.trace.left.is_empty())
    }

    pub(crate) fn accesses(&self) -> impl Iterator<Item = &Access> {
        self.segments.iter().flat_map(|s| s.trace.accesses.iter())
    }

    pub(crate) fn failed_tests(&self) -> Vec<String> {
        let mut failed: Vec<String> = self
            .segments
            .iter()
            .flat_map(|s| s.ran.outcomes.iter())
            .filter(|(_, o)| o.failed())
            .map(|(n, _)| n.clone())
            .collect();
        failed.sort();
        failed.dedup();
        failed
    }

    pub(crate) fn order_label(&self) -> String {
        match (self.purpose, self.order) {
            (Purpose::Reverse, Order::Seeded(seed)) => format!("reverse (seed {seed})"),
            (Purpose::Pairs, Order::Seeded(seed)) => match &self.selection {
                Selection::Suite => format!("pairs (seed {seed})"),
                Selection::Exact(names) => format!("pairs of {} tests (seed {seed})", names.len()),
            },
            (_, Order::Seeded(seed)) => format!("shuffle (seed {seed})"),
            (_, Order::Forward) => "forward".into(),
            (_, Order::Parallel) => "parallel".into(),
        }
    }

    /// How the process(es) ended, when not as libtest ends a suite.
    pub(crate) fn abnormal_ends(&self) -> Vec<String> {
        self.segments
            .iter()
            .filter(|s| !s.ran.finished)
            .map(|s| match &s.ran.timed_out {
                Some(Some(test)) => format!("killed: `{test}` ran past the timeout"),
                Some(None) => "killed: no test started within the timeout".to_owned(),
                None => format!("the process ended early ({})", s.ran.status),
            })
            .collect()
    }
}

/// How many test-binary processes the check started, by purpose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// The suites as `cargo test` runs them.
    pub plain: usize,
    /// Runs of no test (what a binary leaves behind by itself).
    pub baseline: usize,
    /// Tests alone.
    pub solo: usize,
    /// Suites in order: forward, shuffles, reverse.
    pub orders: usize,
    /// Pair runs and bisection.
    pub probes: usize,
    /// The `--pairs` schedule.
    #[serde(default)]
    pub pairs: usize,
}

impl RunCounts {
    /// Adds `other`'s runs to these.
    pub fn add_all(&mut self, other: &RunCounts) {
        self.plain += other.plain;
        self.baseline += other.baseline;
        self.solo += other.solo;
        self.orders += other.orders;
        self.probes += other.probes;
        self.pairs += other.pairs;
    }

    /// All of them.
    pub fn total(&self) -> usize {
        self.plain + self.baseline + self.solo + self.orders + self.probes + self.pairs
    }

    pub(crate) fn add(&mut self, purpose: Purpose, processes: usize) {
        let slot = match purpose {
            Purpose::Plain => &mut self.plain,
            Purpose::Baseline => &mut self.baseline,
            Purpose::Solo => &mut self.solo,
            Purpose::Order | Purpose::Reverse => &mut self.orders,
            Purpose::Pairs => &mut self.pairs,
            Purpose::Probe => &mut self.probes,
        };
        *slot += processes;
    }
}
