//! Snapshot testing with insta: the registry (instance ids replaced by stable labels) and
//! node results (timestamps and generated ids redacted by `snapshot_settings`).
//!
//! `cargo test -p dataflow-examples --test snapshots`. A new or changed snapshot fails the
//! test and is written next to it as `.snap.new`: review it with `cargo insta review`
//! (`cargo install cargo-insta`), or run with `INSTA_UPDATE=always` to accept every one.

use dataflow::{DataFlow, Model};
use dataflow_testing::{
    assert_registry_snapshot, dataflow_fixture, snapshot_settings, temp_database, TempDatabase,
    TestDataFlow,
};
use rstest::rstest;
use serde_json::json;

// The fields are read through the generated nodes, never in Rust.
#[allow(dead_code)]
#[derive(Model)]
struct Author {
    id: i64,
    name: String,
}

#[dataflow_fixture]
fn authors(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    db.model::<Author>().unwrap();
    db
}

#[rstest]
fn the_registry_holds_the_ten_nodes_of_the_model(#[from(authors)] db: TestDataFlow) {
    // `instance_1`, whatever the instance's id and whatever other tests registered.
    assert_registry_snapshot!(&db);
}

#[rstest]
fn a_created_row_with_its_generated_id_and_timestamps_redacted(#[from(authors)] db: TestDataFlow) {
    let mut wf = db.workflow();
    wf.add_node("AuthorCreateNode", "create", json!({"name": "Ursula"}))
        .add_node("AuthorListNode", "list", json!({}));
    let (results, _run) = dataflow::blocking::LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .unwrap();
    snapshot_settings().bind(|| {
        insta::assert_json_snapshot!("created", results["create"]);
        insta::assert_json_snapshot!("listed", results["list"]);
    });
}
