//! Cleaners, in iFixFlakies' sense (Shi et al., FSE 2019): a test that, run between a
//! polluter and its victim, makes the victim pass. It does what the polluter should have
//! done, so it shows where the fix goes.
//!
//! The pool: the tests that ran between the polluter and the victim in a run where the
//! victim passed anyway, or else every other test of the binary. One run (the polluter,
//! the pool, the victim) says whether the pool holds a cleaner; a bisection keeps the half
//! that still makes the victim pass, and a run of the three confirms the last one.

use super::findings::{Finding, FindingKind, FoundBy, Reproduce};
use super::probe::{ran_in_order, Search};
use crate::process::discover::Binary;
use crate::runner::RunResult;
use crate::text::count;
use crate::Error;

/// A cleaner, confirmed by a run of polluter, cleaner, victim.
#[derive(Debug)]
pub(crate) struct Cleaner {
    pub name: String,
    pub polluter: String,
    pub found_by: FoundBy,
    pub triple: RunResult,
    /// The runs the search for it took.
    pub runs: usize,
}

impl Cleaner {
    pub(crate) fn into_finding(self, victim: &str, binary: &str) -> Finding {
        let passed = self
            .triple
            .outcome(victim)
            .map_or_else(|| "not run".into(), |o| o.describe());
        Finding::new(
            FindingKind::Cleaner,
            &self.name,
            binary,
            Some(victim),
            self.found_by,
            format!(
                "run between `{}` and `{victim}`, makes `{victim}` pass again",
                self.polluter
            ),
            vec![
                format!("the victim after the polluter, then this test: {passed}"),
                format!("search: {}", count(self.runs, "run", "runs")),
            ],
            vec![Reproduce {
                shows: "the victim passes when this test runs between the polluter and it".into(),
                command: self.triple.command.clone(),
            }],
        )
    }
}

/// A cleaner for the suspect (a victim) and `polluter`, if one test is one.
pub(crate) fn find(
    search: &mut Search<'_, '_>,
    calm: &[&RunResult],
    polluter: &str,
    polluters: &[String],
    binary: &Binary,
) -> Result<Vec<Cleaner>, Error> {
    let victim = search.test;
    let started = search.runs;
    let mut between: Vec<String> = Vec::new();
    for run in calm {
        let before = run.before(victim, true);
        if let Some(at) = before.iter().position(|t| t == polluter) {
            for name in &before[at + 1..] {
                if !between.contains(name) && !polluters.contains(name) {
                    between.push(name.clone());
                }
            }
        }
    }
    let pool = if between.is_empty() {
        binary
            .tests
            .iter()
            .filter(|t| *t != victim && !polluters.contains(t))
            .cloned()
            .collect()
    } else {
        between
    };
    if pool.is_empty() {
        return Ok(Vec::new());
    }
    let passes = |run: &RunResult| run.outcome(victim).is_some_and(|o| o.passed());
    let whole = search.around(Some(polluter), &pool, 0)?;
    if !ran_in_order(&whole, &[polluter, victim]) || !passes(&whole) {
        return Ok(Vec::new());
    }
    let (found, steps) = search.bisect(Some(polluter), pool, passes)?;
    let Some(cleaner) = found else {
        return Ok(Vec::new());
    };
    let cleaner = cleaner.as_str();
    let triple = search.sequence(&[polluter, cleaner, victim])?;
    if !ran_in_order(&triple, &[polluter, cleaner, victim]) || !passes(&triple) {
        return Ok(Vec::new());
    }
    Ok(vec![Cleaner {
        name: cleaner.to_owned(),
        polluter: polluter.to_owned(),
        found_by: if steps == 0 {
            FoundBy::Probe
        } else {
            FoundBy::Bisection
        },
        triple,
        runs: search.runs - started,
    }])
}
