//! `#[dataflow_fixture]` at run time: a fixture received by `#[rstest]` tests, sync and
//! async. (Its compile-time behaviour is tested with trybuild in the `trybuild/` crate,
//! `tests/fixture/`.)

use dataflow::{DataFlow, LocalRuntime, Model, NodeRegistry};
use dataflow_testing::{dataflow_fixture, temp_database, TempDatabase, TestDataFlow};
use rstest::rstest;
use serde_json::json;

#[derive(Model)]
#[allow(dead_code)] // only its schema is used
struct User {
    id: String,
    name: String,
}

#[dataflow_fixture]
fn users_db(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    db.model::<User>().unwrap();
    db
}

#[rstest]
fn a_test_receives_the_fixture_as_a_guard_on_its_own_instance(#[from(users_db)] db: TestDataFlow) {
    let qualified = format!("UserCreateNode@{}", db.instance_id());
    assert!(NodeRegistry::global().contains(&qualified));

    let mut wf = db.workflow();
    wf.add_node(
        "UserCreateNode",
        "create",
        json!({"id": "user-1", "name": "Alice"}),
    );
    let (results, _run) = dataflow::blocking::LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .unwrap();
    assert_eq!(results["create"]["id"], "user-1");
}

#[rstest]
#[tokio::test]
async fn an_async_test_receives_it_too(#[from(users_db)] db: TestDataFlow) {
    let mut wf = db.workflow();
    wf.add_node(
        "UserCreateNode",
        "create",
        json!({"id": "user-2", "name": "Bob"}),
    );
    let (results, _run) = LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .await
        .unwrap();
    assert_eq!(results["create"]["name"], "Bob");
}
