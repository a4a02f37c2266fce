//! Every form `#[dataflow_fixture]` accepts, used the way rstest uses a fixture: trybuild
//! runs `main`, which resolves each fixture with the `default()`/`get(..)` functions rstest
//! generates (the `#[rstest]` test below is compiled only under `cargo test`).

use dataflow::{DataFlow, Model, NodeRegistry};
use dataflow_testing::{dataflow_fixture, temp_database, TempDatabase, TestDataFlow};
use rstest::rstest;

#[derive(Model)]
#[allow(dead_code)] // only its schema is used
struct User {
    id: String,
    name: String,
}

/// A database with the `User` model.
#[dataflow_fixture]
fn users_db(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    db.model::<User>().unwrap();
    db
}

#[dataflow_fixture(leak_check = "global", keep_on_failure)]
fn strict_db(#[from(temp_database)] tmp: TempDatabase) -> Result<DataFlow, dataflow::Error> {
    let db = DataFlow::new(tmp.url())?;
    db.model::<User>()?;
    Ok(db)
}

#[dataflow_fixture(leak_check = "scoped", keep_on_failure = false)]
pub(crate) fn pooled_db(
    temp_database: TempDatabase,
    #[default(2)] max_connections: u32,
) -> dataflow::Result<dataflow::DataFlow> {
    #![allow(clippy::needless_question_mark)]
    Ok(DataFlow::builder(temp_database.url())
        .max_connections(max_connections)
        .build()?)
}

#[dataflow_fixture(leak_check = "off", keep_on_failure = true)]
fn empty_db() -> std::result::Result<::dataflow::DataFlow, String> {
    let Ok(db) = DataFlow::new("sqlite::memory:") else {
        return Err("no in-memory database".to_owned());
    };
    Ok(db)
}

#[rstest]
fn creates_a_user(#[from(users_db)] db: TestDataFlow) {
    assert_eq!(db.nodes().len(), 10);
}

fn main() {
    // The guard derefs to the instance the fixture built.
    let db = users_db::default();
    let instance: &DataFlow = &db;
    assert_eq!(instance.nodes().len(), 10);
    assert!(NodeRegistry::global().contains("UserCreateNode"));

    // It cleans the instance up, then drops the arguments: the database goes last.
    let dir = {
        let tmp = temp_database::default();
        let file = tmp.path().expect("a SQLite database");
        let dir = file.parent().expect("in a temporary directory").to_owned();
        let db = users_db::get(tmp);
        assert!(dir.exists());
        drop(db);
        dir
    };
    assert!(!dir.exists(), "{} is removed", dir.display());
    drop(db);
    assert!(!NodeRegistry::global().contains("UserCreateNode"));

    let db = strict_db::default();
    assert_eq!(db.models(), ["User"]);
    drop(db);

    let db = pooled_db::default();
    assert!(db.nodes().is_empty());
    drop(db);

    let db: TestDataFlow = empty_db::default();
    assert!(db.nodes().is_empty());
}
