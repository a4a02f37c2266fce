//! Leak detection: per guarded test, for the whole registry, and at process exit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, OnceLock};

use dataflow::{DataFlow, InstanceId, NodeRegistry, Owner, RegistryEntry};

use crate::error::Error;

/// Instances marked as living for the whole process; never leaks.
fn process_wide() -> &'static Mutex<BTreeSet<InstanceId>> {
    static SET: OnceLock<Mutex<BTreeSet<InstanceId>>> = OnceLock::new();
    SET.get_or_init(Default::default)
}

/// Instances whose guard is alive: a guard's check does not count another live guard's
/// instance (a test with two guarded databases).
fn guarded() -> &'static Mutex<BTreeSet<InstanceId>> {
    static SET: OnceLock<Mutex<BTreeSet<InstanceId>>> = OnceLock::new();
    SET.get_or_init(Default::default)
}

pub(crate) fn guard_started(id: InstanceId) {
    guarded()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id);
}

pub(crate) fn guard_ended(id: InstanceId) {
    guarded()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
}

/// Marks `db` as meant to live for the whole process (an rstest `#[once]` fixture, a
/// `static`): its entries are never reported as leaks, and `cargo xtask isolation-check`
/// does not report tests that use them as depending on the test that made it (sharing it is
/// the point).
///
/// ```
/// use dataflow::DataFlow;
/// let shared = DataFlow::new("sqlite::memory:")?;
/// dataflow_testing::keep_for_process(&shared);
/// std::mem::forget(shared); // lives until exit, without failing the exit check
/// # Ok::<(), dataflow::Error>(())
/// ```
pub fn keep_for_process(db: &DataFlow) {
    crate::trace::record_kept(Owner::Instance(db.instance_id()));
    process_wide()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(db.instance_id());
}

fn instance_of(entry: &RegistryEntry) -> Option<InstanceId> {
    match entry.owner {
        Owner::Instance(id) => Some(id),
        Owner::Static => None,
    }
}

/// Instance-owned entries that are neither process-wide nor kept by `except`.
fn leaked_entries(mut keep: impl FnMut(InstanceId, &RegistryEntry) -> bool) -> Vec<RegistryEntry> {
    let exempt = process_wide()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    NodeRegistry::global()
        .entries()
        .into_iter()
        .filter(|e| instance_of(e).is_some_and(|id| !exempt.contains(&id) && !keep(id, e)))
        .collect()
}

/// The entries a guard's own test leaked: instances created on its thread from its own
/// instance on (ids only grow), still registered, and not guarded by another live guard.
pub(crate) fn scoped_report(own: InstanceId, thread: Option<&str>) -> Option<Error> {
    let live_guards = guarded().lock().unwrap_or_else(|e| e.into_inner()).clone();
    let leaked = leaked_entries(|id, entry| {
        let ours =
            id == own || (id > own && thread.is_some() && entry.registered_by.as_deref() == thread);
        !ours || live_guards.contains(&id)
    });
    report("scoped leak check", &leaked)
}

pub(crate) fn global_report() -> Option<Error> {
    report("global leak check", &leaked_entries(|_, _| false))
}

/// A report of leaked entries by instance: id, test, nodes.
fn report(check: &str, leaked: &[RegistryEntry]) -> Option<Error> {
    if leaked.is_empty() {
        return None;
    }
    let mut by_instance: BTreeMap<InstanceId, (Option<&str>, Vec<&str>)> = BTreeMap::new();
    for entry in leaked {
        let id = instance_of(entry).expect("only instance entries leak");
        let slot = by_instance
            .entry(id)
            .or_insert((entry.registered_by.as_deref(), Vec::new()));
        slot.1.push(&entry.name);
    }
    let mut text = format!(
        "{check} failed: {} registry entr{} of {} instance(s) remain",
        leaked.len(),
        if leaked.len() == 1 { "y" } else { "ies" },
        by_instance.len()
    );
    for (id, (test, nodes)) in &by_instance {
        text.push_str(&format!(
            "\n  {id} (test `{}`): {} node(s): {}",
            test.unwrap_or("<unnamed thread>"),
            nodes.len(),
            nodes.join(", ")
        ));
    }
    text.push_str(
        "\n  Drop every DataFlow the test made (or call cleanup_nodes()), or mark one that \
         must outlive the test with dataflow_testing::keep_for_process(&db).",
    );
    Some(Error::Leak {
        entries: leaked.to_vec(),
        report: text,
    })
}

/// The serial_test key of the tests that hold the registry exclusively:
/// `#[serial(dataflow_registry)]`. serial_test takes the key as a bare word, so write it out;
/// this constant is the one place it is named (and what `serial_test::is_locked_serially`
/// takes).
///
/// A global check ([`assert_registry_empty`], [`LeakCheck::Global`](crate::LeakCheck)) is
/// exact only when no other test registers at the same time: mark with this key every test
/// of the binary that registers models, or run the suite under `cargo nextest run` (a
/// process per test).
///
/// ```
/// use dataflow_testing::{assert_registry_empty, REGISTRY_SERIAL_KEY};
/// use serial_test::serial;
///
/// #[serial(dataflow_registry)] // on a #[test] in a real suite
/// fn registers_alone() {
///     assert!(serial_test::is_locked_serially(Some(REGISTRY_SERIAL_KEY)));
///     let db = dataflow::DataFlow::new("sqlite::memory:").unwrap();
///     drop(db);
///     assert_registry_empty();
/// }
/// registers_alone();
/// ```
pub const REGISTRY_SERIAL_KEY: &str = "dataflow_registry";

/// Asserts that no instance-owned entry remains in the global registry, whoever made it
/// (process-wide instances excepted).
///
/// Other tests running at the same time register entries too: use it in tests that hold
/// the registry exclusively, `#[serial(dataflow_registry)]` ([`REGISTRY_SERIAL_KEY`]) with
/// serial_test on every test of the binary that registers models, or under nextest.
///
/// # Panics
///
/// Listing every leaked entry with its instance and test.
pub fn assert_registry_empty() {
    if let Some(report) = global_report() {
        panic!("{report}");
    }
}

/// What the exit check does, from `DATAFLOW_LEAK_CHECK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitCheck {
    Off,
    Warn,
    Fail,
}

/// `DATAFLOW_LEAK_CHECK`: `off`, `warn`, or `fail` (the default).
pub(crate) fn exit_check_from_env() -> Result<ExitCheck, Error> {
    match std::env::var("DATAFLOW_LEAK_CHECK") {
        Err(_) => Ok(ExitCheck::Fail),
        Ok(value) => match value.trim().to_ascii_lowercase().as_str() {
            "" | "fail" => Ok(ExitCheck::Fail),
            "warn" => Ok(ExitCheck::Warn),
            "off" => Ok(ExitCheck::Off),
            _ => Err(Error::InvalidEnv {
                var: "DATAFLOW_LEAK_CHECK",
                value,
                expected: vec!["off", "warn", "fail"],
            }),
        },
    }
}

static EXIT_CHECK: OnceLock<ExitCheck> = OnceLock::new();

/// Start-up, when the crate is linked into a test binary: reads `DATAFLOW_LEAK_CHECK`,
/// installs the isolation-check trace if asked for.
#[allow(unsafe_code)] // the constructor lives in a linker section
#[ctor::ctor]
fn at_start() {
    crate::trace::install_from_env();
    match exit_check_from_env() {
        Ok(check) => {
            let _ = EXIT_CHECK.set(check);
        }
        Err(e) => {
            eprintln!("dataflow-testing: {e}");
            std::process::exit(2);
        }
    }
}

/// Exit: lists every leaked registry entry with the test that registered it, and makes the
/// run fail (exit code 1) unless `DATAFLOW_LEAK_CHECK` says otherwise.
#[allow(unsafe_code)] // the destructor lives in a linker section
#[ctor::dtor]
fn at_exit() {
    crate::rt::wait_for_background();
    crate::server::drop_process_databases();
    crate::sqlite_template::remove_templates();
    crate::owner::release_local_leases();
    let check = EXIT_CHECK.get().copied().unwrap_or(ExitCheck::Fail);
    if check == ExitCheck::Off {
        return;
    }
    if let Some(report) = report(
        "exit leak check (DATAFLOW_LEAK_CHECK)",
        &leaked_entries(|_, _| false),
    ) {
        eprintln!("\ndataflow-testing: {report}");
        if check == ExitCheck::Fail {
            // Inside an exit handler: leave at once with a failing status.
            #[allow(unsafe_code)]
            // SAFETY: _exit only ends the process; it touches no Rust state.
            unsafe {
                libc::_exit(1)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_group_entries_by_instance_and_name_the_test() {
        let db = DataFlow::new("sqlite::memory:").unwrap();
        db.register_model(
            dataflow::ModelSchema::new("LeakProbe").field("id", dataflow::FieldType::String),
        )
        .unwrap();
        let entries: Vec<RegistryEntry> = NodeRegistry::global()
            .entries()
            .into_iter()
            .filter(|e| e.owner == Owner::Instance(db.instance_id()))
            .collect();
        let text = report("check", &entries).unwrap().to_string();
        assert!(
            text.contains(&format!("{} (test `leak::tests::", db.instance_id())),
            "{text}"
        );
        assert!(
            text.contains("10 node(s): LeakProbeBulkCreateNode"),
            "{text}"
        );
        assert!(report("check", &[]).is_none());
    }
}
