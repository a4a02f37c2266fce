//! Reused server databases ([`Isolation::Reuse`](dataflow_testing::Isolation::Reuse)) with
//! the 20-model schema: each test gets a database an earlier test used, reset to the
//! template when that test ended. Rows `pg_reuse` (PostgreSQL) and `mysql_reuse`
//! (MariaDB/MySQL), each against what `sqlx::test` does per test on that server: `CREATE
//! DATABASE`, the 20 tables, `DROP DATABASE`. A sample is a run of
//! [`SUITE_TESTS`] guarded tests, ours including the
//! background work their teardown started.
//!
//! The toolkit picks PostgreSQL when both servers are named, so the MariaDB row is measured
//! in a child process (`bench-table --run-mysql-reuse`) that sees only
//! `DATAFLOW_TEST_MYSQL_URL`.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dataflow::{Backend, DataFlow};
use dataflow_testing::{dataflow_fixture, TempDatabase, TestDataFlow, MYSQL_ENV, POSTGRES_ENV};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor};

use crate::harness::{compare, timed, Comparison, Plan, Workload};
use crate::life::tokio_test;
use crate::models::{twenty_models, twenty_models_ddl};
use crate::postgres::{sqlx_test_runs, Admin, SUITE_TESTS};
use crate::report::{format_duration, Quantity, Row, Target};

/// The target of both rows: a tenth of `sqlx::test`'s cost.
const TARGET: Target = Target::RatioAtMost(0.1);

#[dataflow_fixture(isolation = "reuse")]
fn reused_schema_db(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    for schema in twenty_models() {
        db.register_model(schema.clone()).unwrap();
    }
    db
}

/// One guarded test on a reused database: the fixture, making sure every table exists
/// (`migrate`), with `write` one committed row (so the reset has a table to empty), then
/// teardown (the reset).
pub fn guarded_test(write: bool) {
    let db: TestDataFlow = reused_schema_db::default();
    tokio_test(db.migrate()).expect("migrate");
    if write {
        let mut wf = db.workflow();
        wf.add_node(
            "Entity0CreateNode",
            "n",
            serde_json::json!({"name": "a", "count": 1, "score": 1.5, "active": true}),
        );
        let workflow = wf.build().expect("workflow");
        dataflow::blocking::LocalRuntime::new()
            .execute(&workflow)
            .expect("insert");
    }
    drop(db);
}

/// The `sqlx::test` baseline on either server.
enum Baseline {
    Postgres(Admin),
    MySql(MySqlAdmin),
}

/// Reused databases against `CREATE DATABASE` + 20 tables + `DROP DATABASE`.
pub struct ReuseIsolation {
    write: bool,
    baseline: Baseline,
    ddl: Vec<String>,
}

impl std::fmt::Debug for ReuseIsolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReuseIsolation")
            .field("write", &self.write)
            .finish_non_exhaustive()
    }
}

impl ReuseIsolation {
    /// On the server the toolkit uses (`backend`); with `write`, each test commits a row.
    pub fn new(backend: Backend, write: bool) -> Result<ReuseIsolation, String> {
        let url = |var: &str| {
            std::env::var(var)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("set {var}"))
        };
        let baseline = match backend {
            Backend::Postgres => Baseline::Postgres(Admin::connect(&url(POSTGRES_ENV)?)?),
            _ => Baseline::MySql(MySqlAdmin::connect(&url(MYSQL_ENV)?)?),
        };
        Ok(ReuseIsolation {
            write,
            baseline,
            ddl: twenty_models_ddl(backend),
        })
    }
}

impl Workload for ReuseIsolation {
    fn ours(&mut self) -> Duration {
        timed(|| {
            for _ in 0..SUITE_TESTS {
                guarded_test(self.write);
            }
            dataflow_testing::wait_for_cleanup();
        })
    }

    fn baseline(&mut self) -> Duration {
        timed(|| match &self.baseline {
            Baseline::Postgres(admin) => sqlx_test_runs(admin, &self.ddl),
            Baseline::MySql(admin) => {
                for _ in 0..SUITE_TESTS {
                    admin.database_with_schema(&self.ddl);
                }
            }
        })
    }
}

/// The MariaDB/MySQL side of the baseline: an admin pool, as `sqlx::test` keeps one.
struct MySqlAdmin {
    runtime: tokio::runtime::Runtime,
    pool: MySqlPool,
    options: MySqlConnectOptions,
}

impl MySqlAdmin {
    fn connect(url: &str) -> Result<MySqlAdmin, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let url = url.replacen("mariadb://", "mysql://", 1);
        let options: MySqlConnectOptions = url.parse().map_err(|e: sqlx::Error| e.to_string())?;
        let options = options.disable_statement_logging();
        let pool = runtime
            .block_on(
                MySqlPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options.clone()),
            )
            .map_err(|e| format!("cannot reach {MYSQL_ENV}: {e}"))?;
        Ok(MySqlAdmin {
            runtime,
            pool,
            options,
        })
    }

    /// What `sqlx::test` does for a test on MySQL: `CREATE DATABASE`, connect to it, the
    /// schema, `DROP DATABASE` (here right away: the test itself is empty).
    fn database_with_schema(&self, ddl: &[String]) {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "dfbench_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.runtime.block_on(async {
            self.pool
                .execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create database");
            let mut conn = self
                .options
                .clone()
                .database(&name)
                .connect()
                .await
                .expect("connect to the new database");
            for sql in ddl {
                conn.execute(sql.as_str()).await.expect("create table");
            }
            conn.close().await.expect("close");
            self.pool
                .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
                .await
                .expect("drop database");
        });
    }
}

/// Both comparisons on the server the toolkit uses: without and with a committed row per
/// test.
fn measure(backend: Backend) -> Result<(Comparison, Comparison), String> {
    let mut plain = ReuseIsolation::new(backend, false)?;
    let c = compare(Plan::new(1, 8), &mut plain).per(SUITE_TESTS);
    drop(plain);
    let mut writing = ReuseIsolation::new(backend, true)?;
    let w = compare(Plan::new(1, 5), &mut writing).per(SUITE_TESTS);
    Ok((c, w))
}

fn row(id: &'static str, text: &str, c: &Comparison, w: &Comparison) -> Row {
    Row::compared(id, text, c, TARGET).with_note(format!(
        "with a committed row per test: {} vs {}, ratio {:.2}",
        format_duration(w.ours.median()),
        format_duration(w.baseline.median()),
        w.ratio()
    ))
}

const PG_TEXT: &str =
    "PostgreSQL isolation, 20 models, reused database (vs CREATE/DROP DATABASE + 20 tables)";
const MYSQL_TEXT: &str =
    "MariaDB isolation, 20 models, reused database (vs CREATE/DROP DATABASE + 20 tables)";

/// The `pg_reuse` row, when `DATAFLOW_TEST_POSTGRES_URL` names a server. Run while the
/// PostgreSQL section's `ServerCleanup` lives (it drops the templates at its end).
pub fn postgres_rows() -> Vec<Row> {
    eprintln!("bench: {PG_TEXT} ...");
    vec![match measure(Backend::Postgres) {
        Ok((c, w)) => row("pg_reuse", PG_TEXT, &c, &w),
        Err(why) => Row::skipped("pg_reuse", PG_TEXT, TARGET, why),
    }]
}

/// The `mysql_reuse` row, when `DATAFLOW_TEST_MYSQL_URL` names a server: measured by `exe`
/// (this binary) run with `--run-mysql-reuse` and without `DATAFLOW_TEST_POSTGRES_URL`.
pub fn mysql_rows(exe: &Path) -> Vec<Row> {
    if std::env::var(MYSQL_ENV).map_or(true, |v| v.trim().is_empty()) {
        return vec![Row::skipped(
            "mysql_reuse",
            MYSQL_TEXT,
            TARGET,
            format!("set {MYSQL_ENV}"),
        )];
    }
    eprintln!("bench: {MYSQL_TEXT} ...");
    let output = Command::new(exe)
        .arg("--run-mysql-reuse")
        .env_remove(POSTGRES_ENV)
        .output();
    let parsed = output.map_err(|e| e.to_string()).and_then(|out| {
        let text = String::from_utf8_lossy(&out.stdout);
        let numbers: Vec<u64> = text
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        match numbers[..] {
            [a, b, c, d] => Ok([a, b, c, d].map(Duration::from_nanos)),
            _ => Err(format!(
                "the child run failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        }
    });
    vec![match parsed {
        Ok([ours, base, w_ours, w_base]) => Row::new(
            "mysql_reuse",
            MYSQL_TEXT,
            Quantity::Time(ours),
            Some(Quantity::Time(base)),
            TARGET,
        )
        .with_note(format!(
            "with a committed row per test: {} vs {}, ratio {:.2}",
            format_duration(w_ours),
            format_duration(w_base),
            crate::harness::ratio(w_ours, w_base)
        )),
        Err(why) => Row::skipped("mysql_reuse", MYSQL_TEXT, TARGET, why),
    }]
}

/// The child side of [`mysql_rows`]: measures on MariaDB/MySQL and prints the medians per
/// test in nanoseconds (ours, baseline, then the same with a committed row per test). Drops
/// the templates it made, leaving the server as it found it.
pub fn run_mysql_child() -> Result<String, String> {
    let admin =
        MySqlAdmin::connect(&std::env::var(MYSQL_ENV).map_err(|_| format!("set {MYSQL_ENV}"))?)?;
    let templates = |admin: &MySqlAdmin| -> Vec<String> {
        admin
            .runtime
            .block_on(
                sqlx::query_scalar(
                    "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata \
                     WHERE schema_name LIKE 'dftpl\\_%'",
                )
                .fetch_all(&admin.pool),
            )
            .unwrap_or_default()
    };
    let before = templates(&admin);
    let measured = measure(Backend::MySql);
    for name in templates(&admin) {
        if !before.contains(&name) {
            let sql = format!("DROP DATABASE IF EXISTS {name}");
            let _ = admin.runtime.block_on(admin.pool.execute(sql.as_str()));
        }
    }
    let (c, w) = measured?;
    Ok([c.ours, c.baseline, w.ours, w.baseline]
        .map(|s| s.median().as_nanos().to_string())
        .join(" "))
}
