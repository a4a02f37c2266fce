//! The registry trace: what each test registered, resolved and left behind.
//!
//! When `DATAFLOW_TRACE_FILE` is set in a test process, [`install_from_env`] installs a
//! [`RegistryObserver`] on the global registry that appends one JSON line per event to that
//! file:
//!
//! ```text
//! {"event":"registered","registered_by":"pollutes","name":"WidgetCreateNode","owner":"df_1","thread":"pollutes","pid":7}
//! {"event":"resolved","name":"WidgetCreateNode","owner":"df_1","thread":"victim","pid":7}
//! {"event":"unregistered","name":"WidgetCreateNode","owner":"df_1","thread":"pollutes","pid":7}
//! {"event":"kept","name":"","owner":"df_2","thread":"shares_a_db","pid":7}
//! ```
//!
//! libtest runs each test on a thread named after the test, so `thread` (and, for a
//! registration, `registered_by`: the thread that created the owning instance) says which
//! test did it. The isolation check (crate `dataflow-isolation`) reads these files back
//! with [`read`], into the same [`TraceEvent`] type this module writes.
//!
//! ```
//! use dataflow_testing::trace::{self, Event, TraceEvent};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("trace.jsonl");
//! std::fs::write(
//!     &path,
//!     r#"{"event":"registered","name":"WidgetCreateNode","owner":"df_1","thread":"a","pid":7,"registered_by":"a"}
//! {"event":"resolved","name":"WidgetCreateNode","owner":"df_1","thread":"b","pid":7}
//! "#,
//! )?;
//! let events: Vec<TraceEvent> = trace::read(&path)?;
//! assert_eq!(events[0].event, Event::Registered { registered_by: Some("a".into()) });
//! assert_eq!(events[1].event, Event::Resolved);
//! assert_eq!(events[1].thread.as_deref(), Some("b"));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use dataflow::{NodeRegistry, Owner, RegistryObserver};
use serde::{Deserialize, Serialize};

/// The variable that names the trace file.
pub const TRACE_FILE_ENV: &str = "DATAFLOW_TRACE_FILE";

/// What happened to a registry entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Event {
    /// The entry was registered.
    Registered {
        /// The thread that created the owning instance, when the registry knows it (more
        /// exact than the event's `thread` when a test registers from a worker thread).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        registered_by: Option<String>,
    },
    /// A workflow resolved the entry by name.
    Resolved,
    /// The entry was removed.
    Unregistered,
    /// The owner is meant to live for the whole process (see [`record_kept`]); the event's
    /// `name` is empty.
    Kept,
}

/// One line of a trace file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
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
}

/// Installs the trace observer on [`NodeRegistry::global`] when `DATAFLOW_TRACE_FILE` is set;
/// does nothing otherwise. Safe to call more than once and from a constructor (`#[ctor]`):
/// it only reads one variable, opens one file and installs the observer.
///
/// The toolkit calls it when a test binary starts, so every test binary that links
/// `dataflow-testing` can be traced by the isolation check (`cargo isolation-check`).
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
        tracer.write(Event::Kept, "", owner);
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
    fn write(&self, event: Event, name: &str, owner: Owner) {
        let line = TraceEvent {
            event,
            name: name.to_owned(),
            owner: owner.to_string(),
            thread: std::thread::current().name().map(str::to_owned),
            pid: std::process::id(),
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
        let registered_by = self.creator_of(name, owner);
        self.write(Event::Registered { registered_by }, name, owner);
    }

    fn resolved(&self, name: &str, owner: Owner) {
        self.write(Event::Resolved, name, owner);
    }

    fn unregistered(&self, name: &str, owner: Owner) {
        self.write(Event::Unregistered, name, owner);
    }
}

/// Reads a trace file. A missing file is an empty trace (the binary does not link the
/// toolkit, or registered nothing); a torn last line (a killed process) is skipped.
pub fn read(path: &Path) -> io::Result<Vec<TraceEvent>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_keep_the_line_format_of_the_trace() {
        let event = TraceEvent {
            event: Event::Registered {
                registered_by: Some("setter".into()),
            },
            name: "WidgetCreateNode".into(),
            owner: "df_1".into(),
            thread: Some("tokio-runtime-worker".into()),
            pid: 7,
        };
        let line = serde_json::to_string(&event).unwrap();
        assert_eq!(
            line,
            r#"{"event":"registered","registered_by":"setter","name":"WidgetCreateNode","owner":"df_1","thread":"tokio-runtime-worker","pid":7}"#
        );
        assert_eq!(serde_json::from_str::<TraceEvent>(&line).unwrap(), event);
        let kept: TraceEvent =
            serde_json::from_str(r#"{"event":"kept","name":"","owner":"df_2","thread":null}"#)
                .unwrap();
        assert_eq!((kept.event, kept.pid), (Event::Kept, 0));
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
