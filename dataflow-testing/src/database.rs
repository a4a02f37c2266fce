//! [`TempDatabase`]: a database of one test's own, removed when the test ends.

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use dataflow::{Backend, DataFlow, DataFlowBuilder, ModelSchema};

use crate::error::{Error, Result};
use crate::server::{self, Reusable, ReuseKey, Server};
use crate::setup::DatabaseSetup;

/// How a test's database is kept apart from other tests'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Isolation {
    /// A database of the test's own: a temporary SQLite file, or a database created on the
    /// test server (cloned from a template) and dropped afterwards.
    #[default]
    Database,
    /// On PostgreSQL: the instance runs on one connection inside a transaction that is
    /// rolled back when the test ends, in a database the tests of one process share (the
    /// way Ecto's SQL sandbox and Django's `TestCase` isolate tests); with migrations,
    /// fixture files or a setup function ([`TempDatabase::options`]), one such database per
    /// setup, set up once, so each test starts from the fixture rows. Tables are created
    /// outside the transactions and shared; rows never leave them. Nodes' own transactions
    /// become savepoints. Build the instance with [`TempDatabase::dataflow`] or
    /// [`TempDatabase::builder`], which turn transaction mode on.
    ///
    /// It does not fit code that needs a real commit, or several connections at once; and
    /// parallel tests writing the same primary key wait for each other. Elsewhere (SQLite,
    /// MySQL) it falls back to [`Isolation::Database`].
    Transaction,
    /// On a server (PostgreSQL, MySQL/MariaDB): a database of the test's own, as with
    /// [`Isolation::Database`], but one that an earlier test used and that was reset to the
    /// template's contents when that test ended, instead of being dropped (much cheaper
    /// than cloning or creating one). Tests may commit, use several connections and run raw
    /// SQL, as with a database of their own.
    ///
    /// Databases are pooled per place that asks (the fixture) and setup. The reset ends the
    /// sessions the test left open, empties the tables the test wrote and loads the
    /// template's rows of those that had some again, and sets sequences
    /// (`AUTO_INCREMENT` counters) back. A database whose schema the test changed (a table,
    /// a function, a type, an altered sequence, a comment, a `TRUNCATE` on PostgreSQL), or
    /// that cannot be reset exactly, is dropped instead, and the next test gets a fresh
    /// clone. A failed test's kept database (`DATAFLOW_KEEP_FAILED`) is never reused.
    /// Pooled databases are dropped when the process exits.
    ///
    /// On SQLite it falls back to [`Isolation::Database`]. In a fixture, take
    /// `#[dataflow_fixture(isolation = "reuse")]`.
    ///
    /// ```
    /// use dataflow_testing::{Isolation, TempDatabase};
    ///
    /// // Pooled per place in the source that asks: here, this function.
    /// fn reused() -> TempDatabase {
    ///     TempDatabase::with_isolation(Isolation::Reuse).unwrap()
    /// }
    ///
    /// let first = reused();
    /// first.create()?;
    /// let name = first.name().map(str::to_owned);
    /// drop(first); // on a server: reset, and back to the pool
    /// let second = reused();
    /// if second.isolation() == Isolation::Reuse {
    ///     assert_eq!(second.name().map(str::to_owned), name);
    /// }
    /// # Ok::<(), dataflow_testing::Error>(())
    /// ```
    Reuse,
}

/// A fresh temporary database: a SQLite file in a temporary directory by default, or a
/// fresh database on the server named by `DATAFLOW_TEST_POSTGRES_URL` or
/// `DATAFLOW_TEST_MYSQL_URL`. Removed on drop; kept (and its location printed) when the
/// test failed and `DATAFLOW_KEEP_FAILED=1` is set.
///
/// ```
/// use dataflow_testing::TempDatabase;
///
/// let tmp = TempDatabase::sqlite()?;
/// let db = tmp.dataflow()?;
/// assert!(tmp.url().starts_with("sqlite://"));
/// let path = tmp.path().unwrap().to_owned();
/// drop(db);
/// drop(tmp);
/// assert!(!path.exists());
/// # Ok::<(), dataflow_testing::Error>(())
/// ```
#[derive(Debug)]
pub struct TempDatabase {
    url: String,
    backend: Backend,
    isolation: Isolation,
    kind: Kind,
    keep: AtomicBool,
}

#[derive(Debug)]
enum Kind {
    Sqlite {
        dir: Option<tempfile::TempDir>,
        path: Arc<PathBuf>,
    },
    Server(Arc<ServerDb>),
    Shared {
        name: String,
    },
}

/// A per-test database on a server. It is created lazily: by the fixture that made it,
/// from the template of the models the fixture registered, or on demand.
struct ServerDb {
    server: Server,
    name: String,
    created: Mutex<bool>,
    /// Migrations, fixtures and setup function the database starts with.
    setup: Option<Arc<DatabaseSetup>>,
    /// With [`Isolation::Reuse`]: the pool it goes back to.
    reuse: Option<ReuseKey>,
    /// With [`Isolation::Reuse`]: the database as it exists (taken from the pool, or made
    /// for this test), with what resetting it needs.
    pooled: Mutex<Option<Reusable>>,
}

impl std::fmt::Debug for ServerDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on {} ({:?})",
            self.name, self.server.var, self.server.backend
        )
    }
}

impl ServerDb {
    /// Creates the database if it does not exist yet, with the tables of `schemas`. Returns
    /// whether it made it now with exactly those tables.
    fn prepare(&self, schemas: &[ModelSchema]) -> Result<bool> {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if *created {
            return Ok(false);
        }
        if self.reuse.is_some() {
            self.prepare_reused(schemas)?;
            *created = true;
            return Ok(!schemas.is_empty());
        }
        self.create(schemas)?;
        *created = true;
        Ok(!schemas.is_empty())
    }

    /// Creates the database with the tables of `schemas` (from their template).
    fn create(&self, schemas: &[ModelSchema]) -> Result<()> {
        if schemas.is_empty() && self.setup.is_none() {
            self.server.create_empty(&self.name)?;
            tracing::debug!(database = %self.name, "test database created, empty");
        } else {
            self.server
                .create_from_template(&self.name, schemas, self.setup.as_ref())?;
            tracing::debug!(database = %self.name, models = schemas.len(), "test database cloned from its template");
        }
        Ok(())
    }

    /// [`Isolation::Reuse`]: keeps the database taken from the pool when it holds the
    /// template of `schemas` (it was reset when its last test ended), otherwise drops it;
    /// creates a database when there is none, and reads what resetting it will need.
    fn prepare_reused(&self, schemas: &[ModelSchema]) -> Result<()> {
        let wanted = match schemas.is_empty() && self.setup.is_none() {
            true => None,
            false => Some(self.server.template(schemas, self.setup.as_ref())?),
        };
        let mut pooled = self.pooled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(db) = pooled.take() {
            if db.template == wanted {
                *pooled = Some(db);
                tracing::debug!(database = %self.name, "test database reused");
                return Ok(());
            }
            self.server.discard(db)?;
        }
        self.create(schemas)?;
        match self.server.reusable(&self.name, wanted) {
            Ok(db) => *pooled = Some(db),
            // Then it is dropped when the test ends, like any other.
            Err(e) => {
                tracing::debug!(database = %self.name, error = %e, "test database not reusable")
            }
        }
        Ok(())
    }
}

/// Runs a `#[dataflow_fixture]` body: server databases whose URL it asks for are created
/// when the fixture returns, from a template, instead of at once.
pub fn in_fixture<T>(body: impl FnOnce() -> T) -> T {
    let _reset = scopeguard::guard(IN_FIXTURE.with(|f| f.replace(true)), |was| {
        IN_FIXTURE.with(|f| f.set(was))
    });
    body()
}

thread_local! {
    static IN_FIXTURE: Cell<bool> = const { Cell::new(false) };

    /// Server databases made on this thread and not created yet.
    static PENDING: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
}

/// A temporary database made on this thread whose tables a fixture may still provide.
enum Pending {
    Server(Weak<ServerDb>),
    Sqlite(Weak<PathBuf>),
}

/// Gives the temporary databases made on this thread that do not exist yet the tables of
/// `schemas` (what a fixture registered): a clone of the schema's template on a server, a
/// copy of it on SQLite. A SQLite file that exists already (the fixture used it) is left as
/// it is. Returns the URLs of the databases that now hold exactly those tables.
pub(crate) fn prepare_pending(schemas: &[Arc<ModelSchema>]) -> Result<Vec<String>> {
    let pending: Vec<Pending> = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    let mut prepared = Vec::new();
    // The server's templates take the schemas by value; SQLite's take them shared.
    let mut owned: Option<Vec<ModelSchema>> = None;
    for item in pending {
        match item {
            Pending::Server(db) => {
                if let Some(db) = db.upgrade() {
                    let owned = owned
                        .get_or_insert_with(|| schemas.iter().map(|s| (**s).clone()).collect());
                    if db.prepare(owned)? {
                        prepared.push(db.server.url_of(&db.name));
                    }
                }
            }
            Pending::Sqlite(path) => {
                if let Some(path) = path.upgrade() {
                    if crate::sqlite_template::copy_into(schemas, &path)? {
                        tracing::debug!(path = %path.display(), models = schemas.len(), "test database copied from its template");
                        prepared.push(sqlite_url(&path));
                    }
                }
            }
        }
    }
    Ok(prepared)
}

/// The URL with the query parameter that makes `DataFlow::new(url)` build the instance in
/// transaction mode: an instance on a transaction-isolated database cannot write outside
/// the test's transaction, whichever way it is built.
fn with_transaction_marker(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}{}",
        dataflow::__private::TRANSACTION_MARKER
    )
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

impl TempDatabase {
    /// A fresh database with [`Isolation::Database`], on the test server if one is named,
    /// otherwise SQLite.
    pub fn new() -> Result<TempDatabase> {
        Self::with_isolation(Isolation::Database)
    }

    /// A fresh database isolated as `isolation` asks (see [`Isolation`] for when it falls
    /// back). With [`Isolation::Reuse`], databases are pooled per place in the source that
    /// calls this.
    #[track_caller]
    pub fn with_isolation(isolation: Isolation) -> Result<TempDatabase> {
        Self::made(isolation, None, Location::caller())
    }

    /// Options before making the database: migrations, fixture files, a setup function,
    /// the isolation. See [`TempDatabaseBuilder`].
    ///
    /// (Named `options`: [`builder`](Self::builder) is the builder of an instance on the
    /// database.)
    pub fn options() -> TempDatabaseBuilder {
        TempDatabaseBuilder::default()
    }

    fn made(
        isolation: Isolation,
        setup: Option<Arc<DatabaseSetup>>,
        site: &'static Location<'static>,
    ) -> Result<TempDatabase> {
        match Server::from_env() {
            None => {
                let db = Self::sqlite()?;
                if let (Some(setup), Some(path)) = (&setup, db.path()) {
                    crate::sqlite_template::copy_setup_into(setup, path)?;
                }
                Ok(db)
            }
            Some(server) => {
                let server = server?;
                if isolation == Isolation::Transaction && server.backend == Backend::Postgres {
                    let name = server.shared_database(setup.as_ref())?;
                    return Ok(TempDatabase {
                        url: with_transaction_marker(&server.url_of(&name)),
                        backend: server.backend,
                        isolation,
                        kind: Kind::Shared { name },
                        keep: AtomicBool::new(false),
                    });
                }
                let reuse = (isolation == Isolation::Reuse).then(|| ReuseKey {
                    site,
                    setup: setup.as_ref().map_or(0, |s| s.key),
                });
                let pooled = reuse.and_then(|key| server.take_reusable(key));
                let name = match &pooled {
                    Some(db) => db.name.clone(),
                    None => server::test_database_name(),
                };
                let db = Arc::new(ServerDb {
                    server: server.clone(),
                    name: name.clone(),
                    created: Mutex::new(false),
                    setup,
                    reuse,
                    pooled: Mutex::new(pooled),
                });
                PENDING.with(|p| p.borrow_mut().push(Pending::Server(Arc::downgrade(&db))));
                Ok(TempDatabase {
                    url: server.url_of(&name),
                    backend: server.backend,
                    isolation: match reuse {
                        Some(_) => Isolation::Reuse,
                        None => Isolation::Database,
                    },
                    kind: Kind::Server(db),
                    keep: AtomicBool::new(false),
                })
            }
        }
    }

    /// A SQLite file in a fresh temporary directory named after the test.
    pub fn sqlite() -> Result<TempDatabase> {
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(sweep_killed_runs);
        let dir = owned_temp_dir(&test_slug())?;
        let path = Arc::new(dir.path().join("test.db"));
        PENDING.with(|p| p.borrow_mut().push(Pending::Sqlite(Arc::downgrade(&path))));
        Ok(TempDatabase {
            url: sqlite_url(&path),
            backend: Backend::Sqlite,
            isolation: Isolation::Database,
            kind: Kind::Sqlite {
                dir: Some(dir),
                path,
            },
            keep: AtomicBool::new(false),
        })
    }

    /// The database URL, for [`DataFlow::new`]. With [`Isolation::Transaction`] it carries
    /// the query parameter `dataflow_isolation=transaction`, so that an instance built from
    /// it (`DataFlow::new(temp_database.url())`, or [`dataflow`](Self::dataflow)) runs in
    /// transaction mode and never writes outside the test's transaction.
    ///
    /// On a server, the database is created when its URL is first asked for, except inside
    /// a `#[dataflow_fixture]`: there it is created when the fixture returns, as a clone of
    /// the template of the models the fixture registered (much cheaper than creating the
    /// tables for every test).
    ///
    /// # Panics
    ///
    /// When the database cannot be created on the server (the error names the variable
    /// that names the server).
    pub fn url(&self) -> &str {
        if let Kind::Server(db) = &self.kind {
            if !IN_FIXTURE.with(Cell::get) {
                if let Err(e) = db.prepare(&[]) {
                    panic!("{e}");
                }
            }
        }
        &self.url
    }

    /// The backend of the database.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How the database is isolated, after any fall-back.
    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// The SQLite file, for a SQLite database.
    pub fn path(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Sqlite { path, .. } => Some(path.as_path()),
            _ => None,
        }
    }

    /// The name of the server database, for a server database.
    pub fn name(&self) -> Option<&str> {
        match &self.kind {
            Kind::Server(db) => Some(&db.name),
            Kind::Shared { name } => Some(name),
            Kind::Sqlite { .. } => None,
        }
    }

    /// A builder for an instance on this database, in transaction mode when the database is
    /// isolated that way.
    pub fn builder(&self) -> DataFlowBuilder {
        DataFlow::builder(self.url()).transaction_mode(self.isolation == Isolation::Transaction)
    }

    /// An instance on this database (see [`builder`](Self::builder)).
    pub fn dataflow(&self) -> dataflow::Result<DataFlow> {
        self.builder().build()
    }

    /// Creates the database now, empty, if it does not exist yet. Needed only on a server,
    /// by a fixture that works in the database before it returns (otherwise the fixture's
    /// guard creates it from the template of the models the fixture registered).
    pub fn create(&self) -> Result<()> {
        match &self.kind {
            Kind::Server(db) => db.prepare(&[]).map(drop),
            Kind::Sqlite { .. } | Kind::Shared { .. } => Ok(()),
        }
    }

    /// Keeps the database after the test instead of removing it; its location is printed
    /// when it is dropped.
    pub fn keep(&self) {
        self.keep.store(true, Ordering::Relaxed);
    }

    fn location(&self) -> String {
        match &self.kind {
            Kind::Sqlite { path, .. } => path.display().to_string(),
            Kind::Server(db) => format!(
                "database {} ({})",
                db.name,
                server::redact(&db.server.url_of(&db.name))
            ),
            Kind::Shared { name } => format!("database {name}"),
        }
    }
}

/// Options for a [`TempDatabase`], from [`TempDatabase::options`]: what the database holds
/// before the test's models, and how it is isolated.
///
/// The migrations, the setup function and the fixture files are applied once, to a
/// template keyed by their contents (and by the models a `#[dataflow_fixture]` registers),
/// which each test's database is copied from (SQLite) or cloned from (PostgreSQL,
/// `CREATE DATABASE .. TEMPLATE`; MySQL/MariaDB, table by table: `CREATE TABLE .. LIKE`,
/// the rows, and the foreign keys within the database). On MySQL/MariaDB only base tables
/// are copied: views, triggers, stored routines and events the setup makes stay in the
/// template. Relative paths are taken from the current directory: under `cargo test`, the
/// crate's directory.
///
/// ```
/// use dataflow_testing::TempDatabase;
///
/// # let dir = tempfile::tempdir().unwrap();
/// # std::fs::create_dir(dir.path().join("migrations")).unwrap();
/// # std::fs::write(dir.path().join("migrations/1_users.sql"),
/// #     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);").unwrap();
/// # std::fs::write(dir.path().join("users.sql"), "INSERT INTO users (id, name) VALUES (1, 'Ann');").unwrap();
/// # let (migrations, users) = (dir.path().join("migrations"), dir.path().join("users.sql"));
/// let tmp = TempDatabase::options()
///     .migrations(migrations) // e.g. "migrations"
///     .fixture(users)         // e.g. "tests/fixtures/users.sql"
///     .setup(|db: &dataflow::DataFlow| {
///         db.execute_sql_blocking("CREATE TABLE audit (line TEXT)", &[]).map(drop)
///     })
///     .build()?;
/// let db = dataflow::DataFlow::new(tmp.url())?;
/// let rows = db.query_sql_blocking("SELECT name FROM users", &[])?;
/// assert_eq!(rows[0]["name"], "Ann");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until `.build()`"]
pub struct TempDatabaseBuilder {
    isolation: Isolation,
    /// Where the isolation was chosen: the pool of [`Isolation::Reuse`].
    site: Option<&'static Location<'static>>,
    setup: DatabaseSetup,
    /// A fixture file that was not found, reported by `build`.
    missing: Option<Error>,
}

impl TempDatabaseBuilder {
    /// How the database is isolated (see [`Isolation`]). With migrations, fixtures or a
    /// setup function, [`Isolation::Transaction`] runs each test in a transaction on a
    /// database the process's tests with the same setup share, set up once. With
    /// [`Isolation::Reuse`], databases are pooled per place in the source that calls this
    /// (and per setup).
    #[track_caller]
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self.site = Some(Location::caller());
        self
    }

    /// A sqlx-cli migrations directory, applied first (see
    /// `dataflow::DataFlowBuilder::migrations`).
    pub fn migrations(mut self, dir: impl AsRef<Path>) -> Self {
        self.setup.migrations = Some(dir.as_ref().to_owned());
        self
    }

    /// A SQL file run after the migrations and the setup function; files run in the order
    /// given. A failing statement is [`Error::SqlFixture`], naming the file and line.
    pub fn fixture(mut self, file: impl AsRef<Path>) -> Self {
        self.setup.fixtures.push(file.as_ref().to_owned());
        self
    }

    /// A fixture file found as `#[dataflow_fixture(fixtures(..))]` finds it (see
    /// [`fixture`](Self::fixture)): a path from the crate's directory, `fixtures/` beside
    /// the test file (`source_file`, a `file!()`), or the crate's `tests/fixtures/`.
    #[doc(hidden)]
    pub fn fixture_beside(mut self, manifest_dir: &str, source_file: &str, name: &str) -> Self {
        match crate::setup::find_fixture(manifest_dir, source_file, name) {
            Ok(path) => self.setup.fixtures.push(path),
            Err(e) => {
                self.missing.get_or_insert(e);
            }
        }
        self
    }

    /// A function run once on the template after the migrations, before the fixtures:
    /// roles, extensions, another tool's migrations: a `fn(&DataFlow) ->
    /// dataflow::Result<()>` or an `async fn(DataFlow) -> dataflow::Result<()>` (see
    /// [`IntoSetup`](crate::IntoSetup)). The template is keyed by its type name (a
    /// function's path), so a function item is the right thing to pass.
    pub fn setup<F, Marker>(mut self, setup: F) -> Self
    where
        F: crate::IntoSetup<Marker>,
    {
        let name = std::any::type_name::<F>().to_owned();
        self.setup.setup = Some((name, setup.into_setup()));
        self
    }

    /// Makes the database. Every migration and fixture file is read here: a missing one is
    /// an error naming it. (With [`Isolation::Reuse`] on a server, the migrations and
    /// fixtures run when the database is first used: by the fixture, or
    /// [`TempDatabase::create`].)
    #[track_caller]
    pub fn build(self) -> Result<TempDatabase> {
        let site = self.site.unwrap_or(Location::caller());
        if let Some(missing) = self.missing {
            return Err(missing);
        }
        if self.setup.is_empty() {
            return TempDatabase::made(self.isolation, None, site);
        }
        if let Some(dir) = &self.setup.migrations {
            // A missing directory or a malformed file name, before any database is made.
            DataFlow::builder("sqlite::memory:")
                .migrations(dir)
                .build()?;
        }
        let setup = self.setup.prepared()?;
        let db = TempDatabase::made(self.isolation, Some(setup), site)?;
        // A reused database is made when first used (by a fixture, with its models' tables,
        // from their template): the state its resets restore is the state it starts with.
        if !IN_FIXTURE.with(Cell::get) && db.isolation != Isolation::Reuse {
            // Outside a fixture there are no models to wait for: make it now, so that a
            // failing migration or fixture is this call's error.
            db.create()?;
        }
        Ok(db)
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let keep = self.keep.load(Ordering::Relaxed) || (std::thread::panicking() && keep_failed());
        if keep {
            if let Kind::Sqlite { dir, .. } = &mut self.kind {
                if let Some(dir) = dir.take() {
                    let _ = dir.keep();
                }
            }
            if let Kind::Server(db) = &self.kind {
                // Never back to the pool: the user inspects it.
                let pooled = db.pooled.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(pooled) = pooled {
                    db.server.forget(pooled);
                }
            }
            // Printed, not traced: the user asked to keep it and needs to find it.
            eprintln!(
                "dataflow-testing: kept the test database at {}",
                self.location()
            );
            return;
        }
        match &self.kind {
            Kind::Server(db) => {
                let created = *db.created.lock().unwrap_or_else(|e| e.into_inner());
                let pooled = db.pooled.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let (Some(key), Some(pooled)) = (db.reuse, pooled) {
                    db.server.give_back(key, pooled);
                } else if created {
                    db.server.drop_database_later(&db.name);
                    tracing::debug!(database = %db.name, "test database dropped (in the background)");
                }
            }
            Kind::Sqlite { path, .. } => {
                tracing::debug!(path = %path.display(), "test database removed");
            }
            Kind::Shared { .. } => {}
        }
    }
}

thread_local! {
    /// Set by a guard from its fixture's `keep_on_failure` option, for the databases it
    /// drops.
    static KEEP_FAILED_OVERRIDE: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Runs `f` with the keep-on-failure decision forced to `keep`; the decision before is back
/// afterwards, also when `f` panics.
pub(crate) fn with_keep_failed<T>(keep: Option<bool>, f: impl FnOnce() -> T) -> T {
    let previous = KEEP_FAILED_OVERRIDE.with(|k| k.replace(keep.or(k.get())));
    let _restore = scopeguard::guard(previous, |previous| {
        KEEP_FAILED_OVERRIDE.with(|k| k.set(previous))
    });
    f()
}

/// Whether a failed test's database is kept: the fixture's option, else
/// `DATAFLOW_KEEP_FAILED=1`.
fn keep_failed() -> bool {
    static ENV: OnceLock<bool> = OnceLock::new();
    KEEP_FAILED_OVERRIDE.with(Cell::get).unwrap_or_else(|| {
        *ENV.get_or_init(|| {
            std::env::var("DATAFLOW_KEEP_FAILED")
                .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
        })
    })
}

/// The prefix of every temporary directory the toolkit makes: `dataflow-<token>-<what>-...`.
const TEMP_PREFIX: &str = "dataflow-";

/// A fresh temporary directory named `dataflow-<token>-<what>-*`, after taking this
/// process's lease in the temporary directory (so no sweeper takes it for a killed run's).
pub(crate) fn owned_temp_dir(what: &str) -> Result<tempfile::TempDir> {
    let temp = std::env::temp_dir();
    let io = |source| Error::Io {
        path: temp.display().to_string(),
        source,
    };
    crate::owner::take_local_lease(&temp).map_err(io)?;
    tempfile::Builder::new()
        .prefix(&format!(
            "{TEMP_PREFIX}{}-{what}-",
            crate::owner::run_token()
        ))
        .tempdir()
        .map_err(io)
}

/// Removes the temporary directories of processes that are gone (a killed run), and their
/// lease files. Only directories named `dataflow-<token>-...` are considered, and only when
/// the owner's lease (`dataflow-<token>.lock`, see `owner.rs`) is free: unlike a pid, that
/// holds when many machines, containers or PID namespaces share one temporary directory.
/// Directories named after a pid (the naming before run tokens) are left alone: from here,
/// a pid does not tell whether their owner lives.
fn sweep_killed_runs() {
    use std::collections::BTreeMap;
    let temp = std::env::temp_dir();
    let Ok(entries) = std::fs::read_dir(&temp) else {
        return;
    };
    let mut by_owner: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(TEMP_PREFIX) else {
            continue;
        };
        let token = rest
            .strip_suffix(".lock")
            .or_else(|| rest.split('-').next())
            .filter(|token| crate::owner::decode(token).is_some());
        if let Some(token) = token {
            let paths = by_owner.entry(token.to_owned()).or_default();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                paths.push(entry.path());
            }
        }
    }
    by_owner.remove(crate::owner::run_token());
    for (token, dirs) in by_owner {
        let owner = crate::owner::LocalOwner::of(&temp, &token);
        if matches!(owner, crate::owner::LocalOwner::Alive) {
            continue;
        }
        for dir in dirs {
            if std::fs::remove_dir_all(&dir).is_ok() {
                tracing::info!(path = %dir.display(), "removed a test database left by a killed run");
            }
        }
        owner.remove();
    }
}

/// The current test's name as a lowercase identifier (libtest names threads after tests).
pub(crate) fn test_slug() -> String {
    let name = std::thread::current().name().unwrap_or("test").to_owned();
    let last = name.rsplit("::").next().unwrap_or(&name).to_owned();
    let mut slug: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    slug.truncate(40);
    if slug.is_empty() {
        slug.push_str("test");
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keep_on_failure_decision_is_restored_when_its_closure_panics() {
        let outcome = std::panic::catch_unwind(|| with_keep_failed(Some(true), || panic!("drop")));
        assert!(outcome.is_err());
        assert_eq!(KEEP_FAILED_OVERRIDE.with(Cell::get), None);
        with_keep_failed(Some(false), || {
            assert_eq!(KEEP_FAILED_OVERRIDE.with(Cell::get), Some(false))
        });
        assert_eq!(KEEP_FAILED_OVERRIDE.with(Cell::get), None);
    }
}
