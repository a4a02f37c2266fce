//! Benchmarks of `dataflow` and `dataflow-testing` against raw sqlx doing the same work.
//!
//! Every metric is a pair of workloads in the same binary, sharing one
//! [`harness`]: ours (through the framework and the toolkit, written as a user
//! would) and its baseline (sqlx or plain Rust, no framework). Both run in the same process,
//! interleaved, and only their ratio is reported against a target: this machine is noisy,
//! and absolute times drift.
//!
//! - `cargo xtask bench` (the `bench-table` binary) runs a short version of each metric and
//!   prints one table: metric, ours, baseline, ratio, target, met. `--json FILE` writes it.
//! - `cargo bench -p dataflow-benches` runs the same workloads under criterion.
//!
//! The metrics and their targets are issue 5's; `PERFORMANCE.md` has a run's table and what
//! each miss is down to.
//!
//! ```
//! use dataflow_benches::harness::{compare, Plan, Workload};
//! use std::time::Duration;
//!
//! struct Twice;
//! impl Workload for Twice {
//!     fn ours(&mut self) -> Duration { Duration::from_micros(20) }
//!     fn baseline(&mut self) -> Duration { Duration::from_micros(10) }
//! }
//! let c = compare(Plan::new(1, 5), &mut Twice);
//! assert_eq!(c.ratio(), 2.0);
//! ```

pub mod build;
pub mod bulk;
pub mod chain;
pub mod harness;
pub mod isolation;
pub mod life;
pub mod memory;
pub mod models;
pub mod os;
pub mod postgres;
pub mod raw;
pub mod registry;
pub mod report;
pub mod reuse;
pub mod schema;
pub mod suites;
pub mod table;
