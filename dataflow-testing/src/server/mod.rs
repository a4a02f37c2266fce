//! Per-test databases on a PostgreSQL or MySQL/MariaDB server: created from a template built
//! once per schema (`template.rs`), dropped when the test ends, and swept up after a killed
//! run (`lease.rs`). Many machines may share one server: names carry the process's random
//! run token (`dftest_<token>_<n>_<test>`), and the process holds a lock named after the
//! token on the server while it lives.
//!
//! **Invariant:** the toolkit only ever drops databases whose name carries its marker and a
//! run token whose lock is free on the server (an owner that is gone), or that it made
//! itself; templates are `dftpl_<fingerprint>`.

mod lease;
mod prune;
mod reuse;
mod template;

pub use prune::drop_unused_templates;
pub(crate) use reuse::{Reusable, ReuseKey};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use dataflow::{Backend, ModelSchema};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, Row};

use crate::error::{Error, Result, ServerProblem};
use crate::rt;
use crate::setup::DatabaseSetup;

/// The variable that names a PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "DATAFLOW_TEST_POSTGRES_URL";
/// The variable that names a MySQL or MariaDB server for tests.
pub const MYSQL_ENV: &str = "DATAFLOW_TEST_MYSQL_URL";

/// The prefix of every per-test database.
pub(crate) const TEST_PREFIX: &str = "dftest_";
/// The prefix of every template database.
pub(crate) const TEMPLATE_PREFIX: &str = "dftpl_";

/// A test server, from the environment.
#[derive(Clone)]
pub(crate) struct Server {
    pub(crate) var: &'static str,
    pub(crate) backend: Backend,
    /// The admin URL as given.
    url: String,
    admin: AdminPool,
}

#[derive(Clone)]
enum AdminPool {
    Postgres(PgPool),
    MySql(MySqlPool),
}

impl Server {
    /// The server the environment names, if any (PostgreSQL first). Connects once per
    /// process; a server that cannot be reached gives the same clear error every time.
    pub(crate) fn from_env() -> Option<Result<Server>> {
        type Failure = (String, ServerProblem, String);
        static SERVER: OnceLock<Option<std::result::Result<Server, Failure>>> = OnceLock::new();
        let set = |var| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
        let (var, note) = choose_server(set(POSTGRES_ENV).is_some(), set(MYSQL_ENV).is_some())?;
        let found = SERVER.get_or_init(|| {
            let url = std::env::var(var).ok()?;
            if let Some(note) = note {
                eprintln!("dataflow-testing: {note}");
            }
            Some(
                Server::connect(var, url.trim())
                    .map_err(|(problem, reason)| (url.clone(), problem, reason)),
            )
        });
        match found.as_ref()? {
            Ok(server) => Some(Ok(server.clone())),
            Err((url, problem, reason)) => Some(Err(Error::Server {
                var,
                url: redact(url),
                problem: *problem,
                reason: reason.clone(),
            })),
        }
    }

    /// Connects the admin pool, takes this process's lease (before any database is
    /// created), and sweeps the databases of owners that are gone.
    fn connect(
        var: &'static str,
        url: &str,
    ) -> std::result::Result<Server, (ServerProblem, String)> {
        let backend = dataflow::Backend::of_url(url)
            .filter(|b| *b != Backend::Sqlite)
            .ok_or_else(|| {
                (
                    ServerProblem::BadUrl,
                    "not a postgres:// or mysql:// URL".to_owned(),
                )
            })?;
        let expected = if var == MYSQL_ENV {
            Backend::MySql
        } else {
            Backend::Postgres
        };
        if backend != expected {
            let (given, right) = match backend {
                Backend::Postgres => ("a PostgreSQL", POSTGRES_ENV),
                _ => ("a MySQL/MariaDB", MYSQL_ENV),
            };
            return Err((
                ServerProblem::BadUrl,
                format!("{given} URL in {var}; name that server with {right}"),
            ));
        }
        let owned = url.replacen("mariadb://", "mysql://", 1);
        let failed = |e: sqlx::Error| (ServerProblem::of(&e), connect_error(e));
        let admin = rt::block_on(async move {
            let timeout = Duration::from_secs(5);
            match backend {
                Backend::Postgres => {
                    let options: PgConnectOptions = owned.parse()?;
                    let pool = PgPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(QUEUE_TIMEOUT)
                        .connect_with(options.clone().disable_statement_logging());
                    let pool = within(timeout, pool).await?;
                    lease::ensure_pg(&owned, options).await?;
                    Ok::<_, sqlx::Error>(AdminPool::Postgres(pool))
                }
                _ => {
                    let options: MySqlConnectOptions = owned.parse()?;
                    let pool = MySqlPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(QUEUE_TIMEOUT)
                        .connect_with(options.clone().disable_statement_logging());
                    let pool = within(timeout, pool).await?;
                    lease::ensure_mysql(&owned, options).await?;
                    Ok(AdminPool::MySql(pool))
                }
            }
        })
        .map_err(failed)?;
        let server = Server {
            var,
            backend,
            url: url.to_owned(),
            admin,
        };
        server.sweep_killed_runs().map_err(|e| match e {
            Error::Server {
                problem, reason, ..
            } => (problem, reason),
            other => (ServerProblem::Other, other.to_string()),
        })?;
        Ok(server)
    }

    /// The error for a failed server operation: its kind from the error's code.
    fn fail(&self, doing: &str, e: sqlx::Error) -> Error {
        Error::Server {
            var: self.var,
            url: redact(&self.url),
            problem: ServerProblem::of(&e),
            reason: if doing.is_empty() {
                e.to_string()
            } else {
                format!("{doing}: {e}")
            },
        }
    }

    /// The URL of database `name` on this server.
    pub(crate) fn url_of(&self, name: &str) -> String {
        with_database(&self.url, name)
    }

    /// Runs statements on the admin connection, in order.
    pub(crate) fn execute(&self, statements: Vec<String>) -> Result<()> {
        self.execute_raw(statements).map_err(|e| self.fail("", e))
    }

    fn execute_raw(&self, statements: Vec<String>) -> Result<(), sqlx::Error> {
        let admin = self.admin.clone();
        rt::block_on(async move {
            match admin {
                AdminPool::Postgres(pool) => {
                    let mut conn = pool.acquire().await?;
                    for sql in &statements {
                        conn.execute(sql.as_str()).await?;
                    }
                }
                AdminPool::MySql(pool) => {
                    let mut conn = pool.acquire().await?;
                    for sql in &statements {
                        conn.execute(sql.as_str()).await?;
                    }
                }
            }
            Ok::<_, sqlx::Error>(())
        })
    }

    /// Names of the databases whose name starts with `prefix`.
    pub(crate) fn databases(&self, prefix: &str) -> Result<Vec<String>> {
        let admin = self.admin.clone();
        let pattern = format!("{}%", prefix.replace('_', "\\_"));
        rt::block_on(async move {
            let names = match admin {
                AdminPool::Postgres(pool) => {
                    sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE $1")
                        .bind(pattern)
                        .fetch_all(&pool)
                        .await?
                        .iter()
                        .map(|r| r.get::<String, _>(0))
                        .collect()
                }
                AdminPool::MySql(pool) => sqlx::query(
                    "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ?",
                )
                .bind(pattern)
                .fetch_all(&pool)
                .await?
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect(),
            };
            Ok::<Vec<String>, sqlx::Error>(names)
        })
        .map_err(|e| self.fail("listing databases", e))
    }

    pub(crate) fn drop_sql(&self, name: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            _ => format!("DROP DATABASE IF EXISTS {name}"),
        }
    }

    /// Drops test database `name`.
    pub(crate) fn drop_database(&self, name: &str) -> Result<()> {
        debug_assert!(name.starts_with(TEST_PREFIX));
        self.execute(vec![self.drop_sql(name)])
    }

    /// Drops test database `name` in the background, so the test that used it ends at
    /// once (a drop takes tens of milliseconds). The process waits for it before it exits;
    /// if it is killed first, the next run's sweep drops the database.
    pub(crate) fn drop_database_later(&self, name: &str) {
        debug_assert!(name.starts_with(TEST_PREFIX));
        let (admin, sql, name) = (self.admin.clone(), self.drop_sql(name), name.to_owned());
        rt::spawn_background(async move {
            // Queued behind creates and clones for the pool's few connections: see
            // `QUEUE_TIMEOUT`.
            let dropped = match admin {
                AdminPool::Postgres(pool) => sqlx::query(&sql).execute(&pool).await.map(drop),
                AdminPool::MySql(pool) => sqlx::query(&sql).execute(&pool).await.map(drop),
            };
            if let Err(e) = dropped {
                eprintln!("dataflow-testing: could not drop {name}: {e}");
            }
        });
    }

    /// Drops the per-test databases of owners that are gone (a killed run, here or on
    /// another machine): see `lease.rs`. Prints one line naming what it dropped. A drop that
    /// fails (another sweeper dropped it first) is reported, never fatal.
    fn sweep_killed_runs(&self) -> Result<()> {
        let admin = self.admin.clone();
        let stale = rt::block_on(async move { lease::stale_databases(&admin).await })
            .map_err(|e| self.fail("looking for databases of killed runs", e))?;
        let mut dropped = Vec::new();
        for name in stale {
            match self.execute_raw(vec![self.drop_sql(&name)]) {
                Ok(()) => dropped.push(name),
                Err(e) => eprintln!("dataflow-testing: could not drop {name}: {e}"),
            }
        }
        if !dropped.is_empty() {
            eprintln!(
                "dataflow-testing: dropped {} database(s) left by a killed run: {}",
                dropped.len(),
                dropped.join(", ")
            );
        }
        Ok(())
    }

    /// A fresh, empty database named after the test.
    pub(crate) fn create_empty(&self, name: &str) -> Result<()> {
        self.execute(vec![format!("CREATE DATABASE {name}")])
    }

    /// A fresh database with the tables of `schemas`, cloned from their template.
    pub(crate) fn create_from_template(
        &self,
        name: &str,
        schemas: &[ModelSchema],
        setup: Option<&Arc<DatabaseSetup>>,
    ) -> Result<()> {
        let template = self.template(schemas, setup)?;
        match self.backend {
            Backend::Postgres => {
                // A clone fails while another session is connected to the template
                // (SQLSTATE 55006, object in use); the toolkit never is, but a concurrent
                // CREATE ... TEMPLATE may briefly be.
                let mut attempt = 0;
                loop {
                    let sql = format!("CREATE DATABASE {name} TEMPLATE {template}");
                    match self.execute_raw(vec![sql]) {
                        Err(e) if attempt < 50 && sqlstate(&e).as_deref() == Some("55006") => {
                            attempt += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        other => return other.map_err(|e| self.fail("", e)),
                    }
                }
            }
            _ => match (&self.admin, setup) {
                (AdminPool::MySql(pool), Some(_)) => {
                    // A template with data: tables and rows copied (MySQL clones no
                    // databases).
                    let (pool, from, copy) = (pool.clone(), template.clone(), name.to_owned());
                    let cloned =
                        rt::block_on(
                            async move { template::clone_mysql(&pool, &from, &copy).await },
                        );
                    cloned.map_err(|e| {
                        // Not left behind half made: the caller never marks it created.
                        let _ = self.execute(vec![self.drop_sql(name)]);
                        self.fail(&format!("copying template {template}"), e)
                    })
                }
                _ => {
                    let mut statements = vec![format!("CREATE DATABASE {name}")];
                    statements.extend(schemas.iter().map(|s| {
                        format!(
                            "CREATE TABLE {name}.`{table}` LIKE {template}.`{table}`",
                            table = s.table()
                        )
                    }));
                    self.execute(statements)
                }
            },
        }
    }

    /// The database this process's transaction-mode tests share (PostgreSQL), created on
    /// first use: empty, or with `setup` applied (migrations, setup function, fixture
    /// files), one database per setup. The schema is committed by the instances themselves
    /// (DDL runs outside their transactions) and by the setup; test data never is. Dropped
    /// at exit, or by the next run's sweep if this process is killed: its name carries the
    /// marker and the token.
    pub(crate) fn shared_database(&self, setup: Option<&Arc<DatabaseSetup>>) -> Result<String> {
        /// Each shared database by the key of its setup (`None`: no setup).
        type Shared = Vec<(Option<u64>, String)>;
        static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();
        let key = setup.map(|s| s.key);
        // Held while a database is made and set up: a second test with the same setup
        // waits for it rather than seeing half of it.
        let mut shared = SHARED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((_, name)) = shared.iter().find(|(k, _)| *k == key) {
            return Ok(name.clone());
        }
        let token = crate::owner::run_token();
        let name = match key {
            None => format!("{TEST_PREFIX}{token}_shared"),
            Some(key) => format!("{TEST_PREFIX}{token}_shared_{key:016x}"),
        };
        self.execute(vec![format!("CREATE DATABASE {name}")])?;
        if let Some(setup) = setup {
            let url = self.url_of(&name);
            let setup = Arc::clone(setup);
            if let Err(e) = rt::block_on(async move { setup.apply(&url).await }) {
                // The next test with this setup tries again, on a fresh database.
                let _ = self.drop_database(&name);
                return Err(e);
            }
        }
        process_databases()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((self.clone(), name.clone()));
        shared.push((key, name.clone()));
        Ok(name)
    }
}

/// Databases that live as long as this process, dropped by [`drop_process_databases`].
fn process_databases() -> &'static Mutex<Vec<(Server, String)>> {
    static DATABASES: OnceLock<Mutex<Vec<(Server, String)>>> = OnceLock::new();
    DATABASES.get_or_init(Default::default)
}

/// Drops the databases that live as long as this process (at exit), the pooled reused
/// databases among them.
pub(crate) fn drop_process_databases() {
    reuse::drop_pooled();
    let databases = std::mem::take(
        &mut *process_databases()
            .lock()
            .unwrap_or_else(|e| e.into_inner()),
    );
    for (server, name) in databases {
        if let Err(e) = server.drop_database(&name) {
            eprintln!("dataflow-testing: could not drop {name}: {e}");
        }
    }
}

/// Which variable names the test server, and what to print about the choice: PostgreSQL
/// when both are set (the note says so, and how to pick MySQL instead).
fn choose_server(postgres: bool, mysql: bool) -> Option<(&'static str, Option<String>)> {
    match (postgres, mysql) {
        (true, true) => Some((
            POSTGRES_ENV,
            Some(format!(
                "both {POSTGRES_ENV} and {MYSQL_ENV} are set: test databases go to \
                 PostgreSQL (unset {POSTGRES_ENV} to use the MySQL server)"
            )),
        )),
        (true, false) => Some((POSTGRES_ENV, None)),
        (false, true) => Some((MYSQL_ENV, None)),
        (false, false) => None,
    }
}

/// How long an admin statement may wait for one of the pool's connections once the server
/// answered: creates, clones and background drops queue for the same few connections, and
/// on a busy server a burst of them (a panic storm, hundreds of short tests) waits longer
/// than the 5 seconds that tell an unreachable server at connect.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(60);

/// `connect` within `limit`, or `PoolTimedOut`: the first connection tells whether the
/// server is there at all, and that should not take the queueing timeout.
async fn within<T>(
    limit: Duration,
    connect: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    tokio::time::timeout(limit, connect)
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut))
}

fn connect_error(e: sqlx::Error) -> String {
    match e {
        sqlx::Error::PoolTimedOut => "no connection within 5 s".to_owned(),
        other => other.to_string(),
    }
}

/// The SQLSTATE of a database error.
fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()?.code().map(|c| c.into_owned())
}

/// A name for a new per-test database: marker, this process's run token, a counter, and
/// as much of the test's name as fits in PostgreSQL's 63 bytes.
pub(crate) fn test_database_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seq = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = format!("{TEST_PREFIX}{}_{seq}_", crate::owner::run_token());
    let slug = crate::database::test_slug();
    name.push_str(&slug[..slug.len().min(63 - name.len())]);
    name.trim_end_matches('_').to_owned()
}

pub(crate) use crate::setup::fingerprint;

/// `url` with its database (path) replaced by `name`; the rest (user, password, host,
/// port, parameters) kept as it is.
pub(crate) fn with_database(url: &str, name: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_path(&format!("/{name}"));
            parsed.into()
        }
        Err(_) => url.to_owned(),
    }
}

/// The URL with any password replaced by `***` (the core crate's rule).
pub(crate) fn redact(url: &str) -> String {
    dataflow::__private::redact(url)
}

#[cfg(test)]
mod tests;
