//! The [`Node`] trait: one step of a workflow.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use crate::error::Result;

/// The parameters a node receives: a JSON object.
pub type Params = Map<String, Value>;

/// The future a node returns.
pub type NodeFuture<'a> = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

/// One unit of work in a workflow: takes a JSON object of parameters, returns a JSON value.
///
/// Generated model nodes implement it; so can your own nodes:
///
/// ```
/// use dataflow::{Node, NodeFuture, Params};
/// use serde_json::{json, Value};
///
/// struct Greet;
///
/// impl Node for Greet {
///     fn run(&self, params: Params) -> NodeFuture<'_> {
///         Box::pin(async move {
///             let name = params.get("name").and_then(Value::as_str).unwrap_or("world");
///             Ok(json!({ "greeting": format!("hello, {name}") }))
///         })
///     }
/// }
/// ```
pub trait Node: Send + Sync + 'static {
    /// Runs the node once.
    fn run(&self, params: Params) -> NodeFuture<'_>;

    /// Runs the node once on parameters it borrows. A workflow runs a step this way when no
    /// connection feeds it, so that its parameters (a bulk node's thousands of rows, say)
    /// are not copied for each run. The default copies them for [`run`](Self::run);
    /// override it when the node can work from a borrow.
    fn run_ref<'a>(&'a self, params: &'a Params) -> NodeFuture<'a> {
        self.run(params.clone())
    }
}

impl fmt::Debug for dyn Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Node")
    }
}

/// What a registry entry does: one of the ten generated operations, or anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[non_exhaustive]
pub enum NodeKind {
    /// `{Model}CreateNode`.
    Create,
    /// `{Model}ReadNode`.
    Read,
    /// `{Model}UpdateNode`.
    Update,
    /// `{Model}DeleteNode`.
    Delete,
    /// `{Model}ListNode`.
    List,
    /// `{Model}UpsertNode`.
    Upsert,
    /// `{Model}BulkCreateNode`.
    BulkCreate,
    /// `{Model}BulkUpdateNode`.
    BulkUpdate,
    /// `{Model}BulkDeleteNode`.
    BulkDelete,
    /// `{Model}BulkUpsertNode`.
    BulkUpsert,
    /// Any node that is not generated from a model.
    Custom,
}

impl NodeKind {
    /// The ten kinds generated for every model, in the order they are registered.
    pub const GENERATED: [NodeKind; 10] = [
        NodeKind::Create,
        NodeKind::Read,
        NodeKind::Update,
        NodeKind::Delete,
        NodeKind::List,
        NodeKind::Upsert,
        NodeKind::BulkCreate,
        NodeKind::BulkUpdate,
        NodeKind::BulkDelete,
        NodeKind::BulkUpsert,
    ];

    /// The part of a generated node's name after the model, e.g. `"BulkCreate"`.
    pub fn operation(self) -> &'static str {
        match self {
            NodeKind::Create => "Create",
            NodeKind::Read => "Read",
            NodeKind::Update => "Update",
            NodeKind::Delete => "Delete",
            NodeKind::List => "List",
            NodeKind::Upsert => "Upsert",
            NodeKind::BulkCreate => "BulkCreate",
            NodeKind::BulkUpdate => "BulkUpdate",
            NodeKind::BulkDelete => "BulkDelete",
            NodeKind::BulkUpsert => "BulkUpsert",
            NodeKind::Custom => "Custom",
        }
    }

    /// The generated node name for `model`, e.g. `"UserCreateNode"`.
    pub fn node_name(self, model: &str) -> String {
        format!("{model}{}Node", self.operation())
    }
}
