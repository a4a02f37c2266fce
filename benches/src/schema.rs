//! Per-test set-up of a 20-model schema on SQLite: a guarded fixture that registers the 20
//! models, and a test that makes sure every table exists (`migrate`), then teardown.
//! Baseline: a raw sqlx test creating the 20 tables itself.
//!
//! The toolkit builds the schema once into a template file and copies it for each test (as
//! it clones a template database on PostgreSQL), so `migrate` finds every table there.

use std::time::Duration;

use dataflow::{Backend, DataFlow};
use dataflow_testing::{dataflow_fixture, TempDatabase, TestDataFlow};

use crate::harness::{timed, Workload};
use crate::life::{sqlite_database, tokio_test};
use crate::models::{twenty_models, twenty_models_ddl};
use crate::raw;

#[dataflow_fixture]
fn schema_db(#[from(sqlite_database)] tmp: TempDatabase) -> DataFlow {
    let db = DataFlow::new(tmp.url()).unwrap();
    for schema in twenty_models() {
        db.register_model(schema.clone()).unwrap();
    }
    db
}

/// One guarded test with the 20-model schema: the fixture, `migrate` (every table exists),
/// teardown.
pub fn guarded_schema_test() {
    let db: TestDataFlow = schema_db::default();
    tokio_test(db.migrate()).expect("migrate");
    drop(db);
}

/// The guarded test with the 20-model schema against raw sqlx creating the 20 tables for
/// each test.
#[derive(Debug)]
pub struct SqliteSchema {
    ddl: Vec<String>,
}

impl SqliteSchema {
    /// The workload.
    pub fn new() -> SqliteSchema {
        SqliteSchema {
            ddl: twenty_models_ddl(Backend::Sqlite),
        }
    }
}

impl Default for SqliteSchema {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for SqliteSchema {
    fn ours(&mut self) -> Duration {
        timed(guarded_schema_test)
    }

    fn baseline(&mut self) -> Duration {
        timed(|| tokio_test(raw::file_schema(&self.ddl)))
    }
}
