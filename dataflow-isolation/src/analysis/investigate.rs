//! Explaining a change of outcome: which earlier tests make a victim fail (its polluters),
//! or a brittle test pass (its state-setters), and, for a victim, which test run in
//! between makes it pass again (a cleaner, see [`cleaners`](super::cleaners)).
//!
//! 1. The candidates are the tests that ran before it, in its process, in the runs where
//!    it flipped, nearest first; those that ran before it in a run where it did not flip
//!    come last.
//! 2. If the trace shows it resolving an entry a candidate registered, a pair run
//!    (candidate, then it) confirms that candidate.
//! 3. Every flipped run must be explained by a test that ran before it there: the tests
//!    right before it are probed first (a pair run each), then a bisection over that
//!    run's tests keeps the half that flips it, and a pair run confirms the last one.
//! 4. One run of every other candidate, then it, says whether more tests do the same;
//!    if so, each is probed on its own, so the report can say how many there are. An
//!    order that ran every other candidate and none of the culprits or cleaners found
//!    before it, and did not flip it, is that run already (with at most a few more
//!    tests before it): it says "no" without a run of its own.
//!
//! "No single test explains it" is said only after these probes, with their number.

use std::collections::BTreeMap;

use super::cleaners::{self, Cleaner};
use super::evidence::Evidence;
use super::findings::{Finding, FindingKind, FoundBy, Reproduce};
use super::probe::{Role, Search, Suspect};
use crate::process::discover::Binary;
use crate::runner::RunResult;
use crate::text::{count, list};
use crate::Error;

/// Pair runs at most, per suspect, when counting further polluters or setters.
const MAX_PAIRS: usize = 48;
/// Tests probed right before the suspect in each flipped run, before bisecting.
const NEAREST: usize = 2;
/// Culprits named with a finding of their own; the rest are counted in the suspect's.
const MAX_NAMED: usize = 5;

/// A test that explains a suspect, confirmed by a pair run.
#[derive(Debug)]
pub(crate) struct Culprit {
    pub name: String,
    pub pair: RunResult,
    pub found_by: FoundBy,
}

/// The explanation found for a suspect.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub suspect: Suspect,
    /// The polluters or state-setters found, the first found first.
    pub culprits: Vec<Culprit>,
    /// For a victim: tests that, run between a polluter and it, make it pass.
    pub cleaners: Vec<Cleaner>,
    pub evidence: Vec<String>,
    /// The commands when no single test explains it.
    pub reproduce: Vec<Reproduce>,
}

/// Finds the tests that explain `suspect`'s change of outcome.
pub(crate) fn explain(
    search: &mut Search<'_, '_>,
    e: &Evidence,
    suspect: &Suspect,
    binary: &Binary,
) -> Result<Verdict, Error> {
    let test = suspect.test.as_str();
    let role = suspect.role;
    let flipped: Vec<&RunResult> = e.orders.iter().filter(|r| search.flips(r)).collect();
    let calm: Vec<&RunResult> = e
        .orders
        .iter()
        .filter(|r| r.outcome(test).is_some() && !search.flips(r))
        .collect();
    let (who, culprit_noun) = role.nouns();
    let mut evidence = vec![
        format!("{who} alone: {}", e.solo_outcome(test).describe()),
        format!(
            "{who} {} in {} of {} orders: {}",
            match role {
                Role::Victim => "failed",
                Role::Brittle => "passed",
            },
            flipped.len(),
            e.orders.len(),
            flipped
                .iter()
                .map(|r| r.order_label())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ];
    let candidates = nearest_first(&flipped, &calm, test);
    let mut culprits: Vec<Culprit> = Vec::new();

    // 2. The trace.
    for (writer, entry) in trace_suspects(&flipped, test, &candidates).iter().take(3) {
        if let Some(pair) = search.pair(writer)? {
            evidence.push(format!(
                "trace: {who} resolved {entry}, registered and left behind by {culprit_noun}"
            ));
            culprits.push(Culprit {
                name: writer.clone(),
                pair,
                found_by: FoundBy::Trace,
            });
            break;
        }
    }

    // 3. Every flipped run explained by a test that ran before it there.
    for run in &flipped {
        let before = run.before(test, true);
        if culprits.iter().any(|c| before.contains(&c.name)) {
            continue;
        }
        if let Some(found) = nearest_in(search, &before)? {
            culprits.push(found);
        } else if let Some(found) = bisect(search, &before, &mut evidence)? {
            culprits.push(found);
        }
    }
    if culprits.is_empty() {
        return Ok(unexplained(search, e, suspect, &flipped, evidence));
    }

    // Cleaners, for a victim and its first polluter: found before looking for more
    // polluters, since a cleaner among them would hide the others.
    let first_names: Vec<String> = culprits.iter().map(|c| c.name.clone()).collect();
    let cleaners = match role {
        Role::Victim => cleaners::find(search, &calm, &culprits[0].name, &first_names, binary)?,
        Role::Brittle => Vec::new(),
    };

    // 4. More of them?
    let rest: Vec<String> = candidates
        .iter()
        .filter(|c| !culprits.iter().any(|f| f.name == **c))
        .filter(|c| !cleaners.iter().any(|f| f.name == **c))
        .cloned()
        .collect();
    if !rest.is_empty() && !answered_by(&calm, test, &rest, &culprits, &cleaners) {
        let group = search.around(None, &rest, 0)?;
        if search.flips(&group) {
            for name in rest.iter().take(MAX_PAIRS) {
                if let Some(pair) = search.pair(name)? {
                    culprits.push(Culprit {
                        name: name.clone(),
                        pair,
                        found_by: FoundBy::Probe,
                    });
                }
            }
        }
    }
    let plural_noun = match role {
        Role::Victim => ("polluter", "polluters"),
        Role::Brittle => ("state-setter", "state-setters"),
    };
    let names: Vec<String> = culprits.iter().map(|c| c.name.clone()).collect();
    if culprits.len() > 1 {
        evidence.push(format!(
            "{} found, each confirmed by a pair run: {}",
            count(culprits.len(), plural_noun.0, plural_noun.1),
            list(&names, MAX_NAMED)
        ));
    }
    if let Some(outcome) = culprits[0].pair.outcome(test) {
        evidence.push(format!(
            "{who} right after {culprit_noun}: {}",
            outcome.describe()
        ));
    }

    evidence.push(format!(
        "probing: {} ({} of them pair runs)",
        count(search.runs, "run", "runs"),
        search.pairs
    ));
    Ok(Verdict {
        suspect: suspect.clone(),
        culprits,
        cleaners,
        evidence,
        reproduce: Vec::new(),
    })
}

/// The candidates: tests that ran before `test` in its process in the flipped runs,
/// nearest first; those that also ran before it in a calm run go last.
fn nearest_first(flipped: &[&RunResult], calm: &[&RunResult], test: &str) -> Vec<String> {
    let mut distance: BTreeMap<String, usize> = BTreeMap::new();
    for run in flipped {
        for (d, name) in run.before(test, true).into_iter().rev().enumerate() {
            let best = distance.entry(name).or_insert(d);
            *best = (*best).min(d);
        }
    }
    let cleared: Vec<String> = calm.iter().flat_map(|r| r.before(test, true)).collect();
    let mut candidates: Vec<(bool, usize, String)> = distance
        .into_iter()
        .map(|(name, d)| (cleared.contains(&name), d, name))
        .collect();
    candidates.sort();
    candidates.into_iter().map(|(_, _, name)| name).collect()
}

/// Whether a run already made is the run "every other candidate, then the suspect" of
/// step 4, with its answer "no": a calm run in which every test of `rest`, and none of
/// the culprits and cleaners found, ran before `test` in its process.
fn answered_by(
    calm: &[&RunResult],
    test: &str,
    rest: &[String],
    culprits: &[Culprit],
    cleaners: &[Cleaner],
) -> bool {
    calm.iter().any(|run| {
        let before = run.before(test, true);
        rest.iter().all(|t| before.contains(t))
            && !before.iter().any(|t| {
                culprits.iter().any(|c| c.name == *t) || cleaners.iter().any(|c| c.name == *t)
            })
    })
}

/// Writers of entries the suspect resolved in a flipped run, with one such entry each.
fn trace_suspects(
    flipped: &[&RunResult],
    test: &str,
    candidates: &[String],
) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for run in flipped {
        for access in run.accesses() {
            if access.reader == test
                && candidates.contains(&access.writer)
                && !found.iter().any(|(w, _)| *w == access.writer)
            {
                found.push((access.writer.clone(), access.entry.clone()));
            }
        }
    }
    found
}

/// Probes the tests that ran right before the suspect in a flipped run.
fn nearest_in(search: &mut Search<'_, '_>, before: &[String]) -> Result<Option<Culprit>, Error> {
    for name in before.iter().rev().take(NEAREST) {
        if let Some(pair) = search.pair(name)? {
            return Ok(Some(Culprit {
                name: name.clone(),
                pair,
                found_by: FoundBy::Probe,
            }));
        }
    }
    Ok(None)
}

/// Bisection over the tests that ran before the suspect in one flipped run: run half of
/// them, then it; keep the half that flips it. A pair run confirms the last one.
fn bisect(
    search: &mut Search<'_, '_>,
    before: &[String],
    evidence: &mut Vec<String>,
) -> Result<Option<Culprit>, Error> {
    let role = search.role;
    let candidates: Vec<String> = before
        .iter()
        .filter(|c| !search.cleared.contains(*c))
        .cloned()
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let started = search.runs;
    let flips = |run: &RunResult| run.outcome(search.test).is_some_and(|o| role.flipped(o));
    let (found, _) = search.bisect(None, candidates, flips)?;
    let Some(culprit) = found else {
        return Ok(None);
    };
    let Some(pair) = search.pair(&culprit)? else {
        return Ok(None);
    };
    evidence.push(format!(
        "bisection: {}",
        count(search.runs - started, "run", "runs")
    ));
    Ok(Some(Culprit {
        name: culprit,
        pair,
        found_by: FoundBy::Bisection,
    }))
}

fn unexplained(
    search: &Search<'_, '_>,
    e: &Evidence,
    suspect: &Suspect,
    flipped: &[&RunResult],
    mut evidence: Vec<String>,
) -> Verdict {
    let (who, _) = suspect.role.nouns();
    evidence.push(format!(
        "no single test that ran before {who} explains it: {} tried ({} of them pair runs, \
         each with one test before it), none flipped it",
        count(search.runs, "run", "runs"),
        search.pairs
    ));
    let first = flipped[0];
    let solo_command = e
        .solo
        .get(&suspect.test)
        .map(|r| r.command.clone())
        .unwrap_or_default();
    Verdict {
        suspect: suspect.clone(),
        culprits: Vec::new(),
        cleaners: Vec::new(),
        evidence,
        reproduce: vec![
            Reproduce {
                shows: format!("the {} run", first.order_label()),
                command: first.command.clone(),
            },
            Reproduce {
                shows: format!("{who} alone"),
                command: solo_command,
            },
        ],
    }
}

impl Verdict {
    /// The suspect's finding, one per culprit (the first [`MAX_NAMED`]), one per cleaner.
    pub(crate) fn into_findings(self, binaries: &[Binary], solo_command: &str) -> Vec<Finding> {
        let label = binaries[self.suspect.binary].label();
        let test = &self.suspect.test;
        let role = self.suspect.role;
        let (kind, culprit_kind) = match role {
            Role::Victim => (FindingKind::Victim, FindingKind::Polluter),
            Role::Brittle => (FindingKind::Brittle, FindingKind::StateSetter),
        };
        let Some(first) = self.culprits.first() else {
            let summary = match role {
                Role::Victim => "passes alone, fails after other tests; no single test explains it",
                Role::Brittle => {
                    "fails alone, passes after other tests; no single test explains it"
                }
            };
            return vec![Finding::new(
                kind,
                test,
                &label,
                None,
                FoundBy::Orders,
                summary.into(),
                self.evidence,
                self.reproduce,
            )];
        };
        let names: Vec<String> = self.culprits.iter().map(|c| c.name.clone()).collect();
        let (who, culprit_noun) = role.nouns();
        let summary = match (role, names.len()) {
            (Role::Victim, 1) => format!("passes alone, fails after `{}`", first.name),
            (Role::Brittle, 1) => format!("fails alone, passes only after `{}`", first.name),
            (Role::Victim, n) => format!(
                "passes alone, fails after each of {n} tests, e.g. {}",
                list(&quoted(&names), 3)
            ),
            (Role::Brittle, n) => format!(
                "fails alone, passes after any of {n} tests, e.g. {}",
                list(&quoted(&names), 3)
            ),
        };
        let reproduce = |pair: &RunResult| {
            vec![
                Reproduce {
                    shows: match role {
                        Role::Victim => format!("{who} fails after {culprit_noun}"),
                        Role::Brittle => format!("{who} passes after {culprit_noun}"),
                    },
                    command: pair.command.clone(),
                },
                Reproduce {
                    shows: match role {
                        Role::Victim => format!("{who} passes alone"),
                        Role::Brittle => format!("{who} fails alone"),
                    },
                    command: solo_command.to_owned(),
                },
            ]
        };
        let mut suspect = Finding::new(
            kind,
            test,
            &label,
            Some(&first.name),
            first.found_by,
            summary,
            self.evidence.clone(),
            reproduce(&first.pair),
        );
        suspect.all_related = names.clone();
        let mut findings = vec![suspect];
        for culprit in self.culprits.iter().take(MAX_NAMED) {
            let summary = match role {
                Role::Victim => format!("makes `{test}` fail when it runs first"),
                Role::Brittle => format!("sets up state `{test}` needs to pass"),
            };
            let evidence = if culprit.name == first.name {
                self.evidence.clone()
            } else {
                vec![format!(
                    "{who} right after it: {}",
                    culprit
                        .pair
                        .outcome(test)
                        .map_or_else(|| "not run".into(), |o| o.describe())
                )]
            };
            findings.push(Finding::new(
                culprit_kind,
                &culprit.name,
                &label,
                Some(test),
                culprit.found_by,
                summary,
                evidence,
                reproduce(&culprit.pair),
            ));
        }
        for cleaner in self.cleaners {
            findings.push(cleaner.into_finding(test, &label));
        }
        findings
    }
}

fn quoted(names: &[String]) -> Vec<String> {
    names.iter().map(|n| format!("`{n}`")).collect()
}
