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

/// The floor of any per-test set-up that gives each test a real SQLite file made from a
/// template: a temporary directory, the template's bytes written into `test.db` with one
/// `write`, and the directory removed; nothing else (no instance, no registry, no guard).
/// Against the same baseline as [`SqliteSchema`], measured alongside it.
#[derive(Debug)]
pub struct SchemaFloor {
    ddl: Vec<String>,
    image: Vec<u8>,
}

impl SchemaFloor {
    /// The workload; builds the 20-table template image (WAL mode, as the toolkit's).
    pub fn new() -> SchemaFloor {
        let ddl = twenty_models_ddl(Backend::Sqlite);
        let dir = raw::temp_dir();
        let path = dir.path().join("template.db");
        tokio_test(async {
            use sqlx::{ConnectOptions, Connection, Executor};
            let mut conn = raw::sqlite_file_options(&path)
                .connect()
                .await
                .expect("a template");
            for sql in &ddl {
                conn.execute(sql.as_str()).await.expect("create table");
            }
            conn.close().await.expect("close");
        });
        let image = std::fs::read(&path).expect("the template's bytes");
        SchemaFloor { ddl, image }
    }

    /// The size of the template, in bytes.
    pub fn image_len(&self) -> usize {
        self.image.len()
    }
}

impl Default for SchemaFloor {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for SchemaFloor {
    fn ours(&mut self) -> Duration {
        timed(|| {
            let dir = raw::temp_dir();
            std::fs::write(dir.path().join("test.db"), &self.image).expect("write");
            drop(dir);
        })
    }

    fn baseline(&mut self) -> Duration {
        timed(|| tokio_test(raw::file_schema(&self.ddl)))
    }
}
