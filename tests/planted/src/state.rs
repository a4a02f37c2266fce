//! A brittle test and its state-setter: the brittle test uses `Setting*` nodes it never
//! registers, so it fails alone and passes only after the setter left them behind.

use std::sync::OnceLock;

use dataflow::{DataFlow, WorkflowBuilder};
use serde_json::json;

use crate::{run_one, Setting};

static SETTINGS: OnceLock<DataFlow> = OnceLock::new();

#[test]
fn setter_registers_setting_nodes() {
    let db = SETTINGS.get_or_init(|| {
        let db = DataFlow::new("sqlite::memory:").unwrap();
        db.model::<Setting>().unwrap();
        db
    });
    run_one(
        db.workflow(),
        "SettingCreateNode",
        json!({"id": "theme", "value": "dark"}),
    )
    .unwrap();
}

#[test]
fn brittle_reads_the_theme_setting_registered_elsewhere() {
    let theme = run_one(
        WorkflowBuilder::new(),
        "SettingReadNode",
        json!({"id": "theme"}),
    )
    .expect("the Setting nodes and the theme row exist");
    assert_eq!(theme["value"], "dark");
}
