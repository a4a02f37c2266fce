//! The baselines: the same work written with sqlx directly, no framework. Also what the
//! raw test suite (`suites/raw_1000.rs`) runs.
//!
//! The SQLite options are the ones dataflow uses (WAL, `synchronous = NORMAL`, a busy
//! timeout, no statement logging), so that a ratio measures the framework, not a pragma.
//!
//! Each baseline does its statements on one connection taken from its pool. Statement by
//! statement on the pool would be slower: sqlx returns a connection to its pool in a task
//! of its own, so a statement that follows at once finds no idle connection and opens
//! another one (up to four here). A baseline should be the efficient way to do the work.

use std::path::Path;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Executor};

use crate::models::USERS_DDL;

/// The time as dataflow stores it: RFC 3339, microseconds, `Z`.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A fresh temporary directory of the benchmarks' own (`dfbench-*`), removed on drop.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dfbench-")
        .tempdir()
        .expect("a temporary directory")
}

/// The options of a SQLite file, as dataflow opens one.
pub fn sqlite_file_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
        .disable_statement_logging()
}

/// A pool on the SQLite file at `path` (created with the first connection); it connects on
/// first use.
pub fn sqlite_file_pool(path: &Path) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(4)
        .connect_lazy_with(sqlite_file_options(path))
}

/// A pool on a fresh in-memory SQLite database; it connects on first use.
pub fn sqlite_memory_pool() -> SqlitePool {
    let options: SqliteConnectOptions = "sqlite::memory:".parse().expect("a constant URL");
    SqlitePoolOptions::new()
        .max_connections(4)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options.disable_statement_logging())
}

/// One insert into `users` and one select of it: what the guarded test's create and list
/// nodes do.
pub async fn insert_and_select(conn: &mut SqliteConnection) {
    let now = now_text();
    sqlx::query(
        "INSERT INTO \"users\" (\"id\", \"name\", \"created_at\", \"updated_at\") \
         VALUES (?, ?, ?, ?)",
    )
    .bind("user-1")
    .bind("Alice")
    .bind(&now)
    .bind(&now)
    .execute(&mut *conn)
    .await
    .expect("insert");
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT \"id\", \"name\", \"created_at\", \"updated_at\" FROM \"users\" \
         WHERE \"id\" = ? ORDER BY \"id\" ASC",
    )
    .bind("user-1")
    .fetch_all(&mut *conn)
    .await
    .expect("select");
    assert_eq!(rows.len(), 1);
}

/// A raw test's whole life on a temporary SQLite file: temporary directory, pool,
/// `CREATE TABLE`, insert, select, close, remove.
pub async fn file_life() {
    let dir = temp_dir();
    let pool = sqlite_file_pool(&dir.path().join("test.db"));
    statements(&pool).await;
    pool.close().await;
    drop(dir);
}

/// `CREATE TABLE`, insert and select on one connection of `pool`.
async fn statements(pool: &SqlitePool) {
    let mut conn = pool.acquire().await.expect("a connection");
    conn.execute(USERS_DDL).await.expect("create table");
    insert_and_select(&mut conn).await;
}

/// A raw test's whole life on `sqlite::memory:`: pool, `CREATE TABLE`, insert, select,
/// close.
pub async fn memory_life() {
    let pool = sqlite_memory_pool();
    statements(&pool).await;
    pool.close().await;
}

/// A raw test's set-up and tear-down of a schema on a temporary SQLite file: temporary
/// directory, pool, every statement of `ddl`, close, remove.
pub async fn file_schema(ddl: &[String]) {
    let dir = temp_dir();
    let pool = sqlite_file_pool(&dir.path().join("test.db"));
    let mut conn = pool.acquire().await.expect("a connection");
    for sql in ddl {
        conn.execute(sql.as_str()).await.expect("create table");
    }
    drop(conn);
    pool.close().await;
    drop(dir);
}

/// What `sqlx::test` does for each test on PostgreSQL: `CREATE DATABASE`, the schema in
/// it, and `DROP DATABASE` at the end (here right away: the test itself is empty).
pub async fn postgres_database_with_schema(
    admin: &PgPool,
    admin_options: &PgConnectOptions,
    name: &str,
    ddl: &[String],
) {
    postgres_database_with_tables(admin, admin_options, name, ddl).await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await
        .expect("drop database");
}

/// `CREATE DATABASE name`, connect, every statement of `ddl`, close: a test's database, or
/// a template (no connection is left open).
pub async fn postgres_database_with_tables(
    admin: &PgPool,
    admin_options: &PgConnectOptions,
    name: &str,
    ddl: &[String],
) {
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    let mut conn = admin_options
        .clone()
        .database(name)
        .connect()
        .await
        .expect("connect to the new database");
    for sql in ddl {
        conn.execute(sql.as_str()).await.expect("create table");
    }
    conn.close().await.expect("close");
}

/// `CREATE DATABASE name TEMPLATE template`, then `DROP DATABASE name`.
pub async fn postgres_clone_and_drop(admin: &PgPool, template: &str, name: &str) {
    admin
        .execute(format!("CREATE DATABASE {name} TEMPLATE {template}").as_str())
        .await
        .expect("clone the template");
    admin
        .execute(format!("DROP DATABASE {name}").as_str())
        .await
        .expect("drop the clone");
}

/// Inserts `rows` into `users` in one transaction, `batch` rows per multi-row `INSERT`.
pub async fn bulk_insert(
    conn: &mut SqliteConnection,
    rows: &[(String, String)],
    batch: usize,
) -> u64 {
    let rows: Vec<(&str, &str)> = rows.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    insert_pairs(conn, &rows, batch).await
}

/// [`bulk_insert`] of the JSON rows BulkCreate receives (`[{"id": .., "name": ..}, ..]`):
/// what a handler written with sqlx alone does with the same input, reading each field
/// where it is (no copy, no checks beyond "is it a string").
pub async fn bulk_insert_json(
    conn: &mut SqliteConnection,
    rows: &serde_json::Value,
    batch: usize,
) -> u64 {
    let rows: Vec<(&str, &str)> = rows
        .as_array()
        .expect("an array of rows")
        .iter()
        .map(|row| {
            (
                json_str(row, "id").expect("an id"),
                json_str(row, "name").expect("a name"),
            )
        })
        .collect();
    insert_pairs(conn, &rows, batch).await
}

fn json_str<'v>(row: &'v serde_json::Value, field: &str) -> Option<&'v str> {
    row.get(field).and_then(serde_json::Value::as_str)
}

async fn insert_pairs(conn: &mut SqliteConnection, rows: &[(&str, &str)], batch: usize) -> u64 {
    let now = now_text();
    let mut tx = conn.begin().await.expect("begin");
    let mut inserted = 0;
    for chunk in rows.chunks(batch.max(1)) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO \"users\" (\"id\", \"name\", \"created_at\", \"updated_at\") ",
        );
        q.push_values(chunk, |mut row, (id, name)| {
            row.push_bind(id)
                .push_bind(name)
                .push_bind(&now)
                .push_bind(&now);
        });
        inserted += q
            .build()
            .execute(&mut *tx)
            .await
            .expect("insert")
            .rows_affected();
    }
    tx.commit().await.expect("commit");
    inserted
}
