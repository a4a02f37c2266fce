//! The short run of every metric, as rows of one table: what `bench-table` (and so
//! `cargo xtask bench`) prints.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::{compare, measure, Comparison, Plan};
use crate::memory::{Cycle, Growth};
use crate::postgres::{Mode, PostgresIsolation, POSTGRES_ENV};
use crate::report::{format_duration, Quantity, Row, Target};
use crate::{build, bulk, chain, isolation, life, registry, schema, suites};

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only the groups of metrics whose name contains this text (`life`, `schema`,
    /// `postgres`, `mysql`, `bulk`, `chain`, `cleanup`, `lookup`, `suite`, `iso_planted`,
    /// `iso_self`, `memory`, `build`).
    pub filter: Option<String>,
    /// Skip the two 1,000-test suites (and their release build) and the cold builds.
    pub no_suites: bool,
}

impl Options {
    /// Whether the group `id` runs: no filter, or one of its comma-separated texts is in
    /// the group's name (`life,bulk`).
    fn wants(&self, id: &str) -> bool {
        self.filter
            .as_deref()
            .is_none_or(|f| f.split(',').any(|f| !f.is_empty() && id.contains(f)))
    }
}

/// Announces a metric on stderr.
fn progress(what: &str) {
    eprintln!("bench: {what} ...");
}

/// Runs every wanted metric and returns its rows, in the order of issue 5's table.
/// `exe` is the bench-table binary, run again as a child for the memory probes.
pub fn run(options: &Options, exe: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    let section = |id: &'static str, rows: &mut Vec<Row>, f: &mut dyn FnMut() -> Vec<Row>| {
        if options.wants(id) {
            rows.extend(f());
        }
    };

    // The lookups run first, while no other work of this run (a server still dropping
    // databases, a pool closing) holds a core: the two-thread figure needs both. Their rows
    // keep their place in the table.
    let mut lookup_rows = Vec::new();
    section("lookup", &mut lookup_rows, &mut || {
        progress("registry lookups, uncontended");
        let lookups = registry::Lookups::new(10);
        let n = lookups.per_run() as u32;
        let mut w = registry::Lookup(lookups);
        let c = compare(Plan::new(20, 200), &mut w).per(n);
        progress("registry lookups from 2 threads vs 1");
        let lookups = registry::Lookups::new(300);
        let n = lookups.per_run() as f64;
        let mut w = registry::TwoThreads(lookups);
        let t = compare(Plan::new(3, 30), &mut w);
        // The floor: what two threads gain on plain `HashMap` gets in the same run.
        let mut floor = registry::MapTwoThreads(w.0);
        let f = compare(Plan::new(3, 30), &mut floor);
        let rate = |threads: f64, d: Duration| Quantity::Rate(threads * n / d.as_secs_f64());
        let speedup = |c: &Comparison| {
            2.0 * c.baseline.median().as_secs_f64() / c.ours.median().as_secs_f64()
        };
        vec![
            Row::compared(
                "lookup",
                "registry lookup, uncontended (vs HashMap get)",
                &c,
                Target::RatioAtMost(3.0),
            ),
            Row::new(
                "lookup_threads",
                "registry lookups, 2 threads vs 1 (throughput)",
                rate(2.0, t.ours.median()),
                Some(rate(1.0, t.baseline.median())),
                Target::RatioAtLeast(1.6),
            )
            .with_note(format!(
                "floor, HashMap gets from 2 threads vs 1 in the same run: {:.2}x; ours is {:.0}% of it",
                speedup(&f),
                100.0 * speedup(&t) / speedup(&f)
            )),
        ]
    });

    section("life", &mut rows, &mut || {
        progress("guarded test life on a temporary SQLite file");
        let file = compare(
            Plan::new(10, 200),
            &mut life::TestLife::new(life::Storage::File),
        );
        progress("guarded test life on SQLite :memory:");
        let memory = compare(
            Plan::new(10, 200),
            &mut life::TestLife::new(life::Storage::Memory),
        );
        vec![
            Row::compared(
                "life_file",
                "guarded test life, temp SQLite file (vs raw sqlx)",
                &file,
                Target::RatioAtMost(1.0),
            ),
            Row::compared(
                "life_memory",
                "guarded test life, SQLite :memory: (vs raw sqlx)",
                &memory,
                Target::RatioAtMost(1.25),
            ),
        ]
    });

    section("schema", &mut rows, &mut || {
        progress("per-test set-up of a 20-model schema on SQLite");
        let toolkit = compare(Plan::new(5, 60), &mut schema::SqliteSchema::new());
        let mut floor = schema::SchemaFloor::new();
        let bytes = floor.image_len();
        let floor = compare(Plan::new(5, 60), &mut floor);
        vec![Row::compared(
            "schema_sqlite",
            "per-test set-up, 20-model schema, SQLite (vs 20 CREATE TABLE)",
            &toolkit,
            Target::RatioAtMost(0.05),
        )
        .with_note(format!(
            "floor, directory + one write of the {} KiB template + removal: {} vs {}, ratio {:.3}",
            bytes / 1024,
            format_duration(floor.ours.median()),
            format_duration(floor.baseline.median()),
            floor.ratio()
        ))]
    });

    section("postgres", &mut rows, &mut || {
        let _cleanup = crate::postgres::ServerCleanup::start();
        let mut out = Vec::new();
        for (id, mode, text) in [
            ("pg_clone", Mode::Clone, "PostgreSQL isolation, 20 models, cloned database (vs CREATE/DROP DATABASE + 20 tables)"),
            ("pg_transaction", Mode::Transaction, "PostgreSQL isolation, 20 models, transaction mode (same baseline)"),
        ] {
            let target = Target::RatioAtMost(if mode == Mode::Clone { 0.5 } else { 0.05 });
            match PostgresIsolation::new(mode, true) {
                Err(why) => out.push(Row::skipped(id, text, target, why)),
                Ok(mut workload) => {
                    progress(text);
                    let per_test = crate::postgres::SUITE_TESTS;
                    let c = compare(Plan::new(1, 8), &mut workload).per(per_test);
                    drop(workload);
                    // The isolation alone, with one connection instead of `migrate`,
                    // against the same baseline measured alongside it.
                    let bare = PostgresIsolation::new(mode, false)
                        .map(|mut w| compare(Plan::new(1, 5), &mut w).per(per_test));
                    let mut row = Row::compared(id, text, &c, target);
                    let mut notes = Vec::new();
                    if let Ok(bare) = bare {
                        notes.push(format!(
                            "without migrate: {} vs {}, ratio {:.2}",
                            format_duration(bare.ours.median()),
                            format_duration(bare.baseline.median()),
                            bare.ratio()
                        ));
                    }
                    if mode == Mode::Clone {
                        // What no database-per-test mode can go below on this server.
                        if let Ok(floor) = crate::postgres::CloneFloor::new()
                            .map(|mut w| compare(Plan::new(1, 5), &mut w).per(per_test))
                        {
                            notes.push(format!(
                                "floor, raw sqlx clone + drop: {} vs {}, ratio {:.2}",
                                format_duration(floor.ours.median()),
                                format_duration(floor.baseline.median()),
                                floor.ratio()
                            ));
                        }
                    }
                    if !notes.is_empty() {
                        row = row.with_note(notes.join("; "));
                    }
                    out.push(row);
                }
            }
        }
        // Before `_cleanup` drops the templates this process built and still uses.
        out.extend(crate::reuse::postgres_rows());
        out
    });
    section("mysql", &mut rows, &mut || crate::reuse::mysql_rows(exe));

    section("bulk", &mut rows, &mut || {
        progress("BulkCreate of 10,000 rows on :memory:");
        let c = compare(Plan::new(3, 25), &mut bulk::BulkCreate::new());
        let json = compare(
            Plan::new(3, 25),
            &mut bulk::BulkCreate::with_input(bulk::Input::Json),
        );
        vec![
            Row::compared(
                "bulk_create",
                "BulkCreate 10,000 rows, SQLite :memory: (vs multi-row INSERTs)",
                &c,
                Target::RatioAtMost(1.3),
            ),
            Row::compared(
                "bulk_create_json",
                "the same, baseline reading the same JSON rows",
                &json,
                Target::None,
            ),
        ]
    });

    section("chain", &mut rows, &mut || {
        progress("a 100-node chain");
        let c =
            compare(Plan::new(50, 400), &mut chain::Chain::new()).per(chain::CHAIN_NODES as u32);
        let overhead = c.ours.median().saturating_sub(c.baseline.median());
        vec![Row::compared(
            "chain",
            "100-node chain of PassthroughNode, per node (vs 100 calls)",
            &c,
            Target::OverheadAtMost(Duration::from_micros(5)),
        )
        .with_note(format!("overhead {}/node", format_duration(overhead)))]
    });

    section("cleanup", &mut rows, &mut || {
        progress("cleanup_nodes() of 100 models");
        let cleanup = registry::Cleanup::new();
        let s = measure(Plan::new(5, 50), || cleanup.run());
        vec![Row::new(
            "cleanup",
            "cleanup_nodes(), 100 models / 1,000 nodes",
            Quantity::Time(s.median()),
            None,
            Target::TimeAtMost(Duration::from_micros(100)),
        )]
    });

    rows.append(&mut lookup_rows);

    if !options.no_suites && options.wants("suite") {
        rows.extend(suite_rows(exe));
    }

    if !options.no_suites {
        section("build", &mut rows, &mut || build_rows(2));
    }

    rows.extend(isolation::rows(|group| options.wants(group)));

    section("memory", &mut rows, &mut || {
        let mut out = Vec::new();
        for (id, cycle, warmup, text) in [
            (
                "memory_instances",
                Cycle::Instance,
                200,
                "RSS growth, 1,000 create-register-cleanup-drop cycles",
            ),
            (
                "memory_tests",
                Cycle::GuardedTest,
                100,
                "RSS growth, 1,000 guarded test lives (temp SQLite file)",
            ),
        ] {
            progress(text);
            match probe_in_child(exe, cycle, warmup, 1000) {
                Ok(g) => {
                    let mut note = format!(
                        "{} -> {}",
                        Quantity::Bytes(g.warm),
                        Quantity::Bytes(g.end())
                    );
                    // The same cycles with the pool closed before the drop, so that no
                    // closer is left for the engine: tells a backlog from a leak.
                    if cycle == Cycle::Instance {
                        if let Ok(closed) = probe_in_child(exe, Cycle::InstanceClosed, warmup, 1000)
                        {
                            note.push_str(&format!(
                                "; with close_blocking() before each drop: {:+.2}%",
                                closed.percent()
                            ));
                        }
                    }
                    out.push(
                        Row::new(
                            id,
                            text,
                            Quantity::Percent(g.percent()),
                            None,
                            Target::PercentBelow(5.0),
                        )
                        .with_note(note),
                    );
                }
                Err(e) => out.push(Row::skipped(id, text, Target::PercentBelow(5.0), e)),
            }
        }
        out
    });
    rows
}

/// The cold build of a small user crate on dataflow against the same tests on sqlx alone
/// (`build.rs`), `rounds` builds of each.
fn build_rows(rounds: usize) -> Vec<Row> {
    const TEXT: &str = "cold cargo test --no-run, 1 model + 3 rstest tests on dataflow_db (vs sqlx + rstest + tokio)";
    progress("cold builds of benches/build/dataflow-user and sqlx-user (minutes)");
    let load = crate::os::load_average();
    match build::compare_cold(rounds) {
        Ok((wall, cpu)) => {
            let load = load.map_or(String::new(), |l| format!("; load average {l} at start"));
            vec![
                Row::compared("build_cold", TEXT, &wall, Target::RatioAtMost(1.5)).with_note(
                    format!(
                    "processor time {} vs {}, ratio {:.2}; {rounds} builds each, alternating{load}",
                    format_duration(cpu.ours.median()),
                    format_duration(cpu.baseline.median()),
                    cpu.ratio()
                ),
                ),
            ]
        }
        Err(e) => vec![Row::skipped(
            "build_cold",
            TEXT,
            Target::RatioAtMost(1.5),
            e,
        )],
    }
}

/// Runs `bench-table --probe-memory CYCLE WARMUP CYCLES` and reads its JSON.
fn probe_in_child(
    exe: &Path,
    cycle: Cycle,
    warmup: usize,
    cycles: usize,
) -> Result<Growth, String> {
    let out = Command::new(exe)
        .args([
            "--probe-memory",
            cycle.name(),
            &warmup.to_string(),
            &cycles.to_string(),
        ])
        .env_remove(POSTGRES_ENV)
        .env_remove(dataflow_testing::MYSQL_ENV)
        .output()
        .map_err(|e| format!("could not run the probe: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the probe failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("the probe's output: {e}"))?;
    Growth::from_json(&value).ok_or_else(|| "the probe's output has no figures".to_owned())
}

/// The speed-up of two test threads over one with the suites' files on tmpfs, where the
/// disk does not set the pace: (ours, raw), medians of 3 runs each; `None` without
/// `/dev/shm` or when a run fails.
fn tmpfs_speedups(exe: &Path, suites: &suites::Suites) -> Option<(f64, f64)> {
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        return None;
    }
    let speedup = |binary: &Path| -> Option<f64> {
        let mut walls = [Vec::new(), Vec::new()];
        for _ in 0..3 {
            for threads in [1, 2] {
                let run = suites::run_in(exe, binary, threads, Some(shm)).ok()?;
                walls[threads - 1].push(run.wall);
            }
        }
        let [one, two] = walls.map(|v| crate::harness::Samples::new(v).median());
        Some(one.as_secs_f64() / two.as_secs_f64())
    };
    Some((speedup(&suites.guarded)?, speedup(&suites.raw)?))
}

/// The 1,000-test suites: wall time against raw sqlx with two test threads, the speed-up
/// of two threads over one, and the peak resident size.
fn suite_rows(exe: &Path) -> Vec<Row> {
    const WALL: &str =
        "1,000 guarded tests in one binary, --test-threads=2, wall (vs raw sqlx suite)";
    const SPEEDUP: &str =
        "1,000 guarded tests, speed-up of --test-threads=2 over 1 (vs raw sqlx suite's)";
    // Ours' speed-up at least this fraction of the raw suite's in the same run.
    const SPEEDUP_TARGET: f64 = 0.95;
    const RSS: &str = "peak RSS of the 1,000 guarded tests (vs raw sqlx suite)";
    progress("building the 1,000-test suites (cargo test --release --no-run)");
    let suites = match suites::build() {
        Ok(s) => s,
        Err(e) => {
            return [
                ("suite_wall", WALL, Target::RatioAtMost(1.5)),
                (
                    "suite_threads",
                    SPEEDUP,
                    Target::RatioAtLeast(SPEEDUP_TARGET),
                ),
                ("suite_rss", RSS, Target::None),
            ]
            .into_iter()
            .map(|(id, text, target)| Row::skipped(id, text, target, e.clone()))
            .collect();
        }
    };
    progress("running the 1,000-test suites, 3 rounds of 4 runs");
    let (mut g2, mut r2, mut g1, mut r1) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rss = (0, 0);
    for round in 0..3 {
        let mut order: Vec<(&Path, usize)> = vec![
            (&suites.guarded, 2),
            (&suites.raw, 2),
            (&suites.guarded, 1),
            (&suites.raw, 1),
        ];
        if round % 2 == 1 {
            order.reverse();
        }
        for (binary, threads) in order {
            let run = match suites::run(exe, binary, threads) {
                Ok(run) => run,
                Err(e) => {
                    return vec![Row::skipped(
                        "suite_wall",
                        WALL,
                        Target::RatioAtMost(1.5),
                        e,
                    )];
                }
            };
            let guarded = binary == suites.guarded.as_path();
            match (guarded, threads) {
                (true, 2) => g2.push(run.wall),
                (false, 2) => r2.push(run.wall),
                (true, _) => g1.push(run.wall),
                (false, _) => r1.push(run.wall),
            }
            if guarded {
                rss.0 = rss.0.max(run.max_rss);
            } else {
                rss.1 = rss.1.max(run.max_rss);
            }
        }
    }
    let median = |v: Vec<Duration>| crate::harness::Samples::new(v).median();
    let (g2, r2, g1, r1) = (median(g2), median(r2), median(g1), median(r1));
    let on_tmpfs = tmpfs_speedups(exe, &suites)
        .map(|(ours, raw)| format!("; on tmpfs (TMPDIR=/dev/shm): ours {ours:.2}x, raw {raw:.2}x"))
        .unwrap_or_default();
    let wall = Comparison {
        ours: crate::harness::Samples::new(vec![g2]),
        baseline: crate::harness::Samples::new(vec![r2]),
    };
    let (ours_speedup, raw_speedup) = (
        g1.as_secs_f64() / g2.as_secs_f64(),
        r1.as_secs_f64() / r2.as_secs_f64(),
    );
    vec![
        Row::compared("suite_wall", WALL, &wall, Target::RatioAtMost(1.5)),
        // Relative to the raw suite in the same run: what two threads can gain here is set
        // by the machine (two shared cores, files made and removed per test on ext4), not
        // by the toolkit, and the raw suite meets the same limit.
        Row::new(
            "suite_threads",
            SPEEDUP,
            Quantity::Speedup(ours_speedup),
            Some(Quantity::Speedup(raw_speedup)),
            Target::RatioAtLeast(SPEEDUP_TARGET),
        )
        .with_note(format!(
            "the machine is the limit: on its 2 shared cores raw sqlx gains {raw_speedup:.2}x; \
             tests/s with 2 threads: ours {:.0} vs raw {:.0}; \
             1 thread: ours {} vs raw {}{on_tmpfs}",
            1000.0 / g2.as_secs_f64(),
            1000.0 / r2.as_secs_f64(),
            format_duration(g1),
            format_duration(r1)
        )),
        Row::new(
            "suite_rss",
            RSS,
            Quantity::Bytes(rss.0),
            Some(Quantity::Bytes(rss.1)),
            Target::None,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_selects_the_groups_naming_any_of_its_texts() {
        let options = |filter: Option<&str>| Options {
            filter: filter.map(str::to_owned),
            no_suites: false,
        };
        assert!(options(None).wants("build"));
        let some = options(Some("life,iso_planted"));
        assert!(some.wants("life") && some.wants("iso_planted"));
        assert!(!some.wants("iso_self") && !some.wants("build"));
        assert!(
            !options(Some(",")).wants("life"),
            "empty texts select nothing"
        );
    }
}
