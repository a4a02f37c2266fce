//! Per-test databases with migrations, SQL fixtures and a setup function:
//! `#[dataflow_fixture(migrations = .., fixtures(..), setup = ..)]` and `TempDatabase::options()`.

use dataflow::{DataFlow, Model};
use dataflow_testing::{dataflow_fixture, Isolation, TempDatabase, TestDataFlow};
use rstest::rstest;
use serde_json::json;

use crate::models::run_node;

/// The model over the migrated `customers` table.
#[allow(dead_code)]
#[derive(Model)]
#[dataflow(timestamps = false)]
pub struct Customer {
    id: i64,
    #[dataflow(unique)]
    email: String,
    name: String,
}

/// Run once on each template after the migrations.
pub fn audit_table(db: &DataFlow) -> dataflow::Result<()> {
    db.execute_sql_blocking("CREATE TABLE audit (line TEXT)", &[])?;
    db.execute_sql_blocking("INSERT INTO audit (line) VALUES ('set up')", &[])
        .map(drop)
}

#[dataflow_fixture(
    migrations = "testdata/migrations",
    fixtures("customers.sql"),
    setup = crate::schema_fixtures::audit_table
)]
fn shop_db(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    db.model::<Customer>().unwrap();
    db
}

fn count(db: &DataFlow, table: &str) -> i64 {
    let rows = db
        .query_sql_blocking(&format!("SELECT COUNT(*) AS n FROM {table}"), &[])
        .unwrap();
    rows[0]["n"].as_i64().unwrap()
}

#[rstest]
#[tokio::test]
async fn a_fixture_database_starts_migrated_set_up_and_seeded(#[from(shop_db)] db: TestDataFlow) {
    let list = run_node(&db, "CustomerListNode", json!({"order_by": "id"}))
        .await
        .unwrap();
    assert_eq!(list["count"], 2);
    assert_eq!(list["records"][1]["name"], "Bob; the builder");
    assert_eq!(count(&db, "audit"), 1);
    assert_eq!(count(&db, "_sqlx_migrations"), 1);
    run_node(
        &db,
        "CustomerCreateNode",
        json!({"id": 3, "email": "cy@example.org", "name": "Cy"}),
    )
    .await
    .unwrap();
    assert_eq!(count(&db, "customers"), 3);
}

#[rstest]
fn each_test_gets_its_own_copy(#[from(shop_db)] db: TestDataFlow) {
    // Whatever the other test wrote is not here.
    db.execute_sql_blocking("DELETE FROM customers WHERE id = 1", &[])
        .unwrap();
    assert_eq!(count(&db, "customers"), 1);
}

#[dataflow_fixture(
    migrations = "testdata/migrations",
    fixtures("customers.sql"),
    setup = crate::schema_fixtures::audit_table,
    isolation = "transaction"
)]
fn shop_in_a_transaction(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    db.model::<Customer>().unwrap();
    db
}

/// Both tests below write, and each sees only the seed rows and its own writes: on
/// PostgreSQL inside a transaction on the database the setup was applied to once, elsewhere
/// in a database of its own.
fn writes_see_only_the_seed(db: &TestDataFlow, id: i64) {
    assert_eq!(
        db.transaction_mode(),
        std::env::var("DATAFLOW_TEST_POSTGRES_URL").is_ok_and(|v| !v.trim().is_empty())
    );
    assert_eq!(count(db, "customers"), 2);
    assert_eq!(count(db, "audit"), 1, "the setup ran once on this database");
    let insert = format!(
        "INSERT INTO customers (id, email, name) VALUES ({id}, 'dee{id}@example.org', 'Dee')"
    );
    db.execute_sql_blocking(&insert, &[]).unwrap();
    db.execute_sql_blocking("DELETE FROM customers WHERE id = 1", &[])
        .unwrap();
    assert_eq!(count(db, "customers"), 2);
}

#[rstest]
fn transaction_mode_with_a_setup_starts_from_the_seed(
    #[from(shop_in_a_transaction)] db: TestDataFlow,
) {
    writes_see_only_the_seed(&db, 10);
}

#[rstest]
fn transaction_mode_with_a_setup_starts_from_the_seed_again(
    #[from(shop_in_a_transaction)] db: TestDataFlow,
) {
    writes_see_only_the_seed(&db, 11);
}

/// An asynchronous setup function gets the instance by value.
async fn tag_table(db: DataFlow) -> dataflow::Result<()> {
    db.execute_sql("CREATE TABLE tags (name TEXT)", &[]).await?;
    Ok(())
}

#[test]
fn an_async_setup_function_runs_on_the_template() {
    let tmp = TempDatabase::options()
        .migrations("testdata/migrations")
        .setup(tag_table)
        .build()
        .unwrap();
    let db = DataFlow::new(tmp.url()).unwrap();
    assert_eq!(count(&db, "tags"), 0);
    assert_eq!(count(&db, "customers"), 0);
}

#[test]
fn a_failing_fixture_statement_names_its_file_and_line() {
    let err = TempDatabase::options()
        .migrations("testdata/migrations")
        .fixture("fixtures/broken.sql")
        .build()
        .unwrap_err();
    match &err {
        dataflow_testing::Error::SqlFixture { file, line, .. } => {
            assert!(file.ends_with("broken.sql"), "{err}");
            assert_eq!(*line, 4, "{err}");
        }
        other => panic!("expected a fixture error, got {other}"),
    }
}

#[test]
fn a_missing_fixture_file_is_named_with_where_it_was_looked_for() {
    let err = TempDatabase::options()
        .fixture_beside(env!("CARGO_MANIFEST_DIR"), file!(), "nowhere.sql")
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, dataflow_testing::Error::FixtureMissing { name, searched } if name == "nowhere.sql" && searched.len() > 2),
        "{err}"
    );
    let err = TempDatabase::options()
        .migrations("testdata/no_such_dir")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("no_such_dir"), "{err}");
}

#[test]
fn an_instance_built_from_a_transaction_isolated_url_is_in_transaction_mode() {
    let tmp = TempDatabase::with_isolation(Isolation::Transaction).unwrap();
    let db = DataFlow::new(tmp.url()).unwrap();
    // Only PostgreSQL isolates by transaction; elsewhere the database is the test's own.
    assert_eq!(
        db.transaction_mode(),
        tmp.isolation() == Isolation::Transaction
    );
    assert!(!db.connect_url().contains("dataflow_isolation"));
}

/// How often [`stamp_once`] ran in this process.
static STAMPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts its calls, and writes a value no other call writes (the time it ran).
fn stamp_once(db: &DataFlow) -> dataflow::Result<()> {
    STAMPS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    db.execute_sql_blocking("CREATE TABLE stamp (taken TEXT)", &[])?;
    // A number of our own, not user input: formatted in.
    let insert = format!("INSERT INTO stamp (taken) VALUES ('{nanos}')");
    db.execute_sql_blocking(&insert, &[]).map(drop)
}

#[test]
fn the_setup_runs_once_for_many_test_databases() {
    let stamps: Vec<String> = (0..3)
        .map(|_| {
            let tmp = TempDatabase::options()
                .migrations("testdata/migrations")
                .fixture("fixtures/customers.sql")
                .setup(stamp_once)
                .build()
                .unwrap();
            let db = DataFlow::new(tmp.url()).unwrap();
            assert_eq!(count(&db, "customers"), 2);
            let rows = db
                .query_sql_blocking("SELECT taken FROM stamp", &[])
                .unwrap();
            assert_eq!(rows.len(), 1, "{rows:?}");
            rows[0]["taken"].as_str().unwrap().to_owned()
        })
        .collect();
    // One template, copied: the same row in every database. An earlier run may have
    // built the template on a server already (0 calls here).
    assert!(stamps.iter().all(|s| *s == stamps[0]), "{stamps:?}");
    assert!(STAMPS.load(std::sync::atomic::Ordering::SeqCst) <= 1);
}

/// Two tables joined by a foreign key, and a row in each.
fn parent_and_child(db: &DataFlow) -> dataflow::Result<()> {
    for sql in [
        "CREATE TABLE parent (id BIGINT PRIMARY KEY)",
        "CREATE TABLE child (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL, \
         CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id))",
        "INSERT INTO parent (id) VALUES (1)",
        "INSERT INTO child (id, parent_id) VALUES (1, 1)",
    ] {
        db.execute_sql_blocking(sql, &[])?;
    }
    Ok(())
}

#[test]
fn a_copied_database_keeps_its_foreign_keys() {
    let tmp = TempDatabase::options()
        .setup(parent_and_child)
        .build()
        .unwrap();
    let db = DataFlow::new(tmp.url()).unwrap();
    assert_eq!(count(&db, "child"), 1);
    let orphan = db.execute_sql_blocking("INSERT INTO child (id, parent_id) VALUES (2, 99)", &[]);
    // SQLite enforces foreign keys only when asked (PRAGMA foreign_keys); the servers do.
    if db.backend() != dataflow::Backend::Sqlite {
        assert!(orphan.is_err(), "an orphan row was accepted");
    }
}
