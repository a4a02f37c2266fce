//! Per-test databases on a PostgreSQL or MySQL/MariaDB server: created from a template built
//! once per schema, dropped when the test ends, and swept up after a killed run.
//!
//! **Invariant:** the toolkit only ever drops databases whose name carries its marker
//! (`dftest_<pid>_...` of a process that is gone); templates are `dftpl_<fingerprint>`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use dataflow::{Backend, ModelSchema};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, Row};

use crate::error::{Error, Result};
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
        static SERVER: OnceLock<Option<std::result::Result<Server, (String, String)>>> =
            OnceLock::new();
        let var = [POSTGRES_ENV, MYSQL_ENV]
            .into_iter()
            .find(|var| std::env::var(var).is_ok_and(|v| !v.trim().is_empty()))?;
        let found = SERVER.get_or_init(|| {
            let url = std::env::var(var).ok()?;
            Some(Server::connect(var, url.trim()).map_err(|reason| (url.clone(), reason)))
        });
        match found.as_ref()? {
            Ok(server) => Some(Ok(server.clone())),
            Err((url, reason)) => Some(Err(Error::Server {
                var,
                url: redact(url),
                reason: reason.clone(),
            })),
        }
    }

    fn connect(var: &'static str, url: &str) -> std::result::Result<Server, String> {
        let backend = dataflow::Backend::of_url(url)
            .filter(|b| *b != Backend::Sqlite)
            .ok_or_else(|| "not a postgres:// or mysql:// URL".to_owned())?;
        let owned = url.replacen("mariadb://", "mysql://", 1);
        let admin = rt::block_on(async move {
            let timeout = Duration::from_secs(5);
            match backend {
                Backend::Postgres => {
                    let options: PgConnectOptions =
                        owned.parse().map_err(|e: sqlx::Error| e.to_string())?;
                    let pool = PgPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(timeout)
                        .connect_with(options.disable_statement_logging())
                        .await
                        .map_err(connect_error)?;
                    Ok::<_, String>(AdminPool::Postgres(pool))
                }
                _ => {
                    let options: MySqlConnectOptions =
                        owned.parse().map_err(|e: sqlx::Error| e.to_string())?;
                    let pool = MySqlPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(timeout)
                        .connect_with(options.disable_statement_logging())
                        .await
                        .map_err(connect_error)?;
                    Ok(AdminPool::MySql(pool))
                }
            }
        })?;
        let server = Server {
            var,
            backend,
            url: url.to_owned(),
            admin,
        };
        server.sweep_killed_runs().map_err(|e| e.to_string())?;
        Ok(server)
    }

    fn error(&self, reason: impl ToString) -> Error {
        Error::Server {
            var: self.var,
            url: redact(&self.url),
            reason: reason.to_string(),
        }
    }

    /// The URL of database `name` on this server.
    pub(crate) fn url_of(&self, name: &str) -> String {
        with_database(&self.url, name)
    }

    /// Runs statements on the admin connection, in order.
    pub(crate) fn execute(&self, statements: Vec<String>) -> Result<()> {
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
        .map_err(|e| self.error(e))
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
        .map_err(|e| self.error(e))
    }

    fn drop_sql(&self, name: &str) -> String {
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
            let dropped = match admin {
                AdminPool::Postgres(pool) => sqlx::query(&sql).execute(&pool).await.map(drop),
                AdminPool::MySql(pool) => sqlx::query(&sql).execute(&pool).await.map(drop),
            };
            if let Err(e) = dropped {
                eprintln!("dataflow-testing: could not drop {name}: {e}");
            }
        });
    }

    /// Drops the per-test databases of processes that are gone (a killed run).
    fn sweep_killed_runs(&self) -> Result<()> {
        let stale: Vec<String> = self
            .databases(TEST_PREFIX)?
            .into_iter()
            .filter(|name| owner_pid(name).is_some_and(|pid| !process_alive(pid)))
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        eprintln!(
            "dataflow-testing: dropping {} database(s) left by a killed run: {}",
            stale.len(),
            stale.join(", ")
        );
        self.execute(stale.iter().map(|n| self.drop_sql(n)).collect())
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
        if let (Some(setup), Backend::MySql) = (setup, self.backend) {
            return self.create_with_setup(name, schemas, setup);
        }
        let template = self.template(schemas, setup)?;
        match self.backend {
            Backend::Postgres => {
                // A clone fails while another session is connected to the template; the
                // toolkit never is, but a concurrent CREATE ... TEMPLATE may briefly be.
                let mut attempt = 0;
                loop {
                    match self.execute(vec![format!("CREATE DATABASE {name} TEMPLATE {template}")])
                    {
                        Err(e)
                            if attempt < 50
                                && e.to_string().contains("being accessed by other users") =>
                        {
                            attempt += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        other => return other,
                    }
                }
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
        }
    }

    /// The template database for `schemas`, built once (under a server-wide lock, so
    /// parallel processes build it once too) and reused by later tests and later runs.
    fn template(
        &self,
        schemas: &[ModelSchema],
        setup: Option<&Arc<DatabaseSetup>>,
    ) -> Result<String> {
        static BUILT: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
        // Keyed by the models and by the migrations, fixtures and setup function.
        let key = fingerprint(self.backend, schemas) ^ setup.map_or(0, |s| s.key.rotate_left(1));
        let name = format!("{TEMPLATE_PREFIX}{key:016x}");
        let built = BUILT.get_or_init(Default::default);
        let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
        if built.contains(&name) {
            return Ok(name);
        }
        let ddl: Vec<String> = schemas
            .iter()
            .map(|s| s.create_table_sql(self.backend))
            .collect();
        let admin = self.admin.clone();
        let url = self.url_of(&name);
        let lock_key = key as i64;
        let template = name.clone();
        let setup = setup.cloned();
        // The setup's own error, kept typed (it names a fixture file and line).
        let setup_error = Arc::new(Mutex::new(None));
        let setup_failed = Arc::clone(&setup_error);
        rt::block_on(async move {
            match admin {
                AdminPool::Postgres(pool) => {
                    let mut conn = pool.acquire().await?;
                    sqlx::query("SELECT pg_advisory_lock($1)")
                        .bind(lock_key)
                        .execute(&mut *conn)
                        .await?;
                    let built = async {
                        let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
                            .bind(&template)
                            .fetch_optional(&mut *conn)
                            .await?
                            .is_some();
                        if !exists {
                            // Build under a temporary name, then rename: a template is
                            // complete whenever it exists.
                            let building = format!("{template}_building");
                            conn.execute(
                                format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)").as_str(),
                            )
                            .await?;
                            conn.execute(format!("CREATE DATABASE {building}").as_str())
                                .await?;
                            if let Some(setup) = &setup {
                                if let Err(e) = setup.apply(&with_database(&url, &building)).await {
                                    *setup_failed.lock().unwrap_or_else(|e| e.into_inner()) =
                                        Some(e);
                                    let drop =
                                        format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)");
                                    let _ = conn.execute(drop.as_str()).await;
                                    return Err(sqlx::Error::Protocol("setup failed".to_owned()));
                                }
                            }
                            let options: PgConnectOptions =
                                with_database(&url, &building).parse()?;
                            let mut tpl = options.disable_statement_logging().connect().await?;
                            for sql in &ddl {
                                tpl.execute(sql.as_str()).await?;
                            }
                            sqlx::Connection::close(tpl).await?;
                            conn.execute(
                                format!("ALTER DATABASE {building} RENAME TO {template}").as_str(),
                            )
                            .await?;
                        }
                        Ok::<_, sqlx::Error>(())
                    }
                    .await;
                    sqlx::query("SELECT pg_advisory_unlock($1)")
                        .bind(lock_key)
                        .execute(&mut *conn)
                        .await?;
                    built
                }
                AdminPool::MySql(pool) => {
                    let mut conn = pool.acquire().await?;
                    sqlx::query("SELECT GET_LOCK(?, 60)")
                        .bind(&template)
                        .execute(&mut *conn)
                        .await?;
                    let built = async {
                        conn.execute(format!("CREATE DATABASE IF NOT EXISTS {template}").as_str())
                            .await?;
                        conn.execute(format!("USE {template}").as_str()).await?;
                        for sql in &ddl {
                            conn.execute(sql.as_str()).await?;
                        }
                        Ok::<_, sqlx::Error>(())
                    }
                    .await;
                    sqlx::query("SELECT RELEASE_LOCK(?)")
                        .bind(&template)
                        .execute(&mut *conn)
                        .await?;
                    // The connection's default database changed: do not give it back.
                    conn.close_on_drop();
                    built
                }
            }
        })
        .map_err(|e| {
            let setup = setup_error.lock().unwrap_or_else(|e| e.into_inner()).take();
            setup.unwrap_or_else(|| self.error(format!("building template {name}: {e}")))
        })?;
        built.insert(name.clone());
        Ok(name)
    }

    /// MySQL has no database templates (its clone copies table definitions, not data): a
    /// database with migrations, fixtures or a setup function gets them applied to itself.
    fn create_with_setup(
        &self,
        name: &str,
        schemas: &[ModelSchema],
        setup: &Arc<DatabaseSetup>,
    ) -> Result<()> {
        self.create_empty(name)?;
        let url = self.url_of(name);
        let ddl: Vec<String> = schemas
            .iter()
            .map(|s| s.create_table_sql(self.backend))
            .collect();
        let setup = Arc::clone(setup);
        let made = rt::block_on(async move {
            setup.apply(&url).await?;
            let db = dataflow::DataFlow::new(&url)?;
            for sql in &ddl {
                db.execute_sql(sql, &[]).await?;
            }
            db.close().await;
            Ok(())
        });
        if made.is_err() {
            // Not left behind half made: the caller never marks it created.
            let _ = self.execute(vec![self.drop_sql(name)]);
        }
        made
    }

    /// The database this process's transaction-mode tests share (PostgreSQL), created
    /// empty on first use. The schema is committed by the instances themselves (DDL runs
    /// outside their transactions); the data never is. Dropped at exit, or by the next
    /// run's sweep if this process is killed: its name carries the marker and the pid.
    pub(crate) fn shared_database(&self) -> Result<String> {
        static SHARED: OnceLock<Mutex<Option<String>>> = OnceLock::new();
        let shared = SHARED.get_or_init(Default::default);
        let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(name) = shared.as_ref() {
            return Ok(name.clone());
        }
        let name = format!("{TEST_PREFIX}{}_shared", std::process::id());
        self.execute(vec![
            self.drop_sql(&name),
            format!("CREATE DATABASE {name}"),
        ])?;
        process_databases()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((self.clone(), name.clone()));
        *shared = Some(name.clone());
        Ok(name)
    }
}

/// Databases that live as long as this process, dropped by [`drop_process_databases`].
fn process_databases() -> &'static Mutex<Vec<(Server, String)>> {
    static DATABASES: OnceLock<Mutex<Vec<(Server, String)>>> = OnceLock::new();
    DATABASES.get_or_init(Default::default)
}

/// Drops the databases that live as long as this process (at exit).
pub(crate) fn drop_process_databases() {
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

fn connect_error(e: sqlx::Error) -> String {
    match e {
        sqlx::Error::PoolTimedOut => {
            "no connection within 5 s (is the server running and reachable?)".to_owned()
        }
        other => other.to_string(),
    }
}

/// A name for a new per-test database: marker, owner pid, a counter, and the test's name.
pub(crate) fn test_database_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seq = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = format!("{TEST_PREFIX}{}_{seq}_", std::process::id());
    let slug = crate::database::test_slug();
    name.push_str(&slug[..slug.len().min(63 - name.len())]);
    name.trim_end_matches('_').to_owned()
}

fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(TEST_PREFIX)?
        .split('_')
        .next()?
        .parse()
        .ok()
}

/// Whether process `pid` runs (on Linux; elsewhere every process is assumed alive, so
/// nothing is swept).
pub(crate) fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// A stable fingerprint of a schema set: same models, same DDL, same name, across runs.
pub(crate) fn fingerprint(backend: Backend, schemas: &[ModelSchema]) -> u64 {
    // FNV-1a: stable across Rust versions and processes, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(env!("CARGO_PKG_VERSION").as_bytes());
    for schema in schemas {
        feed(schema.create_table_sql(backend).as_bytes());
        feed(b";");
    }
    hash & 0x7fff_ffff_ffff_ffff
}

/// `url` with its database (path) replaced by `name`.
pub(crate) fn with_database(url: &str, name: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, query) = match rest.split_once('/') {
        Some((authority, path)) => (authority, path.split_once('?').map(|(_, q)| q)),
        None => match rest.split_once('?') {
            Some((authority, query)) => (authority, Some(query)),
            None => (rest, None),
        },
    };
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

/// The URL with any password replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((userinfo, host)) if userinfo.contains(':') => {
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}")
            }
            _ => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_carry_marker_and_owner() {
        assert_eq!(owner_pid("dftest_123_4_my_test"), Some(123));
        assert_eq!(owner_pid("dftpl_abc"), None);
        assert_eq!(owner_pid("production"), None);
        let name = test_database_name();
        assert!(
            name.starts_with(&format!("dftest_{}_", std::process::id())),
            "{name}"
        );
        assert!(name.len() <= 63);
    }

    #[test]
    fn urls_get_their_database_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("mysql://root@h/test?ssl-mode=disabled", "x"),
            "mysql://root@h/x?ssl-mode=disabled"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn fingerprints_depend_on_the_schema() {
        use dataflow::FieldType;
        let a = [ModelSchema::new("A").field("id", FieldType::String)];
        let b = [ModelSchema::new("A").field("id", FieldType::I64)];
        assert_eq!(
            fingerprint(Backend::Postgres, &a),
            fingerprint(Backend::Postgres, &a)
        );
        assert_ne!(
            fingerprint(Backend::Postgres, &a),
            fingerprint(Backend::Postgres, &b)
        );
    }
}
