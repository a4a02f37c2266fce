//! Model-based property test of the registry: random sequences of create, register (and so
//! shadow), cleanup, drop and lookup across several instances, checked against a reference
//! model: a list of registrations, oldest first.

use std::sync::atomic::{AtomicUsize, Ordering};

use dataflow::{DataFlow, Error, FieldType, ModelSchema, NodeRegistry, WorkflowBuilder};
use proptest::prelude::*;

const SLOTS: usize = 4;

#[derive(Debug, Clone, Copy)]
enum Op {
    Create(usize),
    Register(usize),
    Cleanup(usize),
    Drop(usize),
    Lookup,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..SLOTS).prop_map(Op::Create),
        3 => (0..SLOTS).prop_map(Op::Register),
        1 => (0..SLOTS).prop_map(Op::Cleanup),
        1 => (0..SLOTS).prop_map(Op::Drop),
        2 => Just(Op::Lookup),
    ]
}

/// The reference: which slots hold the model, in registration order.
#[derive(Default)]
struct Reference {
    registered: Vec<usize>,
}

impl Reference {
    fn register(&mut self, slot: usize) -> bool {
        if self.registered.contains(&slot) {
            return false;
        }
        self.registered.push(slot);
        true
    }

    fn remove(&mut self, slot: usize) -> usize {
        let before = self.registered.len();
        self.registered.retain(|s| *s != slot);
        (before - self.registered.len()) * 10
    }

    fn visible(&self) -> Option<usize> {
        self.registered.last().copied()
    }
}

fn resolves_to(name: &str) -> Option<String> {
    let mut wf = WorkflowBuilder::new();
    wf.add_node(name, "n", serde_json::json!({}));
    wf.build()
        .ok()
        .map(|w| w.resolved_as("n").unwrap().to_owned())
}

fn check(ops: &[Op], model: &str) -> Result<(), TestCaseError> {
    let schema = ModelSchema::new(model).field("id", FieldType::String);
    let node = format!("{model}ReadNode");
    let mut slots: Vec<Option<DataFlow>> = vec![None; SLOTS];
    let mut reference = Reference::default();
    for op in ops {
        match *op {
            Op::Create(slot) => {
                if let Some(old) = slots[slot].take() {
                    drop(old);
                    reference.remove(slot);
                }
                slots[slot] = Some(DataFlow::new("sqlite::memory:").unwrap());
            }
            Op::Register(slot) => {
                let Some(db) = &slots[slot] else { continue };
                let result = db.register_model(schema.clone());
                if reference.register(slot) {
                    prop_assert!(result.is_ok(), "{result:?}");
                } else {
                    prop_assert!(
                        matches!(result, Err(Error::DuplicateModel { .. })),
                        "{result:?}"
                    );
                }
            }
            Op::Cleanup(slot) => {
                let Some(db) = &slots[slot] else { continue };
                prop_assert_eq!(db.cleanup_nodes(), reference.remove(slot));
            }
            Op::Drop(slot) => {
                if slots[slot].take().is_some() {
                    reference.remove(slot);
                }
            }
            Op::Lookup => {}
        }
        // After every step: the visible entry, and each instance's qualified entry.
        let expected = reference
            .visible()
            .map(|slot| format!("{node}@{}", slots[slot].as_ref().unwrap().instance_id()));
        prop_assert_eq!(resolves_to(&node), expected, "after {:?}", op);
        for (slot, db) in slots.iter().enumerate() {
            if let Some(db) = db {
                let qualified = format!("{node}@{}", db.instance_id());
                prop_assert_eq!(
                    NodeRegistry::global().contains(&qualified),
                    reference.registered.contains(&slot),
                    "{} after {:?}",
                    qualified,
                    op
                );
            }
        }
    }
    drop(slots);
    prop_assert!(
        !NodeRegistry::global().contains(&node),
        "nothing left after the last drop"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_registry_behaves_like_its_reference_model(ops in prop::collection::vec(op(), 1..40)) {
        // A model name of this case's own: other tests never register it.
        static CASE: AtomicUsize = AtomicUsize::new(0);
        let model = format!("PropModel{}", CASE.fetch_add(1, Ordering::Relaxed));
        check(&ops, &model)?;
    }
}
