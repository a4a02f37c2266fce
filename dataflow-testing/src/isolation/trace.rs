//! The registry trace: what each test registered, resolved and left behind.
//!
//! When `DATAFLOW_TRACE_FILE` is set in a test process, [`install_from_env`] installs a
//! [`RegistryObserver`] on the global registry that appends one JSON line per event to that
//! file:
//!
//! ```text
//! {"event":"registered","name":"WidgetCreateNode","owner":"df_1","thread":"pollutes","pid":7,"registered_by":"pollutes"}
//! {"event":"resolved","name":"WidgetCreateNode","owner":"df_1","thread":"victim","pid":7}
//! {"event":"unregistered","name":"WidgetCreateNode","owner":"df_1","thread":"pollutes","pid":7}
//! {"event":"kept","name":"","owner":"df_2","thread":"shares_a_db","pid":7}
//! ```
//!
//! libtest runs each test on a thread named after the test, so `thread` (and, for a
//! registration, `registered_by`: the thread that created the owning instance) says which
//! test did it. The isolation check reads these files back when each run ends.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use dataflow::{NodeRegistry, Owner, RegistryObserver};
use serde::{Deserialize, Serialize};

/// The variable that names the trace file.
pub const TRACE_FILE_ENV: &str = "DATAFLOW_TRACE_FILE";

/// One line of a trace file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// `registered`, `resolved`, `unregistered` or `kept` (an instance meant to live for the
    /// whole process, see [`record_kept`]).
    pub event: String,
    /// The node type name, without `@df_<n>`; empty for `kept`.
    pub name: String,
    /// The owner: `df_<n>` or `static`.
    pub owner: String,
    /// The thread it happened on: under libtest, the test.
    pub thread: Option<String>,
    /// The process it happened in: a test may start programs that inherit
    /// `DATAFLOW_TRACE_FILE` and write to the same file.
    #[serde(default)]
    pub pid: u32,
    /// For `registered`: the thread that created the owning instance, when the registry
    /// knows it (more exact than `thread` when a test registers from a worker thread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
}

/// Installs the trace observer on [`NodeRegistry::global`] when `DATAFLOW_TRACE_FILE` is set;
/// does nothing otherwise. Safe to call more than once and from a constructor (`#[ctor]`):
/// it only reads one variable, opens one file and installs the observer.
///
/// The toolkit calls it when a test binary starts, so every test binary that links
/// `dataflow-testing` can be traced by `cargo xtask isolation-check`.
pub fn install_from_env() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let Some(path) = std::env::var_os(TRACE_FILE_ENV).filter(|p| !p.is_empty()) else {
            return;
        };
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => {
                let tracer = Arc::new(Tracer {
                    state: Mutex::new(TracerState {
                        file,
                        creators: HashMap::new(),
                        failed: false,
                    }),
                });
                let _ = TRACER.set(Arc::clone(&tracer));
                if !NodeRegistry::global().set_observer(tracer) {
                    eprintln!(
                        "dataflow-testing: {TRACE_FILE_ENV} is set but another registry observer \
                         is installed; registry access is not traced"
                    );
                }
            }
            Err(e) => eprintln!(
                "dataflow-testing: cannot open {TRACE_FILE_ENV}={}: {e}; registry access is \
                 not traced",
                Path::new(&path).display()
            ),
        }
    });
}

/// Records in the trace (when one is being written) that `owner` is meant to live for the
/// whole process, so the isolation check does not report its entries as leaked. Its
/// entries still count as cross-test access when another test resolves them.
pub fn record_kept(owner: Owner) {
    if let Some(tracer) = TRACER.get() {
        tracer.write("kept", "", owner, None);
    }
}

static TRACER: OnceLock<Arc<Tracer>> = OnceLock::new();

struct Tracer {
    state: Mutex<TracerState>,
}

struct TracerState {
    file: File,
    /// `registered_by` per instance, looked up once per instance.
    creators: HashMap<Owner, Option<String>>,
    /// A write failed: say so once, then stay quiet.
    failed: bool,
}

impl Tracer {
    fn write(&self, event: &str, name: &str, owner: Owner, registered_by: Option<String>) {
        let line = TraceEvent {
            event: event.to_owned(),
            name: name.to_owned(),
            owner: owner.to_string(),
            thread: std::thread::current().name().map(str::to_owned),
            pid: std::process::id(),
            registered_by,
        };
        let Ok(mut line) = serde_json::to_string(&line) else {
            return;
        };
        line.push('\n');
        // Tests run on parallel threads: one lock, one write of a whole line, one flush.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let written = state
            .file
            .write_all(line.as_bytes())
            .and_then(|()| state.file.flush());
        if let Err(e) = written {
            if !state.failed {
                state.failed = true;
                eprintln!("dataflow-testing: cannot write the registry trace: {e}");
            }
        }
    }

    fn creator_of(&self, name: &str, owner: Owner) -> Option<String> {
        if owner == Owner::Static {
            return None;
        }
        if let Some(known) = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .creators
            .get(&owner)
        {
            return known.clone();
        }
        // Outside the lock: reading the registry never calls back into the observer's
        // writing path, but keep the lock short anyway.
        let creator = NodeRegistry::global()
            .entries()
            .into_iter()
            .find(|e| e.owner == owner && e.name == name)
            .and_then(|e| e.registered_by);
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .creators
            .insert(owner, creator.clone());
        creator
    }
}

impl RegistryObserver for Tracer {
    fn registered(&self, name: &str, owner: Owner) {
        let creator = self.creator_of(name, owner);
        self.write("registered", name, owner, creator);
    }

    fn resolved(&self, name: &str, owner: Owner) {
        self.write("resolved", name, owner, None);
    }

    fn unregistered(&self, name: &str, owner: Owner) {
        self.write("unregistered", name, owner, None);
    }
}

/// Reads a trace file. A missing file is an empty trace (the binary does not link the
/// toolkit, or registered nothing); a torn last line (a killed process) is skipped.
pub(crate) fn read(path: &Path) -> io::Result<Vec<TraceEvent>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut events = Vec::new();
    for line in BufReader::new(file).lines() {
        if let Ok(event) = serde_json::from_str::<TraceEvent>(&line?) {
            events.push(event);
        }
    }
    Ok(events)
}

/// One test resolving an entry another test registered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Access {
    /// The test that resolved the entry.
    pub reader: String,
    /// The test that registered it.
    pub writer: String,
    /// The entry, qualified: `WidgetCreateNode@df_1`.
    pub entry: String,
}

/// What one process's trace says.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// Entries registered during the run and still there at its end (qualified names),
    /// except those of instances recorded as kept for the whole process.
    pub left: BTreeSet<String>,
    /// Cross-test access, in the order first seen. An instance kept for the whole process
    /// is shared on purpose (an rstest `#[once]` fixture, a static): reading its entries is
    /// not an access.
    pub accesses: Vec<Access>,
    /// Whether the process wrote any event.
    pub traced: bool,
}

impl Summary {
    /// Summarises the events of process `pid` (all of them if `None`); `is_test` tells
    /// test names from other thread names.
    pub(crate) fn of(
        events: &[TraceEvent],
        pid: Option<u32>,
        is_test: impl Fn(&str) -> bool,
    ) -> Summary {
        let mut writer_of: HashMap<&str, &str> = HashMap::new();
        let mut live: BTreeSet<(String, &str)> = BTreeSet::new();
        let events = || events.iter().filter(|e| pid.is_none_or(|pid| e.pid == pid));
        // Kept wherever it is recorded: the instance may be read before it is marked.
        let kept: HashSet<&str> = events()
            .filter(|e| e.event == "kept")
            .map(|e| e.owner.as_str())
            .collect();
        let mut accesses = Vec::new();
        let mut seen = HashSet::new();
        let mut traced = false;
        for e in events() {
            traced = true;
            match e.event.as_str() {
                "registered" => {
                    if let Some(test) = e.registered_by.as_deref().or(e.thread.as_deref()) {
                        writer_of.entry(&e.owner).or_insert(test);
                    }
                    live.insert((e.name.clone(), &e.owner));
                }
                "unregistered" => {
                    live.remove(&(e.name.clone(), e.owner.as_str()));
                }
                "resolved" if kept.contains(e.owner.as_str()) => {}
                "resolved" => {
                    let (Some(reader), Some(writer)) =
                        (e.thread.as_deref(), writer_of.get(e.owner.as_str()))
                    else {
                        continue;
                    };
                    if reader != *writer && is_test(reader) && is_test(writer) {
                        let access = Access {
                            reader: reader.to_owned(),
                            writer: (*writer).to_owned(),
                            entry: qualified(&e.name, &e.owner),
                        };
                        if seen.insert(access.clone()) {
                            accesses.push(access);
                        }
                    }
                }
                _ => {}
            }
        }
        let left = live
            .into_iter()
            .filter(|(_, owner)| !kept.contains(owner))
            .map(|(name, owner)| qualified(&name, owner))
            .collect();
        Summary {
            left,
            accesses,
            traced,
        }
    }
}

fn qualified(name: &str, owner: &str) -> String {
    if owner == "static" {
        name.to_owned()
    } else {
        format!("{name}@{owner}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, name: &str, owner: &str, thread: &str) -> TraceEvent {
        TraceEvent {
            event: event.into(),
            name: name.into(),
            owner: owner.into(),
            thread: Some(thread.into()),
            pid: 1,
            registered_by: None,
        }
    }

    #[test]
    fn a_summary_finds_what_was_left_and_who_read_whose_entries() {
        let mut reg = ev("registered", "WCreate", "df_1", "tokio-runtime-worker");
        reg.registered_by = Some("polluter".into());
        let events = vec![
            reg,
            ev("registered", "Own", "df_2", "victim"),
            ev("resolved", "WCreate", "df_1", "victim"),
            ev("resolved", "WCreate", "df_1", "victim"),
            ev("resolved", "Own", "df_2", "victim"),
            ev("resolved", "Builtin", "static", "victim"),
            ev("resolved", "WCreate", "df_1", "main"),
            ev("unregistered", "Own", "df_2", "victim"),
            ev("registered", "Kept", "df_3", "sharer"),
            ev("resolved", "Kept", "df_3", "victim"),
            ev("kept", "", "df_3", "sharer"),
            ev("resolved", "Kept", "df_3", "victim"),
            TraceEvent {
                pid: 2,
                ..ev("registered", "Child", "df_1", "main")
            },
        ];
        let summary = Summary::of(&events, Some(1), |t| t != "main");
        assert_eq!(
            summary.left.iter().collect::<Vec<_>>(),
            ["WCreate@df_1"],
            "kept instances are not leaks"
        );
        assert_eq!(
            summary.accesses,
            [Access {
                reader: "victim".into(),
                writer: "polluter".into(),
                entry: "WCreate@df_1".into(),
            }],
            "reading a kept instance's entries is sharing by design"
        );
    }

    #[test]
    fn a_missing_trace_is_empty_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("none.jsonl")).unwrap().is_empty());
        let path = dir.path().join("t.jsonl");
        std::fs::write(
            &path,
            "{\"event\":\"resolved\",\"name\":\"A\",\"owner\":\"df_1\",\"thread\":\"t\"}\n{\"event\":\"reg",
        )
        .unwrap();
        assert_eq!(read(&path).unwrap().len(), 1);
    }
}
