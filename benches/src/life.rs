//! A guarded test's whole life, as a user's test has it: the fixture (a temporary
//! database, an instance, one model), one create, one list, and the guard's teardown.
//! Baseline: the same test written with raw sqlx, as `#[tokio::test]` runs it.

use std::time::Duration;

use dataflow::DataFlow;
use dataflow_testing::{dataflow_fixture, TempDatabase, TestDataFlow};
use rstest::fixture;
use serde_json::json;

use crate::harness::{timed, Workload};
use crate::models::User;
use crate::raw;

/// A temporary SQLite file whatever server the environment names: the SQLite rows measure
/// SQLite even when `DATAFLOW_TEST_POSTGRES_URL` is set for the PostgreSQL rows.
#[fixture]
pub(crate) fn sqlite_database() -> TempDatabase {
    TempDatabase::sqlite().expect("a temporary SQLite database")
}

#[dataflow_fixture]
fn users_file_db(#[from(sqlite_database)] tmp: TempDatabase) -> DataFlow {
    let db = DataFlow::new(tmp.url()).unwrap();
    db.model::<User>().unwrap();
    db
}

#[dataflow_fixture]
fn users_memory_db() -> DataFlow {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<User>().unwrap();
    db
}

/// The body of the guarded test: one create and one list (filtered on the created id), in
/// one workflow bound to the instance.
pub fn create_and_list(db: &DataFlow) {
    let mut wf = db.workflow();
    wf.add_node(
        "UserCreateNode",
        "create",
        json!({"id": "user-1", "name": "Alice"}),
    )
    .add_node("UserListNode", "list", json!({}))
    .add_connection("create", "id", "list", "filter.id");
    let (results, _run) = dataflow::blocking::LocalRuntime::new()
        .execute(&wf.build().expect("the workflow builds"))
        .expect("the workflow runs");
    assert_eq!(results["list"]["count"], 1);
}

/// One guarded test on a temporary SQLite file, as rstest runs
/// `#[rstest] fn t(#[from(users_file_db)] db: TestDataFlow)`.
pub fn guarded_file_test() {
    let db: TestDataFlow = users_file_db::default();
    create_and_list(&db);
    drop(db);
}

/// One guarded test on `sqlite::memory:`.
pub fn guarded_memory_test() {
    let db: TestDataFlow = users_memory_db::default();
    create_and_list(&db);
    drop(db);
}

/// Runs `test` the way `#[tokio::test]` does: on a current-thread runtime of its own.
pub fn tokio_test<F: std::future::Future>(test: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(test)
}

/// Which database the test life runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// A temporary SQLite file.
    File,
    /// `sqlite::memory:`.
    Memory,
}

/// The guarded test life against the raw sqlx test, on `storage`.
#[derive(Debug)]
pub struct TestLife {
    storage: Storage,
}

impl TestLife {
    /// The workload on `storage`.
    pub fn new(storage: Storage) -> TestLife {
        TestLife { storage }
    }
}

impl Workload for TestLife {
    fn ours(&mut self) -> Duration {
        match self.storage {
            Storage::File => timed(guarded_file_test),
            Storage::Memory => timed(guarded_memory_test),
        }
    }

    fn baseline(&mut self) -> Duration {
        match self.storage {
            Storage::File => timed(|| tokio_test(raw::file_life())),
            Storage::Memory => timed(|| tokio_test(raw::memory_life())),
        }
    }
}
