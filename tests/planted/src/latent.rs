//! A latent cross-test access: the reader's "register once" helper picks up the `Tag*`
//! nodes the writer left behind and creates its tag in the writer's database. Its
//! assertion holds either way, so no order makes it fail; only the trace shows it.

use std::sync::OnceLock;

use dataflow::{DataFlow, WorkflowBuilder};
use serde_json::json;

use crate::{ensure_registered, run_one, Tag};

static TAGS: OnceLock<DataFlow> = OnceLock::new();

#[test]
fn writer_keeps_a_tag_instance_alive() {
    let db = TAGS.get_or_init(|| {
        let db = DataFlow::new("sqlite::memory:").unwrap();
        db.model::<Tag>().unwrap();
        db
    });
    run_one(
        db.workflow(),
        "TagCreateNode",
        json!({"id": "t-writer", "name": "writer"}),
    )
    .unwrap();
}

#[test]
fn reader_uses_tag_nodes_if_registered() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    ensure_registered::<Tag>(&db, "TagCreateNode");
    let tag = run_one(
        WorkflowBuilder::new(),
        "TagCreateNode",
        json!({"id": "t-reader", "name": "reader"}),
    )
    .unwrap();
    assert_eq!(tag["id"], "t-reader");
}
