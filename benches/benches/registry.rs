//! The registry: `cleanup_nodes()` of 100 models, lookups against a `HashMap`, and
//! lookups from two threads against one.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use dataflow_benches::registry::{Cleanup, Lookup, Lookups, TwoThreads};

mod common;

fn registry(c: &mut Criterion) {
    let cleanup = Cleanup::new();
    c.bench_function("cleanup_nodes_100_models", |b| {
        b.iter_custom(|n| (0..n).map(|_| cleanup.run()).sum())
    });
    common::pair(
        c,
        "lookup_1000_names",
        100,
        Duration::from_secs(3),
        &mut Lookup(Lookups::new(1)),
    );
    common::pair(
        c,
        "lookup_threads_2_vs_1",
        20,
        Duration::from_secs(5),
        &mut TwoThreads(Lookups::new(100)),
    );
}

criterion_group!(benches, registry);
criterion_main!(benches);
