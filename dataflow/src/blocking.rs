//! Blocking versions of the async API, for synchronous code (the reqwest convention).
//!
//! ```
//! use dataflow::WorkflowBuilder;
//! use serde_json::json;
//!
//! let mut wf = WorkflowBuilder::new();
//! wf.add_node("PassthroughNode", "n", json!({"ok": true}));
//! let (results, _run) = dataflow::blocking::LocalRuntime::new().execute(&wf.build()?)?;
//! assert_eq!(results["n"]["ok"], true);
//! # Ok::<(), dataflow::Error>(())
//! ```

use crate::db::engine;
use crate::error::Result;
use crate::runtime::{self, Results, RunId};
use crate::workflow::Workflow;

/// Runs workflows from synchronous code: [`execute`](Self::execute) blocks until the run
/// is done. The work itself runs on the crate's engine, so this works inside or outside a
/// tokio runtime (inside one, it blocks that thread; prefer the async
/// [`crate::LocalRuntime`] there).
#[derive(Debug, Clone, Default)]
pub struct LocalRuntime {
    _private: (),
}

impl LocalRuntime {
    /// A runtime.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `workflow` and waits for it. See [`crate::LocalRuntime::execute`].
    pub fn execute(&self, workflow: &Workflow) -> Result<(Results, RunId)> {
        engine::block_on(runtime::run(workflow.clone()))
    }
}
