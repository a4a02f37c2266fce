//! BulkCreate of 10,000 rows on SQLite `:memory:` against raw multi-row inserts.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use dataflow_benches::bulk::BulkCreate;

mod common;

fn bulk(c: &mut Criterion) {
    common::pair(
        c,
        "bulk_create",
        10,
        Duration::from_secs(5),
        &mut BulkCreate::new(),
    );
}

criterion_group!(benches, bulk);
criterion_main!(benches);
