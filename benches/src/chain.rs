//! A chain of 100 `PassthroughNode`s, each fed the previous one's output, against the same
//! 100 function calls: the runtime's overhead per node.

use std::hint::black_box;
use std::time::Duration;

use dataflow::{Workflow, WorkflowBuilder};
use serde_json::{json, Map, Value};

use crate::harness::{timed, Workload};

/// How many nodes the chain has.
pub const CHAIN_NODES: usize = 100;

/// The chain: node `n0` has `{"x": 1}`, every next node takes `x` from the one before.
pub fn chain_workflow(nodes: usize) -> Workflow {
    let mut wf = WorkflowBuilder::new();
    for i in 0..nodes {
        let params = if i == 0 { json!({"x": 1}) } else { json!({}) };
        wf.add_node("PassthroughNode", &format!("n{i}"), params);
        if i > 0 {
            wf.add_connection(&format!("n{}", i - 1), "x", &format!("n{i}"), "x");
        }
    }
    wf.build().expect("the chain builds")
}

/// What `PassthroughNode` does, as a plain function.
fn passthrough(params: Map<String, Value>) -> Value {
    Value::Object(params)
}

/// The same chain as plain calls: each call's parameters are the step's own plus `x` from
/// the previous output, and every output is kept by node id, as the runtime's results are.
pub fn plain_chain(ids: &[String]) -> Map<String, Value> {
    let mut outputs: Vec<Value> = Vec::with_capacity(ids.len());
    for i in 0..ids.len() {
        let mut params = Map::new();
        if i == 0 {
            params.insert("x".to_owned(), json!(1));
        } else {
            params.insert("x".to_owned(), outputs[i - 1]["x"].clone());
        }
        outputs.push(black_box(passthrough as fn(_) -> _)(params));
    }
    ids.iter().cloned().zip(outputs).collect()
}

/// The chain run by the blocking runtime against the plain calls.
#[derive(Debug)]
pub struct Chain {
    workflow: Workflow,
    ids: Vec<String>,
    runtime: dataflow::blocking::LocalRuntime,
}

impl Chain {
    /// A chain of [`CHAIN_NODES`] nodes.
    pub fn new() -> Chain {
        Chain {
            workflow: chain_workflow(CHAIN_NODES),
            ids: (0..CHAIN_NODES).map(|i| format!("n{i}")).collect(),
            runtime: dataflow::blocking::LocalRuntime::new(),
        }
    }
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for Chain {
    fn ours(&mut self) -> Duration {
        let last = format!("n{}", CHAIN_NODES - 1);
        timed(|| {
            let (results, _run) = self
                .runtime
                .execute(&self.workflow)
                .expect("the chain runs");
            assert_eq!(results[last.as_str()]["x"], 1);
            black_box(results);
        })
    }

    fn baseline(&mut self) -> Duration {
        let last = format!("n{}", CHAIN_NODES - 1);
        timed(|| {
            let results = plain_chain(&self.ids);
            assert_eq!(results[&last]["x"], 1);
            black_box(results);
        })
    }
}
