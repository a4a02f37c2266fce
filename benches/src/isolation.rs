//! The isolation check's cost (issue 13, item 5), measured by running it as a user does
//! (`cargo run -p dataflow-isolation --bin cargo-isolation-check -- isolation-check`):
//!
//! - `iso_planted_runs`: the test-binary processes the check starts to classify the planted
//!   suite (`tests/planted`, seed 11), against N + 8 for its N tests.
//! - `iso_self_wall` (its own group, `iso_self`: it runs this workspace's whole suite about
//!   ten times): the wall time of the check of this workspace against one plain
//!   `cargo test --workspace --tests` of it, both after the same build, both with every
//!   core (the check's default `-j`), both on SQLite: the server variables are removed, or
//!   the check would make one run at a time to watch the server's databases.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::report::{Quantity, Row, Target};

const PLANTED: &str = "isolation check of tests/planted (seed 11): test-binary runs (vs N + 8)";
const SELF: &str =
    "isolation check of this workspace, wall (vs one plain cargo test --workspace --tests)";
/// Variables that point the suites at a test server.
const SERVER_VARS: [&str; 2] = ["DATAFLOW_TEST_POSTGRES_URL", "DATAFLOW_TEST_MYSQL_URL"];

/// The rows whose group `wants` accepts: `iso_planted`, `iso_self`.
pub fn rows(wants: impl Fn(&str) -> bool) -> Vec<Row> {
    let mut rows = Vec::new();
    if wants("iso_planted") {
        eprintln!("bench: isolation check of the planted suite ...");
        rows.push(planted_runs());
    }
    if wants("iso_self") {
        eprintln!("bench: isolation check of this workspace vs cargo test (many minutes) ...");
        rows.push(self_wall());
    }
    rows
}

fn planted_runs() -> Row {
    let skipped =
        |why: String| Row::skipped("iso_planted_runs", PLANTED, Target::RatioAtMost(1.0), why);
    let report = match check(&["--manifest-path", "tests/planted", "--seed", "11"]) {
        Ok((report, _)) => report,
        Err(why) => return skipped(why),
    };
    let Some(tests) = report["tests"].as_u64() else {
        return skipped("the report names no number of tests".into());
    };
    let runs = Runs::of(&report);
    Row::new(
        "iso_planted_runs",
        PLANTED,
        Quantity::Count(runs.total),
        Some(Quantity::Count(tests + 8)),
        Target::RatioAtMost(1.0),
    )
    .with_note(format!("N = {tests}: {}", runs.breakdown))
}

fn self_wall() -> Row {
    let skipped = |why: String| Row::skipped("iso_self_wall", SELF, Target::RatioAtMost(2.0), why);
    // One build for both: what the check builds (`cargo test --no-run`) and the check.
    let built = cargo()
        .args(["test", "--workspace", "--no-run", "-q"])
        .status()
        .and_then(|_| {
            cargo()
                .args(["build", "-q", "-p", "dataflow-isolation"])
                .args(["--bin", "cargo-isolation-check"])
                .status()
        });
    match built {
        Ok(status) if status.success() => {}
        Ok(status) => return skipped(format!("the build failed ({status})")),
        Err(e) => return skipped(format!("could not run cargo: {e}")),
    }
    let started = Instant::now();
    let plain = cargo()
        .args(["test", "--workspace", "--tests", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let plain_wall = started.elapsed();
    let plain_note = match plain {
        Ok(status) if status.success() => String::new(),
        Ok(status) => format!("; the plain run failed ({status})"),
        Err(e) => return skipped(format!("could not run cargo test: {e}")),
    };
    let (report, check_wall) = match check(&["--workspace", "--seed", "11"]) {
        Ok(done) => done,
        Err(why) => return skipped(why),
    };
    let runs = Runs::of(&report);
    Row::new(
        "iso_self_wall",
        SELF,
        Quantity::Time(check_wall),
        Some(Quantity::Time(plain_wall)),
        Target::RatioAtMost(2.0),
    )
    .with_note(format!(
        "-j {}, {} runs: {}{plain_note}",
        report["timing"]["jobs"], runs.total, runs.breakdown
    ))
}

/// The check's runs, as its report counts them.
struct Runs {
    total: u64,
    breakdown: String,
}

impl Runs {
    fn of(report: &Value) -> Runs {
        let runs = &report["runs"];
        let count = |kind: &str| runs[kind].as_u64().unwrap_or(0);
        let kinds = ["plain", "solo", "orders", "probes", "baseline", "pairs"];
        Runs {
            total: kinds.iter().map(|k| count(k)).sum(),
            breakdown: format!(
                "{} plain, {} alone, {} in order, {} probes, {} baseline",
                count("plain"),
                count("solo"),
                count("orders"),
                count("probes"),
                count("baseline")
            ),
        }
    }
}

/// Runs the check with `args` from the workspace root: its JSON report and its wall time
/// (cargo's check that the check is built included, a fraction of a second).
fn check(args: &[&str]) -> Result<(Value, Duration), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
    let json = dir.path().join("report.json");
    let started = Instant::now();
    let status = cargo()
        .args(["run", "-q", "-p", "dataflow-isolation", "--bin"])
        .args([
            "cargo-isolation-check",
            "--",
            "isolation-check",
            "--no-progress",
        ])
        .args(args)
        .arg("--json")
        .arg(&json)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("could not run the check: {e}"))?;
    let wall = started.elapsed();
    // 0: clean, 1: findings; anything else: it could not run.
    if !matches!(status.code(), Some(0 | 1)) {
        return Err(format!("the check could not run ({status})"));
    }
    let text = std::fs::read_to_string(&json)
        .map_err(|e| format!("the check wrote no report to {}: {e}", json.display()))?;
    let report = serde_json::from_str(&text).map_err(|e| format!("the check's JSON: {e}"))?;
    Ok((report, wall))
}

/// `cargo` (the one running this, if any) in the workspace root, without the server
/// variables.
fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command.current_dir(workspace());
    for var in SERVER_VARS {
        command.env_remove(var);
    }
    command
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ sits in the workspace")
        .to_path_buf()
}
