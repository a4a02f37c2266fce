//! `cargo xtask bench`: builds and runs `bench-table` (crate `dataflow-benches`) in release
//! mode, handing it the arguments after `bench` (`--json FILE`, `--filter TEXT`,
//! `--no-suites`, `--help`). It prints one table: metric, ours, baseline, ratio, target, met.

use std::process::{Command, ExitCode};

/// Runs `cargo run --release -p dataflow-benches --bin bench-table -- <args>` in this
/// workspace, whatever the current directory.
pub fn run(args: &[String]) -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let status = Command::new(cargo)
        .args(["run", "--manifest-path", workspace])
        .args([
            "--release",
            "--package",
            "dataflow-benches",
            "--bin",
            "bench-table",
            "--",
        ])
        .args(args)
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(u8::try_from(status.code().unwrap_or(1)).unwrap_or(1)),
        Err(e) => {
            eprintln!("cargo xtask bench: could not run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}
