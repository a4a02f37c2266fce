//! The database behind an instance: a pool per backend, SQL for each dialect, and the
//! engine that runs database work whatever runtime calls it.

pub(crate) mod engine;
pub(crate) mod exec;
pub(crate) mod introspect;
pub(crate) mod migrate;
mod raw;
pub(crate) mod sql;
pub(crate) mod url;
pub(crate) mod value;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

#[cfg(feature = "mysql")]
use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::pool::PoolOptions;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgPool};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::ConnectOptions;

use crate::error::{Error, Result};

use self::exec::{Conn, Done};
use self::migrate::{Direct, Migrations};
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

/// The pool of each backend this build has (the features `sqlite`, `postgres`, `mysql`).
#[derive(Clone)]
enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
    #[cfg(feature = "mysql")]
    MySql(MySqlPool),
}

/// One database: its pool, and the connection the last session gave back.
///
/// An in-memory SQLite database lives as long as one of its connections: its pool keeps
/// every connection it opens (no idle timeout, no lifetime) and a session that cannot end
/// its transaction rolls it back instead of closing the connection.
pub(crate) struct Store {
    backend: Backend,
    transaction: bool,
    /// In transaction mode on PostgreSQL: where DDL runs, outside the test's transaction.
    #[cfg(feature = "postgres")]
    side: Option<PgConnectOptions>,
    /// The pool, made on first use ([`Store::pool`]).
    pool: OnceLock<Pool>,
    /// Makes the pool.
    make_pool: MakePool,
    /// Where the database is (host and port, or file), for error messages.
    location: String,
    /// `sqlite::memory:`: closing a connection could lose the database.
    memory: bool,
    /// The connection the last session gave back (SQLite only), see [`Stash`].
    stash: Mutex<Stash>,
    /// Migrations to apply before the first connection is handed out.
    migrations: Option<Migrations>,
    /// How to open a connection outside the pool (for migrations).
    direct: Direct,
}

/// Builds a store's pool, once, on first use.
///
/// Made lazily because building one is not free: sqlx starts a maintenance task for it on
/// the engine (waking a worker thread), and closing it wakes that task again. An instance
/// whose tables came from a template may never touch its database (a test that only
/// registers models), and then pays for neither.
type MakePool = Box<dyn Fn() -> Pool + Send + Sync>;

/// One connection kept out of sqlx's pool between sessions.
///
/// sqlx 0.8 takes a connection back in a task that first pings it, so a statement that
/// follows another at once finds no idle connection and opens a new one (for SQLite a new
/// file handle and worker thread). A session that ends well leaves its connection here
/// instead, and the next session takes it without a round trip. Closing the store takes it
/// out and marks the stash closed under the same lock, so no connection can be left here
/// while `Pool::close` waits for every connection to come back.
#[derive(Default)]
struct Stash {
    conn: Option<Conn>,
    closed: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let stashed = self.lock_stash().conn.take();
        if let Some(conn) = stashed {
            // sqlx takes a connection back in a task: start it on the engine, whatever
            // thread drops the store.
            let _engine = engine::handle().enter();
            drop(conn);
        }
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
#[cfg(any(feature = "sqlite", feature = "postgres"))]
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
    pub(crate) fn open(
        target: Target,
        settings: &PoolSettings,
        migrations: Option<Migrations>,
    ) -> Store {
        let backend = target.backend();
        match target {
            #[cfg(feature = "sqlite")]
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
                let pool = begin_on_connect!(pool, settings.transaction);
                Store {
                    backend,
                    transaction: settings.transaction,
                    #[cfg(feature = "postgres")]
                    side: None,
                    pool: OnceLock::new(),
                    make_pool: Box::new(move || {
                        Pool::Sqlite(pool.clone().connect_lazy_with(options.clone()))
                    }),
                    location: "sqlite::memory:".to_owned(),
                    memory: true,
                    stash: Mutex::default(),
                    migrations,
                    direct: Direct::Pool,
                }
            }
            #[cfg(feature = "sqlite")]
            Target::SqliteFile(options, path) => {
                let options = options
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(30))
                    .disable_statement_logging();
                let direct = Direct::Sqlite(options.clone());
                let pool = pool_options::<sqlx::Sqlite>(settings, 4).test_before_acquire(false);
                let pool = begin_on_connect!(pool, settings.transaction);
                Store {
                    backend,
                    transaction: settings.transaction,
                    #[cfg(feature = "postgres")]
                    side: None,
                    pool: OnceLock::new(),
                    make_pool: Box::new(move || {
                        Pool::Sqlite(pool.clone().connect_lazy_with(options.clone()))
                    }),
                    location: path.display().to_string(),
                    memory: false,
                    stash: Mutex::default(),
                    migrations,
                    direct,
                }
            }
            #[cfg(feature = "postgres")]
            Target::Postgres(options) => {
                let location = format!("{}:{}", options.get_host(), options.get_port());
                let options: PgConnectOptions = options.disable_statement_logging();
                let side = settings.transaction.then(|| options.clone());
                let direct = Direct::Postgres(options.clone());
                let pool = pool_options::<sqlx::Postgres>(settings, 5);
                let pool = begin_on_connect!(pool, settings.transaction);
                Store {
                    backend,
                    transaction: settings.transaction,
                    side,
                    pool: OnceLock::new(),
                    make_pool: Box::new(move || {
                        Pool::Postgres(pool.clone().connect_lazy_with(options.clone()))
                    }),
                    location,
                    memory: false,
                    stash: Mutex::default(),
                    migrations,
                    direct,
                }
            }
            #[cfg(feature = "mysql")]
            Target::MySql(options) => {
                let location = mysql_location(&options);
                let options: MySqlConnectOptions = options.disable_statement_logging();
                let direct = Direct::MySql(options.clone());
                let pool = pool_options::<sqlx::MySql>(settings, 5);
                Store {
                    backend,
                    transaction: settings.transaction,
                    #[cfg(feature = "postgres")]
                    side: None,
                    pool: OnceLock::new(),
                    make_pool: Box::new(move || {
                        Pool::MySql(pool.clone().connect_lazy_with(options.clone()))
                    }),
                    location,
                    memory: false,
                    stash: Mutex::default(),
                    migrations,
                    direct,
                }
            }
        }
    }

    /// The pool, made now if it was not yet; [`sqlx::Error::PoolClosed`] once the store is
    /// closed. Made under the stash's lock, which [`closer`](Self::closer) takes to mark the
    /// store closed: a pool is either made before the close (and closed by it) or never.
    fn pool(&self) -> Result<Pool> {
        let stash = self.lock_stash();
        if stash.closed {
            return Err(Error::Database(sqlx::Error::PoolClosed));
        }
        let pool = self.pool.get_or_init(|| {
            // sqlx starts the pool's maintenance task on the current runtime: make it ours.
            let _engine = engine::handle().enter();
            (self.make_pool)()
        });
        Ok(pool.clone())
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the database is: `host:port`, a file path, or `sqlite::memory:`.
    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    /// Whether the store applies migrations.
    pub(crate) fn has_migrations(&self) -> bool {
        self.migrations.is_some()
    }

    /// Whether the store's migrations have been applied (or it has none).
    pub(crate) fn migrations_applied(&self) -> bool {
        self.migrations.as_ref().is_none_or(Migrations::applied)
    }

    /// Takes a connection: the stashed one, or one from the pool (opening the first one if
    /// needed), after applying the migrations if they have not run yet.
    pub(crate) async fn acquire(&self) -> Result<Conn> {
        // Checked here first: the hot path of an instance without pending migrations
        // allocates nothing for them.
        if !self.migrations_applied() {
            self.ready().await?;
        }
        if let Some(conn) = self.lock_stash().conn.take() {
            return Ok(conn);
        }
        let conn = match &self.pool()? {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => p.acquire().await.map(Conn::Sqlite),
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => p.acquire().await.map(Conn::Postgres),
            #[cfg(feature = "mysql")]
            Pool::MySql(p) => p.acquire().await.map(Conn::MySql),
        };
        conn.map_err(|e| self.connect_error(e))
    }

    fn lock_stash(&self) -> std::sync::MutexGuard<'_, Stash> {
        self.stash.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes back the connection of a session that ended well: into the stash when it is
    /// free (SQLite, the store still open), to the pool otherwise.
    fn give_back(&self, conn: Conn) {
        if self.backend != Backend::Sqlite {
            return;
        }
        let mut stash = self.lock_stash();
        if !stash.closed && stash.conn.is_none() {
            stash.conn = Some(conn);
        }
        // Otherwise `conn` drops here and goes back to the pool (on the engine, where
        // sessions run, as sqlx requires).
    }

    /// Runs a DDL statement of this crate's own. In transaction mode on PostgreSQL it runs
    /// on a connection of its own, outside the test's transaction, so that the schema is
    /// committed and shared (as test frameworks with a SQL sandbox migrate once) while the
    /// data stays in the transaction.
    pub(crate) async fn execute_ddl(&self, q: &SqlQuery) -> Result<()> {
        #[cfg(feature = "postgres")]
        if let Some(options) = &self.side {
            return self.execute_ddl_aside(options, q).await;
        }
        let mut session = self.session().await?;
        let done = session.execute(q.clone()).await;
        session.finish(done).await.map(drop)
    }

    /// [`execute_ddl`](Self::execute_ddl) in transaction mode on PostgreSQL.
    #[cfg(feature = "postgres")]
    async fn execute_ddl_aside(&self, options: &PgConnectOptions, q: &SqlQuery) -> Result<()> {
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

    #[cfg(feature = "postgres")]
    async fn execute_side(&self, options: &PgConnectOptions, q: &SqlQuery) -> Result<()> {
        let mut conn = options.connect().await.map_err(|e| self.connect_error(e))?;
        let done = sqlx::Executor::execute(&mut conn, q.sql.as_str()).await;
        let _ = sqlx::Connection::close(conn).await;
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
    pub(crate) async fn begin(&self) -> Result<Session<'_>> {
        let mut conn = self.acquire().await?;
        let scope = if self.transaction {
            Scope::Savepoint
        } else {
            Scope::Transaction
        };
        conn.raw(scope.begin(self.backend)).await?;
        Ok(Session {
            store: self,
            conn: Some(conn),
            scope,
        })
    }

    /// A session for single statements. In transaction mode it is a savepoint too, so that
    /// a failing statement does not abort the outer transaction.
    pub(crate) async fn session(&self) -> Result<Session<'_>> {
        if self.transaction {
            return self.begin().await;
        }
        Ok(Session {
            store: self,
            conn: Some(self.acquire().await?),
            scope: Scope::None,
        })
    }

    /// Whether the pool has opened a connection (or is opening one).
    pub(crate) fn has_connected(&self) -> bool {
        let Some(pool) = self.pool.get() else {
            return false;
        };
        let size = match pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => p.size(),
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => p.size(),
            #[cfg(feature = "mysql")]
            Pool::MySql(p) => p.size(),
        };
        size > 0
    }

    /// A future that closes every connection and owns what it needs, so that it does not
    /// keep the store alive. From here on, sessions give their connections to the pool, and
    /// no session gets one.
    pub(crate) fn closer(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (stashed, pool) = {
            let mut stash = self.lock_stash();
            stash.closed = true;
            (stash.conn.take(), self.pool.get().cloned())
        };
        async move {
            // Closed here, not handed back: the pool would first ping it in a task of its
            // own (another thread's wake-up and a round trip), and `close` would wait for
            // that.
            if let Some(conn) = stashed {
                conn.close().await;
            }
            match pool {
                None => {}
                #[cfg(feature = "sqlite")]
                Some(Pool::Sqlite(p)) => p.close().await,
                #[cfg(feature = "postgres")]
                Some(Pool::Postgres(p)) => p.close().await,
                #[cfg(feature = "mysql")]
                Some(Pool::MySql(p)) => p.close().await,
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

#[cfg(feature = "mysql")]
fn mysql_location(options: &MySqlConnectOptions) -> String {
    match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
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
            _ => sql::Dialect::of(backend).begin(),
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
/// closes its connection, which rolls it back (on an in-memory database, whose last
/// connection must stay open, it rolls back and gives the connection back instead).
#[derive(Debug)]
pub(crate) struct Session<'s> {
    store: &'s Store,
    /// `None` once given back.
    conn: Option<Conn>,
    scope: Scope,
}

impl Session<'_> {
    fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a session has its connection until it finishes")
    }

    pub(crate) async fn execute(&mut self, q: SqlQuery) -> Result<Done> {
        self.conn().execute(q).await
    }

    pub(crate) async fn fetch(
        &mut self,
        q: SqlQuery,
        columns: &[Column],
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
        self.conn().fetch(q, columns).await
    }

    /// Raw SQL: see [`Conn::execute_sql`].
    pub(crate) async fn execute_sql(
        &mut self,
        sql: &str,
        params: &[serde_json::Value],
    ) -> Result<u64> {
        self.conn().execute_sql(sql, params).await
    }

    /// Raw SQL: see [`Conn::query_sql`].
    pub(crate) async fn query_sql(
        &mut self,
        sql: &str,
        params: &[serde_json::Value],
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
        self.conn().query_sql(sql, params).await
    }

    /// Commits when `result` is `Ok`, rolls back otherwise; returns `result`. A connection
    /// whose scope ended cleanly is given back for the next session; one that could not end
    /// its scope is closed.
    pub(crate) async fn finish<T>(mut self, result: Result<T>) -> Result<T> {
        if self.scope != Scope::None {
            let end = self.scope.end(result.is_ok());
            let ended = self.conn().raw(end).await;
            if let Err(e) = ended {
                // Dropped with its scope still open: the connection is closed.
                return Err(result.err().unwrap_or(e));
            }
            self.scope = Scope::None;
        }
        if let Some(conn) = self.conn.take() {
            self.store.give_back(conn);
        }
        result
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if self.scope == Scope::None {
            return; // back to the pool
        }
        if !self.store.memory {
            // Closing the connection rolls its transaction back.
            conn.close_on_drop();
            return;
        }
        // The last connection of an in-memory database takes the database with it when it
        // closes: roll back instead, then give the connection back. (A session is dropped on
        // the engine, which runs every session; entering it covers any other thread.)
        let end = self.scope.end(false);
        let _engine = engine::handle().enter();
        tokio::spawn(async move {
            // It fails only when there is nothing left to roll back.
            let _ = conn.raw(end).await;
        });
    }
}

// The stash and the in-memory database are SQLite's; the location test is MySQL's.
#[cfg(all(test, any(feature = "sqlite", feature = "mysql")))]
mod tests {
    #[cfg(feature = "sqlite")]
    use std::sync::Arc;
    #[cfg(feature = "sqlite")]
    use std::time::Duration;

    use super::*;

    #[cfg(feature = "sqlite")]
    fn memory_store() -> Store {
        let settings = PoolSettings {
            max_connections: None,
            connect_timeout: Duration::from_secs(5),
            transaction: false,
        };
        Store::open(url::parse("sqlite::memory:").unwrap(), &settings, None)
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn a_mysql_location_is_its_host_and_port_or_its_socket() {
        use std::str::FromStr;
        let at = |url: &str| mysql_location(&MySqlConnectOptions::from_str(url).unwrap());
        assert_eq!(at("mysql://root@db.example:3307/test"), "db.example:3307");
        assert_eq!(at("mysql://root@db.example/test"), "db.example:3306");
        assert_eq!(at("mysql://root:p,w@[::1]:3306/test"), "[::1]:3306");
        assert_eq!(
            at("mysql://root@localhost/test?socket=/run/mysqld/mysqld.sock"),
            "/run/mysqld/mysqld.sock"
        );
    }

    /// A test's own statement (SQL text the builder would not take, as `raw.rs` does).
    #[cfg(feature = "sqlite")]
    fn sql(text: &str) -> SqlQuery {
        SqlQuery {
            sql: text.to_owned(),
            args: Vec::new(),
        }
    }

    #[cfg(feature = "sqlite")]
    fn pool_size(store: &Store) -> u32 {
        match store.pool.get() {
            None => 0,
            Some(Pool::Sqlite(p)) => p.size(),
            #[allow(unreachable_patterns)]
            _ => unreachable!("a SQLite store"),
        }
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sessions_one_after_another_share_one_connection() {
        let store = Arc::new(memory_store());
        let s = Arc::clone(&store);
        engine::block_on(async move {
            let mut session = s.session().await?;
            let done = session.execute(sql("CREATE TABLE t (n INTEGER)")).await;
            session.finish(done).await?;
            for n in 0..20 {
                let mut session = s.begin().await?;
                let done = session
                    .execute(sql(&format!("INSERT INTO t VALUES ({n})")))
                    .await;
                session.finish(done).await?;
            }
            Ok::<_, Error>(())
        })
        .unwrap();
        // sqlx alone would have opened a second connection while the first one was pinged
        // on its way back to the pool.
        assert_eq!(pool_size(&store), 1);
        // Closing waits for every connection, the stashed one included (it returns), and
        // later sessions find the pool closed, not the stash.
        engine::block_on(store.closer());
        let s = Arc::clone(&store);
        let after = engine::block_on(async move { s.session().await.map(drop) });
        assert!(after.is_err(), "a session after close: {after:?}");
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn a_store_makes_its_pool_on_first_use_and_none_once_closed() {
        let store = Arc::new(memory_store());
        assert!(store.pool.get().is_none());
        assert!(!store.has_connected());
        // Closed before any use: nothing to close, and no pool is made afterwards.
        engine::block_on(store.closer());
        let s = Arc::clone(&store);
        let after = engine::block_on(async move { s.session().await.map(drop) });
        assert!(
            matches!(after, Err(Error::Database(sqlx::Error::PoolClosed))),
            "{after:?}"
        );
        assert!(store.pool.get().is_none());

        let store = Arc::new(memory_store());
        let s = Arc::clone(&store);
        engine::block_on(async move { s.session().await?.finish(Ok(())).await }).unwrap();
        assert!(store.pool.get().is_some() && store.has_connected());
        // The stashed connection is closed by the closer, not left for the pool to ping.
        engine::block_on(store.closer());
        assert_eq!(pool_size(&store), 0);
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn an_in_memory_database_outlives_a_session_dropped_inside_its_transaction() {
        let store = Arc::new(memory_store());
        let s = Arc::clone(&store);
        let rows = engine::block_on(async move {
            let mut session = s.session().await?;
            let done = session.execute(sql("CREATE TABLE t (n INTEGER)")).await;
            session.finish(done).await?;
            let mut session = s.begin().await?;
            session.execute(sql("INSERT INTO t VALUES (1)")).await?;
            drop(session); // never finished: rolled back, not closed
                           // Time for what the drop started in the background (a close would be done).
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut session = s.session().await?;
            let columns = [value::Column {
                name: "n".to_owned(),
                ty: crate::model::FieldType::I64,
                nullable: false,
            }];
            let rows = session.fetch(sql("SELECT n FROM t"), &columns).await;
            session.finish(rows).await
        })
        .expect("the table is still there");
        assert!(
            rows.is_empty(),
            "the dropped session's insert was rolled back"
        );
        engine::block_on(store.closer());
    }
}
