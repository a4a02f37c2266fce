//! What to check and how: the options of a check, whatever reads them (the command line,
//! code).

use std::path::PathBuf;
use std::time::Duration;

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
    /// `--pairs`: also run orders that put every ordered pair of tests of a binary next
    /// to each other at least once.
    pub pairs: bool,
    /// `--partition k/n`: run only this shard's share of the single-test runs and orders,
    /// and write its evidence to `--json` for `--merge`.
    pub partition: Option<Partition>,
    /// `--merge`: shard files to combine into one report (nothing of the suite runs but
    /// the probes the findings need).
    pub merge: Vec<PathBuf>,
    /// `--seed`: the seed of the first shuffle (the next ones add 1); default random, printed.
    pub seed: Option<u64>,
    /// `--timeout`: how long one test may run before its process is killed (default 300s:
    /// a test that runs cargo, such as a trybuild test, may rebuild on its first run).
    pub timeout: Duration,
    /// `--jobs`: test-binary processes at a time (default: the number of CPUs).
    pub jobs: usize,
    /// `--json`: write the report as JSON here.
    pub json: Option<PathBuf>,
    /// `--junit`: write the findings here as JUnit XML, one testcase per finding.
    pub junit: Option<PathBuf>,
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
            pairs: false,
            partition: None,
            merge: Vec::new(),
            seed: None,
            timeout: Duration::from_secs(300),
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            json: None,
            graph: None,
            junit: None,
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

/// One shard of a check shared between machines: `--partition 2/3` is part 2 of 3.
///
/// ```
/// use dataflow_isolation::Partition;
///
/// let p: Partition = "2/3".parse()?;
/// assert_eq!((p.part, p.of), (2, 3));
/// assert!(p.takes(1) && !p.takes(2) && p.takes(4));
/// assert!("0/3".parse::<Partition>().is_err() && "4/3".parse::<Partition>().is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Partition {
    /// Which part, from 1.
    pub part: usize,
    /// Of how many.
    pub of: usize,
}

impl Partition {
    /// Whether the `index`-th piece of work (counted from 0 over every shard's work, in
    /// the same order on every machine) is this shard's.
    pub fn takes(self, index: usize) -> bool {
        index % self.of == self.part - 1
    }
}

impl std::str::FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Partition, String> {
        let wrong = || format!("`{text}` is not a partition: write k/n, with 1 <= k <= n");
        let (part, of) = text.split_once('/').ok_or_else(wrong)?;
        let part: usize = part.trim().parse().map_err(|_| wrong())?;
        let of: usize = of.trim().parse().map_err(|_| wrong())?;
        if part == 0 || part > of {
            return Err(wrong());
        }
        Ok(Partition { part, of })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.part, self.of)
    }
}
