//! Two leakers that break no other test: one leaves a temporary file, one forgets an
//! instance, so its nodes stay registered.

use dataflow::DataFlow;

use crate::Orphan;

#[test]
fn leaves_a_temp_file() {
    std::fs::write(
        std::env::temp_dir().join("planted-leftover.txt"),
        "forgotten",
    )
    .unwrap();
}

#[test]
fn forgets_an_instance_with_its_nodes() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<Orphan>().unwrap();
    std::mem::forget(db);
}
