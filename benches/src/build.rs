//! The `build_cold` metric: what a user pays to compile a small test suite. Two crates
//! outside the workspace (`benches/build/`): `dataflow-user` (one model, three `#[rstest]`
//! tests on `dataflow_db`, default features) and `sqlx-user` (the same tests with sqlx,
//! rstest and tokio only). Each is built with `cargo test --no-run --offline` into a fresh
//! target directory, in alternating order, and the wall times compared.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Comparison, Samples};
use crate::os::{wait_with_usage, Finished};

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

/// What one cold build took.
#[derive(Debug, Clone, Copy)]
pub struct Build {
    /// Wall time.
    pub wall: Duration,
    /// Processor time of cargo and every rustc (user and system): less stretched than the
    /// wall time by other work on the machine.
    pub cpu: Duration,
}

/// One cold `cargo test --no-run --offline` of crate `name` (see [`crate_dir`]) into a
/// fresh target directory, removed afterwards. Cargo's output is discarded, except in the
/// error of a failed build (its last lines).
pub fn cold_build(name: &str) -> Result<Build, String> {
    let target = tempfile::Builder::new()
        .prefix("dataflow-bench-build-")
        .tempdir()
        .map_err(|e| format!("a target directory: {e}"))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let log = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let child = Command::new(cargo)
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
        .stderr(log.reopen().map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    let Finished {
        status, wall, cpu, ..
    } = wait_with_usage(child, started).map_err(|e| e.to_string())?;
    if !status.success() {
        let mut stderr = String::new();
        let _ = log.reopen().and_then(|mut f| f.read_to_string(&mut stderr));
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "cold build of {name} failed ({status}):\n{}",
            tail.join("\n")
        ));
    }
    Ok(Build { wall, cpu })
}

/// `rounds` cold builds of each crate, alternating which goes first (A B, B A, ...): wall
/// times, then processor times.
pub fn compare_cold(rounds: usize) -> Result<(Comparison, Comparison), String> {
    let (mut ours, mut baseline) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut order = [DATAFLOW_USER, SQLX_USER];
        if round % 2 == 1 {
            order.reverse();
        }
        for name in order {
            let build = cold_build(name)?;
            eprintln!(
                "bench:   {name}: {:.1} s, processor {:.1} s",
                build.wall.as_secs_f64(),
                build.cpu.as_secs_f64()
            );
            match name {
                DATAFLOW_USER => ours.push(build),
                _ => baseline.push(build),
            }
        }
    }
    let compared = |of: fn(&Build) -> Duration| Comparison {
        ours: Samples::new(ours.iter().map(of).collect()),
        baseline: Samples::new(baseline.iter().map(of).collect()),
    };
    Ok((compared(|b| b.wall), compared(|b| b.cpu)))
}
