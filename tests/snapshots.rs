//! Registry snapshots: stable under test order and parallel runs.

use dataflow::DataFlow;
use dataflow_testing::{assert_registry_snapshot, dataflow_db, registry_snapshot, TestDataFlow};
use rstest::rstest;

use crate::models::{Event, User};

#[rstest]
fn one_instance(dataflow_db: TestDataFlow) {
    dataflow_db.model::<User>().unwrap();
    assert_registry_snapshot!(&dataflow_db);
}

#[test]
fn two_instances_shadowing_each_other() {
    let a = DataFlow::new("sqlite::memory:").unwrap();
    let b = DataFlow::new("sqlite::memory:").unwrap();
    a.model::<User>().unwrap();
    a.model::<Event>().unwrap();
    b.model::<User>().unwrap();
    assert_registry_snapshot!(&[&a, &b]);
}

#[test]
fn labels_do_not_depend_on_instance_ids() {
    // Burn some ids: the snapshot of a later instance is the same.
    let first = DataFlow::new("sqlite::memory:").unwrap();
    first.model::<User>().unwrap();
    for _ in 0..5 {
        DataFlow::new("sqlite::memory:").unwrap();
    }
    let later = DataFlow::new("sqlite::memory:").unwrap();
    later.model::<User>().unwrap();
    assert_eq!(registry_snapshot(&first), registry_snapshot(&later));
}
