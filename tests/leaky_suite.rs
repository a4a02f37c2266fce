//! A libtest suite with a leaking test, kept out of `cargo test` (`test = false`): CI runs it
//! under nextest and expects the leak to fail it, as a user's suite would.

use dataflow::DataFlow;

#[derive(dataflow::Model)]
#[allow(dead_code)] // only its schema is used
struct Gadget {
    id: String,
}

#[test]
fn leaks_an_instance_into_a_static() {
    static KEPT: std::sync::OnceLock<DataFlow> = std::sync::OnceLock::new();
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<Gadget>().unwrap();
    KEPT.set(db).unwrap();
}

#[test]
fn cleans_up_after_itself() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<Gadget>().unwrap();
    drop(db);
    // Under nextest this test has its process to itself: the registry must be empty now.
    dataflow_testing::assert_registry_empty();
}
