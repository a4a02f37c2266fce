//! The rstest fixtures: [`temp_database`] and [`dataflow_db`].

use rstest::fixture;

use crate::database::{Isolation, TempDatabase, TempDatabaseBuilder};
use crate::guard::TestDataFlow;

/// A fresh temporary database: a tempfile-backed SQLite file by default, a fresh database on
/// the server named by `DATAFLOW_TEST_POSTGRES_URL` / `DATAFLOW_TEST_MYSQL_URL` otherwise.
/// Removed on drop.
///
/// Take `#[with(Isolation::Transaction)]` for transaction isolation on PostgreSQL.
///
/// # Panics
///
/// When the test server cannot be reached, with a message that names the variable.
#[fixture]
pub fn temp_database(#[default(Isolation::Database)] isolation: Isolation) -> TempDatabase {
    TempDatabase::with_isolation(isolation).unwrap_or_else(|e| panic!("temp_database: {e}"))
}

/// A fresh [`DataFlow`](dataflow::DataFlow) on a fresh temporary database, guarded: cleaned
/// up when the test ends, also when it panics. Works in `#[rstest] fn` and in
/// `#[rstest] #[tokio::test] async fn` tests.
///
/// Take `#[with(Isolation::Transaction)]` for transaction isolation on PostgreSQL.
///
/// # Panics
///
/// When the test server cannot be reached, with a message that names the variable.
#[fixture]
pub fn dataflow_db(#[default(Isolation::Database)] isolation: Isolation) -> TestDataFlow {
    let database = temp_database(isolation);
    let db = database
        .dataflow()
        .unwrap_or_else(|e| panic!("dataflow_db: {e}"));
    TestDataFlow::new(db).with_database(database)
}

/// The temporary database of a `#[dataflow_fixture]` with database options (migrations,
/// fixtures, setup, isolation): what `temp_database` is, made with `options`.
///
/// # Panics
///
/// When the database cannot be made: a missing file, a failing migration or fixture
/// statement (named by file and line), an unreachable server.
#[fixture]
pub fn temp_database_with(
    #[default(TempDatabase::options())] options: TempDatabaseBuilder,
) -> TempDatabase {
    options
        .build()
        .unwrap_or_else(|e| panic!("temp_database: {e}"))
}
