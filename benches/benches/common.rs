//! What every benchmark file shares: a metric's two workloads as one criterion group.

use std::time::Duration;

use criterion::Criterion;
use dataflow_benches::harness::Workload;

/// Benchmarks `workload` as the group `name`, with functions `ours` and `baseline`.
pub fn pair(
    c: &mut Criterion,
    name: &str,
    samples: usize,
    time: Duration,
    workload: &mut impl Workload,
) {
    let mut group = c.benchmark_group(name);
    group.sample_size(samples.max(10)).measurement_time(time);
    group.bench_function("ours", |b| {
        b.iter_custom(|n| (0..n).map(|_| workload.ours()).sum())
    });
    group.bench_function("baseline", |b| {
        b.iter_custom(|n| (0..n).map(|_| workload.baseline()).sum())
    });
    group.finish();
}
