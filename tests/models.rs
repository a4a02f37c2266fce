//! Models shared by the tests.

use dataflow::Model;

/// A model with caller-supplied string ids.
#[derive(Model, Debug, Clone, PartialEq, serde::Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub age: Option<i32>,
    pub active: bool,
}

/// A model with auto-increment ids and every other field type.
#[derive(Model, Debug, Clone, PartialEq, serde::Deserialize)]
#[dataflow(table = "event_log")]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub score: f64,
    pub count: i64,
    pub payload: serde_json::Value,
    pub blob: Vec<u8>,
    pub at: chrono::DateTime<chrono::Utc>,
    pub local: Option<chrono::NaiveDateTime>,
}

/// Runs one node of `db` in a workflow of its own; returns its output.
pub async fn run_node(
    db: &dataflow::DataFlow,
    node: &str,
    params: serde_json::Value,
) -> dataflow::Result<serde_json::Value> {
    let mut wf = db.workflow();
    wf.add_node(node, "n", params);
    let (mut results, _run) = dataflow::LocalRuntime::new().execute(&wf.build()?).await?;
    Ok(results_take(&mut results))
}

fn results_take(results: &mut dataflow::Results) -> serde_json::Value {
    std::mem::take(results)
        .into_map()
        .remove("n")
        .expect("node n ran")
}
