//! A polluter and its victim through the registry: the polluter keeps an instance in a
//! static, so its `Widget*` nodes stay registered; the victim's "register once" helper
//! then skips its own registration and its unbound workflow runs on the polluter's
//! database. The trace shows the victim resolving the polluter's entries.

use std::sync::OnceLock;

use dataflow::{DataFlow, WorkflowBuilder};
use serde_json::json;

use crate::{ensure_registered, run_one, Widget};

/// A "shared fixture" cached in a static: it outlives the test that made it.
static WIDGETS: OnceLock<DataFlow> = OnceLock::new();

#[test]
fn polluter_keeps_widget_instance_in_a_static() {
    let db = WIDGETS.get_or_init(|| {
        let db = DataFlow::new("sqlite::memory:").unwrap();
        db.model::<Widget>().unwrap();
        db
    });
    let row = run_one(
        db.workflow(),
        "WidgetCreateNode",
        json!({"id": "w-polluter", "label": "left behind"}),
    )
    .unwrap();
    assert_eq!(row["id"], "w-polluter");
}

#[test]
fn victim_counts_widgets_through_unbound_workflow() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    ensure_registered::<Widget>(&db, "WidgetCreateNode");
    run_one(
        WorkflowBuilder::new(),
        "WidgetCreateNode",
        json!({"id": "w-victim", "label": "mine"}),
    )
    .unwrap();
    let list = run_one(WorkflowBuilder::new(), "WidgetListNode", json!({})).unwrap();
    assert_eq!(
        list["count"], 1,
        "expected only this test's widget, found {}",
        list["records"]
    );
}
