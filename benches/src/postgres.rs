//! Per-test isolation on PostgreSQL with a 20-model schema, in the toolkit's two modes:
//! a database cloned from a template for each test, and a transaction rolled back after
//! each test. Baseline: what `sqlx::test` does, `CREATE DATABASE`, the 20 tables,
//! `DROP DATABASE`, for each test. A sample is a run of [`SUITE_TESTS`] tests, ours
//! including the background work its teardown started.
//!
//! Measured only when `DATAFLOW_TEST_POSTGRES_URL` names a server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dataflow::{Backend, DataFlow};
use dataflow_testing::{dataflow_fixture, temp_database, Isolation, TempDatabase, TestDataFlow};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, Row};

use crate::harness::{timed, Workload};
use crate::life::tokio_test;
use crate::models::{twenty_models, twenty_models_ddl};
use crate::raw;

/// The variable that names the PostgreSQL server (the toolkit's own).
pub const POSTGRES_ENV: &str = dataflow_testing::POSTGRES_ENV;

/// The server URL from [`POSTGRES_ENV`], if set.
pub fn server_url() -> Option<String> {
    std::env::var(POSTGRES_ENV)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[dataflow_fixture]
fn pg_schema_db(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    for schema in twenty_models() {
        db.register_model(schema.clone()).unwrap();
    }
    db
}

#[dataflow_fixture]
fn pg_tx_schema_db(
    #[from(temp_database)]
    #[with(Isolation::Transaction)]
    tmp: TempDatabase,
) -> DataFlow {
    let db = tmp.dataflow().unwrap();
    for schema in twenty_models() {
        db.register_model(schema.clone()).unwrap();
    }
    db
}

/// The toolkit's isolation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A database of the test's own, cloned from the schema's template.
    Clone,
    /// A transaction rolled back when the test ends.
    Transaction,
}

/// One guarded test with the 20-model schema on PostgreSQL: the fixture, then (with
/// `migrate`) making sure every table exists, then teardown.
pub fn guarded_test(mode: Mode, migrate: bool) {
    let db: TestDataFlow = match mode {
        Mode::Clone => pg_schema_db::default(),
        Mode::Transaction => pg_tx_schema_db::default(),
    };
    if migrate {
        tokio_test(db.migrate()).expect("migrate");
    } else {
        tokio_test(db.ping()).expect("connect");
    }
    drop(db);
}

/// The admin side of the baseline: a pool on the server, as `sqlx::test` keeps one.
pub(crate) struct Admin {
    runtime: tokio::runtime::Runtime,
    pool: PgPool,
    options: PgConnectOptions,
}

impl Admin {
    pub(crate) fn connect(url: &str) -> Result<Admin, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let options: PgConnectOptions = url.parse().map_err(|e: sqlx::Error| e.to_string())?;
        let options = options.disable_statement_logging();
        let pool = runtime
            .block_on(
                PgPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options.clone()),
            )
            .map_err(|e| format!("cannot reach {POSTGRES_ENV}: {e}"))?;
        Ok(Admin {
            runtime,
            pool,
            options,
        })
    }

    fn databases(&self, pattern: &str) -> Vec<String> {
        self.runtime
            .block_on(
                sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE $1")
                    .bind(pattern)
                    .fetch_all(&self.pool),
            )
            .map(|rows| rows.iter().map(|r| r.get::<String, _>(0)).collect())
            .unwrap_or_default()
    }

    fn drop_database(&self, name: &str) {
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        if let Err(e) = self.runtime.block_on(self.pool.execute(sql.as_str())) {
            eprintln!("bench: could not drop {name}: {e}");
        }
    }
}

/// The toolkit's isolation against `CREATE DATABASE` + 20 tables + `DROP DATABASE`.
pub struct PostgresIsolation {
    mode: Mode,
    migrate: bool,
    admin: Admin,
    ddl: Vec<String>,
}

impl std::fmt::Debug for PostgresIsolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresIsolation")
            .field("mode", &self.mode)
            .field("migrate", &self.migrate)
            .finish_non_exhaustive()
    }
}

impl PostgresIsolation {
    /// The workload in `mode`; with `migrate`, ours makes sure the 20 tables exist (the
    /// baseline always creates them); without, it connects once. An error when no server
    /// is named or it cannot be reached.
    pub fn new(mode: Mode, migrate: bool) -> Result<PostgresIsolation, String> {
        let url = server_url().ok_or_else(|| format!("set {POSTGRES_ENV}"))?;
        Ok(PostgresIsolation {
            mode,
            migrate,
            admin: Admin::connect(&url)?,
            ddl: twenty_models_ddl(Backend::Postgres),
        })
    }
}

/// How many tests one sample runs back to back. The toolkit drops databases in the
/// background; a sample ends when that work is done too, so none of it spills into the
/// baseline's time.
pub const SUITE_TESTS: u32 = 5;

impl Workload for PostgresIsolation {
    fn ours(&mut self) -> Duration {
        timed(|| {
            for _ in 0..SUITE_TESTS {
                guarded_test(self.mode, self.migrate);
            }
            dataflow_testing::wait_for_cleanup();
        })
    }

    fn baseline(&mut self) -> Duration {
        timed(|| sqlx_test_runs(&self.admin, &self.ddl))
    }
}

/// A fresh name for a database of the benchmarks' own (`dfbench_<pid>_<n>`).
fn bench_database_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "dfbench_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The baseline: [`SUITE_TESTS`] times what `sqlx::test` does for a test.
pub(crate) fn sqlx_test_runs(admin: &Admin, ddl: &[String]) {
    for _ in 0..SUITE_TESTS {
        let name = bench_database_name();
        admin.runtime.block_on(raw::postgres_database_with_schema(
            &admin.pool,
            &admin.options,
            &name,
            ddl,
        ));
    }
}

/// The floor of any database-per-test isolation: raw sqlx cloning a template that holds
/// the 20 tables and dropping the clone, no toolkit, against the same baseline.
pub struct CloneFloor {
    admin: Admin,
    template: String,
    ddl: Vec<String>,
}

impl std::fmt::Debug for CloneFloor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloneFloor")
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

impl CloneFloor {
    /// Makes the template (`dfbench_<pid>_<n>`, dropped by [`ServerCleanup`]).
    pub fn new() -> Result<CloneFloor, String> {
        let url = server_url().ok_or_else(|| format!("set {POSTGRES_ENV}"))?;
        let admin = Admin::connect(&url)?;
        let ddl = twenty_models_ddl(Backend::Postgres);
        let template = bench_database_name();
        admin.runtime.block_on(raw::postgres_database_with_tables(
            &admin.pool,
            &admin.options,
            &template,
            &ddl,
        ));
        Ok(CloneFloor {
            admin,
            template,
            ddl,
        })
    }
}

impl Workload for CloneFloor {
    fn ours(&mut self) -> Duration {
        let admin = &self.admin;
        timed(|| {
            for _ in 0..SUITE_TESTS {
                let name = bench_database_name();
                admin.runtime.block_on(raw::postgres_clone_and_drop(
                    &admin.pool,
                    &self.template,
                    &name,
                ));
            }
        })
    }

    fn baseline(&mut self) -> Duration {
        timed(|| sqlx_test_runs(&self.admin, &self.ddl))
    }
}

/// Leaves the server as the benchmarks found it. Made before the PostgreSQL workloads and
/// dropped after the last of them (templates must outlive every fixture of the process):
/// drops the template databases (`dftpl_*`) that appeared meanwhile (the toolkit keeps
/// them as a cache for later runs), and the `dfbench_*` databases of this process or of a
/// killed run of it.
pub struct ServerCleanup {
    admin: Admin,
    templates_before: Vec<String>,
}

impl std::fmt::Debug for ServerCleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCleanup")
            .field("templates_before", &self.templates_before)
            .finish_non_exhaustive()
    }
}

impl ServerCleanup {
    /// Notes the templates present now; drops `dfbench_*` databases of processes that are
    /// gone. `None` when no server is named or it cannot be reached.
    pub fn start() -> Option<ServerCleanup> {
        let admin = Admin::connect(&server_url()?).ok()?;
        for name in admin.databases("dfbench\\_%") {
            let pid = name.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
                admin.drop_database(&name);
            }
        }
        let templates_before = admin.databases("dftpl\\_%");
        Some(ServerCleanup {
            admin,
            templates_before,
        })
    }
}

impl Drop for ServerCleanup {
    fn drop(&mut self) {
        for name in self.admin.databases("dftpl\\_%") {
            if !self.templates_before.contains(&name) {
                self.admin.drop_database(&name);
            }
        }
        let own = format!("dfbench\\_{}\\_%", std::process::id());
        for name in self.admin.databases(&own) {
            self.admin.drop_database(&name);
        }
    }
}
