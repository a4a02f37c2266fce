//! The report: findings, the summary table, JSON, and the graph of who breaks whom.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::runner::Purpose;
use super::Error;

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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
        }
    }

    /// Whether it is about isolation (everything but a plain failure).
    pub fn is_isolation(self) -> bool {
        self != FindingKind::PlainFailure
    }
}

/// How a finding was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FoundBy {
    /// What a test's own run left behind.
    SoloRun,
    /// The registry trace named the other test; a pair run confirmed it.
    Trace,
    /// Bisection over the tests that ran before; a pair run confirmed it.
    Bisection,
    /// Comparing outcomes across runs.
    Orders,
}

impl FoundBy {
    /// `solo run`, `trace`, `bisection`, `orders`.
    pub fn name(self) -> &'static str {
        match self {
            FoundBy::SoloRun => "solo run",
            FoundBy::Trace => "trace",
            FoundBy::Bisection => "bisection",
            FoundBy::Orders => "orders",
        }
    }
}

/// A command that shows a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reproduce {
    /// What running it shows.
    pub shows: String,
    /// The command, for a POSIX shell, from the directory the check ran in.
    pub command: String,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// What it is.
    pub kind: FindingKind,
    /// The test it is about.
    pub test: String,
    /// The test binary: `package (lib)`, `package (test name)`.
    pub binary: String,
    /// The other test: the victim of a polluter, the polluter of a victim, the setter of a
    /// brittle test, the writer whose entries a latent access read.
    pub related: Option<String>,
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
    /// Pairs together (the victim or brittle test first), then leakers, latent access, plain failures.
    pub(crate) fn sort_key(&self) -> (u8, &str, &str, u8) {
        let related = self.related.as_deref().unwrap_or("");
        let (group, pair, role) = match self.kind {
            FindingKind::Victim => (0, self.test.as_str(), 0),
            FindingKind::Polluter => (0, related, 1),
            FindingKind::Brittle => (1, self.test.as_str(), 0),
            FindingKind::StateSetter => (1, related, 1),
            FindingKind::Leaker => (2, self.test.as_str(), 0),
            FindingKind::LatentAccess => (3, self.test.as_str(), 0),
            FindingKind::PlainFailure => (4, self.test.as_str(), 0),
        };
        (group, self.binary.as_str(), pair, role)
    }
}

/// How many test-binary processes the check started, by purpose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    /// The suites as `cargo test` runs them.
    pub plain: usize,
    /// Runs of no test (what a binary leaves behind by itself).
    pub baseline: usize,
    /// Tests alone.
    pub solo: usize,
    /// Suites in order: forward, shuffles, reverse.
    pub orders: usize,
    /// Pair runs and bisection.
    pub probes: usize,
}

impl RunCounts {
    /// All of them.
    pub fn total(&self) -> usize {
        self.plain + self.baseline + self.solo + self.orders + self.probes
    }

    pub(crate) fn add(&mut self, purpose: Purpose, processes: usize) {
        let slot = match purpose {
            Purpose::Plain => &mut self.plain,
            Purpose::Baseline => &mut self.baseline,
            Purpose::Solo => &mut self.solo,
            Purpose::Order | Purpose::Reverse => &mut self.orders,
            Purpose::Probe => &mut self.probes,
        };
        *slot += processes;
    }
}

/// Where the time went, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timing {
    /// `cargo test --no-run`.
    pub build_secs: f64,
    /// Every run of the check, after the build.
    pub check_secs: f64,
    /// Build and check.
    pub total_secs: f64,
    /// One plain run of the suites, as `cargo test` runs them (after the build).
    pub plain_secs: f64,
}

/// One ordered run of a suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

    /// The summary a person reads: a table of findings, how to reproduce each, the cost.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let binaries: Vec<String> = self.binaries.iter().map(|b| b.name.clone()).collect();
        let _ = writeln!(
            out,
            "isolation-check: {} tests in {} ({}), seed {} (replay with --seed {})",
            self.tests,
            plural(self.binaries.len(), "test binary", "test binaries"),
            binaries.join(", "),
            self.seed,
            self.seed
        );
        let _ = writeln!(out);
        if self.findings.is_empty() {
            let _ = writeln!(out, "No findings: every test passes alone and in every order, leaves nothing behind, and touches no other test's registry entries.");
        } else {
            out.push_str(&self.table());
            let _ = writeln!(out);
            let _ = writeln!(out, "Reproduce:");
            for (i, f) in self.findings.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{:>3}. {} `{}`: {}",
                    i + 1,
                    f.kind.name(),
                    f.test,
                    f.summary
                );
                let same = self.findings[..i]
                    .iter()
                    .position(|g| g.evidence == f.evidence && g.reproduce == f.reproduce);
                if let Some(j) = same {
                    let _ = writeln!(out, "       evidence and commands: as {}", j + 1);
                    continue;
                }
                for line in &f.evidence {
                    let _ = writeln!(out, "       {line}");
                }
                for r in &f.reproduce {
                    let _ = writeln!(out, "       # {}", r.shows);
                    let _ = writeln!(out, "       {}", r.command);
                }
            }
        }
        let _ = writeln!(out);
        if !self.clean.is_empty() {
            let _ = writeln!(
                out,
                "clean: {} ({})",
                plural(self.clean.len(), "test", "tests"),
                super::classify::list(&self.clean, 6)
            );
        }
        let r = &self.runs;
        let t = &self.timing;
        let _ = writeln!(
            out,
            "cost: {} test-binary runs ({} plain, {} alone, {} in order, {} pair/bisection, {} baseline) in {:.1}s; \
             one plain `cargo test` run of the same suite: {:.2}s ({:.0}x); build {:.1}s",
            r.total(),
            r.plain,
            r.solo,
            r.orders,
            r.probes,
            r.baseline,
            t.check_secs,
            t.plain_secs,
            if t.plain_secs > 0.0 { t.check_secs / t.plain_secs } else { 0.0 },
            t.build_secs
        );
        let untraced: Vec<String> = self
            .binaries
            .iter()
            .filter(|b| !b.traced)
            .map(|b| b.name.clone())
            .collect();
        if !untraced.is_empty() {
            let _ = writeln!(
                out,
                "untraced: {} (no registry trace: they do not link dataflow-testing, or never touch the registry)",
                super::classify::list(&untraced, 4)
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        let isolation = self.isolation_findings().count();
        let plain = self.findings.len() - isolation;
        let _ = writeln!(
            out,
            "result: {}, {}",
            plural(isolation, "isolation finding", "isolation findings"),
            plural(plain, "plain failure", "plain failures")
        );
        out
    }

    fn table(&self) -> String {
        let rows: Vec<[String; 5]> = self
            .findings
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let detail = match (f.kind, &f.related) {
                    (_, Some(r)) => r.clone(),
                    (FindingKind::Leaker, None) => f
                        .summary
                        .trim_start_matches("leaves ")
                        .trim_end_matches(" behind when run alone")
                        .to_owned(),
                    (FindingKind::PlainFailure, None) => "fails alone and in every order".into(),
                    (_, None) => "(no single test explains it)".into(),
                };
                [
                    (i + 1).to_string(),
                    f.kind.name().to_owned(),
                    f.test.clone(),
                    detail,
                    f.found_by.name().to_owned(),
                ]
            })
            .collect();
        let header = ["#", "FINDING", "TEST", "WITH / WHAT", "FOUND BY"];
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let line = |cells: [&str; 5], out: &mut String| {
            let mut text = String::new();
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i == 0 {
                    let _ = write!(text, "{cell:>w$}  ");
                } else if i == 4 {
                    text.push_str(cell);
                } else {
                    let _ = write!(text, "{cell:<w$}  ");
                }
            }
            let _ = writeln!(out, "{}", text.trim_end());
        };
        line(header, &mut out);
        for row in &rows {
            line([&row[0], &row[1], &row[2], &row[3], &row[4]], &mut out);
        }
        out
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report is plain data")
    }

    /// Edges polluter -> victim and setter -> brittle (and, dotted, writer -> reader of a
    /// latent access), as Graphviz DOT.
    pub fn graph_dot(&self) -> String {
        let mut out = String::from(
            "digraph isolation {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        for (from, to, label, style) in self.edges() {
            let _ = writeln!(
                out,
                "  {} -> {} [label=\"{label}\", style={style}];",
                dot_id(from),
                dot_id(to)
            );
        }
        out.push_str("}\n");
        out
    }

    /// The same graph as a Mermaid flowchart.
    pub fn graph_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        let node = |name: &str, names: &mut Vec<String>| -> String {
            let index = names.iter().position(|n| n == name).unwrap_or_else(|| {
                names.push(name.to_owned());
                names.len() - 1
            });
            format!("t{index}[\"{}\"]", name.replace('"', "#quot;"))
        };
        let mut seen: Vec<String> = Vec::new();
        for (from, to, label, style) in self.edges() {
            let arrow = if style == "solid" {
                format!("-->|{label}|")
            } else {
                format!("-.->|{label}|")
            };
            let from = node(from, &mut seen);
            let to = node(to, &mut seen);
            let _ = writeln!(out, "  {from} {arrow} {to}");
        }
        out
    }

    fn edges(&self) -> Vec<(&str, &str, &'static str, &'static str)> {
        self.findings
            .iter()
            .filter_map(|f| {
                let related = f.related.as_deref()?;
                match f.kind {
                    FindingKind::Victim => Some((related, f.test.as_str(), "pollutes", "solid")),
                    FindingKind::Brittle => Some((related, f.test.as_str(), "sets up", "solid")),
                    FindingKind::LatentAccess => {
                        Some((related, f.test.as_str(), "latent", "dotted"))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// Writes the graph: Mermaid if `path` ends in `.mmd`, Graphviz DOT otherwise.
    pub fn write_graph(&self, path: &Path) -> Result<(), Error> {
        let text = if path.extension().is_some_and(|e| e == "mmd") {
            self.graph_mermaid()
        } else {
            self.graph_dot()
        };
        write_file(path, &text)
    }

    /// Writes [`to_json`](Self::to_json).
    pub fn write_json(&self, path: &Path) -> Result<(), Error> {
        write_file(path, &self.to_json())
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        what: format!("write {}", path.display()),
        source,
    })
}

fn dot_id(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

use super::classify::count as plural;
