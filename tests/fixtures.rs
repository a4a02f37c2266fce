//! The toolkit's fixtures and guard: `dataflow_db`, `temp_database`, `#[dataflow_fixture]`,
//! `TestDataFlow`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use dataflow::{DataFlow, NodeRegistry};
use dataflow_testing::{
    dataflow_db, dataflow_fixture, temp_database, Isolation, TempDatabase, TestDataFlow,
};
use rstest::rstest;
use serde_json::json;

use crate::models::{run_node, User};

#[dataflow_fixture]
fn users_db(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    db.model::<User>().unwrap();
    db
}

#[dataflow_fixture(leak_check = "scoped")]
fn fallible_users_db(
    #[from(temp_database)] tmp: TempDatabase,
) -> Result<DataFlow, dataflow::Error> {
    let db = tmp.dataflow()?;
    db.model::<User>()?;
    Ok(db)
}

fn create_alice(db: &DataFlow) -> serde_json::Value {
    let mut wf = db.workflow();
    wf.add_node(
        "UserCreateNode",
        "create",
        json!({"id": "user-1", "name": "Alice", "active": true}),
    );
    let (results, _run) = dataflow::blocking::LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .unwrap();
    results["create"].clone()
}

#[rstest]
fn a_dataflow_fixture_gives_a_guarded_instance(#[from(users_db)] db: TestDataFlow) {
    assert_eq!(create_alice(&db)["id"], "user-1");
    assert_eq!(db.nodes().len(), 10);
}

#[rstest]
fn a_fallible_fixture_works_the_same(#[from(fallible_users_db)] db: TestDataFlow) {
    assert_eq!(create_alice(&db)["name"], "Alice");
}

/// Asks for a temporary database (which the toolkit then fills from the template of the
/// fixture's models) but puts the instance somewhere else.
#[dataflow_fixture]
fn users_db_elsewhere(temp_database: TempDatabase) -> DataFlow {
    let _unused = temp_database.url();
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<User>().unwrap();
    db
}

#[rstest]
fn an_instance_on_another_database_than_the_fixtures_still_gets_its_tables(
    #[from(users_db_elsewhere)] db: TestDataFlow,
) {
    // Only an instance on the database made from the template may skip creating tables.
    assert_eq!(create_alice(&db)["id"], "user-1");
}

#[rstest]
fn dataflow_db_is_a_fresh_guarded_instance(dataflow_db: TestDataFlow) {
    assert!(dataflow_db.nodes().is_empty());
    dataflow_db.model::<User>().unwrap();
    assert_eq!(create_alice(&dataflow_db)["id"], "user-1");
}

#[rstest]
#[tokio::test]
async fn dataflow_db_works_in_async_tests(#[from(dataflow_db)] db: TestDataFlow) {
    db.model::<User>().unwrap();
    run_node(
        &db,
        "UserCreateNode",
        json!({"id": "a", "name": "A", "active": true}),
    )
    .await
    .unwrap();
    assert_eq!(
        run_node(&db, "UserListNode", json!({})).await.unwrap()["count"],
        1
    );
}

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dataflow_fixture_works_in_multi_thread_async_tests(#[from(users_db)] db: TestDataFlow) {
    run_node(
        &db,
        "UserCreateNode",
        json!({"id": "b", "name": "B", "active": true}),
    )
    .await
    .unwrap();
    assert_eq!(
        run_node(&db, "UserReadNode", json!({"id": "b"}))
            .await
            .unwrap()["name"],
        "B"
    );
}

#[rstest]
fn each_test_gets_its_own_database(
    #[from(users_db)] first: TestDataFlow,
    #[from(users_db)] second: TestDataFlow,
) {
    create_alice(&first);
    create_alice(&second);
    assert_ne!(first.url(), second.url());
}

#[rstest]
fn temp_database_is_removed_on_drop(temp_database: TempDatabase) {
    let db = temp_database.dataflow().unwrap();
    db.model::<User>().unwrap();
    create_alice(&db);
    db.close_blocking();
    if let Some(path) = temp_database.path().map(ToOwned::to_owned) {
        assert!(path.exists());
        drop(temp_database);
        assert!(!path.exists(), "the SQLite file is removed");
    }
}

#[test]
fn the_guard_cleans_up_when_the_test_panics_even_with_clones_alive() {
    let tmp = TempDatabase::sqlite().unwrap();
    let path = tmp.path().unwrap().to_owned();
    let db = TestDataFlow::new(tmp.dataflow().unwrap()).with_database(tmp);
    db.model::<User>().unwrap();
    create_alice(&db);
    let id = db.instance_id();
    let clone: DataFlow = (*db).clone();
    let outcome = catch_unwind(AssertUnwindSafe(move || {
        let _db = db;
        panic!("the test body fails");
    }));
    assert!(outcome.is_err());
    assert!(
        !NodeRegistry::global().contains(&format!("UserCreateNode@{id}")),
        "nodes removed"
    );
    assert!(!path.exists(), "database removed although a clone lives");
    assert!(clone.nodes().is_empty());
}

#[test]
fn a_failing_fixture_reports_its_error_and_leaves_nothing_behind() {
    let tmp = TempDatabase::sqlite().unwrap();
    let dir = tmp.path().unwrap().parent().unwrap().to_owned();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let db = tmp.dataflow().unwrap();
        db.model::<User>().unwrap();
        let failing: Result<DataFlow, dataflow::Error> = db.model::<User>().map(|()| db.clone());
        dataflow_testing::__private::finish_fixture("broken_db", failing, Default::default(), tmp)
    }));
    let panic = outcome.unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("fixture `broken_db` failed") && message.contains("already registered"),
        "{message}"
    );
    assert!(!dir.exists(), "the temporary directory was removed");
}

#[test]
fn a_scoped_leak_is_reported_with_its_instance_nodes_and_test() {
    let db = TestDataFlow::new(DataFlow::new("sqlite::memory:").unwrap());
    let leaked = DataFlow::new("sqlite::memory:").unwrap();
    leaked.model::<User>().unwrap();
    let report = db.finish().unwrap_err().to_string();
    assert!(
        report.contains(&leaked.instance_id().to_string()),
        "{report}"
    );
    assert!(
        report.contains(
            "test `fixtures::a_scoped_leak_is_reported_with_its_instance_nodes_and_test`"
        ),
        "{report}"
    );
    assert!(report.contains("UserCreateNode"), "{report}");
    drop(leaked);
}

#[test]
fn a_scoped_check_ignores_other_threads_and_earlier_instances() {
    let earlier = DataFlow::new("sqlite::memory:").unwrap();
    earlier.model::<User>().unwrap();
    let db = TestDataFlow::new(DataFlow::new("sqlite::memory:").unwrap());
    let other_thread = std::thread::spawn(|| {
        let db = DataFlow::new("sqlite::memory:").unwrap();
        db.model::<User>().unwrap();
        db
    })
    .join()
    .unwrap();
    assert!(db.finish().is_ok());
    drop((earlier, other_thread));
}

#[test]
fn a_leak_after_a_passing_test_fails_it_and_during_a_panic_is_only_reported() {
    let leak_in = |panic_too: bool| {
        // The leaked instance outlives the guard here, and is dropped by the test after.
        let holder = std::sync::Mutex::new(None);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let _db = TestDataFlow::new(DataFlow::new("sqlite::memory:").unwrap());
            let leaked = DataFlow::new("sqlite::memory:").unwrap();
            leaked.model::<User>().unwrap();
            *holder.lock().unwrap() = Some(leaked);
            if panic_too {
                panic!("the body failed first");
            }
        }));
        drop(holder);
        outcome
    };
    let passing = leak_in(false).unwrap_err();
    assert!(passing
        .downcast_ref::<String>()
        .unwrap()
        .contains("scoped leak check failed"));
    let failing = leak_in(true).unwrap_err();
    assert_eq!(
        failing.downcast_ref::<&str>(),
        Some(&"the body failed first"),
        "the original panic stays"
    );
}

#[rstest]
fn transaction_isolation_falls_back_or_rolls_back(
    #[with(Isolation::Transaction)] dataflow_db: TestDataFlow,
) {
    dataflow_db.model::<User>().unwrap();
    assert_eq!(create_alice(&dataflow_db)["id"], "user-1");
    let expected = dataflow_db.backend() == dataflow::Backend::Postgres;
    assert_eq!(dataflow_db.transaction_mode(), expected);
}

#[rstest]
fn a_dataflow_fixture_starts_from_a_copy_of_the_schema_template(
    #[from(users_db)] db: TestDataFlow,
) {
    // Before any node ran, the tables are there: copied (SQLite) or cloned (server).
    let url = db.url().to_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tables: Vec<String> = rt.block_on(async {
        use sqlx::Connection;
        match db.backend() {
            dataflow::Backend::Sqlite => {
                let path = url.trim_start_matches("sqlite://");
                assert!(std::path::Path::new(path).exists(), "{path}");
                let mut conn = sqlx::sqlite::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'").fetch_all(&mut conn).await.unwrap()
            }
            dataflow::Backend::Postgres => {
                let mut conn = sqlx::postgres::PgConnection::connect(&url).await.unwrap();
                sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'").fetch_all(&mut conn).await.unwrap()
            }
            _ => {
                let mut conn = sqlx::mysql::MySqlConnection::connect(&url).await.unwrap();
                sqlx::query_scalar("SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap()
            }
        }
    });
    assert_eq!(tables, ["users"]);
}

/// Runs `sql` on the database of `db` over a connection of its own.
fn execute_behind_its_back(db: &DataFlow, sql: &str) {
    use sqlx::{Connection, Executor};
    let url = db.url().to_owned(); // the password hidden: the CI servers trust local users
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        match db.backend() {
            dataflow::Backend::Sqlite => {
                let mut conn = sqlx::sqlite::SqliteConnection::connect(&url).await.unwrap();
                conn.execute(sql).await.map(drop)
            }
            dataflow::Backend::Postgres => {
                let mut conn = sqlx::postgres::PgConnection::connect(&url).await.unwrap();
                conn.execute(sql).await.map(drop)
            }
            _ => {
                let mut conn = sqlx::mysql::MySqlConnection::connect(&url).await.unwrap();
                conn.execute(sql).await.map(drop)
            }
        }
    })
    .unwrap();
}

#[rstest]
fn an_instance_on_its_fixtures_template_copy_skips_creating_tables(
    #[from(users_db)] db: TestDataFlow,
) {
    // The tables came with the template, so the instance's nodes do not create them: a table
    // dropped behind its back stays dropped. (With a password in the server URL, the
    // instance's URL hides it; the toolkit must still see it is the fixture's database.)
    execute_behind_its_back(&db, "DROP TABLE users");
    let mut wf = db.workflow();
    wf.add_node(
        "UserCreateNode",
        "create",
        json!({"id": "u", "name": "A", "active": true}),
    );
    let err = dataflow::blocking::LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("users"), "{err}");
}

#[test]
fn a_failed_tests_database_is_kept_when_asked_and_removed_otherwise() {
    let run = |keep: bool| {
        let tmp = TempDatabase::sqlite().unwrap();
        let dir = tmp.path().unwrap().parent().unwrap().to_owned();
        let options = dataflow_testing::GuardOptions::new().keep_on_failure(keep);
        let outcome = catch_unwind(AssertUnwindSafe(move || {
            let db =
                TestDataFlow::with_options(tmp.dataflow().unwrap(), options).with_database(tmp);
            db.model::<User>().unwrap();
            create_alice(&db);
            panic!("the test fails");
        }));
        assert!(outcome.is_err());
        dir
    };
    let kept = run(true);
    assert!(
        kept.join("test.db").exists(),
        "kept for inspection: {}",
        kept.display()
    );
    std::fs::remove_dir_all(kept).unwrap();
    let removed = run(false);
    assert!(!removed.exists());
}
