//! The "1,000 guarded tests in one test binary" metric: builds the two suites of this
//! crate (`suites/guarded_1000.rs`, `suites/raw_1000.rs`) in release mode and times each
//! binary with `--test-threads=2` and `--test-threads=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::os::{wait_with_usage, Finished};

/// The guarded suite's test target.
pub const GUARDED: &str = "guarded_1000";
/// The raw sqlx suite's test target.
pub const RAW: &str = "raw_1000";

/// The two suite binaries.
#[derive(Debug, Clone)]
pub struct Suites {
    /// `guarded_1000`.
    pub guarded: PathBuf,
    /// `raw_1000`.
    pub raw: PathBuf,
}

/// Builds both suites with `cargo test --release --no-run` and finds their executables in
/// cargo's JSON messages. Cargo's progress goes to stderr.
pub fn build() -> Result<Suites, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let output = Command::new(cargo)
        .args(["test", "--release", "--no-run", "--message-format=json"])
        .arg("--manifest-path")
        .arg(&manifest)
        .args([
            "--package",
            "dataflow-benches",
            "--test",
            GUARDED,
            "--test",
            RAW,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("building the suites failed ({})", output.status));
    }
    let executable = |name: &str| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .ok_or_else(|| format!("cargo named no executable for test target {name}"))
    };
    Ok(Suites {
        guarded: executable(GUARDED)?,
        raw: executable(RAW)?,
    })
}

/// One run of a suite binary.
#[derive(Debug, Clone, Copy)]
pub struct SuiteRun {
    /// Wall time of the whole binary.
    pub wall: Duration,
    /// Its peak resident size.
    pub max_rss: u64,
}

impl SuiteRun {
    /// As JSON (what `bench-table --run-suite` prints).
    pub fn to_json(&self) -> Value {
        serde_json::json!({"wall_ns": self.wall.as_nanos() as u64, "max_rss": self.max_rss})
    }

    /// From `bench-table --run-suite`'s JSON.
    pub fn from_json(value: &Value) -> Option<SuiteRun> {
        Some(SuiteRun {
            wall: Duration::from_nanos(value["wall_ns"].as_u64()?),
            max_rss: value["max_rss"].as_u64()?,
        })
    }
}

/// Runs `binary` with `--test-threads=threads` through `launcher --run-suite`, a fresh
/// `bench-table` process, and reads its figures.
///
/// The detour is for the peak resident size: on Linux a child's `ru_maxrss` is at least
/// the resident size of the process it was forked from (exec keeps the old high-water
/// mark), so measured from a large process every suite would show that process's size. A
/// fresh launcher is a few MiB, below any suite's own peak.
pub fn run(launcher: &Path, binary: &Path, threads: usize) -> Result<SuiteRun, String> {
    run_in(launcher, binary, threads, None)
}

/// [`run`] with the temporary files of the suite (its databases) under `tmpdir`.
pub fn run_in(
    launcher: &Path,
    binary: &Path,
    threads: usize,
    tmpdir: Option<&Path>,
) -> Result<SuiteRun, String> {
    let mut command = Command::new(launcher);
    if let Some(dir) = tmpdir {
        command.env("TMPDIR", dir);
    }
    let out = command
        .arg("--run-suite")
        .arg(binary)
        .arg(threads.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run {}: {e}", launcher.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed ({})", binary.display(), out.status));
    }
    serde_json::from_slice::<Value>(&out.stdout)
        .ok()
        .as_ref()
        .and_then(SuiteRun::from_json)
        .ok_or_else(|| "the suite launcher printed no figures".to_owned())
}

/// Runs `binary` with `--test-threads=threads` from this process, on SQLite whatever the
/// environment names (the server variables are removed), its output discarded; a failing
/// suite's last lines of stderr are in the error.
pub fn run_here(binary: &Path, threads: usize) -> Result<SuiteRun, String> {
    let log = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let child = Command::new(binary)
        .arg(format!("--test-threads={threads}"))
        .arg("-q")
        .env_remove(dataflow_testing::POSTGRES_ENV)
        .env_remove(dataflow_testing::MYSQL_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log.reopen().map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("could not run {}: {e}", binary.display()))?;
    let Finished {
        status,
        wall,
        max_rss,
        ..
    } = wait_with_usage(child, started).map_err(|e| e.to_string())?;
    if !status.success() {
        let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
        let tail: String = stderr
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        return Err(format!("{} failed ({status}):\n{tail}", binary.display()));
    }
    Ok(SuiteRun { wall, max_rss })
}
