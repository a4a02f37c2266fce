//! [`DataFlow`]: one database, and the only code that registers and unregisters the nodes it
//! generates.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::db::migrate::Migrations;
use crate::db::{engine, url, Backend, PoolSettings, Store};
use crate::error::{Error, Result};
use crate::model::{Model, ModelSchema};
use crate::nodes::{self, ModelState};
use crate::registry::{Collision, InstanceId, NodeRegistry, Owner};
use crate::workflow::WorkflowBuilder;

/// One database behind a connection pool, and the nodes of the models registered on it.
///
/// A handle is cheap to clone; dropping the last one removes the instance's nodes from the
/// global registry (and closes the pool).
///
/// ```
/// use dataflow::{DataFlow, NodeRegistry};
///
/// #[derive(dataflow::Model)]
/// struct Note { id: i64, text: String }
///
/// let a = DataFlow::new("sqlite::memory:")?;
/// let b = DataFlow::new(":memory:")?;
/// a.model::<Note>()?;
/// b.model::<Note>()?;
/// assert_ne!(a.instance_id(), b.instance_id());
///
/// // Both hold `NoteCreateNode`; each entry is reachable by its qualified name.
/// let registry = NodeRegistry::global();
/// assert!(registry.contains(&format!("NoteCreateNode@{}", a.instance_id())));
/// assert!(registry.contains(&format!("NoteCreateNode@{}", b.instance_id())));
///
/// // Cleaning up `b` leaves `a`'s nodes in place.
/// assert_eq!(b.cleanup_nodes(), 10);
/// assert!(registry.contains(&format!("NoteCreateNode@{}", a.instance_id())));
/// # Ok::<(), dataflow::Error>(())
/// ```
#[derive(Clone)]
pub struct DataFlow {
    inner: Arc<Inner>,
}

struct Inner {
    /// The URL, password hidden.
    url: String,
    /// The URL as given, password included.
    full_url: String,
    transaction: bool,
    id: InstanceId,
    /// The thread that built the instance: under libtest, the test it belongs to.
    created_by: Option<Arc<str>>,
    store: Arc<Store>,
    auto_migrate: bool,
    collision: Collision,
    models: Mutex<Vec<Arc<ModelState>>>,
}

impl fmt::Debug for DataFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataFlow")
            .field("id", &self.inner.id)
            .field("backend", &self.inner.store.backend())
            .field("location", &self.inner.store.location())
            .field("models", &self.models())
            .finish()
    }
}

impl DataFlow {
    /// An instance on the database at `url`, with default options. Checks the URL; connects
    /// on first use.
    ///
    /// URLs: `sqlite::memory:` or `:memory:` (a private in-memory database), `sqlite://path`,
    /// `sqlite:///abs/path`, a path ending in `.db`, `postgres://`, `postgresql://`,
    /// `mysql://`, `mariadb://`. A SQLite path that no file can have (a NUL byte) or that
    /// starts with `:` (`sqlite::memroy:`, a typo) is [`Error::InvalidUrl`] here, not a
    /// file created or a failure at first use.
    ///
    /// ```
    /// assert!(dataflow::DataFlow::new("sqlite::memroy:").is_err());
    /// ```
    pub fn new(url: &str) -> Result<DataFlow> {
        Self::builder(url).build()
    }

    /// Like [`new`](Self::new), and connects at once, so an unreachable database is an
    /// error here.
    pub async fn connect(url: &str) -> Result<DataFlow> {
        Self::builder(url).connect().await
    }

    /// Options before building: see [`DataFlowBuilder`].
    pub fn builder(url: &str) -> DataFlowBuilder {
        DataFlowBuilder {
            url: url.to_owned(),
            auto_migrate: true,
            collision: Collision::Shadow,
            migrations: None,
            settings: PoolSettings {
                max_connections: None,
                connect_timeout: Duration::from_secs(10),
                transaction: false,
            },
        }
    }

    /// This instance's id, `df_<n>`: unique in the process, never reused.
    pub fn instance_id(&self) -> InstanceId {
        self.inner.id
    }

    /// The name of the thread that built this instance. libtest runs each test on a thread
    /// named after the test, so in a test suite this names the test the instance belongs to.
    pub fn created_by(&self) -> Option<&str> {
        self.inner.created_by.as_deref()
    }

    /// The database URL, with any password hidden.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The database URL as given, password included, for code that needs a connection of
    /// its own (another tool's migrations, a driver of its own, ...).
    ///
    /// A connection opened from this URL is **outside** transaction mode: it does not see
    /// the instance's uncommitted work, and what it writes is committed and is not rolled
    /// back with the test. To run SQL inside the instance's own session use
    /// [`execute_sql`](Self::execute_sql) and [`query_sql`](Self::query_sql).
    ///
    /// ```
    /// # #[cfg(feature = "postgres")] {
    /// let db = dataflow::DataFlow::new("postgres://app:secret@localhost/app_test")?;
    /// assert_eq!(db.url(), "postgres://app:***@localhost/app_test");
    /// assert_eq!(db.connect_url(), "postgres://app:secret@localhost/app_test");
    /// # }
    /// # Ok::<(), dataflow::Error>(())
    /// ```
    pub fn connect_url(&self) -> &str {
        &self.inner.full_url
    }

    /// Whether the instance runs in transaction mode (see
    /// [`DataFlowBuilder::transaction_mode`]).
    pub fn transaction_mode(&self) -> bool {
        self.inner.transaction
    }

    /// The schemas of the models registered on this instance, in registration order.
    pub fn model_schemas(&self) -> Vec<ModelSchema> {
        let models = self.inner.models.lock().unwrap_or_else(|e| e.into_inner());
        models.iter().map(|m| (*m.schema).clone()).collect()
    }

    /// [`model_schemas`](Self::model_schemas), shared (see `__private`).
    pub(crate) fn shared_model_schemas(&self) -> Vec<Arc<ModelSchema>> {
        let models = self.inner.models.lock().unwrap_or_else(|e| e.into_inner());
        models
            .iter()
            .map(|m| Arc::clone(m.schema.shared()))
            .collect()
    }

    /// The kind of database behind this instance.
    pub fn backend(&self) -> Backend {
        self.inner.store.backend()
    }

    /// Registers model `M`: its ten nodes go into the global registry, owned by this
    /// instance. With auto-migrate (the default) its table is created before its first node
    /// runs.
    ///
    /// Registering the same model name twice on one instance is an error.
    pub fn model<M: Model>(&self) -> Result<()> {
        self.register(Cow::Borrowed(M::schema()))
    }

    /// Registers a model described at run time (what `model::<M>()` does with `M`'s schema).
    pub fn register_model(&self, schema: ModelSchema) -> Result<()> {
        self.register(Cow::Owned(schema))
    }

    fn register(&self, schema: Cow<'_, ModelSchema>) -> Result<()> {
        // Checked, with its columns and node names, once per schema in the process.
        let shape = nodes::shape_of(schema)?;
        let schema = &shape.schema;
        let mut models = self.inner.models.lock().unwrap_or_else(|e| e.into_inner());
        if models.iter().any(|m| m.name() == schema.name()) {
            return Err(Error::DuplicateModel {
                model: schema.name().to_owned(),
                instance: self.inner.id,
            });
        }
        if let Some(other) = models.iter().find(|m| m.schema.table() == schema.table()) {
            return Err(Error::InvalidModel {
                model: schema.name().to_owned(),
                reason: format!(
                    "its table `{}` is already the table of model `{}` on instance {}",
                    schema.table(),
                    other.name(),
                    self.inner.id
                ),
            });
        }
        let model = Arc::new(ModelState::new(Arc::clone(&shape), self.inner.auto_migrate));
        let store = &self.inner.store;
        if store.has_migrations() && store.migrations_applied() {
            // Connected already: check the model against a migrated table now.
            let (model, store) = (Arc::clone(&model), Arc::clone(store));
            engine::block_on(async move { model.ensure_table(&store).await })?;
        }
        let registrations = nodes::generate(&model, &self.inner.store, self.inner.id);
        NodeRegistry::global().register_owned(
            Owner::Instance(self.inner.id),
            registrations,
            self.inner.collision,
            self.inner.created_by.clone(),
        )?;
        models.push(model);
        Ok(())
    }

    /// The names of the models registered on this instance, in registration order.
    pub fn models(&self) -> Vec<String> {
        let models = self.inner.models.lock().unwrap_or_else(|e| e.into_inner());
        models.iter().map(|m| m.name().to_owned()).collect()
    }

    /// The node names this instance holds in the global registry, sorted.
    pub fn nodes(&self) -> Vec<String> {
        NodeRegistry::global().names_owned_by(Owner::Instance(self.inner.id))
    }

    /// Removes exactly this instance's entries from the global registry (never another
    /// instance's entry of the same name) and forgets its models. Returns how many entries
    /// were removed; a second call returns 0.
    pub fn cleanup_nodes(&self) -> usize {
        self.inner.cleanup()
    }

    /// A workflow builder bound to this instance: short node names resolve to this
    /// instance's nodes, and to the rest of the registry (built-in nodes) otherwise.
    pub fn workflow(&self) -> WorkflowBuilder {
        WorkflowBuilder::bound_to(self.inner.id)
    }

    /// Creates the tables of every registered model now, instead of before first use.
    pub async fn migrate(&self) -> Result<()> {
        let store = Arc::clone(&self.inner.store);
        let models = self.registered();
        // Every table known to exist (made from a template, or created before): nothing to
        // run, so no hop to the engine and back.
        if models.iter().all(|m| m.table_is_ready()) {
            return Ok(());
        }
        engine::run(async move {
            for model in models {
                model.create_table(&store).await?;
            }
            Ok(())
        })
        .await
    }

    /// Runs one SQL statement (or, without parameters, several separated by `;`) on the
    /// instance's own session, and returns the number of rows it affected.
    ///
    /// `params` are bound to the placeholders (`$1`, `$2`, ... on PostgreSQL, `?`
    /// elsewhere), never formatted into the text; a different number of parameters than
    /// placeholders is [`Error::SqlParameters`], and a statement the database refuses is
    /// [`Error::Sql`] naming it. On PostgreSQL each parameter is converted to the type the
    /// server expects there (a `DATE`, a `UUID`, ...). In transaction mode the statement
    /// runs inside the test's transaction and is rolled back with it. The tables of the
    /// registered models are created first (with auto-migrate), as before a node runs.
    ///
    /// ```
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> dataflow::Result<()> {
    /// let db = dataflow::DataFlow::new("sqlite::memory:")?;
    /// db.execute_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)", &[]).await?;
    /// let added = db
    ///     .execute_sql("INSERT INTO notes (text) VALUES (?), (?)", &[json!("a"), json!("b")])
    ///     .await?;
    /// assert_eq!(added, 2);
    ///
    /// let err = db.execute_sql("DELETE FROM notes WHERE id = ?", &[]).await.unwrap_err();
    /// assert!(matches!(err, dataflow::Error::SqlParameters { expected: 1, given: 0, .. }));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn execute_sql(&self, sql: &str, params: &[serde_json::Value]) -> Result<u64> {
        engine::run(self.raw_sql(sql, params, Raw::Execute))
            .await
            .map(RawOutput::affected)
    }

    /// [`execute_sql`](Self::execute_sql), blocking the calling thread (for synchronous
    /// tests), like [`close_blocking`](Self::close_blocking).
    pub fn execute_sql_blocking(&self, sql: &str, params: &[serde_json::Value]) -> Result<u64> {
        engine::block_on(self.raw_sql(sql, params, Raw::Execute)).map(RawOutput::affected)
    }

    /// Runs a query on the instance's own session and returns its rows as JSON objects keyed
    /// by column name, as [`execute_sql`](Self::execute_sql) runs a statement.
    ///
    /// Integers and floats are JSON numbers, booleans booleans, text strings, bytes arrays of
    /// numbers, JSON columns JSON; dates and times are ISO 8601 strings, UUIDs and decimals
    /// (`NUMERIC`) strings. A column of another type is [`Error::Sql`]: cast it in the query.
    ///
    /// ```
    /// use serde_json::json;
    ///
    /// let db = dataflow::DataFlow::new("sqlite::memory:")?;
    /// let rows = db.query_sql_blocking("SELECT ? + 1 AS n, 'hi' AS greeting", &[json!(41)])?;
    /// assert_eq!(rows[0]["n"], 42);
    /// assert_eq!(rows[0]["greeting"], "hi");
    /// # Ok::<(), dataflow::Error>(())
    /// ```
    pub async fn query_sql(
        &self,
        sql: &str,
        params: &[serde_json::Value],
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
        engine::run(self.raw_sql(sql, params, Raw::Query))
            .await
            .map(RawOutput::rows)
    }

    /// [`query_sql`](Self::query_sql), blocking the calling thread.
    pub fn query_sql_blocking(
        &self,
        sql: &str,
        params: &[serde_json::Value],
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
        engine::block_on(self.raw_sql(sql, params, Raw::Query)).map(RawOutput::rows)
    }

    /// The work of the raw SQL methods, owned so that it can move to the engine.
    fn raw_sql(
        &self,
        sql: &str,
        params: &[serde_json::Value],
        raw: Raw,
    ) -> impl std::future::Future<Output = Result<RawOutput>> + Send + 'static {
        let store = Arc::clone(&self.inner.store);
        let models = self.registered();
        let (sql, params) = (sql.to_owned(), params.to_vec());
        async move {
            for model in models {
                model.ensure_table(&store).await?;
            }
            let mut session = store.session().await?;
            let result = match raw {
                Raw::Execute => session
                    .execute_sql(&sql, &params)
                    .await
                    .map(RawOutput::Affected),
                Raw::Query => session.query_sql(&sql, &params).await.map(RawOutput::Rows),
            };
            session.finish(result).await
        }
    }

    fn registered(&self) -> Vec<Arc<ModelState>> {
        self.inner
            .models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Opens a connection now: an unreachable database is an error that names it.
    pub async fn ping(&self) -> Result<()> {
        let store = Arc::clone(&self.inner.store);
        engine::run(async move { store.session().await?.finish(Ok(())).await }).await
    }

    /// Closes the pool: waits for connections in use to come back and closes them all. Later
    /// database work on this instance fails. In transaction mode this rolls everything back.
    pub async fn close(&self) {
        engine::run(self.inner.store.closer()).await
    }

    /// [`close`](Self::close), blocking the calling thread until it is done. Works from
    /// synchronous code and from inside any runtime (the work runs on the crate's engine).
    pub fn close_blocking(&self) {
        engine::block_on(self.inner.store.closer())
    }

    /// Marks the table of every registered model as created (see `__private::tables_exist`).
    pub(crate) fn assume_tables_exist(&self) {
        let models = self.inner.models.lock().unwrap_or_else(|e| e.into_inner());
        for model in models.iter() {
            model.assume_table_exists();
        }
    }
}

/// Which raw SQL method runs.
#[derive(Debug, Clone, Copy)]
enum Raw {
    Execute,
    Query,
}

/// What a raw SQL method returns.
enum RawOutput {
    Affected(u64),
    Rows(Vec<serde_json::Map<String, serde_json::Value>>),
}

impl RawOutput {
    fn affected(self) -> u64 {
        match self {
            RawOutput::Affected(n) => n,
            RawOutput::Rows(rows) => rows.len() as u64,
        }
    }

    fn rows(self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        match self {
            RawOutput::Rows(rows) => rows,
            RawOutput::Affected(_) => Vec::new(),
        }
    }
}

impl Inner {
    fn cleanup(&self) -> usize {
        self.models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        NodeRegistry::global().unregister_owner(Owner::Instance(self.id))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.cleanup();
        // A pool that never connected has nothing to close.
        if self.store.has_connected() {
            engine::spawn_detached(self.store.closer());
        }
    }
}

/// Options for a [`DataFlow`], from [`DataFlow::builder`].
///
/// ```
/// use dataflow::{Collision, DataFlow};
///
/// let db = DataFlow::builder("sqlite::memory:")
///     .auto_migrate(true)
///     .on_collision(Collision::Error)
///     .max_connections(2)
///     .build()?;
/// # Ok::<(), dataflow::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `.build()` or `.connect().await`"]
pub struct DataFlowBuilder {
    url: String,
    auto_migrate: bool,
    collision: Collision,
    migrations: Option<std::path::PathBuf>,
    settings: PoolSettings,
}

impl DataFlowBuilder {
    /// Create each model's table (if missing) before its first node runs. Default: true.
    pub fn auto_migrate(mut self, auto_migrate: bool) -> Self {
        self.auto_migrate = auto_migrate;
        self
    }

    /// What to do when a model's node names are held by another live instance.
    /// Default: [`Collision::Shadow`].
    pub fn on_collision(mut self, collision: Collision) -> Self {
        self.collision = collision;
        self
    }

    /// The most connections the pool opens. Default: 4 for SQLite, 5 for servers.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.settings.max_connections = Some(max);
        self
    }

    /// How long to wait for a connection before giving up with [`Error::Connect`].
    /// Default: 10 seconds.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// Transaction mode, for tests: also turned on by the query parameter
    /// `dataflow_isolation=transaction` in the URL, which the URL of a transaction-isolated
    /// test database carries (dataflow-testing's `Isolation::Transaction`), so that an
    /// instance built from that URL never writes outside the test's transaction.
    ///
    /// The instance runs on one connection inside a
    /// transaction that is never committed, so closing or dropping the instance rolls back
    /// everything it did. Nodes' own transactions become savepoints. PostgreSQL and SQLite
    /// only (MySQL commits on `CREATE TABLE`); work that needs a real commit or several
    /// connections at once does not fit this mode. Default: false.
    ///
    /// ```
    /// let db = dataflow::DataFlow::builder("sqlite::memory:").transaction_mode(true).build()?;
    /// assert!(db.transaction_mode());
    /// # Ok::<(), dataflow::Error>(())
    /// ```
    pub fn transaction_mode(mut self, enabled: bool) -> Self {
        self.settings.transaction = enabled;
        self
    }

    /// Applies the migrations of a sqlx-cli directory (`<version>_<name>.sql`, or
    /// reversible `<version>_<name>.up.sql` / `.down.sql`) before any other database work
    /// of the instance, with sqlx's own migrator: they are recorded in `_sqlx_migrations`
    /// exactly as `sqlx migrate run` records them, and a migration that was applied and has
    /// changed since is [`Error::MigrationChanged`].
    ///
    /// **When:** `build()` only checks the directory (a missing directory or a malformed
    /// file name is [`Error::MigrationSource`] there) and never connects; the migrations run
    /// when the instance first uses the database: [`connect`](Self::connect),
    /// [`DataFlow::ping`], [`DataFlow::migrate`], raw SQL, or the first node that runs. On
    /// PostgreSQL and SQLite the pending migrations run in one transaction, so a failing
    /// one ([`Error::MigrationFailed`], naming the file and line) leaves the database as
    /// it was; MySQL commits DDL as it goes.
    ///
    /// A model whose table a migration created is checked against it instead of being
    /// created: a missing column or a type the model cannot use is
    /// [`Error::SchemaMismatch`], at [`DataFlow::model`] once the migrations have run,
    /// otherwise at first use. A relative path is taken from the current directory (under
    /// `cargo test`, the crate's directory).
    ///
    /// ```
    /// #[derive(dataflow::Model)]
    /// struct User { id: i64, email: String }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> dataflow::Result<()> {
    /// # let migrations = tempfile::tempdir().unwrap();
    /// # std::fs::write(
    /// #     migrations.path().join("20240101000000_users.sql"),
    /// #     "CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT NOT NULL UNIQUE,
    /// #      created_at TEXT NOT NULL, updated_at TEXT NOT NULL);",
    /// # ).unwrap();
    /// # let migrations = migrations.path();
    /// let db = dataflow::DataFlow::builder("sqlite::memory:")
    ///     .migrations(migrations) // e.g. "migrations"
    ///     .connect()
    ///     .await?;
    /// db.model::<User>()?; // checked against the migrated table
    /// let applied = db.query_sql("SELECT version, success FROM _sqlx_migrations", &[]).await?;
    /// assert_eq!(applied[0]["version"], 20240101000000_i64);
    ///
    /// let missing = dataflow::DataFlow::builder("sqlite::memory:").migrations("no/such/dir").build();
    /// assert!(matches!(missing, Err(dataflow::Error::MigrationSource { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn migrations(mut self, dir: impl AsRef<std::path::Path>) -> Self {
        self.migrations = Some(dir.as_ref().to_owned());
        self
    }

    /// Builds the instance; connects on first use.
    pub fn build(mut self) -> Result<DataFlow> {
        let (plain, marked) = url::take_transaction_marker(&self.url);
        if marked {
            self.url = plain;
            self.settings.transaction = true;
        }
        let target = url::parse(&self.url)?;
        if self.settings.transaction && target.backend() == Backend::MySql {
            return Err(Error::InvalidUrl {
                url: url::redact(&self.url),
                reason: "transaction mode needs transactional DDL, and MySQL/MariaDB commit on \
                         CREATE TABLE; use a database of the test's own instead"
                    .to_owned(),
            });
        }
        let migrations = match &self.migrations {
            Some(dir) => Some(Migrations::new(dir)?),
            None => None,
        };
        if migrations.is_some() && self.settings.transaction && target.is_memory() {
            return Err(Error::InvalidUrl {
                url: url::redact(&self.url),
                reason:
                    "migrations in transaction mode need a database file (an in-memory \
                         database lives in the transaction it would have to commit them outside of)"
                        .to_owned(),
            });
        }
        let store = Store::open(target, &self.settings, migrations);
        Ok(DataFlow {
            inner: Arc::new(Inner {
                url: url::redact(&self.url),
                full_url: self.url.clone(),
                transaction: self.settings.transaction,
                id: InstanceId::next(),
                created_by: std::thread::current().name().map(Arc::from),
                store: Arc::new(store),
                auto_migrate: self.auto_migrate,
                collision: self.collision,
                models: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Builds the instance and connects at once.
    pub async fn connect(self) -> Result<DataFlow> {
        let db = self.build()?;
        db.ping().await?;
        Ok(db)
    }
}
