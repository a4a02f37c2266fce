//! The check from start to end: build and list, run the suites as `cargo test` does,
//! every test alone, each suite in order, then explain what changed.

use std::time::Instant;

use super::classify;
use super::evidence::{leaving_state, Evidence};
use super::findings::{BinaryReport, OrderRun, Report, Timing};
use super::orders;
use crate::process::discover::{self, Binary};
use crate::runner::pool::parallel;
use crate::runner::progress::Progress;
use crate::runner::snapshot::Databases;
use crate::runner::{Order, Purpose, Request, Runner};
use crate::{Error, Options};

/// Runs the check that `options` describe and returns its report. The report is not
/// printed and no file is written; [`main`](crate::main) does that.
pub fn run(options: &Options) -> Result<Report, Error> {
    let started = Instant::now();
    let progress = Progress::new(options.progress);
    let (binaries, build_secs) = find_tests(options, &progress)?;
    let seed = options.seed.unwrap_or_else(random_seed);
    let mut notes = Vec::new();
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
    let check_started = Instant::now();
    let runner = Runner::new(options, &binaries, databases, &progress)?;
    let tests: usize = binaries.iter().map(|b| b.tests.len()).sum();
    progress.start_runs(binaries.len() * (4 + options.rounds as usize) + tests);

    // 1. As `cargo test` runs it, alone on the machine: the time to beat.
    progress.phase("running each suite as cargo test does");
    let mut evidence = Vec::new();
    for index in 0..binaries.len() {
        let plain = runner.execute(&Request::suite(index, Order::Parallel, Purpose::Plain))?;
        evidence.push(Evidence::new(plain));
    }
    let plain_secs: f64 = evidence
        .iter()
        .map(|e| e.plain.duration.as_secs_f64())
        .sum();

    // 2. Every test alone, a run of no test (what the binary itself leaves behind), and
    //    the suites forward and shuffled; then reverse, which needs to know who leaves state.
    progress.phase("running every test alone and each suite in order");
    run_alone_and_in_order(&runner, seed, &mut evidence)?;
    progress.phase("running each suite in reverse");
    run_in_reverse(&runner, seed, &mut evidence)?;
    if options.pairs {
        progress.phase("running every ordered pair of tests next to each other (--pairs)");
        run_pairs(&runner, seed, &mut evidence)?;
    }

    // 3. Explain every change of outcome; confirm every latent access.
    progress.phase("finding polluters and state-setters");
    let findings = classify::classify(&runner, &binaries, &evidence)?;
    progress.finish();

    notes.extend(abnormal_ends(&binaries, &evidence));
    notes.extend(runner.notes());
    Ok(Report {
        seed,
        rounds: options.rounds,
        binaries: binaries
            .iter()
            .zip(&evidence)
            .map(|(b, e)| BinaryReport {
                name: b.label(),
                tests: b.tests.len(),
                traced: e.traced(),
            })
            .collect(),
        tests,
        clean: classify::clean_tests(&binaries, &findings),
        findings,
        runs: runner.counts(),
        timing: Timing {
            build_secs,
            check_secs: check_started.elapsed().as_secs_f64(),
            total_secs: started.elapsed().as_secs_f64(),
            plain_secs,
            jobs: runner.jobs(),
        },
        orders: order_runs(&binaries, &evidence),
        notes,
    })
}

/// Builds the test binaries and lists the tests the options select in each.
fn find_tests(options: &Options, progress: &Progress) -> Result<(Vec<Binary>, f64), Error> {
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

/// Every test alone, a run of no test, and each suite forward; then the shuffles. Runs
/// with and without the shuffle's `RUSTC_BOOTSTRAP` are kept apart: a test that runs cargo
/// itself rebuilds whenever the variable comes or goes.
fn run_alone_and_in_order(
    runner: &Runner<'_>,
    seed: u64,
    evidence: &mut [Evidence],
) -> Result<(), Error> {
    let mut plain = Vec::new();
    let mut shuffled = Vec::new();
    for (index, binary) in runner.binaries.iter().enumerate() {
        plain.push(Request::exact(
            index,
            vec![],
            Order::Forward,
            Purpose::Baseline,
        ));
        for test in &binary.tests {
            let alone = Request::exact(index, vec![test.clone()], Order::Forward, Purpose::Solo);
            plain.push(alone);
        }
        plain.push(Request::suite(index, Order::Forward, Purpose::Order));
        for round in 0..runner.options.rounds {
            let order = Order::Seeded(seed.wrapping_add(u64::from(round)));
            shuffled.push(Request::suite(index, order, Purpose::Order));
        }
    }
    for requests in [plain, shuffled] {
        for result in parallel(runner.jobs(), &requests, |r| runner.execute(r)) {
            let result = result?;
            let e = &mut evidence[result.binary];
            match result.purpose {
                Purpose::Baseline => e.baseline = Some(result),
                Purpose::Solo => {
                    let test = result.selection_names()[0].clone();
                    e.solo.insert(test, result);
                }
                _ => e.orders.push(result),
            }
        }
    }
    Ok(())
}

/// The reverse run: the tests that left state behind alone go first.
fn run_in_reverse(runner: &Runner<'_>, seed: u64, evidence: &mut [Evidence]) -> Result<(), Error> {
    let requests: Vec<Request> = evidence
        .iter()
        .enumerate()
        .map(|(index, e)| {
            let leaving = leaving_state(e);
            let chosen = orders::reverse_seed(&runner.binaries[index].listed, &leaving, seed);
            Request::suite(index, Order::Seeded(chosen), Purpose::Reverse)
        })
        .collect();
    for result in parallel(runner.jobs(), &requests, |r| runner.execute(r)) {
        let result = result?;
        evidence[result.binary].orders.push(result);
    }
    Ok(())
}

/// The `--pairs` schedule of each binary, then a look at the orders that really ran: a
/// note says whether every ordered pair ran next to each other.
fn run_pairs(runner: &Runner<'_>, seed: u64, evidence: &mut [Evidence]) -> Result<(), Error> {
    let mut requests = Vec::new();
    for (index, binary) in runner.binaries.iter().enumerate() {
        let (schedule, _) = orders::pairs_schedule(&binary.listed, &binary.tests, seed);
        for run in schedule {
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
    for (binary, e) in runner.binaries.iter().zip(evidence.iter()) {
        let ran: Vec<&[String]> = e
            .orders
            .iter()
            .filter(|r| r.purpose == Purpose::Pairs)
            .flat_map(|r| r.segments.iter().map(|s| s.ran.started.as_slice()))
            .collect();
        let apart = orders::pairs_apart(&binary.tests, &ran);
        let n = binary.tests.len();
        runner.note(if apart.is_empty() {
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
    Ok(())
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
