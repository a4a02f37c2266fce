//! The database behind an instance: a pool per backend, SQL for each dialect, and the
//! engine that runs database work whatever runtime calls it.

pub(crate) mod engine;
pub(crate) mod exec;
pub(crate) mod sql;
pub(crate) mod url;
pub(crate) mod value;

use std::sync::Mutex;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use crate::error::{Error, Result};

use self::exec::{Conn, Done};
use self::sql::SqlQuery;
pub use self::url::Backend;
use self::url::Target;
use self::value::Column;

/// Connection settings shared by every backend.
#[derive(Debug, Clone)]
pub(crate) struct PoolSettings {
    pub(crate) max_connections: Option<u32>,
    pub(crate) connect_timeout: Duration,
    /// One connection inside a transaction that is never committed (test isolation).
    pub(crate) transaction: bool,
}

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// One database: its pool, and for an in-memory SQLite database the connection that keeps
/// it alive.
pub(crate) struct Store {
    backend: Backend,
    transaction: bool,
    /// In transaction mode on PostgreSQL: where DDL runs, outside the test's transaction.
    side: Option<PgConnectOptions>,
    pool: Pool,
    /// Where the database is (host and port, or file), for error messages.
    location: String,
    memory: Option<SqliteConnectOptions>,
    keeper: tokio::sync::OnceCell<Mutex<Option<SqliteConnection>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

fn pool_options<DB: sqlx::Database>(settings: &PoolSettings, default_max: u32) -> PoolOptions<DB> {
    let options = PoolOptions::<DB>::new()
        .max_connections(settings.max_connections.unwrap_or(default_max).max(1))
        .acquire_timeout(settings.connect_timeout);
    if !settings.transaction {
        return options;
    }
    // Transaction mode: one connection, never recycled; closing it rolls everything back.
    options
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
}

/// In transaction mode, each new connection opens the outer transaction as it connects.
/// (A macro, not a generic function: it is the same code for each concrete connection type.)
macro_rules! begin_on_connect {
    ($options:expr, $transaction:expr) => {
        if $transaction {
            $options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::Executor::execute(&mut *conn, "BEGIN").await?;
                    Ok(())
                })
            })
        } else {
            $options
        }
    };
}

impl Store {
    /// Builds the pool without connecting.
    pub(crate) fn open(target: Target, settings: &PoolSettings) -> Store {
        // sqlx starts the pool's maintenance tasks on the current runtime: make it ours.
        let _engine = engine::handle().enter();
        let backend = target.backend();
        match target {
            Target::SqliteMemory => {
                // `sqlite::memory:` names a fresh shared-cache database each time it is parsed:
                // private to this instance, shared by all of its connections.
                let options = "sqlite::memory:"
                    .parse::<SqliteConnectOptions>()
                    .expect("a constant URL")
                    .disable_statement_logging();
                let pool = pool_options::<sqlx::Sqlite>(settings, 4)
                    .test_before_acquire(false)
                    .idle_timeout(None)
                    .max_lifetime(None);
                let pool = begin_on_connect!(pool, settings.transaction)
                    .connect_lazy_with(options.clone());
                Store {
                    backend,
                    transaction: settings.transaction,
                    side: None,
                    pool: Pool::Sqlite(pool),
                    location: "sqlite::memory:".to_owned(),
                    memory: Some(options),
                    keeper: tokio::sync::OnceCell::new(),
                }
            }
            Target::SqliteFile(options, path) => {
                let options = options
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(30))
                    .disable_statement_logging();
                let pool = pool_options::<sqlx::Sqlite>(settings, 4).test_before_acquire(false);
                let pool = begin_on_connect!(pool, settings.transaction).connect_lazy_with(options);
                Store {
                    backend,
                    transaction: settings.transaction,
                    side: None,
                    pool: Pool::Sqlite(pool),
                    location: path.display().to_string(),
                    memory: None,
                    keeper: tokio::sync::OnceCell::new(),
                }
            }
            Target::Postgres(options) => {
                let location = format!("{}:{}", options.get_host(), options.get_port());
                let options: PgConnectOptions = options.disable_statement_logging();
                let side = settings.transaction.then(|| options.clone());
                let pool = pool_options::<sqlx::Postgres>(settings, 5);
                let pool: PgPool =
                    begin_on_connect!(pool, settings.transaction).connect_lazy_with(options);
                Store {
                    backend,
                    transaction: settings.transaction,
                    side,
                    pool: Pool::Postgres(pool),
                    location,
                    memory: None,
                    keeper: tokio::sync::OnceCell::new(),
                }
            }
            Target::MySql(options) => {
                let location = mysql_location(&options);
                let options: MySqlConnectOptions = options.disable_statement_logging();
                let pool: MySqlPool = pool_options(settings, 5).connect_lazy_with(options);
                Store {
                    backend,
                    transaction: settings.transaction,
                    side: None,
                    pool: Pool::MySql(pool),
                    location,
                    memory: None,
                    keeper: tokio::sync::OnceCell::new(),
                }
            }
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the database is: `host:port`, a file path, or `sqlite::memory:`.
    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    /// Takes a connection, opening the first one if needed.
    pub(crate) async fn acquire(&self) -> Result<Conn> {
        if let Some(options) = &self.memory {
            self.keeper
                .get_or_try_init(|| async {
                    let keeper = options.connect().await.map_err(|e| self.connect_error(e))?;
                    Ok::<_, Error>(Mutex::new(Some(keeper)))
                })
                .await?;
        }
        let conn = match &self.pool {
            Pool::Sqlite(p) => p.acquire().await.map(Conn::Sqlite),
            Pool::Postgres(p) => p.acquire().await.map(Conn::Postgres),
            Pool::MySql(p) => p.acquire().await.map(Conn::MySql),
        };
        conn.map_err(|e| self.connect_error(e))
    }

    /// Runs a DDL statement of this crate's own. In transaction mode on PostgreSQL it runs
    /// on a connection of its own, outside the test's transaction, so that the schema is
    /// committed and shared (as test frameworks with a SQL sandbox migrate once) while the
    /// data stays in the transaction.
    pub(crate) async fn execute_ddl(&self, q: &SqlQuery) -> Result<()> {
        let Some(options) = &self.side else {
            let mut session = self.session().await?;
            let done = session.execute(q).await;
            return session.finish(done).await.map(drop);
        };
        // The schema of the shared database is committed: once a statement has run there,
        // later instances of this process need not connect to run it again.
        static DONE: std::sync::OnceLock<Mutex<std::collections::HashSet<String>>> =
            std::sync::OnceLock::new();
        let key = format!(
            "{}:{}/{}\n{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default(),
            q.sql
        );
        let done = DONE.get_or_init(Default::default);
        if done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key)
        {
            return Ok(());
        }
        self.execute_side(options, q).await?;
        done.lock().unwrap_or_else(|e| e.into_inner()).insert(key);
        Ok(())
    }

    async fn execute_side(&self, options: &PgConnectOptions, q: &SqlQuery) -> Result<()> {
        let mut conn = options.connect().await.map_err(|e| self.connect_error(e))?;
        let done = sqlx::Executor::execute(&mut conn, q.sql.as_str()).await;
        let _ = conn.close().await;
        match done {
            Ok(_) => Ok(()),
            // Two tests creating the same table at once: one wins, the other's
            // IF NOT EXISTS loses a race in PostgreSQL's catalog. The table exists.
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("23505") || e.code().as_deref() == Some("42P07") =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Begins a transaction on a connection of its own (in transaction mode, a savepoint
    /// inside the outer transaction).
    pub(crate) async fn begin(&self) -> Result<Session> {
        let mut conn = self.acquire().await?;
        let scope = if self.transaction {
            Scope::Savepoint
        } else {
            Scope::Transaction
        };
        conn.raw(scope.begin(self.backend)).await?;
        Ok(Session { conn, scope })
    }

    /// A session for single statements. In transaction mode it is a savepoint too, so that
    /// a failing statement does not abort the outer transaction.
    pub(crate) async fn session(&self) -> Result<Session> {
        if self.transaction {
            return self.begin().await;
        }
        Ok(Session {
            conn: self.acquire().await?,
            scope: Scope::None,
        })
    }

    /// Whether the pool has opened a connection (or is opening one).
    pub(crate) fn has_connected(&self) -> bool {
        let size = match &self.pool {
            Pool::Sqlite(p) => p.size(),
            Pool::Postgres(p) => p.size(),
            Pool::MySql(p) => p.size(),
        };
        size > 0 || self.keeper.initialized()
    }

    /// A future that closes every connection and owns what it needs, so that it does not
    /// keep the store alive.
    pub(crate) fn closer(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let pool = match &self.pool {
            Pool::Sqlite(p) => Pool::Sqlite(p.clone()),
            Pool::Postgres(p) => Pool::Postgres(p.clone()),
            Pool::MySql(p) => Pool::MySql(p.clone()),
        };
        let keeper = self
            .keeper
            .get()
            .and_then(|k| k.lock().unwrap_or_else(|e| e.into_inner()).take());
        async move {
            match pool {
                Pool::Sqlite(p) => p.close().await,
                Pool::Postgres(p) => p.close().await,
                Pool::MySql(p) => p.close().await,
            }
            if let Some(conn) = keeper {
                let _ = conn.close().await;
            }
        }
    }

    fn connect_error(&self, err: sqlx::Error) -> Error {
        match err {
            sqlx::Error::PoolTimedOut => Error::Connect {
                host: self.location.clone(),
                reason: "timed out waiting for a connection (is the server running and \
                         reachable? are all connections busy?)"
                    .to_owned(),
            },
            sqlx::Error::Io(e) => Error::Connect {
                host: self.location.clone(),
                reason: e.to_string(),
            },
            sqlx::Error::Tls(e) => Error::Connect {
                host: self.location.clone(),
                reason: e.to_string(),
            },
            other => Error::Database(other),
        }
    }
}

fn mysql_location(options: &MySqlConnectOptions) -> String {
    // MySqlConnectOptions has no host getter in sqlx 0.8; its Debug output has both fields.
    let debug = format!("{options:?}");
    let field = |name: &str| {
        debug
            .split(&format!("{name}: "))
            .nth(1)
            .and_then(|rest| rest.split([',', ' ']).next())
            .map(|v| v.trim_matches('"').to_owned())
    };
    match (field("host"), field("port")) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        _ => "the MySQL server".to_owned(),
    }
}

/// What a session is inside of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    None,
    Transaction,
    Savepoint,
}

impl Scope {
    fn begin(self, backend: Backend) -> &'static str {
        match self {
            Scope::Savepoint => "SAVEPOINT dataflow_session",
            _ => sql::begin(backend),
        }
    }

    fn end(self, ok: bool) -> &'static str {
        match (self, ok) {
            (Scope::Savepoint, true) => "RELEASE SAVEPOINT dataflow_session",
            (Scope::Savepoint, false) => {
                "ROLLBACK TO SAVEPOINT dataflow_session; RELEASE SAVEPOINT dataflow_session"
            }
            (_, true) => "COMMIT",
            (_, false) => "ROLLBACK",
        }
    }
}

/// A connection doing one unit of work: in a transaction, a savepoint, or neither.
///
/// Every session ends with [`finish`](Self::finish). One dropped inside a transaction
/// closes its connection, which rolls it back.
#[derive(Debug)]
pub(crate) struct Session {
    conn: Conn,
    scope: Scope,
}

impl Session {
    pub(crate) async fn execute(&mut self, q: &SqlQuery) -> Result<Done> {
        self.conn.execute(q).await
    }

    pub(crate) async fn fetch(
        &mut self,
        q: &SqlQuery,
        columns: &[Column],
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
        self.conn.fetch(q, columns).await
    }

    /// Commits when `result` is `Ok`, rolls back otherwise; returns `result`.
    pub(crate) async fn finish<T>(mut self, result: Result<T>) -> Result<T> {
        if self.scope == Scope::None {
            return result;
        }
        let ended = self.conn.raw(self.scope.end(result.is_ok())).await;
        self.scope = Scope::None;
        match (result, ended) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(e)) => {
                self.conn.close_on_drop();
                Err(e)
            }
            (Err(e), ended) => {
                if ended.is_err() {
                    self.conn.close_on_drop();
                }
                Err(e)
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.scope != Scope::None {
            self.conn.close_on_drop();
        }
    }
}
