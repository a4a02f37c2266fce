//! `bench-table`: runs a short version of every benchmark and prints one table (metric,
//! ours, baseline, ratio, target, met). What `cargo xtask bench` runs.
//!
//! ```text
//! bench-table [--json FILE] [--filter TEXT] [--no-suites]
//! bench-table --profile WORKLOAD ours|baseline N   # one side in a loop, under perf
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use dataflow_benches::memory::{self, Cycle};
use dataflow_benches::report::{render_table, to_json};
use dataflow_benches::table::{self, Options};
use dataflow_benches::{os, suites};

const USAGE: &str = "usage: bench-table [--json FILE] [--filter TEXT] [--no-suites]

Runs a short version of every benchmark (ours against raw sqlx or plain Rust, in the same
process) and prints one table: metric, ours, baseline, ratio, target, met.

  --json FILE     also write the table as JSON to FILE
  --filter TEXT   only the groups of metrics whose name contains TEXT (or one of several,
                  comma-separated): life, schema, postgres, mysql, bulk, chain, cleanup,
                  lookup, suite, iso_planted, iso_self, memory, build
  --no-suites     skip the two 1,000-test suites (and their release build) and the
                  cold builds of build_cold

  --profile WORKLOAD ours|baseline N
                  run one side of one workload N times and nothing else, to profile it
                  (`perf record -g target/release/bench-table --profile memory-life ours 2000`);
                  workloads: file-life, memory-life, schema, bulk, chain, cleanup (ours only)

The PostgreSQL rows run when DATAFLOW_TEST_POSTGRES_URL names a server, the MariaDB row
when DATAFLOW_TEST_MYSQL_URL does.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--probe-memory") => return probe(&args[1..]),
        Some("--run-suite") => return run_suite(&args[1..]),
        Some("--profile") => return profile(&args[1..]),
        Some("--run-mysql-reuse") => return run_mysql_reuse(),
        _ => {}
    }
    let mut options = Options::default();
    let mut json: Option<PathBuf> = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--json" => match rest.next() {
                Some(file) => json = Some(PathBuf::from(file)),
                None => return usage("--json needs a file"),
            },
            "--filter" => match rest.next() {
                Some(text) => options.filter = Some(text.clone()),
                None => return usage("--filter needs a text"),
            },
            "--no-suites" => options.no_suites = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument `{other}`")),
        }
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("bench-table: cannot find its own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let load_before = os::load_average();
    let rows = table::run(&options, &exe);
    let load_after = os::load_average();
    println!("\n{}", render_table(&rows));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{cores} cores; load average before {}, after {}",
        load_before.as_deref().unwrap_or("?"),
        load_after.as_deref().unwrap_or("?")
    );
    if let Some(file) = json {
        let mut doc = to_json(&rows);
        doc["load_average_before"] = load_before.into();
        doc["load_average_after"] = load_after.into();
        let text = serde_json::to_string_pretty(&doc).expect("JSON");
        if let Err(e) = std::fs::write(&file, text + "\n") {
            eprintln!("bench-table: cannot write {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
        eprintln!("bench-table: wrote {}", file.display());
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("bench-table: {problem}\n\n{USAGE}");
    ExitCode::from(2)
}

/// `--probe-memory CYCLE WARMUP CYCLES`: one memory probe, in a process of its own; prints
/// its figures as JSON.
fn probe(args: &[String]) -> ExitCode {
    let cycle = args.first().and_then(|c| Cycle::from_name(c));
    let number = |i: usize| args.get(i).and_then(|n| n.parse::<usize>().ok());
    let (Some(cycle), Some(warmup), Some(cycles)) = (cycle, number(1), number(2)) else {
        return usage("--probe-memory instances|guarded-tests WARMUP CYCLES");
    };
    println!("{}", memory::probe(cycle, warmup, cycles).to_json());
    ExitCode::SUCCESS
}

/// `--profile WORKLOAD SIDE N`: one side of one workload in a loop; prints the median.
fn profile(args: &[String]) -> ExitCode {
    use dataflow_benches::harness::{measure, Plan, Workload};
    use dataflow_benches::{bulk, chain, life, registry, schema};

    let times = args.get(2).and_then(|n| n.parse::<usize>().ok());
    let (Some(name), Some(side), Some(times)) = (args.first(), args.get(1), times) else {
        return usage("--profile WORKLOAD ours|baseline N");
    };
    if name == "cleanup" {
        // No baseline: only ours, timed around `cleanup_nodes()`.
        let cleanup = registry::Cleanup::new();
        let samples = measure(Plan::new(0, times), || cleanup.run());
        println!(
            "cleanup ours: median {:?} over {times} runs",
            samples.median()
        );
        return ExitCode::SUCCESS;
    }
    let mut workload: Box<dyn Workload> = match name.as_str() {
        "file-life" => Box::new(life::TestLife::new(life::Storage::File)),
        "memory-life" => Box::new(life::TestLife::new(life::Storage::Memory)),
        "schema" => Box::new(schema::SqliteSchema::new()),
        "bulk" => Box::new(bulk::BulkCreate::new()),
        "chain" => Box::new(chain::Chain::new()),
        other => return usage(&format!("unknown workload `{other}`")),
    };
    let samples = match side.as_str() {
        "ours" => measure(Plan::new(0, times), || workload.ours()),
        "baseline" => measure(Plan::new(0, times), || workload.baseline()),
        other => return usage(&format!("`{other}` is neither ours nor baseline")),
    };
    println!(
        "{name} {side}: median {:?} over {times} runs",
        samples.median()
    );
    ExitCode::SUCCESS
}

/// `--run-suite BINARY THREADS`: runs one suite binary from this (small) process and prints
/// its wall time and peak resident size as JSON (see `suites::run`).
/// `--run-mysql-reuse`: the `mysql_reuse` row's measurement, in a process that sees only
/// the MariaDB server; prints the medians (see `reuse::run_mysql_child`).
fn run_mysql_reuse() -> ExitCode {
    match dataflow_benches::reuse::run_mysql_child() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-table: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_suite(args: &[String]) -> ExitCode {
    let threads = args.get(1).and_then(|n| n.parse::<usize>().ok());
    let (Some(binary), Some(threads)) = (args.first(), threads) else {
        return usage("--run-suite BINARY THREADS");
    };
    match suites::run_here(std::path::Path::new(binary), threads) {
        Ok(run) => {
            println!("{}", run.to_json());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-table: {e}");
            ExitCode::FAILURE
        }
    }
}
