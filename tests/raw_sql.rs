//! Raw SQL on an instance's own session: `execute_sql` / `query_sql`, on every backend.

use dataflow::{Backend, DataFlow, Error};
use dataflow_integration_tests::on_every_backend;
use serde_json::json;

use crate::models::{run_node, User};

/// The placeholder of parameter `n` on the instance's backend.
fn p(db: &DataFlow, n: usize) -> String {
    match db.backend() {
        Backend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

async fn statements_and_queries_bind_their_parameters(url: &str) {
    let db = DataFlow::new(url).unwrap();
    db.execute_sql(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, \
         balance NUMERIC(12, 2), opened DATE, active BOOLEAN NOT NULL, note TEXT)",
        &[],
    )
    .await
    .unwrap();
    let insert = format!(
        "INSERT INTO accounts (id, name, balance, opened, active, note) VALUES ({}, {}, {}, {}, {}, {})",
        p(&db, 1),
        p(&db, 2),
        p(&db, 3),
        p(&db, 4),
        p(&db, 5),
        p(&db, 6)
    );
    let params = [
        json!(1),
        json!("Robert'); DROP TABLE accounts; --"),
        json!("10.50"),
        json!("2024-02-29"),
        json!(true),
        json!(null),
    ];
    assert_eq!(db.execute_sql(&insert, &params).await.unwrap(), 1);
    let params = [
        json!(2),
        json!("Bea"),
        json!("-3.25"),
        json!("2023-01-01"),
        json!(false),
        json!("vip"),
    ];
    assert_eq!(db.execute_sql_blocking(&insert, &params).unwrap(), 1);

    let rows = db
        .query_sql(
            &format!(
                "SELECT id, name, active, note, opened FROM accounts WHERE id >= {} ORDER BY id",
                p(&db, 1)
            ),
            &[json!(1)],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], 1);
    assert_eq!(rows[0]["name"], "Robert'); DROP TABLE accounts; --");
    assert_eq!(rows[0]["active"], true);
    assert_eq!(rows[0]["note"], json!(null));
    assert_eq!(rows[1]["note"], "vip");
    assert_eq!(rows[1]["opened"], "2023-01-01");
    let total = db
        .query_sql_blocking("SELECT COUNT(*) AS n FROM accounts", &[])
        .unwrap();
    assert_eq!(total[0]["n"], 2);

    let updated = db
        .execute_sql(
            &format!(
                "UPDATE accounts SET active = {} WHERE id = {}",
                p(&db, 1),
                p(&db, 2)
            ),
            &[json!(true), json!(2)],
        )
        .await
        .unwrap();
    assert_eq!(updated, 1);
}

async fn a_wrong_parameter_count_or_bad_sql_is_a_typed_error(url: &str) {
    let db = DataFlow::new(url).unwrap();
    db.execute_sql("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();
    let two = format!("INSERT INTO t (n) VALUES ({}), ({})", p(&db, 1), p(&db, 2));
    let err = db.execute_sql(&two, &[json!(1)]).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::SqlParameters {
                expected: 2,
                given: 1,
                ..
            }
        ),
        "{err}"
    );
    let err = db
        .execute_sql("DELETE FROM t", &[json!(1)])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::SqlParameters {
                expected: 0,
                given: 1,
                ..
            }
        ),
        "{err}"
    );
    let err = db.query_sql("SELEKT n FROM t", &[]).await.unwrap_err();
    assert!(
        matches!(&err, Error::Sql { sql, .. } if sql == "SELEKT n FROM t"),
        "{err}"
    );
    assert!(err.to_string().contains("SELEKT"), "{err}");
    let err = db
        .query_sql("SELECT n FROM no_such_table", &[])
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Sql { .. }), "{err}");
    // Nothing was written by the failed statements.
    let rows = db
        .query_sql("SELECT COUNT(*) AS n FROM t", &[])
        .await
        .unwrap();
    assert_eq!(rows[0]["n"], 0);
}

async fn raw_sql_sees_the_tables_of_registered_models(url: &str) {
    let db = DataFlow::new(url).unwrap();
    db.model::<User>().unwrap();
    // The table is created before the statement runs, as before a node runs.
    let insert = format!(
        "INSERT INTO users (id, name, active, created_at, updated_at) VALUES ({}, {}, {}, {}, {})",
        p(&db, 1),
        p(&db, 2),
        p(&db, 3),
        p(&db, 4),
        p(&db, 5)
    );
    // A form every backend reads (MySQL refuses RFC 3339's `T` and `Z`).
    let now = "2024-05-01 10:00:00";
    db.execute_sql(
        &insert,
        &[
            json!("u1"),
            json!("Ann"),
            json!(true),
            json!(now),
            json!(now),
        ],
    )
    .await
    .unwrap();
    let read = run_node(&db, "UserReadNode", json!({"id": "u1"}))
        .await
        .unwrap();
    assert_eq!(read["name"], "Ann");
    assert_eq!(read["created_at"], "2024-05-01T10:00:00.000000Z");
}

on_every_backend! {
    statements_and_queries_bind_their_parameters,
    a_wrong_parameter_count_or_bad_sql_is_a_typed_error,
    raw_sql_sees_the_tables_of_registered_models,
}

#[tokio::test]
async fn raw_sql_joins_transaction_mode_and_rolls_back_with_it() {
    let file = dataflow_integration_tests::TestDatabase::sqlite_file();
    transaction_mode_case(file.url()).await;
    if let Some(pg) = dataflow_integration_tests::TestDatabase::new(Backend::Postgres).await {
        transaction_mode_case(pg.url()).await;
    }
}

async fn transaction_mode_case(url: &str) {
    let plain = DataFlow::new(url).unwrap();
    plain
        .execute_sql("CREATE TABLE IF NOT EXISTS items (n INTEGER)", &[])
        .await
        .unwrap();
    let sandboxed = DataFlow::builder(url)
        .transaction_mode(true)
        .build()
        .unwrap();
    let insert = format!("INSERT INTO items (n) VALUES ({})", p(&sandboxed, 1));
    sandboxed.execute_sql(&insert, &[json!(7)]).await.unwrap();
    // A failing statement rolls back to its savepoint; the transaction goes on.
    sandboxed
        .execute_sql("INSERT INTO nowhere VALUES (1)", &[])
        .await
        .unwrap_err();
    let inside = sandboxed
        .query_sql("SELECT n FROM items", &[])
        .await
        .unwrap();
    assert_eq!(inside.len(), 1, "the instance sees its own row");
    let outside = plain.query_sql("SELECT n FROM items", &[]).await.unwrap();
    assert!(outside.is_empty(), "nothing is committed: {outside:?}");
    sandboxed.close().await;
    let after = plain.query_sql("SELECT n FROM items", &[]).await.unwrap();
    assert!(after.is_empty(), "rolled back at close: {after:?}");
    assert!(!sandboxed.connect_url().contains("***"));
}
