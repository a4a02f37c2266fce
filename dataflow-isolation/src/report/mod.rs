//! The top layer: what a person reads (the summary table, the commands) and what tools
//! read (JSON, the graph of who breaks whom, and for CI JUnit XML and GitHub annotations:
//! [`ci`]).

mod ci;

use std::fmt::Write as _;
use std::path::Path;

use crate::analysis::{FindingKind, Report};
use crate::text::{count as plural, list};
use crate::Error;

impl Report {
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
        if let Some(partition) = self.partition {
            let _ = writeln!(
                out,
                "Shard {partition}: evidence only; the findings come from `--merge` of every shard's JSON."
            );
        } else if self.findings.is_empty() {
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
                list(&self.clean, 6)
            );
        }
        let r = &self.runs;
        let t = &self.timing;
        let _ = writeln!(
            out,
            "cost: {} test-binary runs ({} plain, {} alone, {} in order, {} for --pairs, {} probes, {} baseline) in {:.1}s wall time \
             with -j {}; one plain `cargo test` run of the same suite: {:.3}s ({:.0}x); build {:.1}s",
            r.total(),
            r.plain,
            r.solo,
            r.orders,
            r.pairs,
            r.probes,
            r.baseline,
            t.check_secs,
            t.jobs,
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
                list(&untraced, 4)
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        if let Some(partition) = self.partition {
            let _ = writeln!(out, "result: shard {partition} done (evidence only)");
            return out;
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
        let mut edges = Vec::new();
        for f in &self.findings {
            let Some(related) = f.related.as_deref() else {
                continue;
            };
            let (label, style) = match f.kind {
                FindingKind::Victim => ("pollutes", "solid"),
                FindingKind::Brittle => ("sets up", "solid"),
                FindingKind::LatentAccess => ("latent", "dotted"),
                FindingKind::Cleaner => {
                    edges.push((f.test.as_str(), related, "cleans", "dotted"));
                    continue;
                }
                _ => continue,
            };
            if f.all_related.is_empty() {
                edges.push((related, f.test.as_str(), label, style));
            }
            for other in &f.all_related {
                edges.push((other.as_str(), f.test.as_str(), label, style));
            }
        }
        edges
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

    /// Writes [`junit`](Self::junit).
    pub fn write_junit(&self, path: &Path) -> Result<(), Error> {
        write_file(path, &self.junit())
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
