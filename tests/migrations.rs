//! Migrations of a sqlx-cli directory applied by `DataFlow::builder(url).migrations(dir)`,
//! and models checked against the tables they made, on every backend.

use std::path::Path;

use dataflow::{DataFlow, Error, Model};
use dataflow_integration_tests::on_every_backend;
use serde_json::json;

use crate::models::run_node;

/// A model over the table of the first migration below.
#[allow(dead_code)]
#[derive(Model)]
#[dataflow(timestamps = false)]
struct Customer {
    id: i64,
    #[dataflow(unique)]
    email: String,
    name: String,
}

const CUSTOMERS: &str = "-- the customers of the shop\n\
    CREATE TABLE customers (\n    id BIGINT PRIMARY KEY,\n    email VARCHAR(200) NOT NULL UNIQUE,\n    name TEXT NOT NULL\n);\n";
const ORDERS_UP: &str =
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL);\n";
const ORDERS_DOWN: &str = "DROP TABLE orders;\n";

fn write(dir: &Path, name: &str, sql: &str) {
    std::fs::write(dir.join(name), sql).unwrap();
}

fn shop_migrations() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "20240101000000_customers.sql", CUSTOMERS);
    write(dir.path(), "20240102000000_orders.up.sql", ORDERS_UP);
    write(dir.path(), "20240102000000_orders.down.sql", ORDERS_DOWN);
    write(dir.path(), "README.md", "not a migration: ignored");
    dir
}

/// An instance on `url` with the migrations of `dir`, not yet connected.
fn migrated(url: &str, dir: &tempfile::TempDir) -> DataFlow {
    DataFlow::builder(url)
        .migrations(dir.path())
        .build()
        .unwrap()
}

async fn applied(db: &DataFlow) -> Vec<serde_json::Map<String, serde_json::Value>> {
    db.query_sql(
        "SELECT version, description, success, checksum FROM _sqlx_migrations ORDER BY version",
        &[],
    )
    .await
    .unwrap()
}

async fn migrations_run_once_before_models_and_are_recorded_as_sqlx_does(url: &str) {
    let dir = shop_migrations();
    let db = DataFlow::builder(url)
        .migrations(dir.path())
        .connect()
        .await
        .unwrap();
    db.model::<Customer>().unwrap();
    let created = run_node(
        &db,
        "CustomerCreateNode",
        json!({"id": 1, "email": "a@x.org", "name": "Ann"}),
    )
    .await
    .unwrap();
    assert_eq!(created, json!({"id": 1, "email": "a@x.org", "name": "Ann"}));
    // The unique key of the migration is reported with its field.
    let err = run_node(
        &db,
        "CustomerCreateNode",
        json!({"id": 2, "email": "a@x.org", "name": "Bob"}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err.root(), Error::UniqueViolation { fields, .. } if fields == &["email"]),
        "{err}"
    );

    // The rows sqlx itself would write: versions, descriptions and checksums.
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    let expected: Vec<(i64, String, Vec<u8>)> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| (m.version, m.description.to_string(), m.checksum.to_vec()))
        .collect();
    let rows = applied(&db).await;
    let found: Vec<(i64, String, Vec<u8>)> = rows
        .iter()
        .map(|r| {
            let checksum = r["checksum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap() as u8)
                .collect();
            (
                r["version"].as_i64().unwrap(),
                r["description"].as_str().unwrap().to_owned(),
                checksum,
            )
        })
        .collect();
    assert_eq!(found, expected);
    assert!(rows.iter().all(|r| r["success"] == true), "{rows:?}");

    if url == "sqlite::memory:" {
        return; // another instance would have a database of its own
    }
    // A second instance finds nothing pending and sees the first one's data.
    let again = migrated(url, &dir);
    again.model::<Customer>().unwrap();
    let list = run_node(&again, "CustomerListNode", json!({}))
        .await
        .unwrap();
    assert_eq!(list["count"], 1);
    assert_eq!(applied(&again).await.len(), 2);
}

async fn a_changed_applied_migration_is_a_checksum_error(url: &str) {
    if url == "sqlite::memory:" {
        return; // each instance has a database of its own: nothing was applied before
    }
    let dir = shop_migrations();
    let db = migrated(url, &dir);
    db.ping().await.unwrap();
    write(
        dir.path(),
        "20240101000000_customers.sql",
        &CUSTOMERS.replace("the customers", "our customers"),
    );
    let changed = migrated(url, &dir);
    let err = changed.ping().await.unwrap_err();
    assert!(
        matches!(&err, Error::MigrationChanged { version: 20240101000000, file }
            if file == "20240101000000_customers.sql"),
        "{err}"
    );
}

async fn a_failing_migration_names_its_file_and_line(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1_customers.sql", CUSTOMERS);
    write(
        dir.path(),
        "2_broken.sql",
        "CREATE TABLE tags (id BIGINT PRIMARY KEY);\n\nCREAT TABLE oops (id BIGINT);\n",
    );
    let db = migrated(url, &dir);
    let err = db.ping().await.unwrap_err();
    match &err {
        Error::MigrationFailed { file, line, .. } => {
            assert_eq!(file, "2_broken.sql");
            assert_eq!(*line, Some(3), "{err}");
        }
        other => panic!("expected MigrationFailed, got {other}"),
    }
    assert!(err.to_string().contains("2_broken.sql"), "{err}");
    if url == "sqlite::memory:" {
        return;
    }
    // PostgreSQL and SQLite applied nothing of the run; MySQL commits DDL as it goes.
    let plain = DataFlow::new(url).unwrap();
    let tables = plain
        .query_sql("SELECT COUNT(*) AS n FROM customers", &[])
        .await;
    match plain.backend() {
        dataflow::Backend::MySql => assert!(tables.is_ok(), "{tables:?}"),
        _ => assert!(
            matches!(&tables, Err(Error::Sql { .. })),
            "the first migration was rolled back: {tables:?}"
        ),
    }
}

async fn a_model_that_disagrees_with_its_migrated_table_is_named(url: &str) {
    #[allow(dead_code)]
    #[derive(Model)]
    #[dataflow(table = "customers", timestamps = false)]
    struct Mistyped {
        id: i64,
        email: String,
        name: bool,
    }
    #[allow(dead_code)]
    #[derive(Model)]
    #[dataflow(table = "customers")]
    struct WithTimestamps {
        id: i64,
        email: String,
    }
    let dir = shop_migrations();
    // Connected: the check runs at `model()`.
    let db = DataFlow::builder(url)
        .migrations(dir.path())
        .connect()
        .await
        .unwrap();
    let err = db.model::<Mistyped>().unwrap_err();
    assert!(
        matches!(&err, Error::SchemaMismatch { model, column, .. } if model == "Mistyped" && column == "name"),
        "{err}"
    );
    assert!(
        db.nodes().is_empty(),
        "a model that fails the check registers nothing"
    );
    let err = db.model::<WithTimestamps>().unwrap_err();
    assert!(
        matches!(&err, Error::SchemaMismatch { column, found, .. } if column == "created_at" && found == "no such column"),
        "{err}"
    );
    // Not connected yet: at first use.
    let lazy = migrated(url, &dir);
    lazy.model::<WithTimestamps>().unwrap();
    let err = run_node(&lazy, "WithTimestampsListNode", json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err.root(), Error::SchemaMismatch { column, .. } if column == "created_at"),
        "{err}"
    );
}

on_every_backend! {
    migrations_run_once_before_models_and_are_recorded_as_sqlx_does,
    a_changed_applied_migration_is_a_checksum_error,
    a_failing_migration_names_its_file_and_line,
    a_model_that_disagrees_with_its_migrated_table_is_named,
}

#[test]
fn a_missing_directory_or_a_malformed_file_name_is_refused_at_build() {
    let err = DataFlow::builder("sqlite::memory:")
        .migrations("/no/such/migrations")
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::MigrationSource { dir, reason } if dir == "/no/such/migrations" && reason.contains("does not exist")),
        "{err}"
    );
    for bad in ["init.sql", "v1_init.sql", "1_.sql"] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "1_ok.sql", "SELECT 1;");
        write(dir.path(), bad, "SELECT 1;");
        let err = DataFlow::builder("sqlite::memory:")
            .migrations(dir.path())
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, Error::MigrationSource { reason, .. } if reason.contains(bad)),
            "{bad}: {err}"
        );
    }
}

#[test]
fn migrations_in_transaction_mode_need_a_file() {
    let dir = shop_migrations();
    let err = DataFlow::builder("sqlite::memory:")
        .migrations(dir.path())
        .transaction_mode(true)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("database file"), "{err}");
}

#[tokio::test]
async fn in_transaction_mode_migrations_are_committed_and_the_data_rolled_back() {
    let file = dataflow_integration_tests::TestDatabase::sqlite_file();
    transaction_mode_case(file.url()).await;
    let pg = dataflow_integration_tests::TestDatabase::new(dataflow::Backend::Postgres).await;
    if let Some(pg) = pg {
        transaction_mode_case(pg.url()).await;
    }
}

async fn transaction_mode_case(url: &str) {
    let dir = shop_migrations();
    let sandboxed = DataFlow::builder(url)
        .migrations(dir.path())
        .transaction_mode(true)
        .connect()
        .await
        .unwrap();
    sandboxed.model::<Customer>().unwrap();
    run_node(
        &sandboxed,
        "CustomerCreateNode",
        json!({"id": 1, "email": "a@x.org", "name": "Ann"}),
    )
    .await
    .unwrap();
    sandboxed.close().await;
    let after = DataFlow::new(url).unwrap();
    let migrated = applied(&after).await;
    assert_eq!(migrated.len(), 2, "the schema is committed");
    let rows = after
        .query_sql("SELECT COUNT(*) AS n FROM customers", &[])
        .await
        .unwrap();
    assert_eq!(rows[0]["n"], 0, "the data was rolled back");
}
