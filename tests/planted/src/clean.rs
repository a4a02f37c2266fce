//! Tests that are isolated: the check must report none of them.

use dataflow::DataFlow;
use serde_json::json;

use crate::{run_one, Note};

#[test]
fn bound_workflow_creates_and_reads_a_note() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<Note>().unwrap();
    run_one(
        db.workflow(),
        "NoteCreateNode",
        json!({"id": "n1", "text": "hi"}),
    )
    .unwrap();
    let note = run_one(db.workflow(), "NoteReadNode", json!({"id": "n1"})).unwrap();
    assert_eq!(note["text"], "hi");
}

#[test]
fn two_instances_keep_their_own_notes() {
    let a = DataFlow::new("sqlite::memory:").unwrap();
    let b = DataFlow::new("sqlite::memory:").unwrap();
    a.model::<Note>().unwrap();
    b.model::<Note>().unwrap();
    run_one(
        a.workflow(),
        "NoteCreateNode",
        json!({"id": "n1", "text": "in a"}),
    )
    .unwrap();
    let in_b = run_one(b.workflow(), "NoteListNode", json!({})).unwrap();
    assert_eq!(in_b["count"], 0);
}

#[test]
fn temp_file_is_removed_after_use() {
    let path = std::env::temp_dir().join(format!("planted-clean-{}.txt", std::process::id()));
    std::fs::write(&path, "scratch").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "scratch");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn arithmetic_still_works() {
    assert_eq!(2 + 2, 4);
}
