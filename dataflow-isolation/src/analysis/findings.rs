//! What a check found: the findings, each with its evidence and the commands that
//! reproduce it, and the [`Report`] that holds them with the check's cost.

use serde::{Deserialize, Serialize};

use crate::runner::RunCounts;

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FindingKind {
    /// Makes another test (its victim) fail when it runs first.
    Polluter,
    /// Passes alone, fails after another test (its polluter, when one test explains it).
    Victim,
    /// Sets up state another test (a brittle one) needs to pass.
    StateSetter,
    /// Fails alone, passes only after another test (its state-setter).
    Brittle,
    /// Leaves registry entries, temporary files or databases behind when run alone.
    Leaker,
    /// Resolved a registry entry another test registered, though no order made it fail.
    LatentAccess,
    /// Fails alone and in every order: a failing test, not an isolation problem.
    PlainFailure,
    /// Run between a polluter and its victim, makes the victim pass again (iFixFlakies'
    /// cleaner: what the polluter should have done itself).
    Cleaner,
}

impl FindingKind {
    /// The name used in the table and the JSON: `polluter`, `state-setter`...
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Polluter => "polluter",
            FindingKind::Victim => "victim",
            FindingKind::StateSetter => "state-setter",
            FindingKind::Brittle => "brittle",
            FindingKind::Leaker => "leaker",
            FindingKind::LatentAccess => "latent access",
            FindingKind::PlainFailure => "plain failure",
            FindingKind::Cleaner => "cleaner",
        }
    }

    /// Whether it is about isolation (everything but a plain failure).
    pub fn is_isolation(self) -> bool {
        self != FindingKind::PlainFailure
    }
}

/// How a finding was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FoundBy {
    /// What a test's own run left behind.
    SoloRun,
    /// The registry trace named the other test; a pair run confirmed it.
    Trace,
    /// Bisection over the tests that ran before; a pair run confirmed it.
    Bisection,
    /// A pair run (or, for a cleaner, a run of three) of the tests named.
    Probe,
    /// Comparing outcomes across runs.
    Orders,
}

impl FoundBy {
    /// `solo run`, `trace`, `bisection`, `probe`, `orders`.
    pub fn name(self) -> &'static str {
        match self {
            FoundBy::SoloRun => "solo run",
            FoundBy::Trace => "trace",
            FoundBy::Bisection => "bisection",
            FoundBy::Probe => "probe",
            FoundBy::Orders => "orders",
        }
    }
}

/// A command that shows a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reproduce {
    /// What running it shows.
    pub shows: String,
    /// The command, for a POSIX shell, from the directory the check ran in.
    pub command: String,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// What it is.
    pub kind: FindingKind,
    /// The test it is about.
    pub test: String,
    /// The test binary: `package (lib)`, `package (test name)`.
    pub binary: String,
    /// The other test: the victim of a polluter, the polluter of a victim, the setter of a
    /// brittle test, the victim a cleaner cleans for, the writer whose entries a latent
    /// access read.
    pub related: Option<String>,
    /// Every test found in the same relation, `related` first: all the polluters of a
    /// victim, all the setters of a brittle test (empty when there is only `related`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all_related: Vec<String>,
    /// How it was established.
    pub found_by: FoundBy,
    /// One line.
    pub summary: String,
    /// What the runs showed.
    pub evidence: Vec<String>,
    /// The smallest commands that show it, most telling first.
    pub reproduce: Vec<Reproduce>,
}

impl Finding {
    /// A finding about `test` in `binary`.
    #[allow(clippy::too_many_arguments)] // one per field: a finding is plain data
    pub(crate) fn new(
        kind: FindingKind,
        test: &str,
        binary: &str,
        related: Option<&str>,
        found_by: FoundBy,
        summary: String,
        evidence: Vec<String>,
        reproduce: Vec<Reproduce>,
    ) -> Finding {
        Finding {
            kind,
            test: test.to_owned(),
            binary: binary.to_owned(),
            related: related.map(str::to_owned),
            all_related: Vec::new(),
            found_by,
            summary,
            evidence,
            reproduce,
        }
    }

    /// Pairs together (the victim or brittle test first, then its polluters or setters,
    /// then its cleaners), then leakers, latent access, plain failures.
    pub(crate) fn sort_key(&self) -> (u8, &str, &str, u8, &str) {
        let related = self.related.as_deref().unwrap_or("");
        let (group, pair, role) = match self.kind {
            FindingKind::Victim => (0, self.test.as_str(), 0),
            FindingKind::Polluter => (0, related, 1),
            FindingKind::Cleaner => (0, related, 2),
            FindingKind::Brittle => (1, self.test.as_str(), 0),
            FindingKind::StateSetter => (1, related, 1),
            FindingKind::Leaker => (2, self.test.as_str(), 0),
            FindingKind::LatentAccess => (3, self.test.as_str(), 0),
            FindingKind::PlainFailure => (4, self.test.as_str(), 0),
        };
        (group, self.binary.as_str(), pair, role, self.test.as_str())
    }
}

/// Where the time went, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// `cargo test --no-run`.
    pub build_secs: f64,
    /// Every run of the check, after the build.
    pub check_secs: f64,
    /// Build and check.
    pub total_secs: f64,
    /// One plain run of the suites, as `cargo test` runs them (after the build): the
    /// plain runs' times added up. They run one after another, as cargo runs them, but
    /// beside the other runs of the binaries already run, so on a busy machine this is
    /// more than a `cargo test` alone would take.
    pub plain_secs: f64,
    /// Test-binary processes at a time (`--jobs`).
    #[serde(default)]
    pub jobs: usize,
}

/// One ordered run of a suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRun {
    /// The test binary.
    pub binary: String,
    /// `forward`, `shuffle (seed 7)`, `reverse (seed 100031)`.
    pub order: String,
    /// The shuffle seed, if any.
    pub seed: Option<u64>,
    /// The tests that failed in it.
    pub failed: Vec<String>,
    /// The command that makes the same run.
    pub command: String,
}

/// A test binary the check ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinaryReport {
    /// `package (lib)`, `package (test name)`.
    pub name: String,
    /// The tests checked in it.
    pub tests: usize,
    /// Whether its runs wrote a registry trace (it links `dataflow-testing` and touches the
    /// registry); without one, registry leaks and cross-test access go unseen.
    pub traced: bool,
}

/// Everything the check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The seed of the first shuffle; `--seed` replays the check.
    pub seed: u64,
    /// Shuffles per suite.
    pub rounds: u32,
    /// The test binaries checked.
    pub binaries: Vec<BinaryReport>,
    /// The number of tests checked.
    pub tests: usize,
    /// Every finding, isolation findings first.
    pub findings: Vec<Finding>,
    /// Tests no finding names.
    pub clean: Vec<String>,
    /// Test-binary processes started.
    pub runs: RunCounts,
    /// Where the time went.
    pub timing: Timing,
    /// The ordered runs of each suite.
    pub orders: Vec<OrderRun>,
    /// Things worth knowing about the check itself.
    pub notes: Vec<String>,
    /// Set when this run was one shard of a `--partition`ed check: it gathered evidence
    /// (written to `--json`) and found nothing by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<crate::Partition>,
}

impl Report {
    /// 0 when there is no finding, 1 otherwise (plain failures included).
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.findings.is_empty())
    }

    /// The findings about isolation (all but plain failures).
    pub fn isolation_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.kind.is_isolation())
    }
}
