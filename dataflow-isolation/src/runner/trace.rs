//! What a run's registry trace says: what each test left registered at the end, and which
//! test resolved an entry another test registered. The events are
//! `dataflow_testing::trace`'s, read back with the types that wrote them.

use std::collections::{BTreeSet, HashMap, HashSet};

use dataflow_testing::trace::{Event, TraceEvent};
use serde::{Deserialize, Serialize};

/// One test resolving an entry another test registered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Access {
    /// The test that resolved the entry.
    pub reader: String,
    /// The test that registered it.
    pub writer: String,
    /// The entry, qualified: `WidgetCreateNode@df_1`.
    pub entry: String,
}

/// What one process's trace says.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
            .filter(|e| e.event == Event::Kept)
            .map(|e| e.owner.as_str())
            .collect();
        let mut accesses = Vec::new();
        let mut seen = HashSet::new();
        let mut traced = false;
        for e in events() {
            traced = true;
            match &e.event {
                Event::Registered { registered_by } => {
                    if let Some(test) = registered_by.as_deref().or(e.thread.as_deref()) {
                        writer_of.entry(&e.owner).or_insert(test);
                    }
                    live.insert((e.name.clone(), &e.owner));
                }
                Event::Unregistered => {
                    live.remove(&(e.name.clone(), e.owner.as_str()));
                }
                Event::Resolved if kept.contains(e.owner.as_str()) => {}
                Event::Resolved => {
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
        let event = match event {
            "registered" => Event::Registered {
                registered_by: None,
            },
            "resolved" => Event::Resolved,
            "unregistered" => Event::Unregistered,
            _ => Event::Kept,
        };
        TraceEvent {
            event,
            name: name.into(),
            owner: owner.into(),
            thread: Some(thread.into()),
            pid: 1,
        }
    }

    #[test]
    fn a_summary_finds_what_was_left_and_who_read_whose_entries() {
        let mut reg = ev("registered", "WCreate", "df_1", "tokio-runtime-worker");
        reg.event = Event::Registered {
            registered_by: Some("polluter".into()),
        };
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
}
