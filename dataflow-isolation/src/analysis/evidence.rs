//! The evidence about one binary: every run of it, and what each test did alone.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use crate::process::libtest::Outcome;
use crate::runner::RunResult;

/// Every run of one binary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Evidence {
    /// The suite as `cargo test` runs it.
    pub plain: RunResult,
    /// A run of no test: what the binary leaves behind by itself. Made only when every
    /// run alone left something ([`Evidence::needs_baseline`]); `None`: nothing.
    pub baseline: Option<RunResult>,
    /// Each test alone.
    pub solo: BTreeMap<String, RunResult>,
    /// The suite one test at a time: forward, shuffles, reverse.
    pub orders: Vec<RunResult>,
}

impl Evidence {
    pub(crate) fn new(plain: RunResult) -> Evidence {
        Evidence {
            plain,
            baseline: None,
            solo: BTreeMap::new(),
            orders: Vec::new(),
        }
    }

    /// Whether any run wrote a registry trace.
    pub(crate) fn traced(&self) -> bool {
        std::iter::once(&self.plain)
            .chain(self.solo.values())
            .chain(&self.orders)
            .any(|run| run.segments.iter().any(|s| s.trace.traced))
    }

    /// Whether a run of no test must say what the binary leaves behind by itself. Not when
    /// a test, run alone, left nothing: what the binary leaves by itself (an entry its
    /// start-up registers, a file it writes) it leaves in every run, so that one would
    /// have shown it. (Unless that test removed it: then the test cleans up after the
    /// binary, and leaks nothing either.)
    pub(crate) fn needs_baseline(&self) -> bool {
        !self.solo.is_empty() && !self.solo.values().any(RunResult::left_nothing)
    }

    /// How `test` ended alone (a run that never got to it counts as a crash).
    pub(crate) fn solo_outcome(&self, test: &str) -> Outcome {
        match self.solo.get(test) {
            Some(run) => run
                .outcome(test)
                .cloned()
                .unwrap_or_else(|| Outcome::Crashed {
                    status: format!(
                        "the test never started: {}",
                        run.segments
                            .first()
                            .map_or("no process", |s| s.ran.status.as_str())
                    ),
                }),
            None => Outcome::Crashed {
                status: "not run".into(),
            },
        }
    }

    /// What `test` left behind when it ran alone, beyond what the binary leaves by itself.
    pub(crate) fn left_by(&self, test: &str) -> Left {
        let Some(run) = self.solo.get(test) else {
            return Left::default();
        };
        // A killed or crashed process cannot clean up: not a leak of the test's making.
        if run.segments.iter().any(|s| !s.ran.finished) {
            return Left::default();
        }
        let baseline_registry: BTreeSet<&String> = self
            .baseline
            .iter()
            .flat_map(|b| b.segments.iter().flat_map(|s| s.trace.left.iter()))
            .collect();
        let baseline_files: BTreeSet<&String> = self
            .baseline
            .iter()
            .flat_map(|b| b.files_left.iter())
            .collect();
        Left {
            registry: run
                .segments
                .iter()
                .flat_map(|s| s.trace.left.iter())
                .filter(|e| !baseline_registry.contains(e))
                .cloned()
                .collect(),
            files: run
                .files_left
                .iter()
                .filter(|f| !baseline_files.contains(f))
                .cloned()
                .collect(),
            databases: run.databases_left.clone(),
        }
    }
}

/// What a test left behind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Left {
    /// Registry entries, qualified (`WidgetCreateNode@df_1`).
    pub registry: Vec<String>,
    /// Entries of its temporary directory.
    pub files: Vec<String>,
    /// Databases on the test server.
    pub databases: Vec<String>,
}

impl Left {
    pub(crate) fn is_empty(&self) -> bool {
        self.registry.is_empty() && self.files.is_empty() && self.databases.is_empty()
    }
}

/// The tests of a binary that left state behind alone.
pub(crate) fn leaving_state(evidence: &Evidence) -> HashSet<String> {
    evidence
        .solo
        .keys()
        .filter(|test| !evidence.left_by(test).is_empty())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Ran;
    use crate::runner::{Order, Purpose, Segment, Selection};

    /// A finished run of `test` alone that left `files` in its temporary directory.
    fn alone(test: &str, files: &[&str]) -> RunResult {
        RunResult {
            binary: 0,
            selection: Selection::Exact(vec![test.to_owned()]),
            order: Order::Forward,
            purpose: Purpose::Solo,
            segments: vec![Segment {
                ran: Ran {
                    started: vec![test.to_owned()],
                    outcomes: vec![(test.to_owned(), Outcome::Passed)],
                    finished: true,
                    timed_out: None,
                    status: "exit status: 0".into(),
                    success: true,
                    stderr_tail: String::new(),
                    stdout: Vec::new(),
                    pid: 1,
                },
                trace: Default::default(),
            }],
            files_left: files.iter().map(|f| (*f).to_owned()).collect(),
            databases_left: Vec::new(),
            duration: std::time::Duration::ZERO,
            command: String::new(),
        }
    }

    #[test]
    fn a_run_of_no_test_is_needed_only_when_every_test_alone_left_something() {
        let mut e = Evidence::new(alone("plain", &[]));
        assert!(!e.needs_baseline(), "no run alone: nothing to compare");
        e.solo.insert("a".into(), alone("a", &["a.txt"]));
        e.solo.insert("b".into(), alone("b", &["b.txt"]));
        assert!(
            e.needs_baseline(),
            "each left a file: the binary's, or theirs?"
        );
        e.solo.insert("c".into(), alone("c", &[]));
        assert!(!e.needs_baseline(), "c left nothing: so does the binary");
        assert_eq!(e.left_by("a").files, ["a.txt"]);
        assert!(e.left_by("c").is_empty());
    }
}
