//! A guarded test's life (temporary SQLite file, `:memory:`) and the per-test set-up of a
//! 20-model schema on SQLite, each against raw sqlx.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use dataflow_benches::life::{Storage, TestLife};
use dataflow_benches::schema::SqliteSchema;

mod common;

fn lifecycle(c: &mut Criterion) {
    let time = Duration::from_secs(5);
    common::pair(c, "life_file", 50, time, &mut TestLife::new(Storage::File));
    common::pair(
        c,
        "life_memory",
        50,
        time,
        &mut TestLife::new(Storage::Memory),
    );
    common::pair(c, "schema_sqlite", 20, time, &mut SqliteSchema::new());
}

criterion_group!(benches, lifecycle);
criterion_main!(benches);
