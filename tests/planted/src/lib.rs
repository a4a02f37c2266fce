//! A test suite with one of each isolation bug planted in it. `cargo xtask isolation-check
//! --manifest-path tests/planted` must find exactly these, and nothing in `clean`:
//!
//! | module | bug | found by |
//! |---|---|---|
//! | [`registry`] | `polluter_keeps_widget_instance_in_a_static` makes `victim_counts_widgets_through_unbound_workflow` fail | the trace |
//! | [`shared_file`] | `polluter_writes_a_ledger_row_and_keeps_the_file` makes `victim_expects_an_empty_ledger` fail | bisection |
//! | [`state`] | `brittle_reads_the_theme_setting_registered_elsewhere` passes only after `setter_registers_setting_nodes` | the trace |
//! | [`leaks`] | `leaves_a_temp_file`, `forgets_an_instance_with_its_nodes` | their solo runs |
//! | [`latent`] | `reader_uses_tag_nodes_if_registered` resolves the nodes `writer_keeps_a_tag_instance_alive` leaves, and never fails | the trace |
//! | [`plain`] | `always_fails` | (a plain failure) |
//!
//! The registry polluter, the ledger polluter, the setter and the latent writer also leave
//! state behind, so each is a leaker too.

#![allow(missing_docs)]

use dataflow::{DataFlow, Model, NodeRegistry, WorkflowBuilder};

/// Until `dataflow-testing` installs the trace itself at start-up, install it here.
/// Installing twice is harmless.
#[ctor::ctor]
fn trace_registry_access() {
    dataflow_testing::trace::install_from_env();
}

#[derive(Model)]
pub struct Widget {
    pub id: String,
    pub label: String,
}

#[derive(Model)]
pub struct Setting {
    pub id: String,
    pub value: String,
}

#[derive(Model)]
pub struct Tag {
    pub id: String,
    pub name: String,
}

#[derive(Model)]
pub struct Orphan {
    pub id: String,
}

#[derive(Model)]
pub struct Note {
    pub id: String,
    pub text: String,
}

/// Runs one node through a workflow builder and returns its output.
pub fn run_one(
    mut builder: WorkflowBuilder,
    node_type: &str,
    params: serde_json::Value,
) -> dataflow::Result<serde_json::Value> {
    builder.add_node(node_type, "only", params);
    let workflow = builder.build()?;
    let (results, _run) = dataflow::blocking::LocalRuntime::new().execute(&workflow)?;
    Ok(results["only"].clone())
}

/// The "register once" helper a suite grows: registers `M` on `db` unless *some* instance
/// already did. After a test that leaked an instance, the nodes it finds are not `db`'s.
pub fn ensure_registered<M: Model>(db: &DataFlow, probe_node: &str) {
    if !NodeRegistry::global().contains(probe_node) {
        db.model::<M>().unwrap();
    }
}

#[cfg(test)]
mod clean;
#[cfg(test)]
mod latent;
#[cfg(test)]
mod leaks;
#[cfg(test)]
mod plain;
#[cfg(test)]
mod registry;
#[cfg(test)]
mod shared_file;
#[cfg(test)]
mod state;
