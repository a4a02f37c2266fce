//! The isolation check for any Rust test suite: finds the tests whose outcome depends on
//! other tests, and the tests that leave state behind, and says how to reproduce each.
//!
//! # Use it
//!
//! As a cargo subcommand, on any workspace:
//!
//! ```text
//! cargo install --path dataflow-isolation     # gives `cargo isolation-check`
//! cargo isolation-check --workspace
//! ```
//!
//! From an xtask (`xtask/src/main.rs`, with `dataflow-isolation` as its dependency and the
//! alias `xtask = "run --package xtask --"` in `.cargo/config.toml`):
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     dataflow_isolation::main(std::env::args_os().skip(2)) // skip `xtask isolation-check`
//! }
//! ```
//!
//! To drive it from code, build [`Options`] and call [`run`]:
//!
//! ```no_run
//! use dataflow_isolation::Options;
//!
//! let mut options = Options::default();
//! options.manifest_path = Some("tests/planted/Cargo.toml".into());
//! options.rounds = 2;
//! let report = dataflow_isolation::run(&options)?;
//! println!("{}", report.render());
//! # Ok::<(), dataflow_isolation::Error>(())
//! ```
//!
//! # How the code is layered
//!
//! Each layer uses only the layers below it: `process` (one test-binary process, libtest's
//! output, cargo's build) -> `runner` (one run: private `TMPDIR`, trace, the `cargo test`
//! command that makes it again) -> `analysis` (which runs to make, and what they show) ->
//! `report` (what a person or a CI reads) -> `cli`. `options`, `error` and `text` sit under
//! all of them.
//!
//! # What it runs
//!
//! For every test binary of the selected packages (`cargo test --no-run`):
//!
//! 1. the suite once as `cargo test` runs it (threads in parallel): the time to beat;
//! 2. every test alone, in a process of its own; a run of no test only when every test
//!    alone left something (else what the binary leaves by itself is nothing);
//! 3. the suite in one process, one test at a time, in several orders, none twice (a
//!    binary of one test has none but its run alone): forward (libtest's name order),
//!    `--rounds` seeded shuffles (libtest's `--shuffle-seed`), a *reverse* order chosen
//!    among shuffles to run first the tests that left state behind when run alone
//!    (libtest has no reverse order), and with `--pairs` a schedule that puts every
//!    ordered pair of tests next to each other;
//! 4. only where a test changed outcome: a pair run per trace suspect, else pair runs of
//!    the tests that ran right before it and a bisection over the rest, one run that says
//!    whether more tests do the same (then a pair run each, to count them), and for a
//!    victim a search for a cleaner; one pair run per latent access.
//!
//! Every run has a private temporary directory (`TMPDIR`) and writes a registry trace
//! (`dataflow_testing::trace`): which test registered each entry, which test resolved an
//! entry another test registered, and what was left at the end. Runs are made the way
//! `cargo test` makes them (same working directory, `CARGO_*` variables, default output);
//! only the shuffled ones add libtest's unstable `--shuffle-seed`, with `RUSTC_BOOTSTRAP`
//! set for the test binary alone, and `CARGO_TARGET_DIR` set to a directory of the
//! check's own (`<target>/<profile>/isolation-check-shuffled`) for the cargo a test may
//! run (trybuild), which would rebuild everything in the user's when the variable comes
//! or goes. Up to `--jobs` runs go at once; a run claims its tests
//! first, so no test ever runs in two processes at once. `--partition k/n` makes one
//! share of the runs on each of n machines, and `--merge` explains them together.
//!
//! A test running under the check sees `DATAFLOW_ISOLATION_CHECK=1` ([`CHECK_ENV`]).
//!
//! # What it reports
//!
//! See [`FindingKind`]: leakers, polluters and victims, brittle tests and their
//! state-setters, cleaners, latent cross-test access, and plain failures (tests that fail
//! in every configuration, reported apart from isolation findings).

mod analysis;
mod cli;
mod error;
mod options;
mod process;
mod report;
mod runner;
mod text;

pub use self::analysis::{
    run, BinaryReport, Finding, FindingKind, FoundBy, OrderRun, Report, Reproduce, Timing,
};
pub use self::cli::{main, parse_args, Command};
pub use self::error::Error;
pub use self::options::{Options, Partition};
pub use self::process::libtest::Outcome;
pub use self::runner::{RunCounts, CHECK_ENV};

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The layers, lowest first; a file may name `crate::<module>` only for modules of
    /// its own layer or below.
    const LAYERS: [&[&str]; 6] = [
        &["options", "error", "text"],
        &["process"],
        &["runner"],
        &["analysis"],
        &["report"],
        &["cli"],
    ];

    fn layer_of(module: &str) -> Option<usize> {
        LAYERS.iter().position(|layer| layer.contains(&module))
    }

    fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn modules_import_one_way_from_process_up_to_the_command_line() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut wrong = Vec::new();
        for file in &files {
            let relative = file.strip_prefix(&src).unwrap();
            let top = relative.components().next().unwrap().as_os_str();
            let top = top.to_str().unwrap().trim_end_matches(".rs");
            let Some(own) = layer_of(top) else {
                continue; // lib.rs and main.rs sit above every layer
            };
            let text = std::fs::read_to_string(file).unwrap();
            for (at, _) in text.match_indices("crate::") {
                let named: String = text[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if layer_of(&named).is_some_and(|layer| layer > own) {
                    wrong.push(format!("{} uses crate::{named}", relative.display()));
                }
            }
        }
        assert!(files.len() > 20, "the sources were found: {files:?}");
        assert!(
            wrong.is_empty(),
            "imports against the layers:\n{}",
            wrong.join("\n")
        );
    }
}
