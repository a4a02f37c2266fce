//! Per-test isolation on PostgreSQL with a 20-model schema, cloned-database and transaction
//! modes, against `CREATE DATABASE` + 20 tables + `DROP DATABASE`. Each iteration is a run
//! of `SUITE_TESTS` (5) tests. Needs `DATAFLOW_TEST_POSTGRES_URL`; says so and does nothing
//! otherwise.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use dataflow_benches::postgres::{Mode, PostgresIsolation, ServerCleanup, POSTGRES_ENV};

mod common;

fn postgres(c: &mut Criterion) {
    let Some(_cleanup) = ServerCleanup::start() else {
        eprintln!("postgres benchmarks skipped (set {POSTGRES_ENV})");
        return;
    };
    for (name, mode) in [
        ("pg_clone_5_tests", Mode::Clone),
        ("pg_transaction_5_tests", Mode::Transaction),
    ] {
        match PostgresIsolation::new(mode, true) {
            Ok(mut workload) => common::pair(c, name, 10, Duration::from_secs(10), &mut workload),
            Err(e) => eprintln!("{name} skipped: {e}"),
        }
    }
}

criterion_group!(benches, postgres);
criterion_main!(benches);
