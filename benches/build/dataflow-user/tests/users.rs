//! Three tests on the `dataflow_db` fixture.

use dataflow::blocking::LocalRuntime;
use dataflow_testing::{dataflow_db, TestDataFlow};
use dataflow_user::User;
use rstest::rstest;
use serde_json::json;

fn run(db: &TestDataFlow, node: &str, params: serde_json::Value) -> serde_json::Value {
    db.model::<User>().ok();
    let mut wf = db.workflow();
    wf.add_node(node, "step", params);
    let (results, _run) = LocalRuntime::new().execute(&wf.build().unwrap()).unwrap();
    results["step"].clone()
}

#[rstest]
fn creates_a_user(dataflow_db: TestDataFlow) {
    let row = run(
        &dataflow_db,
        "UserCreateNode",
        json!({"id": "u1", "name": "Ann", "age": 30}),
    );
    assert_eq!(row["name"], "Ann");
}

#[rstest]
fn reads_a_user(dataflow_db: TestDataFlow) {
    run(
        &dataflow_db,
        "UserCreateNode",
        json!({"id": "u1", "name": "Ann", "age": 30}),
    );
    let row = run(&dataflow_db, "UserReadNode", json!({"id": "u1"}));
    assert_eq!(row["age"], 30);
}

#[rstest]
fn lists_users(dataflow_db: TestDataFlow) {
    for (id, name) in [("u1", "Ann"), ("u2", "Bob")] {
        run(
            &dataflow_db,
            "UserCreateNode",
            json!({"id": id, "name": name, "age": 30}),
        );
    }
    let list = run(&dataflow_db, "UserListNode", json!({"order_by": "name"}));
    assert_eq!(list["count"], 2);
}
