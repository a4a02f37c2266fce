//! Test isolation for [`dataflow`]: rstest fixtures, drop guards that clean up even after a
//! panic, per-test databases, leak checks and registry snapshots.
//!
//! ```
//! use dataflow::DataFlow;
//! use dataflow_testing::{dataflow_fixture, temp_database, TempDatabase, TestDataFlow};
//! use rstest::rstest;
//! use serde_json::json;
//!
//! #[derive(dataflow::Model)]
//! struct User { id: String, name: String }
//!
//! #[dataflow_fixture]
//! fn users_db(temp_database: TempDatabase) -> DataFlow {
//!     let db = DataFlow::new(temp_database.url()).unwrap();
//!     db.model::<User>().unwrap();
//!     db
//! } // a test that takes `#[from(users_db)]` receives a TestDataFlow
//!
//! #[rstest]
//! fn creates_a_user(#[from(users_db)] db: TestDataFlow) {
//!     let mut wf = db.workflow();
//!     wf.add_node("UserCreateNode", "create", json!({"id": "user-1", "name": "Alice"}));
//!     let (results, _run) = dataflow::blocking::LocalRuntime::new()
//!         .execute(&wf.build().unwrap())
//!         .unwrap();
//!     assert_eq!(results["create"]["id"], "user-1");
//! } // the guard cleans up here, also when the test panicked
//! # fn main() { drop(users_db::default()); }
//! ```
//!
//! # What you get
//!
//! - [`temp_database`] and [`dataflow_db`]: rstest fixtures for a fresh database and a
//!   fresh guarded instance on it.
//! - [`dataflow_fixture`]: turns a function that returns a `DataFlow` into a fixture whose
//!   value is a [`TestDataFlow`] guard.
//! - [`TestDataFlow`]: on drop, even during a panic, removes the instance's nodes, runs the
//!   leak check ([`LeakCheck`]) and removes the database; `DATAFLOW_KEEP_FAILED=1` keeps a
//!   failed test's database and prints where it is.
//! - Backends: SQLite by default; with `DATAFLOW_TEST_POSTGRES_URL` or
//!   `DATAFLOW_TEST_MYSQL_URL` set, each test gets its own database on that server, cloned
//!   from a template built once per schema and dropped afterwards. Databases left by a
//!   killed run are dropped by the next run, and many machines may share one server: names
//!   carry the process's [`run_token`], and a lock named after it on the server tells the
//!   next run's sweep whether the owner lives. A server that cannot be used is an
//!   [`Error::Server`] whose [`ServerProblem`] says why. [`Isolation::Transaction`] runs a
//!   PostgreSQL test inside a transaction that is rolled back instead;
//!   [`Isolation::Reuse`] gives a test a database an earlier test used, reset to the
//!   template's contents (real commits, many connections, at a fraction of a clone's cost).
//! - Leak checks: per guarded test (exact under parallel threads), global
//!   ([`assert_registry_empty`]), and at exit: when this crate is linked into a test binary,
//!   the binary fails if registry entries remain when it exits, listing each with its test
//!   (`DATAFLOW_LEAK_CHECK=off|warn|fail`, default `fail`; [`keep_for_process`] exempts an
//!   instance meant to live for the whole process).
//! - Snapshots: [`registry_snapshot`] and [`assert_registry_snapshot!`] with stable labels
//!   instead of instance ids; [`snapshot_settings`] redacts timestamps and generated ids in
//!   node results. Tests that hold the registry exclusively: [`REGISTRY_SERIAL_KEY`].
//! - Logs: a guard's life is a `test_dataflow` `tracing` span (database prepared, cleanup,
//!   leak check, database removed).
//! - [`trace`]: the registry trace the isolation check reads (crate `dataflow-isolation`,
//!   `cargo isolation-check`): installed at start-up when `DATAFLOW_TRACE_FILE` is set.
//!   [`TestServer`] lists the test server's databases for the same check.
//!
//! # Features
//!
//! `sqlite` (the default) gives temporary SQLite files. `postgres` and `mysql` add
//! per-test databases on the server named by `DATAFLOW_TEST_POSTGRES_URL` /
//! `DATAFLOW_TEST_MYSQL_URL` (and turn on the same feature of `dataflow`). The server code
//! serves both servers, so either feature compiles both server drivers into test builds.
//! Without them, a server variable that is set is [`Error::Server`] with
//! [`ServerProblem::NotEnabled`], naming the feature to enable.
//!
//! # Under nextest
//!
//! `cargo nextest run` runs each test in a process of its own: fixtures, guards and the
//! exit check work the same (the exit check then covers one test per process).

mod database;
mod error;
mod fixtures;
mod guard;
mod leak;
mod owner;
mod rt;
// The server code, or (without `postgres` and `mysql`) a stand-in with the same items.
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod server;
#[cfg(not(any(feature = "postgres", feature = "mysql")))]
#[path = "no_server.rs"]
mod server;
mod setup;
mod snapshot;
mod sqlite_template;
mod test_server;
pub mod trace;

pub use crate::database::{Isolation, TempDatabase, TempDatabaseBuilder};
pub use crate::error::{Error, Result, ServerProblem};
pub use crate::fixtures::{dataflow_db, temp_database};
pub use crate::guard::{GuardOptions, LeakCheck, TestDataFlow};
pub use crate::leak::{assert_registry_empty, keep_for_process, REGISTRY_SERIAL_KEY};
pub use crate::owner::run_token;
pub use crate::server::{drop_unused_templates, MYSQL_ENV, POSTGRES_ENV};
pub use crate::setup::{Async, Blocking, IntoSetup, SetupFn, SetupFuture};
pub use crate::snapshot::{
    registry_snapshot, snapshot_settings, RegistrySnapshot, SnapshotEntry, SnapshotScope,
};
pub use crate::test_server::TestServer;

/// Waits until the server databases of finished tests are dropped. Guards drop them in the
/// background so that a test ends at once; the process waits for them before it exits. Call
/// this to check a server for leftovers from inside the process.
pub fn wait_for_cleanup() {
    rt::wait_for_background();
}

#[doc = include_str!("dataflow_fixture.md")]
pub use dataflow_testing_macros::dataflow_fixture;

/// Support for generated code. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use insta;
    pub use rstest;

    pub use crate::database::in_fixture;
    pub use crate::fixtures::temp_database_with;
    pub use crate::guard::{finish_fixture, IntoFixtureResult};
}
