//! The lowest layer: one test-binary process, spawned in a process group of its own, its
//! output read as it comes, killed (with everything it started) when a test runs past the
//! timeout; libtest's output and shuffle ([`libtest`]); cargo's build ([`discover`]).

pub(crate) mod discover;
pub(crate) mod libtest;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use self::libtest::{Event, Outcome};

/// What to start.
#[derive(Debug, Clone)]
pub(crate) struct Spawn {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, OsString)>,
    pub env_remove: Vec<&'static str>,
    /// How long one test (or the start-up before the first one) may run.
    pub timeout: Duration,
}

/// What one process did.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Ran {
    /// Tests in the order they started.
    pub started: Vec<String>,
    /// How each started test ended; a test that started and never ended crashed or timed out.
    pub outcomes: Vec<(String, Outcome)>,
    /// libtest reported the end of the suite.
    pub finished: bool,
    /// The process was killed because this test (or `None`: start-up) ran too long.
    pub timed_out: Option<Option<String>>,
    /// How the process ended.
    pub status: String,
    /// Whether it exited with status 0.
    pub success: bool,
    /// The end of its stderr.
    pub stderr_tail: String,
    /// Its stdout, line by line, when asked for ([`run_capturing`]).
    pub stdout: Vec<String>,
    /// The process id.
    pub pid: u32,
}

const STDERR_KEEP: usize = 8 * 1024;

enum Msg {
    Line(String),
    Eof,
}

/// Runs one process to its end (or kills it) and reports what it did; `ended` is told of
/// each test as libtest reports its end. Never panics on what the child does; an error is
/// only a process that could not be started.
pub(crate) fn run(spawn: &Spawn, ended: &mut dyn FnMut(&str)) -> std::io::Result<Ran> {
    run_inner(spawn, false, ended)
}

/// [`run`], keeping every line of stdout (for `--list`).
pub(crate) fn run_capturing(spawn: &Spawn) -> std::io::Result<Ran> {
    run_inner(spawn, true, &mut |_| {})
}

fn run_inner(spawn: &Spawn, capture: bool, ended: &mut dyn FnMut(&str)) -> std::io::Result<Ran> {
    let mut command = Command::new(&spawn.program);
    command
        .args(&spawn.args)
        .current_dir(&spawn.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in &spawn.env_remove {
        command.env_remove(var);
    }
    for (key, value) in &spawn.env {
        command.env(key, value);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn()?;
    let pid = child.id();
    let _running = Running::track(pid);
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");

    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx
                        .send(Msg::Line(String::from_utf8_lossy(&buf).into_owned()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(Msg::Eof);
    });
    let stderr_reader = thread::spawn(move || read_tail(stderr));

    let mut ran = Ran::default();
    let mut tracker = Tracker::new(capture);
    let mut eof = false;
    let mut exited: Option<(ExitStatus, Instant)> = None;
    loop {
        if eof {
            thread::sleep(Duration::from_millis(20));
        } else {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Msg::Line(line)) => tracker.line(&line, &mut ran, ended),
                Ok(Msg::Eof) | Err(mpsc::RecvTimeoutError::Disconnected) => eof = true,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        if exited.is_none() {
            if let Ok(Some(status)) = child.try_wait() {
                exited = Some((status, Instant::now()));
            }
        }
        if let Some((status, at)) = exited {
            // Done when stdout is closed too; a grandchild that keeps it open gets a moment,
            // then goes with the rest of the group.
            if eof || at.elapsed() > Duration::from_secs(2) {
                kill_group(&mut child);
                ran.status = describe(status);
                ran.success = status.success();
                break;
            }
            continue;
        }
        let (since, who) = tracker.waiting_on();
        if since.elapsed() > spawn.timeout {
            kill_group(&mut child);
            let status = child.wait().ok();
            ran.timed_out = Some(who);
            ran.status = status.map_or_else(|| "killed".to_owned(), describe);
            break;
        }
    }
    // What was still on its way: the process is gone, so the rest (a partial last line,
    // `test name ... ` of the test that hung) comes at once, or not at all.
    if !eof {
        let deadline = Instant::now() + Duration::from_secs(2);
        while let Ok(Msg::Line(line)) =
            rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            tracker.line(&line, &mut ran, ended);
        }
    }
    let unfinished = ran
        .started
        .iter()
        .find(|name| !ran.outcomes.iter().any(|(n, _)| n == *name))
        .cloned();
    if let (Some(None), Some(name)) = (&ran.timed_out, unfinished) {
        ran.timed_out = Some(Some(name));
    }
    // Tests that started and never ended: killed by the timeout, or the process died.
    let after_secs = spawn.timeout.as_secs();
    for name in &ran.started {
        if !ran.outcomes.iter().any(|(n, _)| n == name) {
            let outcome = if ran.timed_out.is_some() {
                Outcome::TimedOut { after_secs }
            } else {
                Outcome::Crashed {
                    status: ran.status.clone(),
                }
            };
            ran.outcomes.push((name.clone(), outcome));
        }
    }
    // The stderr reader ends when the group is gone; do not wait on a stray holder forever.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !stderr_reader.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    if stderr_reader.is_finished() {
        ran.stderr_tail = stderr_reader.join().unwrap_or_default();
    }
    ran.pid = pid;
    Ok(ran)
}

/// Follows the output: which test is running, and since when.
struct Tracker {
    capture: bool,
    parser: libtest::Parser,
    running: Option<(String, Instant)>,
    /// Start-up, or the end of the last test: the time the next event is waited for from.
    idle_since: Instant,
}

impl Tracker {
    fn new(capture: bool) -> Self {
        Tracker {
            capture,
            parser: libtest::Parser::default(),
            running: None,
            idle_since: Instant::now(),
        }
    }

    fn line(&mut self, line: &str, ran: &mut Ran, ended: &mut dyn FnMut(&str)) {
        if self.capture {
            ran.stdout
                .push(line.trim_end_matches(['\n', '\r']).to_owned());
        }
        for event in self.parser.line(line) {
            match event {
                Event::SuiteStarted => self.idle_since = Instant::now(),
                Event::Started(name) => {
                    ran.started.push(name.clone());
                    self.running = Some((name, Instant::now()));
                }
                Event::Finished(name, outcome) => {
                    if self.running.as_ref().is_some_and(|(r, _)| *r == name) {
                        self.running = None;
                    }
                    self.idle_since = Instant::now();
                    ended(&name);
                    ran.outcomes.push((name, outcome));
                }
                Event::Message(name, message) => {
                    for (n, outcome) in &mut ran.outcomes {
                        if let (true, Outcome::Failed { message: m }) = (*n == name, outcome) {
                            m.clone_from(&message);
                        }
                    }
                }
                Event::SuiteFinished => {
                    ran.finished = true;
                    self.running = None;
                    self.idle_since = Instant::now();
                }
            }
        }
    }

    /// Since when the process has been busy with one thing, and with which test.
    fn waiting_on(&self) -> (Instant, Option<String>) {
        match &self.running {
            Some((name, at)) => (*at, Some(name.clone())),
            None => (self.idle_since, None),
        }
    }
}

fn read_tail(mut stderr: impl Read) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stderr.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * STDERR_KEEP {
                    kept.drain(..kept.len() - STDERR_KEEP);
                }
            }
        }
    }
    if kept.len() > STDERR_KEEP {
        kept.drain(..kept.len() - STDERR_KEEP);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}{}", signal_name(signal));
        }
    }
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "ended without an exit code".to_owned(),
    }
}

#[cfg(unix)]
fn signal_name(signal: i32) -> String {
    use nix::sys::signal::Signal;
    match Signal::try_from(signal) {
        Ok(Signal::SIGABRT) => " (SIGABRT: abort)".into(),
        Ok(Signal::SIGSEGV) => " (SIGSEGV: invalid memory access)".into(),
        Ok(signal) => format!(" ({})", signal.as_str()),
        Err(_) => String::new(),
    }
}

/// The test-binary processes running now (each leads its process group), for
/// [`stop_all`].
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A process in [`RUNNING`] until this is dropped.
struct Running(u32);

impl Running {
    fn track(pid: u32) -> Running {
        RUNNING.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
        Running(pid)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|pid| *pid != self.0);
    }
}

/// Kills every test-binary process the check is running, and what each started: what
/// Ctrl-C does (the terminal's Ctrl-C does not reach their process groups).
pub(crate) fn stop_all() {
    #[cfg(unix)]
    for pid in RUNNING.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        if let Ok(pid) = i32::try_from(*pid) {
            kill_process_group(pid);
        }
    }
}

/// Kills the child and every process it started (they share its process group).
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        if let Ok(pid) = i32::try_from(child.id()) {
            kill_process_group(pid);
        }
    }
    let _ = child.kill();
    let _ = child.try_wait();
}

/// Kills process group `pgid` (the child leads it: it was spawned with `process_group(0)`).
#[cfg(unix)]
fn kill_process_group(pgid: i32) {
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::Pid;
    // Gone already (ESRCH) is what we wanted.
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> Ran {
        sh_watching(script, timeout).0
    }

    /// The run, and the tests `run` said had ended, in that order.
    fn sh_watching(script: &str, timeout: Duration) -> (Ran, Vec<String>) {
        let mut ended = Vec::new();
        let spawn = Spawn {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: std::env::temp_dir(),
            env: vec![],
            env_remove: vec![],
            timeout,
        };
        let ran = run(&spawn, &mut |test| ended.push(test.to_owned())).unwrap();
        (ran, ended)
    }

    #[test]
    fn results_are_read_and_a_crash_is_attributed_to_the_running_test() {
        let (ran, ended) = sh_watching(
            r#"echo 'running 2 tests'
               echo 'test a ... ok'
               printf 'test b ... '
               kill -ABRT $$"#,
            Duration::from_secs(20),
        );
        assert_eq!(ran.started, ["a", "b"]);
        assert_eq!(ran.outcomes[0], ("a".into(), Outcome::Passed));
        assert!(
            matches!(&ran.outcomes[1], (n, Outcome::Crashed { status }) if n == "b" && status.contains("SIGABRT")),
            "{ran:?}"
        );
        assert!(!ran.finished && !ran.success);
        assert_eq!(ended, ["a"], "the crashed test never ended");
    }

    #[test]
    fn a_hanging_test_is_killed_with_what_it_started() {
        let start = Instant::now();
        let ran = sh(
            r#"printf 'test hangs ... '
               sleep 30 &
               sleep 30"#,
            Duration::from_millis(500),
        );
        assert!(start.elapsed() < Duration::from_secs(10), "{ran:?}");
        assert_eq!(ran.timed_out, Some(Some("hangs".into())));
        assert_eq!(
            ran.outcomes,
            [("hangs".into(), Outcome::TimedOut { after_secs: 0 })]
        );
    }

    #[test]
    fn a_grandchild_holding_stdout_does_not_hold_the_run() {
        let start = Instant::now();
        let ran = sh("sleep 30 & echo done", Duration::from_secs(20));
        assert!(start.elapsed() < Duration::from_secs(10), "{ran:?}");
        assert!(ran.success);
    }
}
