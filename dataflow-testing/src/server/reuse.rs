//! Reused test databases ([`Isolation::Reuse`](crate::Isolation::Reuse)): a database a test
//! is done with is reset to its template's contents and handed to the next test that asks
//! at the same place (the same fixture) with the same setup, instead of being dropped.
//!
//! Reset restores the template's state exactly, or refuses, and then the database is
//! dropped (in the background) and the next test gets a fresh clone:
//!
//! - sessions the test left open are ended first (and waited for), so nothing writes after
//!   the reset; a prepared transaction refuses the reuse;
//! - the schema is compared with the state the test got: on PostgreSQL, the row count of
//!   every catalog of the database and the rows written since the test got it (catalog rows
//!   whose `xmin` is newer than a mark: any DDL, `COMMENT`, `GRANT`, `ALTER SEQUENCE`,
//!   `TRUNCATE`, a large object), plus the database's own settings; on MariaDB/MySQL, a
//!   fingerprint of `information_schema` (tables, columns, indexes, constraints, routines,
//!   triggers, views, events). Any difference refuses the reuse;
//! - data: a table empty in the template that has rows is truncated; a table with
//!   template rows whose contents changed (PostgreSQL: an md5 of its rows as text; MariaDB:
//!   `CHECKSUM TABLE`) is truncated and its rows loaded again (PostgreSQL: the template's
//!   rows kept in memory as binary `COPY` data, with the tables that reference it;
//!   MariaDB: `INSERT .. SELECT` from the template);
//! - sequences (PostgreSQL) are set back to the template's `last_value` / `is_called`;
//!   MariaDB's `AUTO_INCREMENT` counters to the template's.
//!
//! **Invariant:** a database goes back to the pool only after a reset that found its schema
//! unchanged and no session of the test left; a kept database (a failed test's) never does.

use std::collections::{BTreeSet, HashMap};
use std::panic::Location;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor, Row};

use super::{AdminPool, Server};
use crate::error::Result;
use crate::rt;

/// Where reused databases are pooled: the code that asked for the database (a fixture's
/// options) and the key of its setup. Databases asked for at one place usually hold one
/// template; one that holds another is cloned again under its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ReuseKey {
    pub(crate) site: &'static Location<'static>,
    pub(crate) setup: u64,
}

/// The most template rows a PostgreSQL database keeps in memory to load them again; a
/// template with more is not reused (each test gets a fresh clone).
const MAX_KEPT_ROWS: usize = 16 << 20;

/// How long a reset waits for the sessions it ended to go.
const SESSION_GRACE: Duration = Duration::from_secs(5);

/// A database a test may be given: its name, the template its contents are (`None`: an
/// empty database), and what resetting it needs.
pub(crate) struct Reusable {
    pub(crate) name: String,
    pub(crate) template: Option<String>,
    state: State,
}

impl std::fmt::Debug for Reusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (template {:?})", self.name, self.template)
    }
}

enum State {
    Postgres(Box<PgState>),
    MySql(MyState),
}

/// The pooled databases, and how many are being replaced, per key.
#[derive(Default)]
struct Pool {
    idle: HashMap<ReuseKey, Vec<(Server, Reusable)>>,
    replacing: HashMap<ReuseKey, usize>,
}

/// The pool, and the condition a test that waits for a replacement waits on.
fn pool() -> &'static (Mutex<Pool>, Condvar) {
    static POOL: OnceLock<(Mutex<Pool>, Condvar)> = OnceLock::new();
    POOL.get_or_init(Default::default)
}

fn lock_pool() -> std::sync::MutexGuard<'static, Pool> {
    pool().0.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long a test waits for a database being replaced before it makes one of its own.
const REPLACEMENT_WAIT: Duration = Duration::from_secs(10);

impl Server {
    /// A database reset after its last use, pooled under `key`, if there is one; while none
    /// is idle but one is being replaced (its last test changed the schema), waits for it:
    /// that costs no more than making one.
    pub(crate) fn take_reusable(&self, key: ReuseKey) -> Option<Reusable> {
        let (_, ready) = pool();
        let started = Instant::now();
        let mut pool = lock_pool();
        loop {
            if let Some((_, db)) = pool.idle.get_mut(&key).and_then(Vec::pop) {
                return Some(db);
            }
            let waited = started.elapsed();
            if pool.replacing.get(&key).copied().unwrap_or(0) == 0 || waited > REPLACEMENT_WAIT {
                return None;
            }
            pool = ready
                .wait_timeout(pool, REPLACEMENT_WAIT - waited)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// What resetting database `name` (just made from `template`) back to its state now
    /// needs: read once, when the database is fresh.
    pub(crate) fn reusable(&self, name: &str, template: Option<String>) -> Result<Reusable> {
        let url = self.url_of(name);
        let admin = self.admin.clone();
        let (db, tpl) = (name.to_owned(), template.clone());
        let state = rt::block_on(async move {
            match admin {
                AdminPool::Postgres(_) => {
                    let options: PgConnectOptions = url.parse()?;
                    let conn = options.disable_statement_logging().connect().await?;
                    Ok(State::Postgres(Box::new(pg_baseline(conn).await?)))
                }
                AdminPool::MySql(pool) => {
                    Ok(State::MySql(my_baseline(&pool, &db, tpl.as_deref()).await?))
                }
            }
        })
        .map_err(|e: sqlx::Error| self.fail(&format!("reading {name} for reuse"), e))?;
        Ok(Reusable {
            name: name.to_owned(),
            template,
            state,
        })
    }

    /// Resets `db` to its template's state and pools it under `key`; a database that cannot
    /// be reset exactly (its schema changed) is replaced in the background instead: dropped
    /// and made again from its template under the same name (the reason traced).
    pub(crate) fn give_back(&self, key: ReuseKey, db: Reusable) {
        let admin = self.admin.clone();
        let (reset, db) = rt::block_on(async move {
            let mut db = db;
            let reset = match (&mut db.state, admin) {
                (State::Postgres(state), _) => pg_reset(state).await,
                (State::MySql(state), AdminPool::MySql(pool)) => {
                    my_reset(&pool, &db.name, state).await
                }
                (State::MySql(_), AdminPool::Postgres(_)) => Err("not a MySQL server".to_owned()),
            };
            if reset.is_err() {
                close(&mut db).await;
            }
            (reset, db)
        });
        match reset {
            Ok(()) => {
                tracing::debug!(database = %db.name, "test database reset for reuse");
                lock_pool()
                    .idle
                    .entry(key)
                    .or_default()
                    .push((self.clone(), db));
                pool().1.notify_all();
            }
            Err(why) => {
                tracing::debug!(database = %db.name, %why, "test database not reused: replaced");
                self.replace_later(key, db);
            }
        }
    }

    /// Drops `db` and makes it again from its template under the same name, in the
    /// background, then pools it; a test that asks meanwhile waits for it (see
    /// [`take_reusable`](Self::take_reusable)). The process waits for it before it exits.
    fn replace_later(&self, key: ReuseKey, db: Reusable) {
        *lock_pool().replacing.entry(key).or_default() += 1;
        let server = self.clone();
        let Reusable { name, template, .. } = db;
        rt::spawn_background(async move {
            let made = server.remake(&name, template.as_deref()).await;
            let failed = {
                let mut idle = lock_pool();
                if let Some(n) = idle.replacing.get_mut(&key) {
                    *n -= 1;
                }
                match made {
                    Ok(state) => {
                        let db = Reusable {
                            name: name.clone(),
                            template,
                            state,
                        };
                        idle.idle.entry(key).or_default().push((server.clone(), db));
                        None
                    }
                    Err(e) => Some(e),
                }
            };
            pool().1.notify_all();
            if let Some(e) = failed {
                eprintln!("dataflow-testing: could not make {name} again: {e}");
                let sql = server.drop_sql(&name);
                let _ = match &server.admin {
                    AdminPool::Postgres(p) => sqlx::query(&sql).execute(p).await.map(drop),
                    AdminPool::MySql(p) => sqlx::query(&sql).execute(p).await.map(drop),
                };
            }
        });
    }

    /// Database `name` dropped and made again from `template` (or empty), and its state.
    async fn remake(&self, name: &str, template: Option<&str>) -> Result<State, sqlx::Error> {
        let drop_sql = self.drop_sql(name);
        match &self.admin {
            AdminPool::Postgres(pool) => {
                let create = match template {
                    Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
                    None => format!("CREATE DATABASE {name}"),
                };
                let mut conn = pool.acquire().await?;
                conn.execute(drop_sql.as_str()).await?;
                conn.execute(create.as_str()).await?;
                drop(conn);
                let options: PgConnectOptions = self.url_of(name).parse()?;
                let conn = options.disable_statement_logging().connect().await?;
                Ok(State::Postgres(Box::new(pg_baseline(conn).await?)))
            }
            AdminPool::MySql(pool) => {
                pool.execute(drop_sql.as_str()).await?;
                match template {
                    Some(template) => super::template::clone_mysql(pool, template, name).await?,
                    None => pool
                        .execute(format!("CREATE DATABASE {name}").as_str())
                        .await
                        .map(drop)?,
                }
                Ok(State::MySql(my_baseline(pool, name, template).await?))
            }
        }
    }

    /// Drops `db` now (it holds another template than a test wants, or the process ends).
    pub(crate) fn discard(&self, db: Reusable) -> Result<()> {
        let name = db.name.clone();
        self.forget(db);
        self.drop_database(&name)
    }

    /// Leaves `db` as it is, out of the pool for good (a kept database).
    pub(crate) fn forget(&self, mut db: Reusable) {
        // Closed on the runtime that opened it.
        rt::block_on(async move { close(&mut db).await });
    }
}

/// Drops every pooled database (at exit).
pub(crate) fn drop_pooled() {
    let pooled: Vec<(Server, Reusable)> = std::mem::take(&mut lock_pool().idle)
        .into_values()
        .flatten()
        .collect();
    for (server, db) in pooled {
        let name = db.name.clone();
        if let Err(e) = server.discard(db) {
            eprintln!("dataflow-testing: could not drop {name}: {e}");
        }
    }
}

/// Closes the connection a PostgreSQL database keeps for its resets.
async fn close(db: &mut Reusable) {
    if let State::Postgres(state) = &mut db.state {
        if let Some(conn) = state.conn.take() {
            let _ = conn.close().await;
        }
    }
}

/// A PostgreSQL database's state to restore, and the connection its resets run on (kept
/// open: a new connection's first catalog query costs more than the whole check).
struct PgState {
    conn: Option<PgConnection>,
    /// The catalog check, one text: per catalog, its rows and those written after `$1`.
    catalog_sql: String,
    /// The transaction id before which every catalog row of the state was written.
    mark: String,
    /// The catalog check's answer for the state.
    catalogs: String,
    /// Base tables (quoted, qualified) and, for those with template rows, the rows.
    tables: Vec<PgTable>,
    /// Foreign keys: (referencing, referenced) table indices.
    references: Vec<(usize, usize)>,
    /// The indices of the tables whose contents changed, or `None` without tables.
    dirty_sql: Option<String>,
    /// Sets every sequence back, or `None` without sequences.
    setval_sql: Option<String>,
}

struct PgTable {
    name: String,
    /// The template's rows as binary `COPY` data, for a table that had rows.
    rows: Option<Vec<u8>>,
}

/// Catalogs that change without a schema change: planner statistics (`ANALYZE`).
const PG_STATISTICS: &str = "'pg_statistic', 'pg_statistic_ext_data'";

/// Schemas of the database's own objects.
const PG_USER_SCHEMA: &str = "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'";

async fn pg_baseline(mut conn: PgConnection) -> Result<PgState, sqlx::Error> {
    let parts: String = sqlx::query_scalar(&format!(
        "SELECT string_agg(format('(SELECT count(*) || ''/'' || count(*) FILTER \
           (WHERE age(xmin) <= age($1::text::xid)) FROM pg_catalog.%I)', c.relname), \
           ', ' ORDER BY c.relname) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'pg_catalog' AND c.relkind = 'r' AND NOT c.relisshared \
           AND c.relname NOT IN ({PG_STATISTICS})"
    ))
    .fetch_one(&mut conn)
    .await?;
    // The database's own row and settings (shared catalogs) too: ALTER DATABASE.
    let catalog_sql = format!(
        "SELECT concat_ws(',', {parts}, \
           (SELECT xmin::text FROM pg_database WHERE datname = current_database()), \
           (SELECT string_agg(s.xmin::text, ',') FROM pg_db_role_setting s \
              JOIN pg_database d ON d.oid = s.setdatabase \
              WHERE d.datname = current_database()))"
    );
    let tables = pg_relations(&mut conn, "r").await?;
    let filled: Vec<bool> = if tables.is_empty() {
        Vec::new()
    } else {
        let checks: Vec<String> = tables
            .iter()
            .map(|(_, t)| format!("EXISTS (SELECT 1 FROM {t})"))
            .collect();
        sqlx::query_scalar(&format!("SELECT ARRAY[{}]", checks.join(", ")))
            .fetch_one(&mut conn)
            .await?
    };
    let mut kept = 0;
    let mut pg_tables = Vec::new();
    let mut dirty = Vec::new();
    for (i, ((_, name), filled)) in tables.iter().zip(filled).enumerate() {
        if !filled {
            dirty.push(format!("SELECT {i} WHERE EXISTS (SELECT 1 FROM {name})"));
            pg_tables.push(PgTable {
                name: name.clone(),
                rows: None,
            });
            continue;
        }
        let hash: String = sqlx::query_scalar(&rows_hash(name))
            .fetch_one(&mut conn)
            .await?;
        let rows: Vec<u8> = conn
            .copy_out_raw(&format!("COPY {name} TO STDOUT (FORMAT binary)"))
            .await?
            .try_fold(Vec::new(), |mut all, chunk| async move {
                all.extend_from_slice(&chunk);
                Ok(all)
            })
            .await?;
        kept += rows.len();
        if kept > MAX_KEPT_ROWS {
            return Err(sqlx::Error::Protocol(format!(
                "the template's rows take more than {} MiB",
                MAX_KEPT_ROWS >> 20
            )));
        }
        dirty.push(format!(
            "SELECT {i} WHERE ({}) IS DISTINCT FROM '{hash}'",
            rows_hash(name)
        ));
        pg_tables.push(PgTable {
            name: name.clone(),
            rows: Some(rows),
        });
    }
    let index: HashMap<i64, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, (oid, _))| (*oid, i))
        .collect();
    let keys: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT conrelid::int8, confrelid::int8 FROM pg_constraint WHERE contype = 'f'",
    )
    .fetch_all(&mut conn)
    .await?;
    let references = keys
        .iter()
        .filter_map(|(from, to)| Some((*index.get(from)?, *index.get(to)?)))
        .collect();
    let sequences = pg_relations(&mut conn, "S").await?;
    let setval_sql = if sequences.is_empty() {
        None
    } else {
        let reads: Vec<String> = sequences
            .iter()
            .enumerate()
            .map(|(i, (_, s))| format!("SELECT {i}::int4, last_value, is_called FROM {s}"))
            .collect();
        let mut states: Vec<(i32, i64, bool)> = sqlx::query_as(&reads.join(" UNION ALL "))
            .fetch_all(&mut conn)
            .await?;
        states.sort_unstable_by_key(|s| s.0);
        let sets: Vec<String> = states
            .iter()
            .map(|(i, value, called)| {
                format!(
                    "setval({}::regclass, {value}, {called})",
                    sequences[*i as usize].0
                )
            })
            .collect();
        Some(format!("SELECT {}", sets.join(", ")))
    };
    let (mark, catalogs) = pg_mark(&mut conn, &catalog_sql).await?;
    Ok(PgState {
        conn: Some(conn),
        catalog_sql,
        mark,
        catalogs,
        tables: pg_tables,
        references,
        dirty_sql: (!dirty.is_empty()).then(|| dirty.join(" UNION ALL ")),
        setval_sql,
    })
}

/// The database's own relations of `kind` (`r` tables, `S` sequences), not temporary: oid
/// and quoted, qualified name.
async fn pg_relations(
    conn: &mut PgConnection,
    kind: &'static str,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT c.oid::int8, format('%I.%I', n.nspname, c.relname) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = $1::\"char\" AND c.relpersistence <> 't' AND {PG_USER_SCHEMA} \
         ORDER BY 2"
    ))
    .bind(kind)
    .fetch_all(conn)
    .await
}

/// An md5 of a table's rows as text, in an order of their own.
fn rows_hash(table: &str) -> String {
    format!("SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM {table} x")
}

/// Marks the catalogs as they are now (later catalog writes have newer transaction ids):
/// the mark, and the catalog check's answer.
async fn pg_mark(
    conn: &mut PgConnection,
    catalog_sql: &str,
) -> Result<(String, String), sqlx::Error> {
    let mark: String = sqlx::query_scalar(
        "SELECT (txid_snapshot_xmax(txid_current_snapshot()) % 4294967296)::text",
    )
    .fetch_one(&mut *conn)
    .await?;
    let catalogs: String = sqlx::query_scalar(catalog_sql)
        .bind(&mark)
        .fetch_one(&mut *conn)
        .await?;
    Ok((mark, catalogs))
}

/// Resets the database on its connection, which goes back to `state` only when the reset
/// succeeded.
async fn pg_reset(state: &mut PgState) -> Result<(), String> {
    let mut conn = state
        .conn
        .take()
        .ok_or_else(|| "its connection was closed".to_owned())?;
    pg_reset_on(&mut conn, state).await?;
    state.conn = Some(conn);
    Ok(())
}

async fn pg_reset_on(conn: &mut PgConnection, state: &mut PgState) -> Result<(), String> {
    let failed = |doing: &'static str| move |e: sqlx::Error| format!("{doing}: {e}");
    // The test's sessions (an instance it did not drop, a pool of its own), ended and
    // waited for: nothing may write after the reset.
    let started = Instant::now();
    loop {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND backend_type = 'client backend'",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(failed("ending the test's sessions"))?;
        if left == 0 {
            break;
        }
        if started.elapsed() > SESSION_GRACE {
            return Err(format!("{left} session(s) of the test did not end"));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let prepared: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed("looking for prepared transactions"))?;
    if prepared > 0 {
        return Err(format!("the test left {prepared} prepared transaction(s)"));
    }
    let catalogs: String = sqlx::query_scalar(&state.catalog_sql)
        .bind(&state.mark)
        .fetch_one(&mut *conn)
        .await
        .map_err(failed("reading the catalogs"))?;
    if catalogs != state.catalogs {
        return Err("the test changed the schema".to_owned());
    }
    let dirty: Vec<i32> = match &state.dirty_sql {
        None => Vec::new(),
        Some(sql) => sqlx::query_scalar(sql)
            .fetch_all(&mut *conn)
            .await
            .map_err(failed("looking for written tables"))?,
    };
    if !dirty.is_empty() {
        // Truncated together with every table that references one of them (PostgreSQL
        // refuses otherwise), and the template's rows of those that had some loaded again,
        // with triggers and foreign-key checks off.
        let mut chosen: BTreeSet<usize> = dirty.iter().map(|i| *i as usize).collect();
        loop {
            let more: Vec<usize> = state
                .references
                .iter()
                .filter(|(from, to)| chosen.contains(to) && !chosen.contains(from))
                .map(|(from, _)| *from)
                .collect();
            if more.is_empty() {
                break;
            }
            chosen.extend(more);
        }
        let names: Vec<&str> = chosen
            .iter()
            .map(|i| state.tables[*i].name.as_str())
            .collect();
        let truncate = format!("TRUNCATE {}", names.join(", "));
        let loads: Vec<(String, Vec<u8>)> = chosen
            .iter()
            .filter_map(|i| {
                let table = &state.tables[*i];
                let rows = table.rows.as_ref()?;
                Some((
                    format!("COPY {} FROM STDIN (FORMAT binary)", table.name),
                    rows.clone(),
                ))
            })
            .collect();
        let mut tx = conn.begin().await.map_err(failed("resetting rows"))?;
        if !loads.is_empty() {
            tx.execute("SET LOCAL session_replication_role = replica")
                .await
                .map_err(failed("turning triggers off to load the template's rows"))?;
        }
        tx.execute(truncate.as_str())
            .await
            .map_err(failed("truncating written tables"))?;
        for (copy, rows) in loads {
            let mut load = tx
                .copy_in_raw(&copy)
                .await
                .map_err(failed("loading the template's rows"))?;
            load.send(rows)
                .await
                .map_err(failed("loading the template's rows"))?;
            load.finish()
                .await
                .map_err(failed("loading the template's rows"))?;
        }
        tx.commit().await.map_err(failed("resetting rows"))?;
    }
    if let Some(sql) = &state.setval_sql {
        conn.execute(sql.as_str())
            .await
            .map_err(failed("setting sequences back"))?;
    }
    if !dirty.is_empty() {
        // TRUNCATE wrote the catalogs (new files): the state to compare with is now.
        (state.mark, state.catalogs) = pg_mark(conn, &state.catalog_sql)
            .await
            .map_err(failed("reading the catalogs"))?;
    }
    Ok(())
}

/// A MariaDB/MySQL database's state to restore. Resets run on the admin pool, naming the
/// database in every statement.
struct MyState {
    /// Where rows come from: the template, for tables that had rows.
    template: Option<String>,
    /// The schema fingerprint (`information_schema`).
    schema: String,
    tables: Vec<MyTable>,
    /// The indices of the tables empty in the template that have rows, or `None`.
    dirty_sql: Option<String>,
}

struct MyTable {
    name: String,
    /// The template's `CHECKSUM TABLE`, for a table that had rows.
    checksum: Option<u64>,
    auto_increment: Option<u64>,
}

/// A fingerprint of database `?` (bound 11 times) in `information_schema`: per view, the
/// number of rows and a sum of their CRC32s.
const MYSQL_SCHEMA_SQL: &str = "SELECT CAST(CONCAT_WS('|', \
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', default_character_set_name, \
     default_collation_name))), 0)) FROM information_schema.schemata WHERE schema_name = ?), \
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', table_name, table_type, \
     engine, row_format, table_collation, create_options, table_comment))), 0)) \
     FROM information_schema.tables WHERE table_schema = ?), \
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', table_name, column_name, \
     ordinal_position, column_default, is_nullable, column_type, collation_name, extra, \
     generation_expression, column_comment))), 0)) \
     FROM information_schema.columns WHERE table_schema = ?), \
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', table_name, index_name, \
     non_unique, seq_in_index, column_name, sub_part, index_type, index_comment))), 0)) \
     FROM information_schema.statistics WHERE table_schema = ?), \
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', table_name, constraint_name, \
     constraint_type))), 0)) FROM information_schema.table_constraints WHERE table_schema = ?), \
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', table_name, constraint_name, \
     check_clause))), 0)) FROM information_schema.check_constraints WHERE constraint_schema = ?), \
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', table_name, constraint_name, \
     referenced_table_name, update_rule, delete_rule))), 0)) \
     FROM information_schema.referential_constraints WHERE constraint_schema = ?), \
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', routine_name, routine_type, \
     routine_definition, last_altered))), 0)) \
     FROM information_schema.routines WHERE routine_schema = ?), \
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', trigger_name, \
     event_object_table, action_statement, created))), 0)) \
     FROM information_schema.triggers WHERE trigger_schema = ?), \
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', table_name, \
     view_definition))), 0)) FROM information_schema.views WHERE table_schema = ?), \
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', event_name, \
     event_definition, status, last_altered))), 0)) \
     FROM information_schema.events WHERE event_schema = ?)) AS CHAR)";

async fn my_schema(conn: &mut sqlx::MySqlConnection, db: &str) -> Result<String, sqlx::Error> {
    let mut query = sqlx::query_scalar(MYSQL_SCHEMA_SQL);
    for _ in 0..11 {
        query = query.bind(db);
    }
    query.fetch_one(conn).await
}

/// `AUTO_INCREMENT` of each base table of `db`, by name.
async fn my_counters(
    conn: &mut sqlx::MySqlConnection,
    db: &str,
) -> Result<HashMap<String, Option<u64>>, sqlx::Error> {
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT CAST(table_name AS CHAR), CAST(auto_increment AS SIGNED) \
         FROM information_schema.tables \
         WHERE table_schema = ? AND table_type = 'BASE TABLE'",
    )
    .bind(db)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(table, counter)| (table, counter.map(|c| c as u64)))
        .collect())
}

/// `CHECKSUM TABLE` of `tables` of `db`, in their order.
async fn my_checksums(
    conn: &mut sqlx::MySqlConnection,
    db: &str,
    tables: &[&str],
) -> Result<Vec<Option<u64>>, sqlx::Error> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = tables.iter().map(|t| format!("{db}.`{t}`")).collect();
    let rows = conn
        .fetch_all(format!("CHECKSUM TABLE {}", list.join(", ")).as_str())
        .await?;
    // BIGINT on MariaDB, BIGINT UNSIGNED elsewhere.
    rows.iter()
        .map(|r| {
            r.try_get::<Option<i64>, _>(1)
                .map(|sum| sum.map(|sum| sum as u64))
                .or_else(|_| r.try_get::<Option<u64>, _>(1))
        })
        .collect()
}

/// The indices of non-empty tables among `tables` (`SELECT .. WHERE EXISTS`, one query).
fn my_nonempty_sql(db: &str, tables: &[(usize, &str)]) -> Option<String> {
    let parts: Vec<String> = tables
        .iter()
        .map(|(i, t)| format!("SELECT {i} FROM DUAL WHERE EXISTS (SELECT 1 FROM {db}.`{t}`)"))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" UNION ALL "))
}

async fn my_baseline(
    pool: &sqlx::MySqlPool,
    db: &str,
    template: Option<&str>,
) -> Result<MyState, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let schema = my_schema(&mut conn, db).await?;
    let names = super::template::base_tables(&mut conn, db).await?;
    let counters = my_counters(&mut conn, db).await?;
    let all: Vec<(usize, &str)> = names.iter().map(String::as_str).enumerate().collect();
    let filled: BTreeSet<i64> = match my_nonempty_sql(db, &all) {
        None => BTreeSet::new(),
        Some(sql) => sqlx::query_scalar(&sql)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect(),
    };
    let with_rows: Vec<&str> = all
        .iter()
        .filter(|(i, _)| filled.contains(&(*i as i64)))
        .map(|(_, t)| *t)
        .collect();
    if !with_rows.is_empty() && template.is_none() {
        return Err(sqlx::Error::Protocol(
            "a database with rows but no template to load them from".to_owned(),
        ));
    }
    let mut checksums = my_checksums(&mut conn, db, &with_rows).await?.into_iter();
    let tables = names
        .iter()
        .enumerate()
        .map(|(i, name)| MyTable {
            name: name.clone(),
            checksum: if filled.contains(&(i as i64)) {
                checksums.next().flatten()
            } else {
                None
            },
            auto_increment: counters.get(name).copied().flatten(),
        })
        .collect();
    let empty: Vec<(usize, &str)> = all
        .iter()
        .filter(|(i, _)| !filled.contains(&(*i as i64)))
        .copied()
        .collect();
    Ok(MyState {
        template: template.map(str::to_owned),
        schema,
        tables,
        dirty_sql: my_nonempty_sql(db, &empty),
    })
}

async fn my_reset(pool: &sqlx::MySqlPool, db: &str, state: &MyState) -> Result<(), String> {
    let failed = |doing: &'static str| move |e: sqlx::Error| format!("{doing}: {e}");
    let mut conn = pool.acquire().await.map_err(failed("connecting"))?;
    // The test's sessions, ended and waited for.
    let started = Instant::now();
    loop {
        let left: Vec<i64> = sqlx::query_scalar(
            "SELECT CAST(id AS SIGNED) FROM information_schema.processlist \
             WHERE db = ? AND id <> CONNECTION_ID()",
        )
        .bind(db)
        .fetch_all(&mut *conn)
        .await
        .map_err(failed("looking for the test's sessions"))?;
        if left.is_empty() {
            break;
        }
        if started.elapsed() > SESSION_GRACE {
            return Err(format!("{} session(s) of the test did not end", left.len()));
        }
        for id in left {
            // Gone meanwhile: "unknown thread id", fine.
            let _ = conn.execute(format!("KILL CONNECTION {id}").as_str()).await;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let schema = my_schema(&mut conn, db)
        .await
        .map_err(failed("reading the schema"))?;
    if schema != state.schema {
        return Err("the test changed the schema".to_owned());
    }
    let mut dirty: BTreeSet<usize> = match &state.dirty_sql {
        None => BTreeSet::new(),
        Some(sql) => sqlx::query_scalar::<_, i64>(sql)
            .fetch_all(&mut *conn)
            .await
            .map_err(failed("looking for written tables"))?
            .into_iter()
            .map(|i| i as usize)
            .collect(),
    };
    let with_rows: Vec<(usize, &MyTable)> = state
        .tables
        .iter()
        .enumerate()
        .filter(|(_, t)| t.checksum.is_some())
        .collect();
    let names: Vec<&str> = with_rows.iter().map(|(_, t)| t.name.as_str()).collect();
    let sums = my_checksums(&mut conn, db, &names)
        .await
        .map_err(failed("checksumming tables"))?;
    for ((i, table), sum) in with_rows.iter().zip(sums) {
        if sum != table.checksum {
            dirty.insert(*i);
        }
    }
    let counters = my_counters(&mut conn, db)
        .await
        .map_err(failed("reading AUTO_INCREMENT"))?;
    let moved = |counters: &HashMap<String, Option<u64>>| -> Vec<usize> {
        let now = |t: &MyTable| counters.get(&t.name).copied().flatten();
        (0..state.tables.len())
            .filter(|i| now(&state.tables[*i]) != state.tables[*i].auto_increment)
            .collect()
    };
    let mut counters_moved = moved(&counters);
    if dirty.is_empty() && counters_moved.is_empty() {
        return Ok(());
    }
    let mut statements = vec!["SET SESSION foreign_key_checks = 0".to_owned()];
    for i in &dirty {
        let table = &state.tables[*i];
        statements.push(format!("TRUNCATE TABLE {db}.`{}`", table.name));
        if let (Some(_), Some(template)) = (table.checksum, &state.template) {
            statements.push(format!(
                "INSERT INTO {db}.`{t}` SELECT * FROM {template}.`{t}`",
                t = table.name
            ));
        }
    }
    statements.push("SET SESSION foreign_key_checks = 1".to_owned());
    for sql in &statements {
        if let Err(e) = conn.execute(sql.as_str()).await {
            // Foreign key checks may still be off: never give the pool this session back.
            conn.close_on_drop();
            return Err(format!("resetting rows: {e}"));
        }
    }
    if !dirty.is_empty() {
        let counters = my_counters(&mut conn, db)
            .await
            .map_err(failed("reading AUTO_INCREMENT"))?;
        counters_moved = moved(&counters);
    }
    for i in counters_moved {
        let table = &state.tables[i];
        let Some(value) = table.auto_increment else {
            return Err(format!("AUTO_INCREMENT of {} appeared", table.name));
        };
        conn.execute(
            format!("ALTER TABLE {db}.`{}` AUTO_INCREMENT = {value}", table.name).as_str(),
        )
        .await
        .map_err(failed("setting AUTO_INCREMENT back"))?;
    }
    Ok(())
}
