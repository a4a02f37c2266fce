//! The table: one [`Row`] per metric (ours, baseline, ratio, target, met), printed as a
//! Markdown table and written as JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::Comparison;

/// A measured quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantity {
    /// A time.
    Time(Duration),
    /// Operations per second.
    Rate(f64),
    /// A size in bytes.
    Bytes(u64),
    /// A percentage.
    Percent(f64),
    /// A number of things (test-binary runs, say).
    Count(u64),
    /// A speed-up: how many times faster one way of running is than another.
    Speedup(f64),
}

impl Quantity {
    /// The value in the unit [`unit`](Self::unit) names.
    pub fn value(self) -> f64 {
        match self {
            Quantity::Time(d) => d.as_secs_f64() * 1e9,
            Quantity::Rate(r) => r,
            Quantity::Bytes(b) => b as f64,
            Quantity::Percent(p) => p,
            Quantity::Count(n) => n as f64,
            Quantity::Speedup(x) => x,
        }
    }

    /// `"ns"`, `"per_s"`, `"bytes"`, `"percent"`, `"count"` or `"times"`.
    pub fn unit(self) -> &'static str {
        match self {
            Quantity::Time(_) => "ns",
            Quantity::Rate(_) => "per_s",
            Quantity::Bytes(_) => "bytes",
            Quantity::Percent(_) => "percent",
            Quantity::Count(_) => "count",
            Quantity::Speedup(_) => "times",
        }
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Quantity::Time(d) => f.write_str(&format_duration(d)),
            Quantity::Rate(r) if r >= 1e6 => write!(f, "{:.1} M/s", r / 1e6),
            Quantity::Rate(r) if r >= 1e3 => write!(f, "{:.1} k/s", r / 1e3),
            Quantity::Rate(r) => write!(f, "{r:.1} /s"),
            Quantity::Bytes(b) => write!(f, "{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
            Quantity::Percent(p) => write!(f, "{p:+.2}%"),
            Quantity::Count(n) => write!(f, "{n}"),
            Quantity::Speedup(x) => write!(f, "{x:.2}x"),
        }
    }
}

/// A time with three significant digits and the unit that fits: `41.2 ns`, `3.07 ms`.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$} {unit}")
}

/// What a metric must reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// `ours / baseline <= x`.
    RatioAtMost(f64),
    /// `ours / baseline >= x` (throughput and speed-up metrics).
    RatioAtLeast(f64),
    /// `ours - baseline <= d` (an overhead per operation).
    OverheadAtMost(Duration),
    /// `ours <= d` (an absolute time).
    TimeAtMost(Duration),
    /// `ours < p` percent (growth).
    PercentBelow(f64),
    /// Reported, no target.
    None,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Target::RatioAtMost(x) => write!(f, "<= {x}"),
            Target::RatioAtLeast(x) => write!(f, ">= {x}x"),
            Target::OverheadAtMost(d) => write!(f, "overhead <= {}/op", format_duration(d)),
            Target::TimeAtMost(d) => write!(f, "<= {}", format_duration(d)),
            Target::PercentBelow(p) => write!(f, "growth < {p}%"),
            Target::None => f.write_str("-"),
        }
    }
}

/// Whether a metric reached its target.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Reached.
    Met,
    /// Not reached.
    Missed,
    /// Not measured, and why.
    Skipped(String),
    /// Reported, with no target to reach.
    Info,
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// A stable identifier, for `--filter` and the JSON.
    pub id: &'static str,
    /// What is measured.
    pub metric: String,
    /// Ours.
    pub ours: Option<Quantity>,
    /// The baseline, where there is one.
    pub baseline: Option<Quantity>,
    /// `ours / baseline` (or the figure the target is about, see [`Target`]).
    pub ratio: Option<f64>,
    /// The target.
    pub target: Target,
    /// Met, missed, skipped or informative.
    pub verdict: Verdict,
    /// A short remark printed after the verdict (an overhead, a breakdown).
    pub note: Option<String>,
}

impl Row {
    /// A row of two times compared on their medians.
    pub fn compared(
        id: &'static str,
        metric: impl Into<String>,
        c: &Comparison,
        target: Target,
    ) -> Row {
        Row::new(
            id,
            metric,
            Quantity::Time(c.ours.median()),
            Some(Quantity::Time(c.baseline.median())),
            target,
        )
    }

    /// A row whose verdict follows from `target`: the ratio is `ours / baseline` when both
    /// are given.
    pub fn new(
        id: &'static str,
        metric: impl Into<String>,
        ours: Quantity,
        baseline: Option<Quantity>,
        target: Target,
    ) -> Row {
        let ratio = baseline.map(|b| {
            let (a, b) = (ours.value(), b.value());
            if b == 0.0 {
                f64::INFINITY
            } else {
                a / b
            }
        });
        let met = match (target, ratio) {
            (Target::RatioAtMost(x), Some(r)) => Some(r <= x),
            (Target::RatioAtLeast(x), Some(r)) => Some(r >= x),
            (Target::OverheadAtMost(d), _) => {
                let base = baseline.map_or(0.0, Quantity::value);
                Some(ours.value() - base <= d.as_secs_f64() * 1e9)
            }
            (Target::TimeAtMost(d), _) => Some(ours.value() <= d.as_secs_f64() * 1e9),
            (Target::PercentBelow(p), _) => Some(ours.value() < p),
            _ => None,
        };
        Row {
            id,
            metric: metric.into(),
            ours: Some(ours),
            baseline,
            ratio,
            target,
            verdict: match met {
                Some(true) => Verdict::Met,
                Some(false) => Verdict::Missed,
                None => Verdict::Info,
            },
            note: None,
        }
    }

    /// A row that was not measured.
    pub fn skipped(
        id: &'static str,
        metric: impl Into<String>,
        target: Target,
        why: impl Into<String>,
    ) -> Row {
        Row {
            id,
            metric: metric.into(),
            ours: None,
            baseline: None,
            ratio: None,
            target,
            verdict: Verdict::Skipped(why.into()),
            note: None,
        }
    }

    /// The same row with a remark.
    pub fn with_note(mut self, note: impl Into<String>) -> Row {
        self.note = Some(note.into());
        self
    }

    fn cells(&self) -> [String; 6] {
        let opt = |q: Option<Quantity>| q.map_or_else(|| "-".to_owned(), |q| q.to_string());
        let ratio = match self.ratio {
            Some(r) if r.is_finite() && r >= 100.0 => format!("{r:.0}"),
            Some(r) if r.is_finite() => format!("{r:.2}"),
            Some(_) => "inf".to_owned(),
            None => "-".to_owned(),
        };
        let mut met = match &self.verdict {
            Verdict::Met => "yes".to_owned(),
            Verdict::Missed => "**no**".to_owned(),
            Verdict::Skipped(why) => format!("skipped ({why})"),
            Verdict::Info => "-".to_owned(),
        };
        if let Some(note) = &self.note {
            met.push_str(&format!(" ({note})"));
        }
        [
            self.metric.clone(),
            opt(self.ours),
            opt(self.baseline),
            ratio,
            self.target.to_string(),
            met,
        ]
    }

    /// The row as JSON.
    pub fn to_json(&self) -> Value {
        let quantity = |q: Option<Quantity>| {
            q.map_or(
                Value::Null,
                |q| json!({"value": q.value(), "unit": q.unit(), "text": q.to_string()}),
            )
        };
        let (met, skipped) = match &self.verdict {
            Verdict::Met => (json!(true), Value::Null),
            Verdict::Missed => (json!(false), Value::Null),
            Verdict::Skipped(why) => (Value::Null, json!(why)),
            Verdict::Info => (Value::Null, Value::Null),
        };
        json!({
            "id": self.id,
            "metric": self.metric,
            "ours": quantity(self.ours),
            "baseline": quantity(self.baseline),
            "ratio": self.ratio.filter(|r| r.is_finite()),
            "target": self.target.to_string(),
            "met": met,
            "skipped": skipped,
            "note": self.note,
        })
    }
}

/// The rows as a Markdown table, columns padded to line up in a terminal.
pub fn render_table(rows: &[Row]) -> String {
    let header = ["metric", "ours", "baseline", "ratio", "target", "met"].map(str::to_owned);
    let body: Vec<[String; 6]> = rows.iter().map(Row::cells).collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for cells in &body {
        for (w, c) in widths.iter_mut().zip(cells) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String; 6]| {
        let mut out = String::from("|");
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            // Numbers line up on the right, text on the left.
            if (1..=3).contains(&i) {
                let _ = write!(out, " {}{} |", " ".repeat(pad), cell);
            } else {
                let _ = write!(out, " {}{} |", cell, " ".repeat(pad));
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(&header);
    out.push('|');
    for (i, w) in widths.iter().enumerate() {
        let dashes = "-".repeat(*w);
        if (1..=3).contains(&i) {
            let _ = write!(out, " {dashes}:|");
        } else {
            let _ = write!(out, " {dashes} |");
        }
    }
    out.push('\n');
    for cells in &body {
        out.push_str(&line(cells));
    }
    out
}

/// The rows as one JSON document.
pub fn to_json(rows: &[Row]) -> Value {
    let met = rows.iter().filter(|r| r.verdict == Verdict::Met).count();
    let missed = rows.iter().filter(|r| r.verdict == Verdict::Missed).count();
    json!({
        "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        "met": met,
        "missed": missed,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_target() {
        let t = |ns| Quantity::Time(Duration::from_nanos(ns));
        let row = Row::new("a", "a", t(120), Some(t(100)), Target::RatioAtMost(1.25));
        assert_eq!(row.verdict, Verdict::Met);
        assert!((row.ratio.unwrap() - 1.2).abs() < 1e-9);
        let row = Row::new("b", "b", t(130), Some(t(100)), Target::RatioAtMost(1.25));
        assert_eq!(row.verdict, Verdict::Missed);
        let row = Row::new(
            "c",
            "c",
            Quantity::Rate(170.0),
            Some(Quantity::Rate(100.0)),
            Target::RatioAtLeast(1.6),
        );
        assert_eq!(row.verdict, Verdict::Met);
        let row = Row::new(
            "d",
            "d",
            t(6_100),
            Some(t(1_000)),
            Target::OverheadAtMost(Duration::from_micros(5)),
        );
        assert_eq!(row.verdict, Verdict::Missed);
        let row = Row::new(
            "e",
            "e",
            t(99_000),
            None,
            Target::TimeAtMost(Duration::from_micros(100)),
        );
        assert_eq!(row.verdict, Verdict::Met);
        let row = Row::new(
            "f",
            "f",
            Quantity::Percent(4.9),
            None,
            Target::PercentBelow(5.0),
        );
        assert_eq!(row.verdict, Verdict::Met);
    }

    #[test]
    fn a_speedup_row_compares_two_speedups() {
        let row = Row::new(
            "s",
            "s",
            Quantity::Speedup(1.41),
            Some(Quantity::Speedup(1.38)),
            Target::RatioAtLeast(0.95),
        );
        assert_eq!(row.verdict, Verdict::Met);
        assert_eq!(row.ours.unwrap().to_string(), "1.41x");
        assert_eq!(row.ours.unwrap().unit(), "times");
        let row = Row::new(
            "t",
            "t",
            Quantity::Speedup(1.2),
            Some(Quantity::Speedup(1.5)),
            Target::RatioAtLeast(0.95),
        );
        assert_eq!(row.verdict, Verdict::Missed);
    }

    #[test]
    fn durations_print_with_three_significant_digits() {
        assert_eq!(format_duration(Duration::from_nanos(41)), "41.0 ns");
        assert_eq!(format_duration(Duration::from_nanos(3_070_000)), "3.07 ms");
        assert_eq!(format_duration(Duration::from_micros(250)), "250 µs");
    }

    #[test]
    fn the_table_has_a_header_a_rule_and_a_line_per_row() {
        let rows = [
            Row::skipped("pg", "postgres", Target::RatioAtMost(0.5), "set X"),
            Row::new(
                "m",
                "memory",
                Quantity::Percent(1.0),
                None,
                Target::PercentBelow(5.0),
            ),
        ];
        let table = render_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("| metric"));
        assert!(lines[2].contains("skipped (set X)"));
        assert!(lines[3].contains("+1.00%") && lines[3].contains("yes"));
        assert_eq!(to_json(&rows)["met"], 1);
    }
}
