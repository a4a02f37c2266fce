//! The second layer: one run of a test binary: a private temporary directory, a trace
//! file, libtest's output, and a continuation process when a test crashes or hangs
//! half-way through an ordered run; the `cargo test` command that makes the same run
//! ([`command`]); what a run leaves behind ([`snapshot`], [`trace`]); runs in parallel
//! ([`pool`]), never one test in two processes at once ([`claims`]); the progress bar
//! ([`progress`]).

pub(crate) mod claims;
pub(crate) mod command;
pub(crate) mod pool;
pub(crate) mod progress;
pub(crate) mod run;
pub(crate) mod schedule;
pub(crate) mod snapshot;
pub(crate) mod trace;

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use dataflow_testing::trace::TRACE_FILE_ENV;

use self::claims::{Claim, Claims};
use self::progress::Progress;
pub use self::run::RunCounts;
pub(crate) use self::run::{Order, Purpose, Request, RunResult, Segment, Selection};
use self::snapshot::Databases;
use self::trace::Summary;
use crate::process::discover::Binary;
use crate::process::libtest;
use crate::process::{self, Ran, Spawn};
use crate::{Error, Options};

/// Set in every test process the check starts, so a test can tell (a test that itself runs
/// the check, say, can skip).
pub const CHECK_ENV: &str = "DATAFLOW_ISOLATION_CHECK";

/// The check's working directory, for [`remove_scratch`].
static SCRATCH: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Removes the check's working directory (runs, traces, temporary directories): what
/// Ctrl-C does before leaving, since the process exits without unwinding.
pub(crate) fn remove_scratch() {
    // Removed under the lock: a run that starts meanwhile finds no directory to make its
    // own in (see `Runner::execute`) instead of leaving one behind.
    let mut scratch = SCRATCH.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = scratch.take() {
        let _ = std::fs::remove_dir_all(dir);
    }
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
    /// Per binary, the tests running now: no test runs in two processes at once.
    claims: Vec<Claims>,
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
            claims: binaries.iter().map(|_| Claims::default()).collect(),
        })
    }

    /// How many runs may go at once: `--jobs`, or one when databases on a server are
    /// watched (a database that appears could be any concurrent run's).
    pub(crate) fn jobs(&self) -> usize {
        if self.databases.is_some() {
            1
        } else {
            self.options.jobs.max(1)
        }
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

    /// Makes one run (more than one process if a test crashes or hangs in an ordered run),
    /// once none of its tests runs elsewhere.
    pub(crate) fn execute(&self, request: &Request) -> Result<RunResult, Error> {
        let claim = self.claims[request.binary].claim(self.tests_of(request));
        self.execute_claimed(request, claim)
    }

    /// Claims the tests of `request` if none of them runs now (see [`Runner::execute_claimed`]).
    pub(crate) fn try_claim(&self, request: &Request) -> Option<Claim<'_>> {
        self.claims[request.binary].try_claim(self.tests_of(request))
    }

    fn tests_of<'r>(&'r self, request: &'r Request) -> &'r [String] {
        match &request.selection {
            Selection::Exact(names) => names.as_slice(),
            Selection::Suite => self.binaries[request.binary].tests.as_slice(),
        }
    }

    /// Makes one run whose tests `claim` holds (from [`Runner::try_claim`]); gives each test
    /// back as it ends.
    pub(crate) fn execute_claimed(
        &self,
        request: &Request,
        mut claim: Claim<'_>,
    ) -> Result<RunResult, Error> {
        let binary = &self.binaries[request.binary];
        if request.purpose == Purpose::Probe {
            self.progress.add_planned(1);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let dir = self.root.path().join(format!("run-{id}"));
        let tmp = dir.join("tmp");
        {
            let scratch = SCRATCH.lock().unwrap_or_else(|e| e.into_inner());
            if scratch.is_none() {
                return Err(Error::Run {
                    binary: binary.label(),
                    reason: "the check was interrupted".into(),
                });
            }
            std::fs::create_dir_all(&tmp).map_err(|source| Error::Io {
                what: format!("create {}", tmp.display()),
                source,
            })?;
        }
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
            let ran =
                process::run(&spawn, &mut |test| claim.release(test)).map_err(|e| Error::Run {
                    binary: binary.label(),
                    reason: format!("{}: {e}", binary.exe.display()),
                })?;
            let events = dataflow_testing::trace::read(&trace_file).unwrap_or_default();
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
            command: command::command(self.options, binary, &request.selection, request.order),
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
            // A test that runs cargo itself (trybuild, say) would build with the variable
            // in the user's target directory, where cargo rebuilds everything whenever
            // the variable comes or goes: in every check, and again at the next
            // `cargo test`. It builds in a directory of the check's own instead, which
            // stays built from one check to the next.
            if let Some(dir) = shuffled_target_dir(&binary.exe) {
                env.push(("CARGO_TARGET_DIR".into(), dir.into_os_string()));
            }
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
}

/// Where cargo builds for a test that runs it in a shuffled run: `isolation-check-shuffled`
/// in the profile's directory of the test binary (`target/debug/deps/t-1a2b` ->
/// `target/debug/isolation-check-shuffled`).
fn shuffled_target_dir(exe: &Path) -> Option<PathBuf> {
    Some(exe.parent()?.parent()?.join("isolation-check-shuffled"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shuffled_run_gives_cargo_a_target_directory_of_the_checks_own() {
        let exe = Path::new("/w/target/debug/deps/suite-1a2b");
        assert_eq!(
            shuffled_target_dir(exe).unwrap(),
            Path::new("/w/target/debug/isolation-check-shuffled")
        );
        assert_eq!(shuffled_target_dir(Path::new("suite")), None);
    }
}
