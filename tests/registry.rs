//! The scenarios of the design note: owners, cleanup, shadowing, instance ids.
//!
//! The registry is global and these tests run in parallel: every assertion looks at the
//! test's own instances (by owner or qualified name), never at the registry's total size.

use dataflow::{
    Collision, DataFlow, Error, FieldType, ModelSchema, NodeKind, NodeRegistry, Owner,
    WorkflowBuilder,
};
use serde_json::json;

use crate::models::{Event, User};

fn memory() -> DataFlow {
    DataFlow::new("sqlite::memory:").unwrap()
}

fn owned_by(db: &DataFlow) -> usize {
    NodeRegistry::global()
        .entries()
        .iter()
        .filter(|e| e.owner == Owner::Instance(db.instance_id()))
        .count()
}

#[test]
fn a_model_generates_ten_nodes_owned_by_its_instance() {
    let db = memory();
    db.model::<User>().unwrap();
    let expected: Vec<String> = NodeKind::GENERATED
        .iter()
        .map(|k| k.node_name("User"))
        .collect();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(db.nodes(), sorted);
    let entries: Vec<_> = NodeRegistry::global()
        .entries()
        .into_iter()
        .filter(|e| e.owner == Owner::Instance(db.instance_id()))
        .collect();
    assert_eq!(entries.len(), 10);
    assert!(entries.iter().all(|e| e.model.as_deref() == Some("User")));
    assert!(entries
        .iter()
        .any(|e| e.kind == NodeKind::BulkUpsert && e.name == "UserBulkUpsertNode"));
}

#[test]
fn cleanup_removes_ten_nodes_per_model_and_is_idempotent() {
    let db = memory();
    db.model::<User>().unwrap();
    db.model::<Event>().unwrap();
    assert_eq!(owned_by(&db), 20);
    assert_eq!(db.cleanup_nodes(), 20);
    assert_eq!(db.cleanup_nodes(), 0);
    assert_eq!(db.cleanup_nodes(), 0);
    assert!(db.nodes().is_empty());
    assert!(db.models().is_empty());
    // Forgotten locally too: the model can be registered again.
    db.model::<User>().unwrap();
    assert_eq!(db.cleanup_nodes(), 10);
}

#[test]
fn instance_ids_are_unique_and_start_with_df() {
    let ids: Vec<String> = (0..100)
        .map(|_| memory().instance_id().to_string())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        100,
        "no id is reused, even after its instance is dropped"
    );
    assert!(ids.iter().all(|id| id.starts_with("df_")));
    assert_eq!(
        ids[0].parse::<dataflow::InstanceId>().unwrap().to_string(),
        ids[0]
    );
}

#[test]
fn cleaning_one_instance_leaves_anothers_same_named_nodes() {
    let a = memory();
    let b = memory();
    a.model::<User>().unwrap();
    b.model::<User>().unwrap();
    assert_eq!(b.cleanup_nodes(), 10);
    let registry = NodeRegistry::global();
    assert!(registry.contains(&format!("UserCreateNode@{}", a.instance_id())));
    assert!(!registry.contains(&format!("UserCreateNode@{}", b.instance_id())));
    assert_eq!(owned_by(&a), 10);
}

/// A model name no other test uses, so unqualified lookups are deterministic here.
fn probe_schema() -> ModelSchema {
    ModelSchema::new("ShadowProbe").field("id", FieldType::String)
}

fn resolves_to(name: &str) -> String {
    let mut wf = WorkflowBuilder::new();
    wf.add_node(name, "n", json!({}));
    wf.build().unwrap().resolved_as("n").unwrap().to_owned()
}

#[test]
fn removing_the_newest_registration_uncovers_the_previous_one() {
    let a = memory();
    let b = memory();
    a.register_model(probe_schema()).unwrap();
    b.register_model(probe_schema()).unwrap();
    assert_eq!(
        resolves_to("ShadowProbeReadNode"),
        format!("ShadowProbeReadNode@{}", b.instance_id())
    );
    assert_eq!(b.cleanup_nodes(), 10);
    assert_eq!(
        resolves_to("ShadowProbeReadNode"),
        format!("ShadowProbeReadNode@{}", a.instance_id())
    );
    b.register_model(probe_schema()).unwrap();
    drop(b);
    assert_eq!(
        resolves_to("ShadowProbeReadNode"),
        format!("ShadowProbeReadNode@{}", a.instance_id())
    );
    drop(a);
    assert!(!NodeRegistry::global().contains("ShadowProbeReadNode"));
}

#[test]
fn dropping_the_last_handle_cleans_up() {
    let db = memory();
    db.model::<User>().unwrap();
    let id = db.instance_id();
    let clone = db.clone();
    drop(db);
    assert!(
        NodeRegistry::global().contains(&format!("UserReadNode@{id}")),
        "a clone keeps the instance"
    );
    drop(clone);
    assert!(!NodeRegistry::global().contains(&format!("UserReadNode@{id}")));
}

#[test]
fn registry_entries_do_not_keep_an_instance_alive() {
    let db = memory();
    db.model::<User>().unwrap();
    let id = db.instance_id();
    let node = NodeRegistry::global()
        .get(&format!("UserCreateNode@{id}"))
        .unwrap();
    let mut wf = db.workflow();
    wf.add_node("UserListNode", "list", serde_json::json!({}));
    let workflow = wf.build().unwrap();
    drop(db);
    assert!(!NodeRegistry::global().contains(&format!("UserCreateNode@{id}")));

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = rt.block_on(node.run(serde_json::Map::new())).unwrap_err();
    assert!(
        matches!(&err, Error::InstanceGone { instance, .. } if *instance == id),
        "{err}"
    );
    let err = dataflow::blocking::LocalRuntime::new()
        .execute(&workflow)
        .unwrap_err();
    assert!(
        matches!(&err, Error::NodeFailed { node_id, .. } if node_id == "list"),
        "{err}"
    );
    assert!(matches!(err.root(), Error::InstanceGone { .. }), "{err}");
    assert!(err.to_string().contains("has been dropped"), "{err}");
}

#[test]
fn the_same_model_twice_on_one_instance_is_an_error() {
    let db = memory();
    db.model::<User>().unwrap();
    let err = db.model::<User>().unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateModel { model, .. } if model == "User"),
        "{err}"
    );
    assert_eq!(owned_by(&db), 10, "the first registration is untouched");
}

#[test]
fn collision_error_refuses_a_name_another_live_instance_holds() {
    let a = memory();
    a.model::<Event>().unwrap();
    let b = DataFlow::builder("sqlite::memory:")
        .on_collision(Collision::Error)
        .build()
        .unwrap();
    let err = b.model::<Event>().unwrap_err();
    assert!(matches!(&err, Error::Collision { .. }), "{err}");
    assert_eq!(owned_by(&b), 0, "nothing was registered");
    assert!(b.models().is_empty());
    drop(a);
    // Another test may hold `Event` too; retry until our instance registers or that one ends.
    let mut outcome = b.model::<Event>();
    for _ in 0..200 {
        if outcome.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        outcome = b.model::<Event>();
    }
    outcome.unwrap();
    assert_eq!(owned_by(&b), 10);
}

#[test]
fn qualified_names_reach_each_entry_exactly() {
    let a = memory();
    let b = memory();
    a.model::<User>().unwrap();
    b.model::<User>().unwrap();
    let registry = NodeRegistry::global();
    let qa = registry
        .get(&format!("UserCreateNode@{}", a.instance_id()))
        .unwrap();
    let qb = registry
        .get(&format!("UserCreateNode@{}", b.instance_id()))
        .unwrap();
    assert!(!std::sync::Arc::ptr_eq(&qa, &qb));
    assert!(registry.get("UserCreateNode@df_0").is_none());
    assert!(
        registry.list_nodes().windows(2).all(|w| w[0] < w[1]),
        "sorted and unique"
    );
}

/// Tests that must run alone: `#[serial(dataflow_registry)]` under `cargo test`, and the
/// `exclusive` test group of `.config/nextest.toml` under nextest.
mod exclusive {
    #[test]
    #[serial_test::serial(dataflow_registry)]
    fn the_serial_key_the_docs_recommend_is_exported() {
        // `#[serial(dataflow_registry)]` and REGISTRY_SERIAL_KEY name the same lock.
        assert!(serial_test::is_locked_serially(Some(
            dataflow_testing::REGISTRY_SERIAL_KEY
        )));
    }
}
