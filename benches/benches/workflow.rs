//! A 100-node chain of `PassthroughNode` against the same 100 function calls.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use dataflow_benches::chain::Chain;

mod common;

fn workflow(c: &mut Criterion) {
    common::pair(
        c,
        "chain_100",
        100,
        Duration::from_secs(3),
        &mut Chain::new(),
    );
}

criterion_group!(benches, workflow);
criterion_main!(benches);
