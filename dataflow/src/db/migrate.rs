//! Migrations of a sqlx-cli directory, applied with sqlx's own `Migrator` (so checksums and
//! the `_sqlx_migrations` table are exactly sqlx's), on a connection of their own, before
//! any other database work of the instance.
//!
//! On PostgreSQL and SQLite the pending migrations of one run are applied in one
//! transaction (sqlx's per-migration transactions become savepoints inside it): a failing
//! migration leaves the database as it was. MySQL commits each DDL statement by itself, so
//! there a failing migration leaves the earlier ones of the run applied, as `sqlx migrate
//! run` does.

use std::path::{Path, PathBuf};

use sqlx::migrate::{MigrateError, Migrator};

#[cfg(feature = "mysql")]
use sqlx::mysql::MySqlConnectOptions;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnectOptions;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::error::{Error, Result};

#[cfg(feature = "sqlite")]
use super::Pool;
use super::{exec, Store};

/// The migrations directory of an instance and whether they have run.
#[derive(Debug)]
pub(crate) struct Migrations {
    dir: PathBuf,
    applied: tokio::sync::OnceCell<()>,
}

impl Migrations {
    /// Checks that `dir` is a directory whose `.sql` files are all named as sqlx-cli names
    /// them: `<version>_<name>.sql`, `.up.sql` or `.down.sql`, the version an integer.
    pub(crate) fn new(dir: &Path) -> Result<Migrations> {
        let source = |reason: String| Error::MigrationSource {
            dir: dir.display().to_string(),
            reason,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| {
            source(match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "the directory does not exist (a relative path is taken from the current \
                     directory, which under `cargo test` is the crate's)"
                        .to_owned()
                }
                _ => e.to_string(),
            })
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| source(e.to_string()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".sql") || !entry.path().is_file() {
                continue;
            }
            let well_formed = name.split_once('_').is_some_and(|(version, rest)| {
                !version.is_empty()
                    && version.bytes().all(|b| b.is_ascii_digit())
                    && version.parse::<i64>().is_ok()
                    && rest.len() > ".sql".len()
            });
            if !well_formed {
                return Err(source(format!(
                    "`{name}` is not named `<version>_<description>.sql` (or `.up.sql` / \
                     `.down.sql`) with an integer version, as in `20240101120000_create_users.sql`"
                )));
            }
        }
        Ok(Migrations {
            dir: dir.to_owned(),
            applied: tokio::sync::OnceCell::new(),
        })
    }

    /// Whether the migrations have been applied by this instance.
    pub(crate) fn applied(&self) -> bool {
        self.applied.initialized()
    }

    /// Applies the pending migrations once; `run` is given sqlx's migrator and runs it on a
    /// connection.
    pub(crate) async fn apply<F, Fut>(&self, run: F) -> Result<()>
    where
        F: FnOnce(Migrator) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<(), MigrateError>>,
    {
        self.applied
            .get_or_try_init(|| async {
                let migrator = Migrator::new(self.dir.as_path())
                    .await
                    .map_err(|e| self.error(e))?;
                run(migrator).await.map_err(|e| self.error(e))
            })
            .await
            .map(drop)
    }

    /// sqlx's error as one of ours, naming the file (and line) where there is one.
    fn error(&self, err: MigrateError) -> Error {
        let dir = self.dir.display().to_string();
        match err {
            MigrateError::Source(e) => Error::MigrationSource {
                dir,
                reason: e.to_string(),
            },
            MigrateError::VersionMismatch(version) => Error::MigrationChanged {
                file: self.file_of(version),
                version,
            },
            MigrateError::ExecuteMigration(e, version) => {
                let file = self.file_of(version);
                let sql = std::fs::read_to_string(self.dir.join(&file)).unwrap_or_default();
                Error::MigrationFailed {
                    line: error_line(&sql, &e),
                    reason: match &e {
                        sqlx::Error::Database(db) => db.message().to_owned(),
                        other => other.to_string(),
                    },
                    file,
                    source: e,
                }
            }
            MigrateError::VersionMissing(version) => Error::Migration {
                dir,
                reason: format!(
                    "migration {version} was applied to this database, but its file is not in \
                     the directory any more"
                ),
            },
            MigrateError::Execute(e) => Error::Database(e),
            other => Error::Migration {
                dir,
                reason: other.to_string(),
            },
        }
    }

    /// The file name of migration `version` (the up migration of a reversible one).
    fn file_of(&self, version: i64) -> String {
        let prefix = format!("{version}_");
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.split_once('_')
                    .and_then(|(v, _)| v.parse::<i64>().ok())
                    .is_some_and(|v| v == version)
                    && n.ends_with(".sql")
                    && !n.ends_with(".down.sql")
            })
            .collect();
        names.sort();
        names.pop().unwrap_or(prefix)
    }
}

/// Runs a migrator inside one transaction of a connection (PostgreSQL and SQLite): sqlx's
/// own transaction per migration becomes a savepoint. Evaluates to a `Result<(),
/// MigrateError>`. (A macro: the same code for each concrete connection type.)
///
/// `Migrator::run_direct` is `Migrator::run` on a connection; sqlx keeps it public for this
/// case: `run` itself takes an `Acquire`, whose future the compiler cannot prove `Send`
/// ("implementation of `Acquire` is not general enough").
#[cfg(any(feature = "sqlite", feature = "postgres"))]
macro_rules! run_in_transaction {
    ($conn:expr, $migrator:expr) => {
        async {
            let mut tx = sqlx::Connection::begin($conn).await?;
            $migrator.run_direct(&mut *tx).await?;
            tx.commit().await?;
            Ok::<(), sqlx::migrate::MigrateError>(())
        }
    };
}

/// Connect options for a connection of its own, outside the pool.
#[derive(Debug)]
// One per store, made once: with SQLite alone the options dwarf the `Pool` variant, and
// boxing them would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Direct {
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteConnectOptions),
    #[cfg(feature = "postgres")]
    Postgres(PgConnectOptions),
    #[cfg(feature = "mysql")]
    MySql(MySqlConnectOptions),
    /// An in-memory database: only the pool's connections reach it.
    #[cfg(feature = "sqlite")]
    Pool,
}

impl Store {
    /// Applies the migrations once, before any connection of the pool is handed out.
    // Boxed, as `Conn`'s futures are: it erases sqlx's lifetimes, which the compiler
    // otherwise fails to prove `Send` for in the callers' futures.
    pub(super) fn ready(&self) -> exec::BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            match &self.migrations {
                Some(migrations) if !migrations.applied() => {
                    migrations
                        .apply(|migrator| async move { self.run_migrations(&migrator).await })
                        .await
                }
                _ => Ok(()),
            }
        })
    }

    /// Runs sqlx's migrator on a connection of its own (so that in transaction mode the
    /// schema is committed, as the DDL of models is), in one transaction where DDL is
    /// transactional.
    fn run_migrations<'a>(
        &'a self,
        migrator: &'a sqlx::migrate::Migrator,
    ) -> exec::BoxFuture<'a, std::result::Result<(), sqlx::migrate::MigrateError>> {
        Box::pin(async move {
            match &self.direct {
                #[cfg(feature = "sqlite")]
                Direct::Sqlite(options) => {
                    let mut conn = options.connect().await?;
                    let done = run_in_transaction!(&mut conn, migrator).await;
                    let _ = conn.close().await;
                    done
                }
                #[cfg(feature = "postgres")]
                Direct::Postgres(options) => {
                    let mut conn = options.connect().await?;
                    let done = run_in_transaction!(&mut conn, migrator).await;
                    let _ = conn.close().await;
                    done
                }
                #[cfg(feature = "mysql")]
                Direct::MySql(options) => {
                    let mut conn = options.connect().await?;
                    let done = migrator.run_direct(&mut conn).await;
                    let _ = conn.close().await;
                    done
                }
                #[cfg(feature = "sqlite")]
                Direct::Pool => {
                    let pool = match self.pool() {
                        Ok(Pool::Sqlite(pool)) => pool,
                        Err(_) => return Err(sqlx::Error::PoolClosed.into()),
                        #[allow(unreachable_patterns)] // with SQLite as the only backend
                        Ok(_) => unreachable!(
                            "only an in-memory SQLite database has no direct connection"
                        ),
                    };
                    let mut conn = pool.acquire().await?;
                    run_in_transaction!(&mut *conn, migrator).await
                }
            }
        })
    }
}

/// The line of `sql` where the database says the error is, when it says.
fn error_line(sql: &str, err: &sqlx::Error) -> Option<usize> {
    let db = err.as_database_error()?;
    let line_of = |offset: usize| sql[..offset].matches('\n').count() + 1;
    #[cfg(feature = "postgres")]
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        if let Some(sqlx::postgres::PgErrorPosition::Original(chars)) = pg.position() {
            let offset = sql
                .char_indices()
                .nth(chars.saturating_sub(1))
                .map_or(sql.len(), |(i, _)| i);
            return Some(line_of(offset));
        }
        return None;
    }
    // MySQL: `... near 'rest of the statement' at line N`; SQLite: `near "token": ...`.
    let message = db.message();
    let near = message
        .split_once("near '")
        .and_then(|(_, rest)| rest.rsplit_once("' at line").map(|(near, _)| near))
        .or_else(|| {
            message
                .split_once("near \"")
                .and_then(|(_, rest)| rest.split_once('"').map(|(near, _)| near))
        })?;
    if near.is_empty() {
        return None;
    }
    // The first occurrence that is not part of a longer word (`CREAT` is not in `CREATE`).
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    sql.match_indices(near)
        .find(|(at, _)| {
            !word(sql[..*at].chars().next_back()) && !word(sql[at + near.len()..].chars().next())
        })
        .map(|(at, _)| line_of(at))
}
