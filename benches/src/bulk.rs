//! BulkCreate of 10,000 rows on SQLite `:memory:`. Baseline: raw sqlx multi-row `INSERT`s
//! (1,000 rows each, the node's default batch) in one transaction, of rows held as Rust
//! strings or ([`Input::Json`]) read from the same JSON the node receives.
//!
//! Only the insert is timed: each run gets a fresh database whose table exists, and the
//! rows are built beforehand (as JSON for the node, as tuples for sqlx).

use std::time::Duration;

use dataflow::DataFlow;
use serde_json::{json, Value};
use sqlx::Executor;

use crate::harness::{timed, Workload};
use crate::models::{User, USERS_DDL};
use crate::raw;

/// How many rows one run inserts.
pub const BULK_ROWS: usize = 10_000;

/// The rows each side inserts: ids `user-0` .. and names.
pub fn rows(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("user-{i}"), format!("User number {i}")))
        .collect()
}

/// Where the baseline's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Pairs of Rust strings, ready to bind.
    Tuples,
    /// The JSON array BulkCreate receives, read field by field.
    Json,
}

/// BulkCreate against multi-row inserts.
#[derive(Debug)]
pub struct BulkCreate {
    rows: Vec<(String, String)>,
    data: Value,
    input: Input,
    runtime: tokio::runtime::Runtime,
}

impl BulkCreate {
    /// The workload with [`BULK_ROWS`] rows, the baseline reading Rust strings.
    pub fn new() -> BulkCreate {
        BulkCreate::with_input(Input::Tuples)
    }

    /// The workload with [`BULK_ROWS`] rows, the baseline reading `input`.
    pub fn with_input(input: Input) -> BulkCreate {
        let rows = rows(BULK_ROWS);
        let data = Value::Array(
            rows.iter()
                .map(|(id, name)| json!({"id": id, "name": name}))
                .collect(),
        );
        BulkCreate {
            rows,
            data,
            input,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
        }
    }
}

impl Default for BulkCreate {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for BulkCreate {
    fn ours(&mut self) -> Duration {
        let db = DataFlow::new("sqlite::memory:").expect("an instance");
        db.model::<User>().expect("the model");
        self.runtime.block_on(db.migrate()).expect("migrate");
        let mut params = serde_json::Map::new();
        params.insert("data".to_owned(), self.data.clone());
        let mut wf = db.workflow();
        wf.add_node("UserBulkCreateNode", "bulk", Value::Object(params));
        let wf = wf.build().expect("the workflow builds");
        let runtime = dataflow::blocking::LocalRuntime::new();
        let mut inserted = Value::Null;
        let time = timed(|| {
            let (results, _run) = runtime.execute(&wf).expect("bulk create");
            inserted = results["bulk"]["inserted"].clone();
        });
        assert_eq!(inserted, BULK_ROWS);
        db.close_blocking();
        time
    }

    fn baseline(&mut self) -> Duration {
        let (rows, data, input) = (&self.rows, &self.data, self.input);
        self.runtime.block_on(async {
            let pool = raw::sqlite_memory_pool();
            let mut conn = pool.acquire().await.expect("a connection");
            conn.execute(USERS_DDL).await.expect("create table");
            let start = std::time::Instant::now();
            let inserted = match input {
                Input::Tuples => raw::bulk_insert(&mut conn, rows, 1000).await,
                Input::Json => raw::bulk_insert_json(&mut conn, data, 1000).await,
            };
            let time = start.elapsed();
            assert_eq!(inserted, BULK_ROWS as u64);
            drop(conn);
            pool.close().await;
            time
        })
    }
}
