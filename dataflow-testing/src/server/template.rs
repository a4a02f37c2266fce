//! Template databases (`dftpl_<fingerprint>`): built once per schema set, under a lock the
//! server holds, so that processes on many machines building the same fingerprint at once
//! build it once; and complete whenever a reader can see them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use dataflow::ModelSchema;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Executor};
use tracing::Instrument;

use super::{fingerprint, AdminPool, Server, TEMPLATE_PREFIX};
use crate::error::{Error, Result};
use crate::rt;
use crate::setup::DatabaseSetup;

impl Server {
    /// The template database for `schemas`, built once (under a server-wide lock, so
    /// parallel processes, here or on other machines, build it once too) and reused by
    /// later tests and later runs.
    ///
    /// A `setup` (migrations, a setup function, SQL fixtures) runs on the template before
    /// the models' tables, and is part of its key: it runs once per key, never per test.
    pub(crate) fn template(
        &self,
        schemas: &[ModelSchema],
        setup: Option<&Arc<DatabaseSetup>>,
    ) -> Result<String> {
        static BUILT: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
        // Keyed by the models and by the migrations, fixtures and setup function; never
        // negative, so it never meets an owner lease's advisory-lock key.
        let key = (fingerprint(self.backend, schemas) ^ setup.map_or(0, |s| s.key.rotate_left(1)))
            & 0x7fff_ffff_ffff_ffff;
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
        let tables: Vec<String> = schemas.iter().map(|s| s.table().to_owned()).collect();
        let admin = self.admin.clone();
        let building_url = self.url_of(&format!("{name}_building"));
        let template = name.clone();
        let setup = setup.cloned();
        // The setup's own error, kept typed (it names a fixture file and line).
        let setup_error = Arc::new(Mutex::new(None));
        let setup_failed = Arc::clone(&setup_error);
        // A span a user can turn on: which template, for how many models, whether it was
        // built now or found built by an earlier run or another process.
        let span = tracing::debug_span!(
            "template",
            template = %name,
            models = schemas.len(),
            setup = setup.is_some(),
        );
        rt::block_on(
            async move {
                match admin {
                    AdminPool::Postgres(pool) => {
                        let setup = setup.as_deref().map(|s| (s, &*setup_failed));
                        build_pg(&pool, key as i64, &template, &building_url, &ddl, setup).await
                    }
                    AdminPool::MySql(pool) => {
                        let setup = setup.as_deref().map(|s| (s, &*setup_failed));
                        let build = MySqlBuild {
                            template: &template,
                            building_url: &building_url,
                            ddl: &ddl,
                            tables: &tables,
                            setup,
                        };
                        build_mysql(&pool, build).await
                    }
                }
            }
            .instrument(span.clone()),
        )
        .map_err(|e| {
            let setup = setup_error.lock().unwrap_or_else(|e| e.into_inner()).take();
            setup.unwrap_or_else(|| self.fail(&format!("building template {name}"), e))
        })?;
        span.in_scope(|| tracing::debug!("template ready"));
        self.mark_used(&name);
        built.insert(name.clone());
        Ok(name)
    }
}

/// PostgreSQL: under the advisory lock `key` (the fingerprint), builds the template under
/// a temporary name and renames it, so a template is complete whenever it exists. A build
/// killed half-way leaves `<template>_building`, which the next build drops first. A failing
/// setup leaves its typed error in the slot it comes with, and no `_building` database.
async fn build_pg(
    pool: &sqlx::PgPool,
    key: i64,
    template: &str,
    building_url: &str,
    ddl: &[String],
    setup: Option<(&DatabaseSetup, &Mutex<Option<Error>>)>,
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    let built = async {
        let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(template)
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
        if exists {
            tracing::debug!("template found, built before");
            return Ok(());
        }
        tracing::debug!("building the template");
        let building = format!("{template}_building");
        conn.execute(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)").as_str())
            .await?;
        conn.execute(format!("CREATE DATABASE {building}").as_str())
            .await?;
        if let Some((setup, failed)) = setup {
            if let Err(e) = setup.apply(building_url).await {
                *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                let drop = format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)");
                let _ = conn.execute(drop.as_str()).await;
                return Err(sqlx::Error::Protocol("setup failed".to_owned()));
            }
        }
        let options: PgConnectOptions = building_url.parse()?;
        let mut tpl = options.disable_statement_logging().connect().await?;
        for sql in ddl {
            tpl.execute(sql.as_str()).await?;
        }
        sqlx::Connection::close(tpl).await?;
        conn.execute(format!("ALTER DATABASE {building} RENAME TO {template}").as_str())
            .await?;
        Ok::<_, sqlx::Error>(())
    }
    .await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(&mut *conn)
        .await;
    if unlocked.is_err() {
        // Never hand the pool a session that may still hold the lock.
        conn.close_on_drop();
    }
    built.and(unlocked.map(drop))
}

/// What [`build_mysql`] builds.
struct MySqlBuild<'a> {
    template: &'a str,
    building_url: &'a str,
    ddl: &'a [String],
    /// The models' tables.
    tables: &'a [String],
    /// Migrations, setup function and fixtures, with the slot for their typed error.
    setup: Option<(&'a DatabaseSetup, &'a Mutex<Option<Error>>)>,
}

/// The table a template with a setup gets last, in the same `RENAME TABLE` as the others:
/// whichever tables the setup made, the template is complete when it has this one. Never
/// cloned into a test database.
pub(super) const MYSQL_DONE_MARKER: &str = "_dataflow_template_done";

/// MariaDB/MySQL, which cannot rename a database: under `GET_LOCK(<template>)`, checks that
/// the template is complete (all the models' tables, or with a setup its done marker); if
/// not (never built, or a build killed half-way), builds it in `<template>_building` (the
/// setup first, then the models' tables) and moves every table into a fresh template with
/// one `RENAME TABLE`, which MariaDB applies atomically. Every reader takes the same lock
/// before it first clones the template, so none clones a half-built one. A failing setup
/// leaves its typed error in its slot, and no `_building` database.
async fn build_mysql(pool: &sqlx::MySqlPool, build: MySqlBuild<'_>) -> Result<(), sqlx::Error> {
    let MySqlBuild {
        template,
        building_url,
        ddl,
        tables,
        setup,
    } = build;
    let mut conn = pool.acquire().await?;
    // The connection's default database changes below: never give it back to the pool.
    conn.close_on_drop();
    let locked: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, 120)")
        .bind(template)
        .fetch_one(&mut *conn)
        .await?;
    if locked != Some(1) {
        return Err(sqlx::Error::Protocol(format!(
            "the build lock of template {template} stayed taken for 2 minutes"
        )));
    }
    let built = async {
        let present: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = ?",
        )
        .bind(template)
        .fetch_all(&mut *conn)
        .await?;
        let distinct: HashSet<&String> = tables.iter().collect();
        let complete = match setup {
            Some(_) => present.iter().any(|t| t == MYSQL_DONE_MARKER),
            None => present.len() == distinct.len(),
        };
        if complete {
            tracing::debug!("template found, built before");
            return Ok(());
        }
        tracing::debug!("building the template");
        let building = format!("{template}_building");
        for sql in [
            format!("DROP DATABASE IF EXISTS {building}"),
            format!("CREATE DATABASE {building}"),
        ] {
            conn.execute(sql.as_str()).await?;
        }
        if let Some((setup, failed)) = setup {
            if let Err(e) = setup.apply(building_url).await {
                *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                let drop = format!("DROP DATABASE IF EXISTS {building}");
                let _ = conn.execute(drop.as_str()).await;
                return Err(sqlx::Error::Protocol("setup failed".to_owned()));
            }
        }
        conn.execute(format!("USE {building}").as_str()).await?;
        for sql in ddl {
            conn.execute(sql.as_str()).await?;
        }
        let mut moved: Vec<String> = distinct.into_iter().cloned().collect();
        if setup.is_some() {
            let marker = format!("CREATE TABLE `{MYSQL_DONE_MARKER}` (done INT)");
            conn.execute(marker.as_str()).await?;
            // Whatever the migrations, setup function and fixtures made, models' or not.
            moved = base_tables(&mut conn, &building).await?;
        }
        let moves: Vec<String> = moved
            .iter()
            .map(|t| format!("{building}.`{t}` TO {template}.`{t}`"))
            .collect();
        for sql in [
            format!("DROP DATABASE IF EXISTS {template}"),
            format!("CREATE DATABASE {template}"),
            format!("RENAME TABLE {}", moves.join(", ")),
            format!("DROP DATABASE {building}"),
        ] {
            conn.execute(sql.as_str()).await?;
        }
        Ok::<_, sqlx::Error>(())
    }
    .await;
    let released = sqlx::query("SELECT RELEASE_LOCK(?)")
        .bind(template)
        .execute(&mut *conn)
        .await;
    built.and(released.map(drop))
}

/// The base tables (not views) of database `schema`.
pub(super) async fn base_tables(
    conn: &mut sqlx::MySqlConnection,
    schema: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
         WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .bind(schema)
    .fetch_all(conn)
    .await
}

/// MariaDB/MySQL: database `name` as a copy of `template` with its data (a template built
/// with a setup): every base table of the template, `CREATE TABLE .. LIKE` then
/// `INSERT .. SELECT *`, with foreign key checks off on this connection, then the foreign
/// keys, which `CREATE TABLE .. LIKE` leaves out, added back from `information_schema`.
/// Views, triggers and routines are not copied.
pub(super) async fn clone_mysql(
    pool: &sqlx::MySqlPool,
    template: &str,
    name: &str,
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let tables = base_tables(&mut conn, template).await?;
    let keys: Vec<(String, String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT CAST(k.table_name AS CHAR), CAST(k.constraint_name AS CHAR), \
                CAST(GROUP_CONCAT(CONCAT('`', k.column_name, '`') \
                     ORDER BY k.ordinal_position) AS CHAR), \
                CAST(k.referenced_table_name AS CHAR), \
                CAST(GROUP_CONCAT(CONCAT('`', k.referenced_column_name, '`') \
                     ORDER BY k.ordinal_position) AS CHAR), \
                CAST(r.update_rule AS CHAR), CAST(r.delete_rule AS CHAR) \
         FROM information_schema.key_column_usage k \
         JOIN information_schema.referential_constraints r \
           ON r.constraint_schema = k.constraint_schema \
          AND r.constraint_name = k.constraint_name AND r.table_name = k.table_name \
         WHERE k.table_schema = ? AND k.referenced_table_schema = k.table_schema \
         GROUP BY k.table_name, k.constraint_name, k.referenced_table_name, \
                  r.update_rule, r.delete_rule \
         ORDER BY k.table_name, k.constraint_name",
    )
    .bind(template)
    .fetch_all(&mut *conn)
    .await?;
    let mut statements = vec![
        "SET SESSION foreign_key_checks = 0".to_owned(),
        format!("CREATE DATABASE {name}"),
    ];
    for table in tables.iter().filter(|t| *t != MYSQL_DONE_MARKER) {
        statements.push(format!(
            "CREATE TABLE {name}.`{table}` LIKE {template}.`{table}`"
        ));
        statements.push(format!(
            "INSERT INTO {name}.`{table}` SELECT * FROM {template}.`{table}`"
        ));
    }
    for (table, constraint, columns, referenced, referenced_columns, on_update, on_delete) in keys {
        statements.push(format!(
            "ALTER TABLE {name}.`{table}` ADD CONSTRAINT `{constraint}` FOREIGN KEY ({columns}) \
             REFERENCES {name}.`{referenced}` ({referenced_columns}) \
             ON UPDATE {on_update} ON DELETE {on_delete}"
        ));
    }
    statements.push("SET SESSION foreign_key_checks = 1".to_owned());
    for sql in &statements {
        if let Err(e) = conn.execute(sql.as_str()).await {
            // Foreign key checks may still be off: never give the pool this session back.
            conn.close_on_drop();
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataflow::Backend;

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
