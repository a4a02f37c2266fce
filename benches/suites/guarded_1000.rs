//! 1,000 guarded tests, each a whole test life with dataflow-testing: the fixture (a
//! temporary SQLite file, an instance, one model), one create, one list, the guard's
//! teardown. Built and timed by `bench-table` against `raw_1000.rs`; `test = false`, so
//! `cargo test --workspace` leaves it alone.

use dataflow::DataFlow;
use dataflow_benches::life::create_and_list;
use dataflow_benches::models::User;
use dataflow_testing::{dataflow_fixture, temp_database, TempDatabase, TestDataFlow};
use rstest::rstest;

#[path = "thousand.rs"]
#[macro_use]
mod thousand;

#[dataflow_fixture]
fn users_db(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    db.model::<User>().unwrap();
    db
}

macro_rules! guarded_test {
    ($name:ident) => {
        #[rstest]
        fn $name(#[from(users_db)] db: TestDataFlow) {
            create_and_list(&db);
        }
    };
}

thousand_tests!(guarded_test);
