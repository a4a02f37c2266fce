//! Talking to a libtest binary: its output, as `cargo test` shows it, and the order its
//! seeded shuffle runs tests in.
//!
//! The check reads libtest's default output, which needs no unstable option. Only the
//! shuffled runs need one (`-Z unstable-options --shuffle-seed`): for those the binary runs
//! with `RUSTC_BOOTSTRAP` set to a crate name no crate has, which libtest accepts and
//! which changes nothing for any compiler a test might start.

use std::borrow::Cow;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::{Deserialize, Serialize};

/// `RUSTC_BOOTSTRAP` for shuffled runs: libtest only checks that the variable is set; rustc
/// and cargo read it as a list of crate names and find none of theirs in it. (Build scripts
/// that watch the variable still see it change: a test that runs cargo itself, such as a
/// trybuild test, rebuilds on its first shuffled run.)
pub(crate) const BOOTSTRAP_VALUE: &str = "dataflow_isolation_check";

/// How a test ended in one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// It passed.
    Passed,
    /// It failed; `message` is the panic message (or the end of its output).
    Failed {
        /// What it said.
        message: String,
    },
    /// libtest skipped it: the test is marked ignored.
    Ignored,
    /// The process died while it ran (abort, signal, `exit`).
    Crashed {
        /// How the process ended.
        status: String,
    },
    /// It ran longer than the per-test timeout and the process was killed.
    TimedOut {
        /// The timeout, in seconds.
        after_secs: u64,
    },
}

impl Outcome {
    /// Passed.
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed)
    }

    /// Failed, crashed or timed out.
    pub fn failed(&self) -> bool {
        matches!(
            self,
            Outcome::Failed { .. } | Outcome::Crashed { .. } | Outcome::TimedOut { .. }
        )
    }

    /// A short description: `passed`, `failed: <message>`, `timed out after 60s`...
    pub fn describe(&self) -> String {
        match self {
            Outcome::Passed => "passed".into(),
            Outcome::Failed { message } if message.is_empty() => "failed".into(),
            Outcome::Failed { message } => format!("failed: {message}"),
            Outcome::Ignored => "ignored".into(),
            Outcome::Crashed { status } => format!("crashed ({status})"),
            Outcome::TimedOut { after_secs } => format!("timed out after {after_secs}s"),
        }
    }
}

/// What a line of output tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// The suite started.
    SuiteStarted,
    /// A test started.
    Started(String),
    /// A test ended (a failure's message comes later, as [`Event::Message`]).
    Finished(String, Outcome),
    /// The panic message of a failed test, from its `---- name stdout ----` block.
    Message(String, String),
    /// The suite ended (every test reported).
    SuiteFinished,
}

/// Reads libtest's default output line by line.
///
/// With `--test-threads=1` libtest writes `test name ... ` when a test starts and the
/// result when it ends, so output a test's child process writes to the terminal can land
/// in between; in parallel it writes the whole line when the test ends. Failure messages
/// come at the end, in `---- name stdout ----` blocks.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    /// A test whose start was seen and whose result was not.
    pending: Option<String>,
    /// The failure block being read: test name, text so far.
    block: Option<(String, String)>,
}

impl Parser {
    /// The events in `line` (which may lack its newline: the end of a killed process).
    pub(crate) fn line(&mut self, line: &str) -> Vec<Event> {
        let line = line.trim_end_matches(['\n', '\r']);
        let mut events = Vec::new();
        let header = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"));
        if header.is_some() || line == "failures:" || line.starts_with("test result: ") {
            if let Some((name, text)) = self.block.take() {
                events.push(Event::Message(name, panic_message(&text)));
            }
        } else if let Some((_, text)) = &mut self.block {
            text.push_str(line);
            text.push('\n');
            return events;
        }
        if let Some(name) = header {
            self.block = Some((name.to_owned(), String::new()));
        } else if line.starts_with("test result: ") {
            events.push(Event::SuiteFinished);
        } else if line.starts_with("running ") && line.contains(" test") {
            events.push(Event::SuiteStarted);
        } else if let Some((name, rest)) = line.strip_prefix("test ").and_then(|l| {
            l.split_once(" ... ")
                .or_else(|| l.strip_suffix(" ...").map(|n| (n, "")))
        }) {
            let name = name
                .strip_suffix(" - should panic")
                .unwrap_or(name)
                .to_owned();
            events.push(Event::Started(name.clone()));
            match result(rest) {
                Some(outcome) => events.push(Event::Finished(name, outcome)),
                None => self.pending = Some(name),
            }
        } else if let Some(outcome) = result(line.trim()) {
            if let Some(name) = self.pending.take() {
                events.push(Event::Finished(name, outcome));
            }
        }
        events
    }
}

/// `ok`, `FAILED`, `ignored[, reason]`: how libtest ends a test's line.
fn result(text: &str) -> Option<Outcome> {
    match text.trim_end() {
        "ok" => Some(Outcome::Passed),
        "FAILED" => Some(Outcome::Failed {
            message: String::new(),
        }),
        t if t == "ignored" || t.starts_with("ignored, ") => Some(Outcome::Ignored),
        _ => None,
    }
}

/// The panic message in a failed test's output (the lines after `panicked at`, up to the
/// backtrace), or its last line; at most [`MESSAGE_MAX`] characters.
pub(crate) fn panic_message(output: &str) -> String {
    let mut lines = output.lines();
    let mut message = None;
    while let Some(line) = lines.next() {
        if line.contains("panicked at") {
            let text: Vec<&str> = lines
                .by_ref()
                .take_while(|l| {
                    !l.trim().is_empty()
                        && !l.starts_with("note:")
                        && !l.starts_with("stack backtrace:")
                })
                .take(3)
                .map(str::trim)
                .collect();
            message = Some(text.join(" / "));
            break;
        }
    }
    let message = message.unwrap_or_else(|| {
        output
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_owned()
    });
    shorten(&message, MESSAGE_MAX)
}

/// The longest failure message kept.
pub(crate) const MESSAGE_MAX: usize = 200;

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// The order libtest runs `tests` in with `--shuffle-seed seed` and `--test-threads=1`, as
/// indexes into `tests`, which must be the names the binary selects (its filters applied,
/// ignored tests included), sorted.
///
/// This mirrors libtest's `helpers/shuffle.rs` (Rust 1.57 and later): a Fisher-Yates
/// shuffle driven by `DefaultHasher` over the seed and a hash of the test names. The check
/// compares every prediction it relies on with the order it then observes, and falls back
/// to observing when they differ.
pub(crate) fn shuffled_order(tests: &[&str], seed: u64) -> Vec<usize> {
    Shuffler::new(tests).order(seed)
}

/// [`shuffled_order`] for many seeds over one list: the hash of the names is taken once.
pub(crate) struct Shuffler {
    len: usize,
    extra: u64,
}

impl Shuffler {
    pub(crate) fn new(tests: &[&str]) -> Shuffler {
        // libtest pads every name before shuffling: `AlignedTestName(Cow<str>, PadNone)`.
        #[derive(Hash)]
        #[allow(dead_code)] // mirrors libtest's enum: the variant index is hashed
        enum TestName<'a> {
            Static(&'a str),
            Dyn(String),
            Aligned(Cow<'a, str>, NamePadding),
        }
        #[derive(Hash)]
        #[allow(dead_code)]
        enum NamePadding {
            None,
            OnRight,
        }
        let names: Vec<TestName<'_>> = tests
            .iter()
            .map(|t| TestName::Aligned(Cow::Borrowed(t), NamePadding::None))
            .collect();
        let refs: Vec<&TestName<'_>> = names.iter().collect();
        Shuffler {
            len: tests.len(),
            extra: hash(&refs),
        }
    }

    /// The order for `seed`, as indexes into the list.
    pub(crate) fn order(&self, seed: u64) -> Vec<usize> {
        let mut state = seed;
        let mut order: Vec<usize> = (0..self.len).collect();
        for i in 0..order.len() {
            state = hash(&(state, self.extra));
            let pick = (state % (order.len() - i) as u64) as usize;
            order.swap(i, i + pick);
        }
        order
    }
}

fn hash<T: Hash>(value: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(output: &str) -> Vec<Event> {
        let mut parser = Parser::default();
        output
            .split_inclusive('\n')
            .flat_map(|l| parser.line(l))
            .collect()
    }

    fn failed(message: &str) -> Outcome {
        Outcome::Failed {
            message: message.into(),
        }
    }

    #[test]
    fn output_is_read_as_cargo_test_prints_it() {
        let output = "\nrunning 4 tests (shuffle seed: 3)\n\
            test a::b ... ok\n\
            test a::p - should panic ... ok\n\
            test c ... stray child output\n\
            FAILED\n\
            test d ... ignored, slow\n\
            test e has been running for over 60 seconds\n\
            \nfailures:\n\n\
            ---- c stdout ----\n\
            captured\n\
            \nthread 'c' (7) panicked at src/lib.rs:5:50:\n\
            assertion failed: custom\n\
            stack backtrace:\n   0: x\n\
            \nfailures:\n    c\n\n\
            test result: FAILED. 2 passed; 1 failed; 1 ignored\n\
            test k ... ";
        let started = |n: &str| Event::Started(n.into());
        assert_eq!(
            parse(output),
            [
                Event::SuiteStarted,
                started("a::b"),
                Event::Finished("a::b".into(), Outcome::Passed),
                started("a::p"),
                Event::Finished("a::p".into(), Outcome::Passed),
                started("c"),
                Event::Finished("c".into(), failed("")),
                started("d"),
                Event::Finished("d".into(), Outcome::Ignored),
                Event::Message("c".into(), "assertion failed: custom".into()),
                Event::SuiteFinished,
                started("k"),
            ]
        );
    }

    #[test]
    fn messages_are_cut_to_size() {
        assert_eq!(panic_message("no panic here\nlast words\n"), "last words");
        assert_eq!(panic_message(&"x".repeat(500)).chars().count(), MESSAGE_MAX);
    }

    #[test]
    fn the_shuffle_matches_what_libtest_ran() {
        // Observed with rustc 1.95: `--test-threads=1 -Z unstable-options --shuffle-seed 42`.
        let tests = [
            "tests::a_one",
            "tests::b_two",
            "tests::c_three",
            "tests::d_four",
            "tests::e_five",
            "tests::f_ign",
            "tests::inner::g_six",
            "tests::inner::h_seven",
        ];
        let order: Vec<&str> = shuffled_order(&tests, 42)
            .into_iter()
            .map(|i| tests[i])
            .collect();
        assert_eq!(
            order,
            [
                "tests::a_one",
                "tests::inner::g_six",
                "tests::c_three",
                "tests::inner::h_seven",
                "tests::f_ign",
                "tests::e_five",
                "tests::b_two",
                "tests::d_four"
            ]
        );
    }
}
