//! Workflow building, bound builders and the runtime.

use dataflow::{DataFlow, Error, LocalRuntime, WorkflowBuilder, WorkflowProblem};
use serde_json::json;

use crate::models::{Event, User};

fn users() -> DataFlow {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<User>().unwrap();
    db
}

#[tokio::test]
async fn connections_feed_outputs_into_inputs() {
    let db = users();
    let mut wf = db.workflow();
    wf.add_node(
        "UserCreateNode",
        "alice",
        json!({"id": "a", "name": "Alice", "active": true}),
    )
    .add_node(
        "UserCreateNode",
        "bob",
        json!({"id": "b", "name": "Bob", "active": false}),
    )
    .add_node(
        "UserListNode",
        "active",
        json!({"filter": {"active": true}}),
    )
    .add_node(
        "UserUpdateNode",
        "rename",
        json!({"fields": {"name": "Alice A."}}),
    )
    .add_node("PassthroughNode", "summary", json!({}))
    .add_connection("alice", "id", "rename", "filter.id")
    .add_connection("active", "records.0.name", "summary", "first_active")
    .add_connection("rename", "", "summary", "renamed");
    let workflow = wf.build().unwrap();
    let (results, run) = LocalRuntime::new().execute(&workflow).await.unwrap();
    assert_eq!(results["summary"]["first_active"], "Alice");
    assert_eq!(results["summary"]["renamed"]["name"], "Alice A.");
    assert_eq!(results["bob"]["active"], false);
    assert_eq!(results.len(), 5);
    assert!(run.to_string().starts_with("run_"));
    assert_eq!(results["nope"], serde_json::Value::Null);
}

#[test]
fn build_reports_every_problem_at_once() {
    let db = users();
    let mut wf = db.workflow();
    wf.add_node("UserCreatNode", "a", json!({}))
        .add_node("UserListNode", "a", json!({}))
        .add_node("UserListNode", "b", json!([1, 2]))
        .add_node("UserListNode", "c", json!({}))
        .add_node("UserListNode", "d", json!({}))
        .add_connection("a", "x", "ghost", "x")
        .add_connection("b", "x", "b", "x")
        .add_connection("c", "x", "d", "x")
        .add_connection("d", "x", "c", "x");
    let err = wf.build().unwrap_err();
    let Error::InvalidWorkflow(problems) = &err else {
        panic!("{err}")
    };
    assert!(
        problems.contains(&WorkflowProblem::DuplicateNodeId("a".into())),
        "{err}"
    );
    assert!(
        problems.contains(&WorkflowProblem::ParamsNotObject("b".into())),
        "{err}"
    );
    assert!(
        problems.contains(&WorkflowProblem::UnknownNodeId("ghost".into())),
        "{err}"
    );
    assert!(
        problems.contains(&WorkflowProblem::SelfLoop("b".into())),
        "{err}"
    );
    assert!(problems.iter().any(|p| matches!(p, WorkflowProblem::Cycle(ids) if ids.contains(&"c".to_owned()) && ids.contains(&"d".to_owned()))), "{err}");
    assert!(
        problems.iter().any(
            |p| matches!(p, WorkflowProblem::UnknownNodeType { name, suggestions, .. }
            if name == "UserCreatNode" && suggestions.contains(&"UserCreateNode".to_owned()))
        ),
        "{err}"
    );
    assert!(err.to_string().contains("did you mean"), "{err}");
}

#[test]
fn a_bound_builder_resolves_to_its_instance_and_falls_back_to_the_registry() {
    let a = users();
    let b = users();
    let mut wf = a.workflow();
    wf.add_node("UserListNode", "list", json!({}))
        .add_node("PassthroughNode", "p", json!({}));
    let workflow = wf.build().unwrap();
    assert_eq!(
        workflow.resolved_as("list").unwrap(),
        format!("UserListNode@{}", a.instance_id())
    );
    assert_eq!(workflow.resolved_as("p").unwrap(), "PassthroughNode");
    assert_eq!(wf.bound_instance(), Some(a.instance_id()));
    drop(b);
}

#[test]
fn a_failing_node_names_its_id_type_and_cause() {
    let db = users();
    let mut wf = db.workflow();
    wf.add_node("UserReadNode", "fetch", json!({"id": "missing"}));
    let err = dataflow::blocking::LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`fetch`") && text.contains("UserReadNode") && text.contains("not found"),
        "{text}"
    );
    assert!(matches!(err.root(), Error::NotFound { .. }));
}

#[test]
fn a_connection_from_a_missing_output_is_an_error_naming_it() {
    let db = users();
    let mut wf = db.workflow();
    wf.add_node("PassthroughNode", "a", json!({"x": 1}))
        .add_node("PassthroughNode", "b", json!({}))
        .add_connection("a", "y.z", "b", "in");
    let err = dataflow::blocking::LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("has no output `y.z`"), "{err}");
}

#[tokio::test]
async fn one_runtime_runs_many_workflows_at_once() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<Event>().unwrap();
    let runtime = LocalRuntime::new();
    let workflows: Vec<_> = (0..10)
        .map(|i| {
            let mut wf = db.workflow();
            wf.add_node(
                "EventCreateNode",
                "e",
                json!({"kind": format!("k{i}"), "score": 1.0, "count": i,
                "payload": null, "blob": [], "at": "2024-01-01T00:00:00Z"}),
            );
            wf.build().unwrap()
        })
        .collect();
    let tasks: Vec<_> = workflows
        .into_iter()
        .map(|wf| {
            let runtime = runtime.clone();
            tokio::spawn(async move { runtime.execute(&wf).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let mut list = WorkflowBuilder::new();
    list.add_node(
        &format!("EventListNode@{}", db.instance_id()),
        "l",
        json!({}),
    );
    let (results, _) = runtime.execute(&list.build().unwrap()).await.unwrap();
    assert_eq!(results["l"]["count"], 10);
}
