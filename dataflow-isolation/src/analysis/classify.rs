//! From runs to findings: what each test did alone, in each order and in parallel; which
//! changes of outcome need explaining ([`investigate`](super::investigate)); what each test
//! left behind; which cross-test access no failure explains.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::evidence::{Evidence, Left};
use super::findings::{Finding, FindingKind, FoundBy, Reproduce};
use super::investigate;
use super::probe::{self, Role, Search, Suspect};
use crate::process::discover::Binary;
use crate::process::libtest::Outcome;
use crate::runner::command::FRESH_TMPDIR;
use crate::runner::pool::parallel;
use crate::runner::{Order, Purpose, Request, RunResult, Runner};
use crate::text::{count, list};
use crate::Error;

/// Every finding of the check.
pub(crate) fn classify(
    runner: &Runner<'_>,
    binaries: &[Binary],
    evidence: &[Evidence],
) -> Result<Vec<Finding>, Error> {
    let mut findings = Vec::new();
    let mut suspects = Vec::new();
    // Changed outcome only in the parallel run: confirmed by a second one.
    let mut in_parallel: Vec<(usize, String, Role, Outcome)> = Vec::new();
    for (index, (binary, e)) in binaries.iter().zip(evidence).enumerate() {
        for test in &binary.tests {
            let solo = e.solo_outcome(test);
            let left = e.left_by(test);
            if !left.is_empty() {
                findings.push(leaker(binary, e, test, &left));
            }
            let in_orders: Vec<(&RunResult, &Outcome)> = e
                .orders
                .iter()
                .filter_map(|run| run.outcome(test).map(|o| (run, o)))
                .collect();
            let parallel_outcome = e.plain.outcome(test);
            let solo_command = e
                .solo
                .get(test)
                .map(|r| r.command.clone())
                .unwrap_or_default();
            if solo.passed() {
                if in_orders.iter().any(|(_, o)| o.failed()) {
                    suspects.push(Suspect::new(index, test, Role::Victim));
                } else if let Some(o) = parallel_outcome.filter(|o| o.failed()) {
                    in_parallel.push((index, test.clone(), Role::Victim, o.clone()));
                }
            } else if solo.failed() {
                if in_orders.iter().any(|(_, o)| o.passed()) {
                    suspects.push(Suspect::new(index, test, Role::Brittle));
                } else if let Some(o) = parallel_outcome.filter(|o| o.passed()) {
                    in_parallel.push((index, test.clone(), Role::Brittle, o.clone()));
                } else {
                    findings.push(plain_failure(binary, test, &solo, &in_orders, solo_command));
                }
            }
        }
    }

    findings.extend(confirm_parallel_only(
        runner,
        binaries,
        evidence,
        in_parallel,
    )?);

    runner.progress().set_suspects(suspects.len());
    let verdicts = parallel(runner.jobs(), &suspects, |s| {
        let mut search = Search::new(runner, s);
        investigate::explain(&mut search, &evidence[s.binary], s, &binaries[s.binary])
    });
    let mut explained: HashSet<(usize, String, String)> = HashSet::new();
    for verdict in verdicts {
        let verdict = verdict?;
        let suspect = &verdict.suspect;
        for culprit in &verdict.culprits {
            explained.insert((suspect.binary, culprit.name.clone(), suspect.test.clone()));
        }
        let solo_command = evidence[suspect.binary]
            .solo
            .get(&suspect.test)
            .map(|r| r.command.clone())
            .unwrap_or_default();
        findings.extend(verdict.into_findings(binaries, &solo_command));
    }

    let latent = latent_accesses(evidence, &explained);
    let confirmed = parallel(runner.jobs(), &latent, |l| {
        confirm_access(runner, l.binary, &l.writer, &l.reader)
    });
    for (latent, confirmed) in latent.iter().zip(confirmed) {
        findings.push(latent.finding(&binaries[latent.binary], confirmed?));
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(findings)
}

/// Tests that no finding names.
pub(crate) fn clean_tests(binaries: &[Binary], findings: &[Finding]) -> Vec<String> {
    let named: HashSet<(&str, &str)> = findings
        .iter()
        .map(|f| (f.binary.as_str(), f.test.as_str()))
        .chain(
            findings
                .iter()
                .filter_map(|f| f.related.as_deref().map(|r| (f.binary.as_str(), r))),
        )
        .collect();
    let mut clean = Vec::new();
    for binary in binaries {
        let label = binary.label();
        for test in &binary.tests {
            if !named.contains(&(label.as_str(), test.as_str())) {
                clean.push(test.clone());
            }
        }
    }
    clean
}

fn leaker(binary: &Binary, e: &Evidence, test: &str, left: &Left) -> Finding {
    let mut what = Vec::new();
    let mut evidence = Vec::new();
    if !left.registry.is_empty() {
        what.push(count(
            left.registry.len(),
            "registry entry",
            "registry entries",
        ));
        evidence.push(format!(
            "registry entries left at its end: {}",
            list(&left.registry, 4)
        ));
    }
    if !left.files.is_empty() {
        what.push(count(left.files.len(), "temporary file", "temporary files"));
        evidence.push(format!("left in its TMPDIR: {}", list(&left.files, 4)));
    }
    if !left.databases.is_empty() {
        what.push(count(left.databases.len(), "database", "databases"));
        evidence.push(format!(
            "databases left on the server: {}",
            list(&left.databases, 4)
        ));
    }
    let solo = &e.solo[test];
    let mut reproduce = Vec::new();
    if !left.registry.is_empty() {
        reproduce.push(Reproduce {
            shows: "the trace lists registrations that are never unregistered".into(),
            command: format!("DATAFLOW_TRACE_FILE=leak-trace.jsonl {}", solo.command),
        });
    }
    if !left.files.is_empty() {
        reproduce.push(Reproduce {
            shows: "what it leaves in a fresh TMPDIR".into(),
            command: format!(
                "d=$(mktemp -d) && TMPDIR=$d {} ; ls -A $d",
                solo.command
                    .strip_prefix(FRESH_TMPDIR)
                    .unwrap_or(&solo.command)
            ),
        });
    }
    if !left.databases.is_empty() {
        reproduce.push(Reproduce {
            shows: "run it alone, then list the databases on the test server".into(),
            command: solo.command.clone(),
        });
    }
    Finding {
        kind: FindingKind::Leaker,
        test: test.to_owned(),
        binary: binary.label(),
        related: None,
        all_related: Vec::new(),
        found_by: FoundBy::SoloRun,
        summary: format!("leaves {} behind when run alone", what.join(", ")),
        evidence,
        reproduce,
    }
}

fn plain_failure(
    binary: &Binary,
    test: &str,
    solo: &Outcome,
    in_orders: &[(&RunResult, &Outcome)],
    solo_command: String,
) -> Finding {
    Finding {
        kind: FindingKind::PlainFailure,
        test: test.to_owned(),
        binary: binary.label(),
        related: None,
        all_related: Vec::new(),
        found_by: FoundBy::Orders,
        summary: format!(
            "fails alone, in parallel and in all {} orders: not an isolation problem",
            in_orders.len()
        ),
        evidence: vec![format!("alone: {}", solo.describe())],
        reproduce: vec![Reproduce {
            shows: "it fails alone".into(),
            command: solo_command,
        }],
    }
}

/// Tests whose outcome changed only when the tests ran in parallel: one more parallel run
/// of their binary tells a repeatable change from a fluke (which becomes a note).
fn confirm_parallel_only(
    runner: &Runner<'_>,
    binaries: &[Binary],
    evidence: &[Evidence],
    in_parallel: Vec<(usize, String, Role, Outcome)>,
) -> Result<Vec<Finding>, Error> {
    let mut again: BTreeMap<usize, RunResult> = BTreeMap::new();
    for (index, ..) in &in_parallel {
        if !again.contains_key(index) {
            let request = Request::suite(*index, Order::Parallel, Purpose::Plain);
            again.insert(*index, runner.execute(&request)?);
        }
    }
    let mut findings = Vec::new();
    for (index, test, role, first) in in_parallel {
        let (binary, e) = (&binaries[index], &evidence[index]);
        let second = again[&index].outcome(&test);
        let Some(second) = second.filter(|o| role.flipped(o)) else {
            runner.note(format!(
                "{}: `{test}` {} once with the tests in parallel, and not on a second try (flaky?)",
                binary.label(),
                if role == Role::Victim {
                    "failed"
                } else {
                    "passed"
                },
            ));
            continue;
        };
        let (kind, summary) = match role {
            Role::Victim => (
                FindingKind::Victim,
                "passes alone and in every order, fails with the tests in parallel",
            ),
            Role::Brittle => (
                FindingKind::Brittle,
                "fails alone and in every order, passes with the tests in parallel",
            ),
        };
        findings.push(Finding {
            kind,
            test: test.clone(),
            binary: binary.label(),
            related: None,
            all_related: Vec::new(),
            found_by: FoundBy::Orders,
            summary: summary.into(),
            evidence: vec![
                format!("alone: {}", e.solo_outcome(&test).describe()),
                format!("in parallel: {}", first.describe()),
                format!("in parallel again: {}", second.describe()),
            ],
            reproduce: vec![
                Reproduce {
                    shows: "the parallel run".into(),
                    command: e.plain.command.clone(),
                },
                Reproduce {
                    shows: "alone".into(),
                    command: e
                        .solo
                        .get(&test)
                        .map(|r| r.command.clone())
                        .unwrap_or_default(),
                },
            ],
        });
    }
    Ok(findings)
}

/// A test that resolved entries another test registered, with no failure to show for it.
#[derive(Debug)]
pub(crate) struct Latent {
    pub binary: usize,
    pub writer: String,
    pub reader: String,
    pub entries: BTreeSet<String>,
    pub seen_in: Vec<String>,
    pub command: String,
}

impl Latent {
    fn finding(&self, binary: &Binary, pair: Option<RunResult>) -> Finding {
        let mut evidence = vec![
            format!(
                "resolved {} registered by `{}`",
                list(&self.entries.iter().cloned().collect::<Vec<_>>(), 3),
                self.writer
            ),
            format!("seen in: {}", self.seen_in.join(", ")),
        ];
        let command = match &pair {
            Some(pair) => {
                evidence.push(format!(
                    "a pair run (`{}` then it) shows the access again",
                    self.writer
                ));
                pair.command.clone()
            }
            None => self.command.clone(),
        };
        Finding {
            kind: FindingKind::LatentAccess,
            test: self.reader.clone(),
            binary: binary.label(),
            related: Some(self.writer.clone()),
            all_related: Vec::new(),
            found_by: FoundBy::Trace,
            summary: format!(
                "uses registry entries `{}` registered; no order made it fail yet",
                self.writer
            ),
            evidence,
            reproduce: vec![Reproduce {
                shows: "the access, in the trace".into(),
                command: format!("DATAFLOW_TRACE_FILE=access-trace.jsonl {command}"),
            }],
        }
    }
}

fn latent_accesses(
    evidence: &[Evidence],
    explained: &HashSet<(usize, String, String)>,
) -> Vec<Latent> {
    let mut found: BTreeMap<(usize, String, String), Latent> = BTreeMap::new();
    for (index, e) in evidence.iter().enumerate() {
        for run in std::iter::once(&e.plain).chain(&e.orders) {
            for access in run.accesses() {
                let key = (index, access.writer.clone(), access.reader.clone());
                if explained.contains(&key) {
                    continue;
                }
                let latent = found.entry(key).or_insert_with(|| Latent {
                    binary: index,
                    writer: access.writer.clone(),
                    reader: access.reader.clone(),
                    entries: BTreeSet::new(),
                    seen_in: Vec::new(),
                    command: run.command.clone(),
                });
                latent.entries.insert(access.entry.clone());
                let label = run.order_label();
                if !latent.seen_in.contains(&label) {
                    latent.seen_in.push(label);
                }
            }
        }
    }
    found.into_values().collect()
}

/// Runs `writer` then `reader`, traced; `Some` when the trace shows `reader` resolving an
/// entry of `writer`'s again.
fn confirm_access(
    runner: &Runner<'_>,
    binary: usize,
    writer: &str,
    reader: &str,
) -> Result<Option<RunResult>, Error> {
    let pair = probe::probe_sequence(runner, binary, &[writer, reader])?;
    let again = pair
        .accesses()
        .any(|a| a.writer == writer && a.reader == reader);
    Ok(again.then_some(pair))
}
