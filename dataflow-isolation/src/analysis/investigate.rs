//! Explaining a change of outcome: which earlier test makes a victim fail, or a brittle
//! test pass.
//!
//! 1. The candidates are the tests that ran before it in every run where it flipped, less
//!    those that ran before it (in the same process) in a run where it did not.
//! 2. If the trace shows it resolving an entry a candidate registered, one pair run
//!    (candidate, then it) confirms that candidate.
//! 3. Otherwise bisection: run half the candidates, then it; keep the half that flips it.
//! 4. The last candidate is confirmed by a pair run, which is also the command printed.
//!
//! libtest cannot be told an order, only a shuffle seed; [`libtest::shuffled_order`]
//! finds the seed that puts the tests in the wanted order, and every probe looks at the
//! order that actually ran.

use std::collections::HashSet;

use super::evidence::Evidence;
use super::findings::{Finding, FindingKind, FoundBy, Reproduce};
use crate::process::discover::Binary;
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
    fn nouns(self) -> (&'static str, &'static str) {
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

/// The explanation found for a suspect.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub suspect: Suspect,
    /// The polluter or state-setter, when one test explains it.
    pub culprit: Option<String>,
    pub found_by: FoundBy,
    pub evidence: Vec<String>,
    pub reproduce: Vec<Reproduce>,
}

impl Verdict {
    pub(crate) fn into_findings(self, binaries: &[Binary]) -> Vec<Finding> {
        let label = binaries[self.suspect.binary].label();
        let test = &self.suspect.test;
        let (kind, culprit_kind) = match self.suspect.role {
            Role::Victim => (FindingKind::Victim, FindingKind::Polluter),
            Role::Brittle => (FindingKind::Brittle, FindingKind::StateSetter),
        };
        let Some(culprit) = &self.culprit else {
            let summary = match self.suspect.role {
                Role::Victim => "passes alone, fails after other tests; no single test explains it",
                Role::Brittle => {
                    "fails alone, passes after other tests; no single test explains it"
                }
            };
            return vec![Finding {
                kind,
                test: test.clone(),
                binary: label,
                related: None,
                found_by: FoundBy::Orders,
                summary: summary.into(),
                evidence: self.evidence,
                reproduce: self.reproduce,
            }];
        };
        let (summary, culprit_summary) = match self.suspect.role {
            Role::Victim => (
                format!("passes alone, fails after `{culprit}`"),
                format!("makes `{test}` fail when it runs first"),
            ),
            Role::Brittle => (
                format!("fails alone, passes only after `{culprit}`"),
                format!("sets up state `{test}` needs to pass"),
            ),
        };
        vec![
            Finding {
                kind,
                test: test.clone(),
                binary: label.clone(),
                related: Some(culprit.clone()),
                found_by: self.found_by,
                summary,
                evidence: self.evidence.clone(),
                reproduce: self.reproduce.clone(),
            },
            Finding {
                kind: culprit_kind,
                test: culprit.clone(),
                binary: label,
                related: Some(test.clone()),
                found_by: self.found_by,
                summary: culprit_summary,
                evidence: self.evidence,
                reproduce: self.reproduce,
            },
        ]
    }
}

/// Finds the test that explains `suspect`'s change of outcome.
pub(crate) fn explain(
    runner: &Runner<'_>,
    e: &Evidence,
    suspect: &Suspect,
) -> Result<Verdict, Error> {
    let test = suspect.test.as_str();
    let role = suspect.role;
    let flipped: Vec<&RunResult> = e
        .orders
        .iter()
        .filter(|r| r.outcome(test).is_some_and(|o| role.flipped(o)))
        .collect();
    let calm: Vec<&RunResult> = e
        .orders
        .iter()
        .filter(|r| r.outcome(test).is_some_and(|o| !role.flipped(o)))
        .collect();
    let solo = e.solo_outcome(test);
    let solo_command = e
        .solo
        .get(test)
        .map(|r| r.command.clone())
        .unwrap_or_default();
    let (who, culprit_noun) = role.nouns();
    let mut evidence = vec![
        format!("{who} alone: {}", solo.describe()),
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
    let first = flipped[0];

    // 1. Candidates.
    let mut candidates: Vec<String> = first.before(test, false);
    for run in &flipped[1..] {
        let before: HashSet<String> = run.before(test, false).into_iter().collect();
        candidates.retain(|c| before.contains(c));
    }
    let cleared: HashSet<String> = calm.iter().flat_map(|r| r.before(test, true)).collect();
    let narrowed: Vec<String> = candidates
        .iter()
        .filter(|c| !cleared.contains(*c))
        .cloned()
        .collect();
    if !narrowed.is_empty() {
        candidates = narrowed;
    }
    let unexplained = |mut evidence: Vec<String>, tried: usize| {
        evidence.push(format!(
            "no single test among those that ran before {who} explains it ({tried} runs tried)"
        ));
        Verdict {
            suspect: suspect.clone(),
            culprit: None,
            found_by: FoundBy::Orders,
            evidence,
            reproduce: vec![
                Reproduce {
                    shows: format!("the {} run", first.order_label()),
                    command: first.command.clone(),
                },
                Reproduce {
                    shows: format!("{who} alone"),
                    command: solo_command.clone(),
                },
            ],
        }
    };
    if candidates.is_empty() {
        return Ok(unexplained(evidence, 0));
    }

    let confirmed =
        |pair: RunResult, culprit: &str, found_by: FoundBy, mut evidence: Vec<String>| {
            if let Some(outcome) = pair.outcome(test) {
                evidence.push(format!(
                    "{who} right after {culprit_noun}: {}",
                    outcome.describe()
                ));
            }
            Verdict {
                suspect: suspect.clone(),
                culprit: Some(culprit.to_owned()),
                found_by,
                evidence,
                reproduce: vec![
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
                        command: solo_command.clone(),
                    },
                ],
            }
        };
    let mut runs = 0;

    // 2. The trace.
    let mut suspects_in_trace: Vec<(String, String)> = Vec::new();
    for run in &flipped {
        for access in run.accesses() {
            if access.reader == test
                && candidates.contains(&access.writer)
                && !suspects_in_trace.iter().any(|(w, _)| *w == access.writer)
            {
                suspects_in_trace.push((access.writer.clone(), access.entry.clone()));
            }
        }
    }
    for (writer, entry) in suspects_in_trace.iter().take(3) {
        let pair = probe_pair(runner, suspect.binary, writer, test)?;
        runs += 1;
        if ran_after(&pair, writer, test) && pair.outcome(test).is_some_and(|o| role.flipped(o)) {
            let mut evidence = evidence.clone();
            evidence.push(format!(
                "trace: {who} resolved {entry}, registered and left behind by {culprit_noun}"
            ));
            return Ok(confirmed(pair, writer, FoundBy::Trace, evidence));
        }
    }

    // 3. Bisection.
    evidence.push(format!(
        "the trace names no test; {} candidates ran before {who} in every order that flipped it",
        candidates.len()
    ));
    let max_steps = 2 * (usize::BITS - candidates.len().leading_zeros()) as usize + 6;
    let mut steps = 0;
    let mut attempt = 0;
    while candidates.len() > 1 && steps < max_steps {
        steps += 1;
        let half: Vec<String> = candidates[candidates.len() / 2..].to_vec();
        let mut names = half.clone();
        names.push(test.to_owned());
        let run = probe(runner, suspect.binary, names, attempt, |order| {
            order.last() == Some(&test)
        })?;
        runs += 1;
        let before: HashSet<String> = run.before(test, true).into_iter().collect();
        let tried: Vec<String> = candidates
            .iter()
            .filter(|c| before.contains(*c))
            .cloned()
            .collect();
        let Some(outcome) = run.outcome(test) else {
            attempt += 1;
            continue;
        };
        if tried.is_empty() {
            attempt += 1; // the order did not come out as asked: try another seed
            continue;
        }
        if role.flipped(outcome) {
            candidates.retain(|c| before.contains(c));
        } else {
            candidates.retain(|c| !before.contains(c));
        }
    }
    let [culprit] = candidates.as_slice() else {
        return Ok(unexplained(evidence, runs));
    };
    let pair = probe_pair(runner, suspect.binary, culprit, test)?;
    runs += 1;
    if ran_after(&pair, culprit, test) && pair.outcome(test).is_some_and(|o| role.flipped(o)) {
        evidence.push(format!("bisection: {runs} runs"));
        return Ok(confirmed(pair, culprit, FoundBy::Bisection, evidence));
    }
    Ok(unexplained(evidence, runs))
}

/// Runs `writer` then `reader`, traced; `Some` when the trace shows `reader` resolving an
/// entry of `writer`'s again.
pub(crate) fn confirm_access(
    runner: &Runner<'_>,
    binary: usize,
    writer: &str,
    reader: &str,
) -> Result<Option<RunResult>, Error> {
    let pair = probe_pair(runner, binary, writer, reader)?;
    let again = pair
        .accesses()
        .any(|a| a.writer == writer && a.reader == reader);
    Ok(again.then_some(pair))
}

fn ran_after(run: &RunResult, first: &str, then: &str) -> bool {
    run.before(then, true).iter().any(|t| t == first)
}

/// Runs `first` then `then` in one process.
fn probe_pair(
    runner: &Runner<'_>,
    binary: usize,
    first: &str,
    then: &str,
) -> Result<RunResult, Error> {
    let mut run = None;
    for attempt in 0..4 {
        let result = probe(
            runner,
            binary,
            vec![first.to_owned(), then.to_owned()],
            attempt,
            |order| order == [first, then],
        )?;
        let good = ran_after(&result, first, then);
        run = Some(result);
        if good {
            break;
        }
    }
    Ok(run.expect("at least one attempt"))
}

/// Runs exactly `names` in one process, in an order `want` accepts if one can be found.
fn probe(
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
