//! Resetting a reused MariaDB/MySQL database: the state to restore, read once when the
//! database is fresh, and the reset.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use sqlx::{Executor, Row};

use super::SESSION_GRACE;

/// A MariaDB/MySQL database's state to restore. Resets run on the admin pool, naming the
/// database in every statement.
pub(super) struct MyState {
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

pub(super) async fn my_baseline(
    pool: &sqlx::MySqlPool,
    db: &str,
    template: Option<&str>,
) -> Result<MyState, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let schema = my_schema(&mut conn, db).await?;
    let names = super::super::template::base_tables(&mut conn, db).await?;
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

pub(super) async fn my_reset(
    pool: &sqlx::MySqlPool,
    db: &str,
    state: &MyState,
) -> Result<(), String> {
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
