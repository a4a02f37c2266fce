//! Two instances with the same model name stay isolated, on every backend.

use dataflow::{Backend, DataFlow, LocalRuntime, WorkflowBuilder};
use dataflow_integration_tests::{on_every_backend, TestDatabase};
use serde_json::json;

use crate::models::{run_node, User};

async fn pair(url: &str) -> (DataFlow, DataFlow, TestDatabase) {
    let other = TestDatabase::new(Backend::of_url(url).unwrap())
        .await
        .expect("the backend of `url` is configured");
    let a = DataFlow::new(url).unwrap();
    let b = DataFlow::new(other.url()).unwrap();
    a.model::<User>().unwrap();
    b.model::<User>().unwrap();
    (a, b, other)
}

fn names(list: &serde_json::Value) -> Vec<&str> {
    list["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect()
}

async fn two_instances_with_the_same_model_do_not_see_each_others_data(url: &str) {
    let (a, b, _other) = pair(url).await;
    run_node(
        &a,
        "UserCreateNode",
        json!({"id": "1", "name": "in a", "active": true}),
    )
    .await
    .unwrap();
    run_node(
        &b,
        "UserCreateNode",
        json!({"id": "1", "name": "in b", "active": true}),
    )
    .await
    .unwrap();
    assert_eq!(
        names(&run_node(&a, "UserListNode", json!({})).await.unwrap()),
        ["in a"]
    );
    assert_eq!(
        names(&run_node(&b, "UserListNode", json!({})).await.unwrap()),
        ["in b"]
    );

    // Qualified names from an unbound builder reach each instance exactly.
    let mut wf = WorkflowBuilder::new();
    wf.add_node(
        &format!("UserReadNode@{}", a.instance_id()),
        "a",
        json!({"id": "1"}),
    )
    .add_node(
        &format!("UserReadNode@{}", b.instance_id()),
        "b",
        json!({"id": "1"}),
    );
    let (results, _) = LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (results["a"]["name"].as_str(), results["b"]["name"].as_str()),
        (Some("in a"), Some("in b"))
    );

    // Cleaning up `b` leaves `a` working.
    assert_eq!(b.cleanup_nodes(), 10);
    assert_eq!(
        names(&run_node(&a, "UserListNode", json!({})).await.unwrap()),
        ["in a"]
    );
}

async fn a_workflow_built_before_another_registration_runs_against_its_own_instance(url: &str) {
    let other = TestDatabase::new(Backend::of_url(url).unwrap())
        .await
        .unwrap();
    let a = DataFlow::new(url).unwrap();
    a.model::<User>().unwrap();
    let mut wf = a.workflow();
    wf.add_node(
        "UserCreateNode",
        "create",
        json!({"id": "7", "name": "mine", "active": true}),
    );
    let built = wf.build().unwrap();

    let b = DataFlow::new(other.url()).unwrap();
    b.model::<User>().unwrap();
    LocalRuntime::new().execute(&built).await.unwrap();

    assert_eq!(
        names(&run_node(&a, "UserListNode", json!({})).await.unwrap()),
        ["mine"]
    );
    assert!(names(&run_node(&b, "UserListNode", json!({})).await.unwrap()).is_empty());
}

on_every_backend! {
    two_instances_with_the_same_model_do_not_see_each_others_data,
    a_workflow_built_before_another_registration_runs_against_its_own_instance,
}
