//! The `build_cold` metric: what a user pays to compile a small test suite. Two crates
//! outside the workspace (`benches/build/`): `dataflow-user` (one model, three `#[rstest]`
//! tests on `dataflow_db`, default features) and `sqlx-user` (the same tests with sqlx,
//! rstest and tokio only). Each is built with `cargo test --no-run --offline` into a fresh
//! target directory, in alternating order, and the wall times compared.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Comparison, Samples};

/// The crate built on dataflow.
pub const DATAFLOW_USER: &str = "dataflow-user";
/// The baseline crate, on sqlx alone.
pub const SQLX_USER: &str = "sqlx-user";

/// The directory of one of the two crates.
pub fn crate_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("build")
        .join(name)
}

/// One cold `cargo test --no-run --offline` of crate `name` (see [`crate_dir`]) into a
/// fresh target directory, removed afterwards; its wall time. Cargo's output is
/// discarded, except in the error of a failed build (its last lines).
pub fn cold_build(name: &str) -> Result<Duration, String> {
    let target = tempfile::Builder::new()
        .prefix("dataflow-bench-build-")
        .tempdir()
        .map_err(|e| format!("a target directory: {e}"))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let out = Command::new(cargo)
        .args([
            "test",
            "--no-run",
            "--offline",
            "--quiet",
            "--manifest-path",
        ])
        .arg(crate_dir(name).join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target.path())
        // The build as a user's shell would run it, not as this process was built.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    let wall = started.elapsed();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "cold build of {name} failed ({}):\n{}",
            out.status,
            tail.join("\n")
        ));
    }
    Ok(wall)
}

/// `rounds` cold builds of each crate, alternating which goes first (A B, B A, ...).
pub fn compare_cold(rounds: usize) -> Result<Comparison, String> {
    let (mut ours, mut baseline) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut order = [DATAFLOW_USER, SQLX_USER];
        if round % 2 == 1 {
            order.reverse();
        }
        for name in order {
            let wall = cold_build(name)?;
            match name {
                DATAFLOW_USER => ours.push(wall),
                _ => baseline.push(wall),
            }
        }
    }
    Ok(Comparison {
        ours: Samples::new(ours),
        baseline: Samples::new(baseline),
    })
}

/// The 1-minute load average (`/proc/loadavg`), for the row's note: other builds on the
/// machine stretch both times.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
