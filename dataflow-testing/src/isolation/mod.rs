//! The engine of `cargo xtask isolation-check`: finds the tests whose outcome depends on
//! other tests, and the tests that leave state behind, and says how to reproduce each.
//!
//! # Add it to your workspace
//!
//! An xtask of three lines (`xtask/src/main.rs`, with `dataflow-testing` as its dependency
//! and the alias `xtask = "run --package xtask --"` in `.cargo/config.toml`):
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     dataflow_testing::isolation::main(std::env::args_os().skip(2)) // skip `xtask isolation-check`
//! }
//! ```
//!
//! Then `cargo xtask isolation-check --help`. To drive it from code, build [`Options`] and
//! call [`run`]:
//!
//! ```no_run
//! use dataflow_testing::isolation::{self, Options};
//!
//! let mut options = Options::default();
//! options.manifest_path = Some("tests/planted/Cargo.toml".into());
//! options.rounds = 2;
//! let report = isolation::run(&options)?;
//! println!("{}", report.render());
//! # Ok::<(), isolation::Error>(())
//! ```
//!
//! # What it runs
//!
//! For every test binary of the selected packages (`cargo test --no-run`):
//!
//! 1. the suite once as `cargo test` runs it (threads in parallel): the time to beat;
//! 2. every test alone, in a process of its own;
//! 3. the suite in one process, one test at a time, in several orders: forward (libtest's
//!    name order), `--rounds` seeded shuffles (libtest's `--shuffle-seed`), and a
//!    *reverse* order chosen among shuffles to run first the tests that left state
//!    behind when run alone (libtest has no reverse order);
//! 4. only where a test changed outcome: a pair run per trace suspect, or a bisection
//!    over the tests that ran before it, and one pair run per latent access.
//!
//! Every run has a private temporary directory (`TMPDIR`) and writes a registry trace
//! ([`trace`]): which test registered each entry, which test resolved an entry another
//! test registered, and what was left at the end. Runs are made the way `cargo test` makes
//! them (same working directory, `CARGO_*` variables, default output); only the shuffled
//! ones add libtest's unstable `--shuffle-seed`, with `RUSTC_BOOTSTRAP` set for the test
//! binary alone. Runs of different tests alone may overlap (up to `--jobs`); any other
//! run of a binary has it to itself, so no test ever runs in two processes at once.
//!
//! A test running under the check sees `DATAFLOW_ISOLATION_CHECK=1` ([`CHECK_ENV`]).
//!
//! # What it reports
//!
//! See [`FindingKind`]: leakers, polluters and victims, brittle tests and their
//! state-setters, latent cross-test access, and plain failures (tests that fail in every
//! configuration, reported apart from isolation findings).

mod check;
mod classify;
mod cli;
mod discover;
mod investigate;
mod libtest;
mod orders;
mod process;
mod progress;
mod report;
mod runner;
mod snapshot;
pub mod trace;

use std::path::PathBuf;
use std::time::Duration;

pub use self::check::run;
pub use self::cli::{main, parse_args, Command, HELP};
pub use self::libtest::Outcome;
pub use self::report::{
    BinaryReport, Finding, FindingKind, FoundBy, OrderRun, Report, Reproduce, RunCounts, Timing,
};
pub use self::runner::CHECK_ENV;

/// What to check and how.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// `--manifest-path`: the workspace or package to check (default: the one cargo finds
    /// from the current directory).
    pub manifest_path: Option<PathBuf>,
    /// `--package`: the packages to check (default: what `cargo test` would test).
    pub packages: Vec<String>,
    /// `--workspace`: every member of the workspace.
    pub workspace: bool,
    /// `--features`, `--all-features`, `--no-default-features`, `--release`: passed to cargo.
    pub cargo_flags: Vec<String>,
    /// Test-name filters (substrings, like `cargo test`'s); empty: every test.
    pub filters: Vec<String>,
    /// `--skip`: tests whose name contains one of these are left out.
    pub skip: Vec<String>,
    /// `--exact`: filters match whole names.
    pub exact: bool,
    /// `--rounds`: seeded shuffles of each suite (default 3).
    pub rounds: u32,
    /// `--seed`: the seed of the first shuffle (the next ones add 1); default random, printed.
    pub seed: Option<u64>,
    /// `--timeout`: how long one test may run before its process is killed (default 300s:
    /// a test that runs cargo, such as a trybuild test, may rebuild on its first run).
    pub timeout: Duration,
    /// `--jobs`: test-binary processes at a time (default: the number of CPUs).
    pub jobs: usize,
    /// `--json`: write the report as JSON here.
    pub json: Option<PathBuf>,
    /// `--graph`: write polluter -> victim and setter -> brittle edges here (Graphviz DOT;
    /// Mermaid if the name ends in `.mmd`).
    pub graph: Option<PathBuf>,
    /// The cargo to run (default `$CARGO`, else `cargo`).
    pub cargo: PathBuf,
    /// Show a progress bar on stderr when it is a terminal, and phase lines otherwise.
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            manifest_path: None,
            packages: Vec::new(),
            workspace: false,
            cargo_flags: Vec::new(),
            filters: Vec::new(),
            skip: Vec::new(),
            exact: false,
            rounds: 3,
            seed: None,
            timeout: Duration::from_secs(300),
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            json: None,
            graph: None,
            cargo: std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from),
            progress: true,
        }
    }
}

impl Options {
    /// The cargo arguments that select what to build: manifest, packages, features.
    pub(crate) fn cargo_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(path) = &self.manifest_path {
            args.push("--manifest-path".to_owned());
            args.push(path.display().to_string());
        }
        if self.workspace {
            args.push("--workspace".into());
        }
        for package in &self.packages {
            args.push("--package".into());
            args.push(package.clone());
        }
        args.extend(self.cargo_flags.iter().cloned());
        args
    }

    /// The libtest arguments that select the tests: filters, `--skip`, `--exact`.
    pub(crate) fn libtest_filters(&self) -> Vec<String> {
        let mut args = self.filters.clone();
        for skip in &self.skip {
            args.push("--skip".into());
            args.push(skip.clone());
        }
        if self.exact {
            args.push("--exact".into());
        }
        args
    }
}

/// Why the check could not run (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line is wrong.
    #[error("{0}\n\nSee `--help` for the options.")]
    Usage(String),
    /// cargo failed before building: not a workspace, an unknown package...
    #[error("`{command}` failed:\n{reason}")]
    Cargo {
        /// The command that failed.
        command: String,
        /// What cargo said.
        reason: String,
    },
    /// The tests do not compile.
    #[error("the tests do not compile; fix these first:\n{}", errors.join("\n"))]
    DoesNotCompile {
        /// The compiler's errors.
        errors: Vec<String>,
    },
    /// Nothing to check.
    #[error("no test to check: {0}")]
    NoTests(String),
    /// A test binary could not list its tests (it crashes or hangs on start).
    #[error("cannot list the tests of {binary}: {reason}")]
    Listing {
        /// The binary.
        binary: String,
        /// What went wrong.
        reason: String,
    },
    /// A test binary could not be started.
    #[error("cannot run {binary}: {reason}")]
    Run {
        /// The binary.
        binary: String,
        /// What went wrong.
        reason: String,
    },
    /// The check's own files.
    #[error("cannot {what}: {source}")]
    Io {
        /// What the check was doing.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}
