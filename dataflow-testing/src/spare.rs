//! Clones made ahead of time (PostgreSQL).
//!
//! `CREATE DATABASE ... TEMPLATE` is most of what a cloned-database test costs, and it
//! costs as much for a template with twenty tables as for an empty one. Once a process has
//! asked for a second clone of one template (a suite, not a lone test under nextest), the
//! toolkit keeps one more clone of it in the making, in the background while the test
//! runs, and the next test that asks gets it under its own name (`ALTER DATABASE ...
//! RENAME`, a catalog update). A spare is named like any test database of the process
//! (`dftest_<pid>_<n>_spare`): one left at exit is dropped then, and a killed run's spare
//! is swept by the next run.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use tokio::task::JoinHandle;

use crate::error::Result;
use crate::server::{self, Server};

/// What this process has asked of one template.
#[derive(Default)]
struct Template {
    /// How many clones were asked for.
    asked: u64,
    /// The clone in the making (or made): its name and the task making it.
    spare: Option<Spare>,
}

struct Spare {
    server: Server,
    name: String,
    making: JoinHandle<std::result::Result<(), sqlx::Error>>,
}

fn templates() -> &'static Mutex<HashMap<String, Template>> {
    static TEMPLATES: OnceLock<Mutex<HashMap<String, Template>>> = OnceLock::new();
    TEMPLATES.get_or_init(Default::default)
}

/// Makes database `name` a clone of `template`: the spare if there is one, a new clone
/// otherwise; then, from the second clone on, starts the next spare (after this clone, so
/// that two clones of one template do not compete).
pub(crate) fn clone_into(server: &Server, template: &str, name: &str) -> Result<()> {
    let (spare, ahead) = {
        let mut templates = templates().lock().unwrap_or_else(|e| e.into_inner());
        let entry = templates.entry(template.to_owned()).or_default();
        entry.asked += 1;
        (entry.spare.take(), entry.asked >= 2)
    };
    let cloned = if spare.is_some_and(|spare| take(server, spare, name)) {
        Ok(())
    } else {
        // No spare, or it failed: clone now (which says what is wrong if it fails too).
        server.wait(server.clone_postgres(template, name))
    };
    if ahead && cloned.is_ok() {
        let mut templates = templates().lock().unwrap_or_else(|e| e.into_inner());
        let entry = templates.entry(template.to_owned()).or_default();
        if entry.spare.is_none() {
            entry.spare = Some(start(server, template));
        }
    }
    cloned
}

/// Starts making a spare clone of `template`.
fn start(server: &Server, template: &str) -> Spare {
    let name = server::database_name("spare");
    let making = crate::rt::spawn(server.clone_postgres(template, &name));
    Spare {
        server: server.clone(),
        name,
        making,
    }
}

/// Waits for `spare` and renames it to `name`; whether that worked. A spare that did not
/// work out is dropped.
fn take(server: &Server, spare: Spare, name: &str) -> bool {
    let Spare {
        name: spare_name,
        making,
        ..
    } = spare;
    let made = crate::rt::block_on(making);
    let renamed = matches!(made, Ok(Ok(())))
        && server
            .execute(vec![format!(
                "ALTER DATABASE {spare_name} RENAME TO {name}"
            )])
            .is_ok();
    if !renamed {
        server.drop_database_later(&spare_name);
    }
    renamed
}

/// Drops the spares this process made and did not use (at exit).
pub(crate) fn drop_spares() {
    let spares: Vec<Spare> = templates()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values_mut()
        .filter_map(|t| t.spare.take())
        .collect();
    for Spare {
        server,
        name,
        making,
    } in spares
    {
        let _ = crate::rt::block_on(making);
        if let Err(e) = server.drop_database(&name) {
            eprintln!("dataflow-testing: could not drop {name}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use dataflow::{Backend, FieldType, ModelSchema};

    use super::*;

    fn probe_schema() -> Vec<ModelSchema> {
        // A model no other test uses: its template, and so its spare, are this test's own.
        vec![
            ModelSchema::new(format!("SpareProbe{}", std::process::id()))
                .field("id", FieldType::String)
                .field("label", FieldType::String),
        ]
    }

    #[test]
    fn from_the_second_clone_on_the_next_one_is_made_ahead_and_renamed_for_the_next_test() {
        let Some(Ok(server)) = Server::from_env().filter(|s| {
            s.as_ref()
                .is_ok_and(|server| server.backend == Backend::Postgres)
        }) else {
            eprintln!(
                "skipped: set {} to a PostgreSQL server",
                server::POSTGRES_ENV
            );
            return;
        };
        let schemas = probe_schema();
        let names: Vec<String> = (0..3)
            .map(|_| server::database_name("spare_probe"))
            .collect();
        let template = format!(
            "{}{:016x}",
            server::TEMPLATE_PREFIX,
            server::fingerprint(Backend::Postgres, &schemas)
        );
        let spare_of = || {
            let templates = templates().lock().unwrap_or_else(|e| e.into_inner());
            let spare = templates.get(&template).and_then(|t| t.spare.as_ref());
            spare.map(|s| s.name.clone())
        };

        server.create_from_template(&names[0], &schemas).unwrap();
        assert_eq!(spare_of(), None, "no spare for a process's first clone");
        server.create_from_template(&names[1], &schemas).unwrap();
        let spare = spare_of().expect("a spare after the second clone");
        server.create_from_template(&names[2], &schemas).unwrap();

        let existing = server.databases(server::TEST_PREFIX).unwrap();
        assert!(
            !existing.contains(&spare),
            "the spare {spare} became {}",
            names[2]
        );
        for name in &names {
            assert!(existing.contains(name), "{name} exists");
        }
        let next = spare_of().expect("the next spare is in the making");
        drop_spares();
        assert!(!server
            .databases(server::TEST_PREFIX)
            .unwrap()
            .contains(&next));
        for name in &names {
            server.drop_database(name).unwrap();
        }
    }
}
