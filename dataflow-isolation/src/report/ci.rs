//! What CI reads: JUnit XML (one testcase per finding, with the commands that reproduce
//! it) and GitHub Actions annotations (`::error` / `::warning` lines).

use std::fmt::Write as _;

use crate::analysis::{Finding, FindingKind, Report};

impl Report {
    /// The findings as JUnit XML: one `<testcase>` per finding, a `<failure>` for each
    /// that needs fixing, `<system-out>` for the rest (a latent access, a cleaner), with
    /// the evidence and the reproduce commands in the body.
    pub fn junit(&self) -> String {
        let failures = self.findings.iter().filter(|f| is_failure(f)).count();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"isolation-check\" tests=\"{}\" failures=\"{failures}\">",
            self.findings.len()
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"isolation-check\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
            self.findings.len(),
            self.timing.check_secs
        );
        for f in &self.findings {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}: {}\">",
                xml(&f.binary),
                f.kind.name(),
                xml(&f.test)
            );
            let body = xml(&details(f));
            if is_failure(f) {
                let _ = writeln!(
                    out,
                    "      <failure type=\"{}\" message=\"{}\">{body}</failure>",
                    f.kind.name(),
                    xml(&f.summary)
                );
            } else {
                let _ = writeln!(
                    out,
                    "      <system-out>{}\n{body}</system-out>",
                    xml(&f.summary)
                );
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }

    /// One GitHub Actions workflow command per finding: `::error` for what needs fixing,
    /// `::warning` for a latent access or a cleaner (worth a look, nothing failed).
    pub fn github_annotations(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let level = if is_failure(f) { "error" } else { "warning" };
            let title = format!("isolation-check: {} {}", f.kind.name(), f.test);
            let _ = writeln!(
                out,
                "::{level} title={}::{}",
                escape_property(&title),
                escape_data(&format!("{}\n{}", f.summary, details(f)))
            );
        }
        out
    }
}

/// Whether a finding is a failure in CI's eyes.
fn is_failure(f: &Finding) -> bool {
    !matches!(f.kind, FindingKind::LatentAccess | FindingKind::Cleaner)
}

/// The evidence and the commands, one per line.
fn details(f: &Finding) -> String {
    let mut text = f.evidence.join("\n");
    for r in &f.reproduce {
        let _ = write!(text, "\n# {}\n{}", r.shows, r.command);
    }
    text
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newline are not allowed in XML 1.0.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// A workflow command's message: `%`, CR and LF escaped as GitHub documents.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{FoundBy, Reproduce};

    fn report(findings: Vec<Finding>) -> Report {
        Report {
            seed: 1,
            rounds: 1,
            binaries: Vec::new(),
            tests: 2,
            findings,
            clean: Vec::new(),
            runs: Default::default(),
            timing: Default::default(),
            orders: Vec::new(),
            notes: Vec::new(),
            partition: None,
        }
    }

    fn victim() -> Finding {
        Finding::new(
            FindingKind::Victim,
            "a::victim",
            "pkg (lib)",
            Some("a::polluter"),
            FoundBy::Probe,
            "passes alone, fails after `a::polluter`".into(),
            vec!["failed: left <1> != right \"2\" & more".into()],
            vec![Reproduce {
                shows: "it fails after the polluter".into(),
                command: "TMPDIR=$(mktemp -d) cargo test -- --exact a::polluter a::victim".into(),
            }],
        )
    }

    #[test]
    fn junit_has_one_testcase_per_finding_with_the_commands_escaped() {
        let mut latent = victim();
        latent.kind = FindingKind::LatentAccess;
        let xml = report(vec![victim(), latent]).junit();
        assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("name=\"victim: a::victim\""), "{xml}");
        assert!(
            xml.contains("left &lt;1&gt; != right &quot;2&quot; &amp; more"),
            "{xml}"
        );
        assert!(
            xml.contains("TMPDIR=$(mktemp -d) cargo test -- --exact a::polluter a::victim"),
            "{xml}"
        );
    }

    #[test]
    fn annotations_are_one_line_each_with_newlines_escaped() {
        let text = report(vec![victim()]).github_annotations();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.starts_with("::error title=isolation-check%3A victim a%3A%3Avictim::"),
            "{text}"
        );
        assert!(
            text.contains("%0A# it fails after the polluter%0A"),
            "{text}"
        );
    }
}
