//! One run of a test binary: a private temporary directory, a trace file, libtest's JSON
//! events, and a continuation process when a test crashes or hangs half-way through an
//! ordered run; and the `cargo test` command that makes the same run.

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use super::discover::Binary;
use super::libtest::{self, Outcome};
use super::process::{self, Ran, Spawn};
use super::progress::Progress;
use super::report::RunCounts;
use super::snapshot::{self, Databases};
use super::trace::{self, Summary, TRACE_FILE_ENV};
use super::{Error, Options};

/// Set in every test process the check starts, so a test can tell (a test that itself runs
/// the check, say, can skip).
pub const CHECK_ENV: &str = "DATAFLOW_ISOLATION_CHECK";

/// The tests a run selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// The suite: every test the filters select.
    Suite,
    /// Exactly these tests (sorted).
    Exact(Vec<String>),
}

/// The order a run runs its tests in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// As `cargo test` does: threads in parallel.
    Parallel,
    /// One at a time, in libtest's name order.
    Forward,
    /// One at a time, shuffled with this seed.
    Seeded(u64),
}

impl Order {
    pub(crate) fn seed(self) -> Option<u64> {
        match self {
            Order::Seeded(seed) => Some(seed),
            _ => None,
        }
    }
}

/// Why a run is made (what it counts as).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Plain,
    Baseline,
    Solo,
    Order,
    Reverse,
    Probe,
}

/// One run to make.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub binary: usize,
    pub selection: Selection,
    pub order: Order,
    pub purpose: Purpose,
}

impl Request {
    pub(crate) fn suite(binary: usize, order: Order, purpose: Purpose) -> Request {
        Request {
            binary,
            selection: Selection::Suite,
            order,
            purpose,
        }
    }

    pub(crate) fn exact(
        binary: usize,
        mut tests: Vec<String>,
        order: Order,
        purpose: Purpose,
    ) -> Request {
        tests.sort();
        tests.dedup();
        Request {
            binary,
            selection: Selection::Exact(tests),
            order,
            purpose,
        }
    }
}

/// One process of a run.
#[derive(Debug)]
pub(crate) struct Segment {
    pub ran: Ran,
    pub trace: Summary,
}

/// What one run did.
#[derive(Debug)]
pub(crate) struct RunResult {
    pub binary: usize,
    pub selection: Selection,
    pub order: Order,
    pub purpose: Purpose,
    /// One per process: more than one when a test crashed or hung and the run went on
    /// with the tests that had not run yet.
    pub segments: Vec<Segment>,
    pub files_left: Vec<String>,
    pub databases_left: Vec<String>,
    pub duration: Duration,
    /// The `cargo test` command that makes the same run.
    pub command: String,
}

impl RunResult {
    pub(crate) fn selection_names(&self) -> &[String] {
        match &self.selection {
            Selection::Exact(names) => names,
            Selection::Suite => &[],
        }
    }

    /// How `test` ended in this run, if it ran.
    pub(crate) fn outcome(&self, test: &str) -> Option<&Outcome> {
        self.segments.iter().rev().find_map(|s| {
            s.ran
                .outcomes
                .iter()
                .find(|(name, _)| name == test)
                .map(|(_, o)| o)
        })
    }

    /// The tests that started before `test`: in any process of the run (`same_process`
    /// false), or in the process `test` ran in.
    pub(crate) fn before(&self, test: &str, same_process: bool) -> Vec<String> {
        let mut before = Vec::new();
        for segment in &self.segments {
            if same_process && !segment.ran.started.iter().any(|t| t == test) {
                continue;
            }
            for name in &segment.ran.started {
                if name == test {
                    return before;
                }
                before.push(name.clone());
            }
            if same_process {
                break;
            }
        }
        before
    }

    pub(crate) fn accesses(&self) -> impl Iterator<Item = &trace::Access> {
        self.segments.iter().flat_map(|s| s.trace.accesses.iter())
    }

    pub(crate) fn failed_tests(&self) -> Vec<String> {
        let mut failed: Vec<String> = self
            .segments
            .iter()
            .flat_map(|s| s.ran.outcomes.iter())
            .filter(|(_, o)| o.failed())
            .map(|(n, _)| n.clone())
            .collect();
        failed.sort();
        failed.dedup();
        failed
    }

    pub(crate) fn order_label(&self) -> String {
        match (self.purpose, self.order) {
            (Purpose::Reverse, Order::Seeded(seed)) => format!("reverse (seed {seed})"),
            (_, Order::Seeded(seed)) => format!("shuffle (seed {seed})"),
            (_, Order::Forward) => "forward".into(),
            (_, Order::Parallel) => "parallel".into(),
        }
    }

    /// How the process(es) ended, when not as libtest ends a suite.
    pub(crate) fn abnormal_ends(&self) -> Vec<String> {
        self.segments
            .iter()
            .filter(|s| !s.ran.finished)
            .map(|s| match &s.ran.timed_out {
                Some(Some(test)) => format!("killed: `{test}` ran past the timeout"),
                Some(None) => "killed: no test started within the timeout".to_owned(),
                None => format!("the process ended early ({})", s.ran.status),
            })
            .collect()
    }
}

/// The check's working directory, for [`remove_scratch`].
static SCRATCH: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Removes the check's working directory (runs, traces, temporary directories): what
/// Ctrl-C does before leaving, since the process exits without unwinding.
pub(crate) fn remove_scratch() {
    if let Some(dir) = SCRATCH.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A run's hold on its binary (see `Runner::turns`).
enum Turn<'a> {
    Shared { _guard: RwLockReadGuard<'a, ()> },
    Alone { _guard: RwLockWriteGuard<'a, ()> },
}

/// Performs runs; shared by the threads of the check.
pub(crate) struct Runner<'a> {
    pub options: &'a Options,
    pub binaries: &'a [Binary],
    pub databases: Option<Databases>,
    progress: &'a Progress,
    root: tempfile::TempDir,
    next_id: AtomicUsize,
    counts: Mutex<RunCounts>,
    /// Whether libtest's shuffle has been seen to run in the predicted order.
    predictor: Mutex<Option<bool>>,
    notes: Mutex<BTreeSet<String>>,
    test_names: Vec<HashSet<String>>,
    /// Per binary: runs of one test each share it, every other run holds it alone, so no
    /// test runs in two processes at once (two copies of one test would share whatever it
    /// keeps outside the process, as a trybuild test does its build directory).
    turns: Vec<RwLock<()>>,
}

impl<'a> Runner<'a> {
    pub(crate) fn new(
        options: &'a Options,
        binaries: &'a [Binary],
        databases: Option<Databases>,
        progress: &'a Progress,
    ) -> Result<Runner<'a>, Error> {
        let root = tempfile::Builder::new()
            .prefix("dataflow-isolation-check-")
            .tempdir()
            .map_err(|source| Error::Io {
                what: "create a temporary directory for the check".into(),
                source,
            })?;
        *SCRATCH.lock().unwrap_or_else(|e| e.into_inner()) = Some(root.path().to_path_buf());
        Ok(Runner {
            options,
            binaries,
            databases,
            progress,
            root,
            next_id: AtomicUsize::new(0),
            counts: Mutex::new(RunCounts::default()),
            predictor: Mutex::new(None),
            notes: Mutex::new(BTreeSet::new()),
            test_names: binaries
                .iter()
                .map(|b| b.listed.iter().cloned().collect())
                .collect(),
            turns: binaries.iter().map(|_| RwLock::new(())).collect(),
        })
    }

    pub(crate) fn counts(&self) -> RunCounts {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn notes(&self) -> Vec<String> {
        self.notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub(crate) fn note(&self, note: String) {
        self.notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(note);
    }

    pub(crate) fn progress(&self) -> &Progress {
        self.progress
    }

    /// Whether libtest's shuffle order can be predicted (`None`: not seen yet).
    pub(crate) fn predictor(&self) -> Option<bool> {
        *self.predictor.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes one run (more than one process if a test crashes or hangs in an ordered run).
    pub(crate) fn execute(&self, request: &Request) -> Result<RunResult, Error> {
        let binary = &self.binaries[request.binary];
        if request.purpose == Purpose::Probe {
            self.progress.add_planned(1);
        }
        let turn = &self.turns[request.binary];
        let _turn = match request.purpose {
            Purpose::Solo | Purpose::Baseline => Turn::Shared {
                _guard: turn.read().unwrap_or_else(|e| e.into_inner()),
            },
            _ => Turn::Alone {
                _guard: turn.write().unwrap_or_else(|e| e.into_inner()),
            },
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let dir = self.root.path().join(format!("run-{id}"));
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(|source| Error::Io {
            what: format!("create {}", tmp.display()),
            source,
        })?;
        let databases_before = match (&self.databases, request.purpose) {
            (Some(db), Purpose::Solo | Purpose::Baseline) => db.list().ok(),
            _ => None,
        };
        let start = Instant::now();
        let mut segments: Vec<Segment> = Vec::new();
        let mut only: Option<Vec<String>> = match &request.selection {
            Selection::Exact(names) => Some(names.clone()),
            Selection::Suite => None,
        };
        loop {
            let trace_file = dir.join(format!("trace-{}.jsonl", segments.len()));
            let spawn = self.spawn(binary, request.order, only.as_deref(), &tmp, &trace_file);
            let ran = process::run(&spawn).map_err(|e| Error::Run {
                binary: binary.label(),
                reason: format!("{}: {e}", binary.exe.display()),
            })?;
            let events = trace::read(&trace_file).unwrap_or_default();
            let names = &self.test_names[request.binary];
            let summary = Summary::of(&events, Some(ran.pid), |t| names.contains(t));
            let finished = ran.finished;
            let progressed = !ran.started.is_empty();
            segments.push(Segment {
                ran,
                trace: summary,
            });
            if finished || request.order == Order::Parallel || !progressed {
                break;
            }
            // A test crashed or hung: go on, in a new process, with the tests not run yet.
            let started: HashSet<&String> =
                segments.iter().flat_map(|s| s.ran.started.iter()).collect();
            let pool = only.clone().unwrap_or_else(|| binary.tests.clone());
            let rest: Vec<String> = pool
                .into_iter()
                .filter(|t| !started.contains(t) && binary.tests.contains(t))
                .collect();
            if rest.is_empty() {
                break;
            }
            only = Some(rest);
        }
        if let Order::Seeded(seed) = request.order {
            self.check_prediction(binary, &request.selection, seed, &segments[0].ran);
        }
        let files_left = snapshot::leftover_files(&tmp);
        let databases_left = match (&self.databases, databases_before) {
            (Some(db), Some(before)) => db
                .list()
                .map(|after| after.difference(&before).cloned().collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        {
            let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            counts.add(request.purpose, segments.len());
        }
        self.progress.run_done();
        Ok(RunResult {
            binary: request.binary,
            selection: request.selection.clone(),
            order: request.order,
            purpose: request.purpose,
            segments,
            files_left,
            databases_left,
            duration: start.elapsed(),
            command: self.command(binary, &request.selection, request.order),
        })
    }

    fn spawn(
        &self,
        binary: &Binary,
        order: Order,
        only: Option<&[String]>,
        tmp: &Path,
        trace_file: &Path,
    ) -> Spawn {
        let mut args: Vec<String> = Vec::new();
        match order {
            Order::Parallel => {}
            Order::Forward => args.push("--test-threads=1".into()),
            Order::Seeded(seed) => {
                args.push("--test-threads=1".into());
                args.extend(["-Z", "unstable-options", "--shuffle-seed"].map(String::from));
                args.push(seed.to_string());
            }
        }
        match only {
            Some([]) => {
                args.push("--exact".into());
                args.push("dataflow-isolation-check: no test".into());
            }
            Some(names) => {
                args.push("--exact".into());
                args.extend(names.iter().cloned());
            }
            None => args.extend(self.options.libtest_filters()),
        }
        let mut env = binary.cargo_env(&self.options.cargo);
        for var in ["TMPDIR", "TMP", "TEMP"] {
            env.push((var.into(), tmp.as_os_str().to_owned()));
        }
        env.push((TRACE_FILE_ENV.into(), trace_file.as_os_str().to_owned()));
        // Only a shuffle needs an unstable option: every other run is made the way
        // `cargo test` makes it, in the same environment.
        if let Order::Seeded(_) = order {
            env.push(("RUSTC_BOOTSTRAP".into(), libtest::BOOTSTRAP_VALUE.into()));
        }
        env.push((CHECK_ENV.into(), OsString::from("1")));
        let mut env_remove = vec![
            "RUST_TEST_SHUFFLE",
            "RUST_TEST_SHUFFLE_SEED",
            "RUST_TEST_NOCAPTURE",
        ];
        if order != Order::Parallel {
            env_remove.push("RUST_TEST_THREADS");
        }
        Spawn {
            program: binary.exe.clone(),
            args,
            cwd: binary.manifest_dir().to_path_buf(),
            env,
            env_remove,
            timeout: self.options.timeout,
        }
    }

    /// Compares the order a seeded run took with libtest's shuffle as predicted.
    fn check_prediction(&self, binary: &Binary, selection: &Selection, seed: u64, ran: &Ran) {
        let names: Vec<&str> = match selection {
            Selection::Suite => binary.listed.iter().map(String::as_str).collect(),
            Selection::Exact(names) => names.iter().map(String::as_str).collect(),
        };
        let predicted: Vec<&str> = libtest::shuffled_order(&names, seed)
            .into_iter()
            .map(|i| names[i])
            .collect();
        let observed: Vec<&str> = ran.started.iter().map(String::as_str).collect();
        if observed.len() != predicted.len() && !ran.finished {
            return; // cut short: the prefix says little
        }
        let good = observed == predicted;
        let mut state = self.predictor.lock().unwrap_or_else(|e| e.into_inner());
        if !good {
            if *state != Some(false) {
                self.note(
                    "libtest's shuffle did not run in the order this check predicts (a newer \
                     libtest?): pair runs and bisection found their orders by trying seeds"
                        .into(),
                );
            }
            *state = Some(false);
        } else if state.is_none() {
            *state = Some(true);
        }
    }

    /// The `cargo test` command that makes this run, relative to the current directory.
    pub(crate) fn command(&self, binary: &Binary, selection: &Selection, order: Order) -> String {
        let mut words: Vec<String> = vec!["cargo".into(), "test".into()];
        if let Some(path) = &self.options.manifest_path {
            words.push("--manifest-path".into());
            words.push(relative(path));
        }
        words.extend(self.options.cargo_flags.iter().cloned());
        words.extend(binary.cargo_selector());
        if let Order::Seeded(_) = order {
            // libtest's shuffle is unstable: RUSTC_BOOTSTRAP for the test binary only, through
            // a runner, since cargo rebuilds everything when it sees the variable itself.
            words.push("--config".into());
            words.push(format!(
                "target.'cfg(all())'.runner='env RUSTC_BOOTSTRAP={}'",
                libtest::BOOTSTRAP_VALUE
            ));
        }
        words.push("--".into());
        match selection {
            Selection::Suite => words.extend(self.options.libtest_filters()),
            Selection::Exact(names) => {
                words.push("--exact".into());
                words.extend(names.iter().cloned());
            }
        }
        match order {
            Order::Parallel => {}
            Order::Forward => words.push("--test-threads=1".into()),
            Order::Seeded(seed) => {
                words.push("--test-threads=1".into());
                words.push("-Z".into());
                words.push("unstable-options".into());
                words.push("--shuffle-seed".into());
                words.push(seed.to_string());
            }
        }
        words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn relative(path: &Path) -> String {
    let absolute: PathBuf = if path.is_absolute() {
        path.to_path_buf()
    } else {
        return path.display().to_string();
    };
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            absolute
                .strip_prefix(cwd)
                .ok()
                .map(|p| p.display().to_string())
        })
        .unwrap_or_else(|| path.display().to_string())
}

/// `word` as one shell word.
pub(crate) fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:@,+%".contains(c));
    if plain {
        word.to_owned()
    } else if word.contains('\'') && !word.contains(['"', '$', '`', '\\', '!']) {
        format!("\"{word}\"")
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_quote("registry::victim"), "registry::victim");
        assert_eq!(shell_quote("--test-threads=1"), "--test-threads=1");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "\"it's\"");
        assert_eq!(shell_quote("it's $HOME"), r"'it'\''s $HOME'");
        assert_eq!(shell_quote(""), "''");
    }
}
