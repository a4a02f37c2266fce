//! [`LocalRuntime`]: runs a [`Workflow`] node by node.

use std::fmt;
use std::future::Future;
use std::ops::Index;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};
use tracing::instrument::{Instrument, WithSubscriber};

use crate::db::engine;
use crate::error::{Error, Result};
use crate::workflow::{Step, Workflow};

/// Runs workflows. One runtime runs any number of workflows, one after another or at once.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dataflow::Result<()> {
/// use dataflow::{LocalRuntime, WorkflowBuilder};
/// use serde_json::json;
///
/// let mut wf = WorkflowBuilder::new();
/// wf.add_node("PassthroughNode", "only", json!({"x": 1}));
/// let (results, run) = LocalRuntime::new().execute(&wf.build()?).await?;
/// assert_eq!(results["only"]["x"], 1);
/// assert!(run.to_string().starts_with("run_"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct LocalRuntime {
    _private: (),
}

impl LocalRuntime {
    /// A runtime.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `workflow`, each node after the nodes it reads from. A failing node stops the
    /// run with [`Error::NodeFailed`], which names the node id, its type and the cause.
    pub async fn execute(&self, workflow: &Workflow) -> Result<(Results, RunId)> {
        let workflow = workflow.clone();
        engine::run(run(workflow)).await
    }
}

/// The run of `workflow`, traced: a `workflow` span (run id, node count) in the caller's
/// current span and subscriber, wherever the engine polls it, and in it a `node` span per
/// step (node id, the node type it resolved to, and the rows it reports).
pub(crate) fn run(
    workflow: Workflow,
) -> impl Future<Output = Result<(Results, RunId)>> + Send + 'static {
    let run_id = RunId::next();
    let span = tracing::info_span!("workflow", run = %run_id, nodes = workflow.steps.len());
    run_steps(workflow, run_id)
        .instrument(span)
        .with_current_subscriber()
}

async fn run_steps(workflow: Workflow, run_id: RunId) -> Result<(Results, RunId)> {
    let mut outputs: Vec<Value> = Vec::with_capacity(workflow.steps.len());
    for step in workflow.steps.iter() {
        let span = tracing::debug_span!(
            "node",
            id = %step.id,
            node_type = %step.resolved_as,
            rows = tracing::field::Empty,
        );
        let output = async {
            if step.inputs.is_empty() {
                // Nothing to apply: the node borrows the step's own parameters.
                step.node.run_ref(&step.params).await
            } else {
                let params = inputs(step, &workflow, &outputs)?;
                step.node.run(params).await
            }
        }
        .instrument(span.clone())
        .await
        .map_err(|e| failed(step, e))?;
        if let Some(rows) = rows(&output) {
            span.record("rows", rows);
        }
        outputs.push(output);
    }
    let results = workflow
        .steps
        .iter()
        .map(|s| s.id.clone())
        .zip(outputs)
        .collect();
    Ok((Results(results), run_id))
}

/// The rows a node's output reports: `processed` of a bulk node, `count` of a list.
fn rows(output: &Value) -> Option<u64> {
    ["processed", "count"]
        .iter()
        .find_map(|key| output.get(key).and_then(Value::as_u64))
}

fn failed(step: &Step, source: Error) -> Error {
    Error::NodeFailed {
        node_id: step.id.clone(),
        node_type: step.resolved_as.clone(),
        source: Box::new(source),
    }
}

/// The step's parameters with its connections applied.
fn inputs(step: &Step, workflow: &Workflow, outputs: &[Value]) -> Result<Map<String, Value>> {
    let mut params = step.params.clone();
    for input in &step.inputs {
        let source = &workflow.steps[input.source];
        let value = lookup(&outputs[input.source], &input.output).ok_or_else(|| {
            Error::invalid_param(
                &input.input,
                format!("node `{}` has no output `{}`", source.id, input.output),
            )
        })?;
        set_path(&mut params, &input.input, value.clone());
    }
    Ok(params)
}

/// The value at a dotted path (`"records.0.id"`); `""` is the whole value.
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Sets `params[a][b] = value` for the path `"a.b"`, making objects on the way.
fn set_path(params: &mut Map<String, Value>, path: &str, value: Value) {
    let mut keys = path.split('.').peekable();
    let mut map = params;
    while let Some(key) = keys.next() {
        if keys.peek().is_none() {
            map.insert(key.to_owned(), value);
            return;
        }
        let slot = map
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        map = slot.as_object_mut().expect("made an object above");
    }
}

/// The id of one run, displayed `run_<n>`: unique in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(u64);

impl RunId {
    fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        RunId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "run_{}", self.0)
    }
}

/// The output of each node of a run, by node id: `results["create"]["id"]`.
///
/// Indexing with an id that did not run gives `Value::Null`, as `serde_json` does.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Results(Map<String, Value>);

impl Results {
    /// The output of node `id`.
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.0.get(id)
    }

    /// The outputs, by node id.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }

    /// How many nodes ran.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no node ran.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The outputs as a JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

impl Index<&str> for Results {
    type Output = Value;

    fn index(&self, id: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.0.get(id).unwrap_or(&NULL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_into_objects_and_arrays() {
        let v = json!({"records": [{"id": 7}], "count": 1});
        assert_eq!(lookup(&v, "records.0.id"), Some(&json!(7)));
        assert_eq!(lookup(&v, ""), Some(&v));
        assert_eq!(lookup(&v, "records.1.id"), None);
        assert_eq!(lookup(&v, "count.x"), None);
    }

    #[test]
    fn dotted_inputs_nest() {
        let mut params = Map::new();
        set_path(&mut params, "filter.id", json!(3));
        set_path(&mut params, "limit", json!(1));
        assert_eq!(
            Value::Object(params),
            json!({"filter": {"id": 3}, "limit": 1})
        );
    }
}
