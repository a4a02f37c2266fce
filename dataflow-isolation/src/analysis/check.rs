//! The check from start to end: build and list, run the suites as `cargo test` does,
//! every test alone, each suite in order, then explain what changed.

use std::collections::HashSet;
use std::time::Instant;

use super::classify;
use super::evidence::{leaving_state, Evidence};
use super::findings::{BinaryReport, OrderRun, Report, Timing};
use super::orders;
use super::orders::Orders;
use super::shard;
use crate::process::discover::{self, Binary};
use crate::runner::pool::parallel;
use crate::runner::progress::Progress;
use crate::runner::schedule::{schedule, Ranked};
use crate::runner::snapshot::Databases;
use crate::runner::{Order, Purpose, Request, RunCounts, Runner, Selection};
use crate::{Error, Options, Partition};

/// Runs the check that `options` describe and returns its report. The report is not
/// printed and no file is written; [`main`](crate::main) does that. Two exceptions: with
/// `--partition` the shard's evidence is written to `--json` (the report then holds no
/// findings), and with `--merge` the shards' files are read instead of running the suite.
pub fn run(options: &Options) -> Result<Report, Error> {
    if !options.merge.is_empty() {
        return shard::merge(options);
    }
    if options.partition.is_some() && options.json.is_none() {
        return Err(Error::Usage(
            "--partition writes the shard's evidence to --json FILE: name the file".into(),
        ));
    }
    let started = Instant::now();
    let progress = Progress::new(options.progress);
    let (binaries, build_secs) = find_tests(options, &progress)?;
    let seed = options.seed.unwrap_or_else(|| match options.partition {
        Some(_) => shard::SEED,
        None => random_seed(),
    });
    let mut notes = Vec::new();
    let databases = databases(&mut notes);
    let check_started = Instant::now();
    let runner = Runner::new(options, &binaries, databases, &progress)?;
    let planned: usize = binaries
        .iter()
        .map(|b| match b.tests.len() {
            // A single test's orders are its run alone (see `Orders::forward`).
            1 => 2,
            n => n + 3 + options.rounds as usize,
        })
        .sum();
    progress.start_runs(planned);
    let evidence = gather(&runner, seed, options.partition)?;
    let facts = Facts {
        seed,
        build_secs,
        started,
        check_started,
        notes,
    };
    if let Some(partition) = options.partition {
        progress.finish();
        return shard::write(&runner, partition, &evidence, facts);
    }
    conclude(&runner, &evidence, facts, RunCounts::default())
}

/// What a report says about the check besides its findings.
pub(crate) struct Facts {
    pub seed: u64,
    pub build_secs: f64,
    pub started: Instant,
    pub check_started: Instant,
    pub notes: Vec<String>,
}

impl Facts {
    /// Where the time went, from now on back.
    pub(crate) fn timing(&self, runner: &Runner<'_>, evidence: &[Evidence]) -> Timing {
        Timing {
            build_secs: self.build_secs,
            check_secs: self.check_started.elapsed().as_secs_f64(),
            total_secs: self.started.elapsed().as_secs_f64(),
            plain_secs: evidence
                .iter()
                .map(|e| e.plain.duration.as_secs_f64())
                .sum(),
            jobs: runner.jobs(),
        }
    }
}

/// The server whose databases are watched, if any; says so in `notes`.
pub(crate) fn databases(notes: &mut Vec<String>) -> Option<Databases> {
    let databases = match Databases::from_env() {
        Ok(databases) => databases,
        Err(e) => {
            notes.push(format!(
                "databases left behind are not checked: the test server is unreachable ({e})"
            ));
            None
        }
    };
    if let Some(databases) = &databases {
        notes.push(format!(
            "databases left behind were looked for on the server {} names (one run at a time)",
            databases.var()
        ));
    }
    databases
}

/// The runs of a check (this shard's share of them, with `partition`): each suite as
/// `cargo test` runs it, every test alone, the orders.
pub(crate) fn gather(
    runner: &Runner<'_>,
    seed: u64,
    partition: Option<Partition>,
) -> Result<Vec<Evidence>, Error> {
    let share = Share::new(partition);
    runner
        .progress()
        .phase("running each suite as cargo test does, every test alone and each suite in order");
    let mut evidence = run_suites(runner, seed, &share)?;
    if runner.options.pairs {
        runner
            .progress()
            .phase("running every ordered pair of tests next to each other (--pairs)");
        run_pairs(runner, seed, &share, &mut evidence)?;
    }
    Ok(evidence)
}

/// Explains every change of outcome, confirms every latent access, and writes it all up.
/// `earlier` counts runs made before this process (by the shards of a merged check).
pub(crate) fn conclude(
    runner: &Runner<'_>,
    evidence: &[Evidence],
    facts: Facts,
    earlier: RunCounts,
) -> Result<Report, Error> {
    let binaries = runner.binaries;
    runner
        .progress()
        .phase("finding polluters, state-setters and cleaners");
    let findings = classify::classify(runner, binaries, evidence)?;
    runner.progress().finish();
    let timing = facts.timing(runner, evidence);
    let mut notes = facts.notes;
    notes.extend(abnormal_ends(binaries, evidence));
    if runner.options.pairs {
        notes.extend(pairs_coverage(binaries, evidence));
    }
    notes.extend(runner.notes());
    let mut runs = runner.counts();
    runs.add_all(&earlier);
    Ok(Report {
        seed: facts.seed,
        rounds: runner.options.rounds,
        binaries: binaries
            .iter()
            .zip(evidence)
            .map(|(b, e)| BinaryReport {
                name: b.label(),
                tests: b.tests.len(),
                traced: e.traced(),
            })
            .collect(),
        tests: binaries.iter().map(|b| b.tests.len()).sum(),
        clean: classify::clean_tests(binaries, &findings),
        findings,
        runs,
        timing,
        orders: order_runs(binaries, evidence),
        notes,
        partition: None,
    })
}

/// Which of the runs that can be shared out are this shard's: counted in the same order
/// on every machine.
struct Share {
    partition: Option<Partition>,
    next: std::cell::Cell<usize>,
}

impl Share {
    fn new(partition: Option<Partition>) -> Share {
        Share {
            partition,
            next: std::cell::Cell::new(0),
        }
    }

    /// Whether the next piece of work is this shard's.
    fn mine(&self) -> bool {
        let index = self.next.get();
        self.next.set(index + 1);
        self.partition.is_none_or(|p| p.takes(index))
    }
}

/// Builds the test binaries and lists the tests the options select in each.
pub(crate) fn find_tests(
    options: &Options,
    progress: &Progress,
) -> Result<(Vec<Binary>, f64), Error> {
    if let Some(path) = &options.manifest_path {
        if !path.exists() {
            return Err(Error::Usage(format!(
                "--manifest-path {}: no such file",
                path.display()
            )));
        }
    }
    progress.phase("building the tests (cargo test --no-run)");
    let built = discover::build(options)?;
    if built.binaries.is_empty() {
        return Err(Error::NoTests(
            "cargo built no test binary for this selection".into(),
        ));
    }
    progress.phase("listing the tests");
    let mut binaries = built.binaries;
    for binary in &mut binaries {
        discover::list(binary, options)?;
    }
    binaries.retain(|b| !b.tests.is_empty());
    if binaries.is_empty() {
        return Err(Error::NoTests(if options.filters.is_empty() {
            "the test binaries hold no test that is not ignored".into()
        } else {
            let filters: Vec<String> = options.filters.iter().map(|f| format!("`{f}`")).collect();
            format!("no test matches {}", filters.join(", "))
        }));
    }
    Ok((binaries, built.duration.as_secs_f64()))
}

/// Each suite as `cargo test` runs it (in parallel, one binary after another, in cargo's
/// order), every test alone and each suite in order (forward, then the shuffles, each
/// order once: see [`Orders`]), all on every core at once ([`schedule`]). A binary's other
/// runs start once its plain run is in, while the next binary's plain run goes; once its
/// runs alone are in: a run of no test if every one of them left something (what does
/// the binary leave by itself?), then the reverse run, which puts the tests that left
/// state first.
///
/// The binaries whose plain run took longest go first, each with its runs of the whole
/// suite before its runs alone: those one-at-a-time runs of a big suite, one after another
/// (no test runs in two processes at once), are the longest chain of the check, and the
/// other cores fill in around them. Runs with and without the shuffle's `RUSTC_BOOTSTRAP`
/// may overlap: a test that runs cargo itself builds the shuffled runs in a target
/// directory of their own (see `Runner::spawn`).
fn run_suites(runner: &Runner<'_>, seed: u64, share: &Share) -> Result<Vec<Evidence>, Error> {
    let binaries = runner.binaries;
    // Each binary's runs, this shard's share, counted in the same order on every machine;
    // ranked once its plain run says how long the binary takes.
    let mut held: Vec<Vec<Request>> = vec![Vec::new(); binaries.len()];
    let mut alone = vec![0usize; binaries.len()];
    for (index, binary) in binaries.iter().enumerate() {
        for test in binary.tests.iter().filter(|_| share.mine()) {
            held[index].push(Request::exact(
                index,
                vec![test.clone()],
                Order::Forward,
                Purpose::Solo,
            ));
            alone[index] += 1;
        }
        let mut orders = Orders::new(&binary.listed, &binary.tests);
        if orders.forward() && share.mine() {
            held[index].push(Request::suite(index, Order::Forward, Purpose::Order));
        }
        for chosen in orders.rounds(seed, runner.options.rounds) {
            if share.mine() {
                held[index].push(Request::suite(index, Order::Seeded(chosen), Purpose::Order));
            }
        }
    }
    // Whether each binary's reverse run is this shard's, counted after every other run as
    // on every machine: whether there is one does not depend on who leaves state.
    let reverse_mine: Vec<bool> = binaries
        .iter()
        .map(|binary| {
            let mut orders = Orders::new(&binary.listed, &binary.tests);
            orders.rounds(seed, runner.options.rounds);
            orders.reverse(&HashSet::new(), seed).is_some() && share.mine()
        })
        .collect();
    // Ranks: 0 for the plain runs; then per binary, longest plain run first, its runs of
    // the whole suite (rank `band`) before its runs alone (`band + 1`).
    let mut band = vec![0; binaries.len()];
    // A shard knows who leaves state only among its own tests alone: its reverse run puts
    // those first.
    let reverse = |index: usize, e: &Evidence, band: u64| -> Vec<Ranked> {
        if !reverse_mine[index] {
            return Vec::new();
        }
        let binary = &binaries[index];
        let mut orders = Orders::new(&binary.listed, &binary.tests);
        orders.rounds(seed, runner.options.rounds);
        let order = orders.reverse(&leaving_state(e), seed).map(Order::Seeded);
        order
            .map(|order| Ranked {
                request: Request::suite(index, order, Purpose::Reverse),
                rank: band,
            })
            .into_iter()
            .collect()
    };
    let plain = |index: usize| Ranked {
        request: Request::suite(index, Order::Parallel, Purpose::Plain),
        rank: 0,
    };
    let mut evidence: Vec<Option<Evidence>> = binaries.iter().map(|_| None).collect();
    let mut in_order = Vec::new();
    schedule(runner, vec![plain(0)], |queued, result| {
        let index = result.binary;
        if result.purpose == Purpose::Plain {
            let millis = u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX);
            band[index] = 2 + 2 * (u64::from(u32::MAX) - millis.min(u64::from(u32::MAX)));
            let e = evidence[index].insert(Evidence::new(result));
            let mut next: Vec<Ranked> = (index + 1 < binaries.len())
                .then(|| plain(index + 1))
                .into_iter()
                .collect();
            next.extend(held[index].drain(..).map(|request| Ranked {
                rank: band[index] + u64::from(request.selection != Selection::Suite),
                request,
            }));
            if alone[index] == 0 {
                next.extend(reverse(index, e, band[index]));
            }
            return next;
        }
        let Some(e) = evidence[index].as_mut() else {
            return Vec::new(); // never: a binary's runs are queued after its plain run
        };
        match result.purpose {
            Purpose::Solo => {
                let test = result.selection_names()[0].clone();
                e.solo.insert(test, result);
                alone[index] -= 1;
                if alone[index] > 0 {
                    Vec::new()
                } else if e.needs_baseline() {
                    runner.progress().add_planned(1);
                    vec![Ranked {
                        request: Request::exact(index, vec![], Order::Forward, Purpose::Baseline),
                        rank: band[index],
                    }]
                } else {
                    reverse(index, e, band[index])
                }
            }
            Purpose::Baseline => {
                e.baseline = Some(result);
                reverse(index, e, band[index])
            }
            _ => {
                in_order.push((queued, result));
                Vec::new()
            }
        }
    })?;
    let mut evidence: Vec<Evidence> = evidence.into_iter().flatten().collect();
    if evidence.len() != binaries.len() {
        return Err(Error::Run {
            binary: "the check".into(),
            reason: "a plain run is missing".into(),
        });
    }
    // In the order they were asked for: forward, the shuffles, reverse.
    in_order.sort_by_key(|(queued, _)| *queued);
    for (_, result) in in_order {
        evidence[result.binary].orders.push(result);
    }
    Ok(evidence)
}

/// The `--pairs` schedule of each binary (this shard's share of it).
fn run_pairs(
    runner: &Runner<'_>,
    seed: u64,
    share: &Share,
    evidence: &mut [Evidence],
) -> Result<(), Error> {
    let mut requests = Vec::new();
    for (index, binary) in runner.binaries.iter().enumerate() {
        let (schedule, _) = orders::pairs_schedule(&binary.listed, &binary.tests, seed);
        for run in schedule.into_iter().filter(|_| share.mine()) {
            let order = Order::Seeded(run.seed);
            requests.push(match run.tests {
                None => Request::suite(index, order, Purpose::Pairs),
                Some(tests) => Request::exact(index, tests, order, Purpose::Pairs),
            });
        }
    }
    runner.progress().add_planned(requests.len());
    for result in parallel(runner.jobs(), &requests, |r| runner.execute(r)) {
        let result = result?;
        evidence[result.binary].orders.push(result);
    }
    Ok(())
}

/// Whether the `--pairs` runs really put every ordered pair next to each other: one note
/// per binary.
fn pairs_coverage(binaries: &[Binary], evidence: &[Evidence]) -> Vec<String> {
    let mut notes = Vec::new();
    for (binary, e) in binaries.iter().zip(evidence) {
        let ran: Vec<&[String]> = e
            .orders
            .iter()
            .filter(|r| r.purpose == Purpose::Pairs)
            .flat_map(|r| r.segments.iter().map(|s| s.ran.started.as_slice()))
            .collect();
        let apart = orders::pairs_apart(&binary.tests, &ran);
        let n = binary.tests.len();
        notes.push(if apart.is_empty() {
            format!(
                "--pairs: each of the {} ordered pairs of the {n} tests of {} ran next to each other, in {} processes",
                n * n.saturating_sub(1),
                binary.label(),
                ran.len()
            )
        } else {
            format!(
                "--pairs: {} ordered pairs of the tests of {} never ran next to each other \
                 (libtest's shuffle did not run as predicted), e.g. `{}` then `{}`",
                apart.len(),
                binary.label(),
                apart[0].0,
                apart[0].1
            )
        });
    }
    notes
}

fn order_runs(binaries: &[Binary], evidence: &[Evidence]) -> Vec<OrderRun> {
    let mut runs = Vec::new();
    for (binary, e) in binaries.iter().zip(evidence) {
        for result in &e.orders {
            runs.push(OrderRun {
                binary: binary.label(),
                order: result.order_label(),
                seed: result.order.seed(),
                failed: result.failed_tests(),
                command: result.command.clone(),
            });
        }
    }
    runs
}

/// Runs that did not end the way libtest ends a suite: a crash or a timeout.
fn abnormal_ends(binaries: &[Binary], evidence: &[Evidence]) -> Vec<String> {
    let mut notes = Vec::new();
    for (binary, e) in binaries.iter().zip(evidence) {
        for result in std::iter::once(&e.plain).chain(&e.orders) {
            for end in result.abnormal_ends() {
                notes.push(format!(
                    "{}, {} run: {end}",
                    binary.label(),
                    result.order_label()
                ));
            }
        }
    }
    notes
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now()) % 1_000_000
}
