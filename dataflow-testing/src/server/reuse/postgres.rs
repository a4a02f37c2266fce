//! Resetting a reused PostgreSQL database: the state to restore, read once when the
//! database is fresh, and the reset.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};

use super::SESSION_GRACE;

/// The most template rows a PostgreSQL database keeps in memory to load them again; a
/// template with more is not reused (each test gets a fresh clone).
const MAX_KEPT_ROWS: usize = 16 << 20;

/// A PostgreSQL database's state to restore, and the connection its resets run on (kept
/// open: a new connection's first catalog query costs more than the whole check).
pub(super) struct PgState {
    pub(super) conn: Option<PgConnection>,
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

pub(super) async fn pg_baseline(mut conn: PgConnection) -> Result<PgState, sqlx::Error> {
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
pub(super) async fn pg_reset(state: &mut PgState) -> Result<(), String> {
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
