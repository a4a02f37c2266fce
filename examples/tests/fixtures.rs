//! Testing with fixtures, as a crate of your own would: only the public API of `dataflow`
//! and `dataflow-testing`, plus rstest, tokio and serde_json.
//!
//! `cargo test -p dataflow-examples --test fixtures`. With `DATAFLOW_TEST_POSTGRES_URL` or
//! `DATAFLOW_TEST_MYSQL_URL` set, each test gets a database of its own on that server.

use dataflow::{DataFlow, Model};
use dataflow_testing::{dataflow_db, dataflow_fixture, temp_database, TempDatabase, TestDataFlow};
use rstest::rstest;
use serde_json::json;

// The fields are read through the generated nodes, never in Rust.
#[allow(dead_code)]
#[derive(Model)]
struct Book {
    id: String,
    title: String,
    pages: i32,
}

/// A fixture of your own: the instance and its models, guarded for each test that takes it.
#[dataflow_fixture]
fn library(temp_database: TempDatabase) -> dataflow::Result<DataFlow> {
    let db = DataFlow::new(temp_database.url())?;
    db.model::<Book>()?;
    Ok(db)
}

fn add_book(db: &DataFlow, id: &str, pages: i32) -> serde_json::Value {
    let mut wf = db.workflow();
    wf.add_node(
        "BookCreateNode",
        "add",
        json!({"id": id, "title": format!("Book {id}"), "pages": pages}),
    );
    let (results, _run) = dataflow::blocking::LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .unwrap();
    results["add"].clone()
}

#[rstest]
fn a_book_is_stored(#[from(library)] db: TestDataFlow) {
    assert_eq!(add_book(&db, "b1", 120)["pages"], 120);
}

#[rstest]
fn each_test_starts_from_an_empty_table(#[from(library)] db: TestDataFlow) {
    // The same id as the test above: no conflict, the database is this test's own.
    add_book(&db, "b1", 300);
    let mut wf = db.workflow();
    wf.add_node("BookListNode", "all", json!({}));
    let (results, _run) = dataflow::blocking::LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .unwrap();
    assert_eq!(results["all"]["count"], 1);
}

#[rstest]
#[tokio::test]
async fn the_fresh_instance_fixture_works_in_async_tests(dataflow_db: TestDataFlow) {
    dataflow_db.model::<Book>().unwrap();
    let mut wf = dataflow_db.workflow();
    wf.add_node(
        "BookCreateNode",
        "add",
        json!({"id": "b2", "title": "Async", "pages": 9}),
    )
    .add_node("BookReadNode", "read", json!({}))
    .add_connection("add", "id", "read", "id");
    let (results, _run) = dataflow::LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .await
        .unwrap();
    assert_eq!(results["read"]["title"], "Async");
} // the guard removes the nodes, checks for leaks and removes the database here
