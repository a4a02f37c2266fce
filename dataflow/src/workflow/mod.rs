//! Building workflows: [`WorkflowBuilder`] checks a graph of nodes and resolves every node
//! type once, at `build()`.

mod graph;

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::error::{Error, Result, WorkflowProblem};
use crate::node::{Node, Params};
use crate::registry::{InstanceId, NodeRegistry, Owner};

/// Collects nodes and connections; [`build`](Self::build) checks them all at once.
///
/// ```
/// use dataflow::{LocalRuntime, WorkflowBuilder};
/// use serde_json::json;
///
/// let mut wf = WorkflowBuilder::new();
/// wf.add_node("PassthroughNode", "a", json!({"greeting": "hi"}))
///   .add_node("PassthroughNode", "b", json!({}))
///   .add_connection("a", "greeting", "b", "message");
/// let workflow = wf.build()?;
///
/// let (results, _run) = dataflow::blocking::LocalRuntime::new().execute(&workflow)?;
/// assert_eq!(results["b"]["message"], "hi");
/// # Ok::<(), dataflow::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `.build()`"]
pub struct WorkflowBuilder {
    bound: Option<InstanceId>,
    nodes: Vec<NodeDecl>,
    connections: Vec<Connection>,
}

#[derive(Debug, Clone)]
struct NodeDecl {
    node_type: String,
    id: String,
    params: Value,
}

/// `from.output -> to.input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Connection {
    pub(crate) from: String,
    pub(crate) output: String,
    pub(crate) to: String,
    pub(crate) input: String,
}

impl WorkflowBuilder {
    /// A builder whose short names resolve to the newest registration of each name.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder whose short names resolve to `instance`'s nodes first.
    pub(crate) fn bound_to(instance: InstanceId) -> Self {
        WorkflowBuilder {
            bound: Some(instance),
            ..Self::default()
        }
    }

    /// The instance this builder is bound to, if any.
    pub fn bound_instance(&self) -> Option<InstanceId> {
        self.bound
    }

    /// Adds node `id` of type `node_type` (a short name such as `"UserCreateNode"`, or a
    /// qualified one such as `"UserCreateNode@df_7"`) with its parameters (a JSON object).
    pub fn add_node(&mut self, node_type: &str, id: &str, params: Value) -> &mut Self {
        self.nodes.push(NodeDecl {
            node_type: node_type.to_owned(),
            id: id.to_owned(),
            params,
        });
        self
    }

    /// Feeds the output of node `from` at path `output` (a key, or a dotted path such as
    /// `"records.0.id"`; `""` for the whole output) into parameter `input` of node `to` (a
    /// key, or a dotted path that nests objects).
    pub fn add_connection(&mut self, from: &str, output: &str, to: &str, input: &str) -> &mut Self {
        self.connections.push(Connection {
            from: from.to_owned(),
            output: output.to_owned(),
            to: to.to_owned(),
            input: input.to_owned(),
        });
        self
    }

    /// Checks the graph and resolves every node type. Every problem is reported at once in
    /// [`Error::InvalidWorkflow`]: duplicate ids, connections naming unknown ids, self-loops,
    /// cycles, parameters that are not objects, unknown node types (with suggestions).
    pub fn build(&self) -> Result<Workflow> {
        let registry = NodeRegistry::global();
        let mut problems = Vec::new();
        let mut resolved = Vec::with_capacity(self.nodes.len());
        for (i, decl) in self.nodes.iter().enumerate() {
            if self.nodes[..i].iter().any(|d| d.id == decl.id) {
                problems.push(WorkflowProblem::DuplicateNodeId(decl.id.clone()));
            }
            let params = match &decl.params {
                Value::Object(params) => params.clone(),
                Value::Null => Params::new(),
                _ => {
                    problems.push(WorkflowProblem::ParamsNotObject(decl.id.clone()));
                    Params::new()
                }
            };
            match self.resolve(registry, &decl.node_type) {
                Some((resolved_as, node)) => resolved.push(Some((resolved_as, node, params))),
                None => {
                    problems.push(WorkflowProblem::UnknownNodeType {
                        node_id: decl.id.clone(),
                        name: decl.node_type.clone(),
                        suggestions: registry.suggestions(&decl.node_type),
                    });
                    resolved.push(None);
                }
            }
        }
        let ids: Vec<&str> = self.nodes.iter().map(|d| d.id.as_str()).collect();
        let order = graph::check(&ids, &self.connections, &mut problems);
        if !problems.is_empty() {
            return Err(Error::InvalidWorkflow(problems));
        }
        let mut steps: Vec<Option<Step>> = self
            .nodes
            .iter()
            .zip(resolved)
            .map(|(decl, resolved)| {
                let (resolved_as, node, params) = resolved.expect("unresolved nodes were reported");
                Some(Step {
                    id: decl.id.clone(),
                    resolved_as,
                    node,
                    params,
                    inputs: Vec::new(),
                })
            })
            .collect();
        // Order the steps, then point each input at its source's position in that order.
        let position_of = |id: &str| {
            order
                .iter()
                .position(|&i| ids[i] == id)
                .expect("checked ids")
        };
        let mut ordered: Vec<Step> = order
            .iter()
            .map(|&i| steps[i].take().expect("each once"))
            .collect();
        for c in &self.connections {
            let source = position_of(&c.from);
            ordered[position_of(&c.to)].inputs.push(Input {
                source,
                output: c.output.clone(),
                input: c.input.clone(),
            });
        }
        Ok(Workflow {
            steps: Arc::from(ordered),
        })
    }

    /// The node a type name resolves to here, with the exact name it resolved as.
    fn resolve(&self, registry: &NodeRegistry, name: &str) -> Option<(String, Arc<dyn Node>)> {
        if let Some(instance) = self.bound.filter(|_| !name.contains('@')) {
            let qualified = format!("{name}@{instance}");
            if let Some(found) = registry.resolve(&qualified) {
                return Some((qualified, found.node));
            }
        }
        let found = registry.resolve(name)?;
        let resolved_as = match (found.owner, name.contains('@')) {
            (Owner::Instance(id), false) => format!("{name}@{id}"),
            _ => name.to_owned(),
        };
        Some((resolved_as, found.node))
    }
}

/// A checked workflow, its node types resolved. Cheap to clone; registrations made after
/// `build()` do not change it, and it does not keep any instance alive.
#[derive(Clone)]
pub struct Workflow {
    pub(crate) steps: Arc<[Step]>,
}

pub(crate) struct Step {
    pub(crate) id: String,
    pub(crate) resolved_as: String,
    pub(crate) node: Arc<dyn Node>,
    pub(crate) params: Params,
    pub(crate) inputs: Vec<Input>,
}

pub(crate) struct Input {
    /// Position of the source step in execution order (always before this step).
    pub(crate) source: usize,
    pub(crate) output: String,
    pub(crate) input: String,
}

impl Workflow {
    /// The node ids in the order they run.
    pub fn node_ids(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.id.as_str()).collect()
    }

    /// The exact registry entry node `id` was resolved to at `build()`, e.g.
    /// `"UserCreateNode@df_7"` (a plain name for static nodes).
    pub fn resolved_as(&self, id: &str) -> Option<&str> {
        self.steps
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.resolved_as.as_str())
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the workflow has no nodes.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl fmt::Debug for Workflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.steps
                    .iter()
                    .map(|s| format!("{} ({})", s.id, s.resolved_as)),
            )
            .finish()
    }
}
