//! Built-in nodes, registered with [`Owner::Static`](crate::Owner::Static) at start-up.

use std::sync::Arc;

use serde_json::Value;

use crate::node::{Node, NodeFuture, Params};

/// `PassthroughNode`: returns its parameters (after connections are applied) unchanged.
/// Useful to gather values from several nodes, and as the cheapest possible node.
struct Passthrough;

impl Node for Passthrough {
    fn run(&self, params: Params) -> NodeFuture<'_> {
        Box::pin(std::future::ready(Ok(Value::Object(params))))
    }
}

/// The built-in nodes with their names.
pub(crate) fn all() -> Vec<(&'static str, Arc<dyn Node>)> {
    vec![("PassthroughNode", Arc::new(Passthrough))]
}
