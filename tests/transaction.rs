//! Transaction mode: one connection inside a transaction that is rolled back at close.

use dataflow::{Backend, DataFlow, Error};
use dataflow_integration_tests::TestDatabase;
use serde_json::json;

use crate::models::{run_node, User};

async fn rolls_back_everything_and_survives_failing_statements(db: TestDatabase) {
    let plain = DataFlow::new(db.url()).unwrap();
    plain.model::<User>().unwrap();
    plain.migrate().await.unwrap();
    run_node(
        &plain,
        "UserCreateNode",
        json!({"id": "committed", "name": "c", "active": true}),
    )
    .await
    .unwrap();

    let sandboxed = DataFlow::builder(db.url())
        .transaction_mode(true)
        .build()
        .unwrap();
    sandboxed.model::<User>().unwrap();
    assert!(sandboxed.transaction_mode());
    run_node(
        &sandboxed,
        "UserCreateNode",
        json!({"id": "t1", "name": "tx", "active": true}),
    )
    .await
    .unwrap();
    // A failing statement rolls back to its savepoint; the outer transaction goes on.
    let err = run_node(
        &sandboxed,
        "UserCreateNode",
        json!({"id": "committed", "name": "dup", "active": true}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err.root(), Error::UniqueViolation { fields, .. } if fields == &["id"]),
        "{err}"
    );
    let bulk = json!({"data": [{"id": "t2", "name": "b", "active": true}, {"id": "t1", "name": "clash", "active": true}]});
    run_node(&sandboxed, "UserBulkCreateNode", bulk)
        .await
        .unwrap_err();
    let seen = run_node(&sandboxed, "UserListNode", json!({}))
        .await
        .unwrap();
    assert_eq!(seen["count"], 2, "the instance sees its own rows: {seen}");

    // Nothing was committed: another connection sees only the committed row.
    let outside = run_node(&plain, "UserListNode", json!({})).await.unwrap();
    assert_eq!(outside["count"], 1, "{outside}");
    sandboxed.close().await;
    let after = run_node(&plain, "UserListNode", json!({})).await.unwrap();
    assert_eq!(after["records"][0]["id"], "committed");
    assert_eq!(after["count"], 1);
}

#[tokio::test]
async fn transaction_mode_on_sqlite() {
    rolls_back_everything_and_survives_failing_statements(TestDatabase::sqlite_file()).await;
}

#[tokio::test]
async fn transaction_mode_on_postgres() {
    if let Some(db) = TestDatabase::new(Backend::Postgres).await {
        rolls_back_everything_and_survives_failing_statements(db).await;
    }
}

#[test]
fn transaction_mode_is_refused_on_mysql() {
    let err = DataFlow::builder("mysql://root@127.0.0.1:3306/test")
        .transaction_mode(true)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("commit on CREATE TABLE"), "{err}");
}
