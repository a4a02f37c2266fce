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

mod mysql;
mod postgres;

use std::collections::HashMap;
use std::panic::Location;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

use super::{AdminPool, Server};
use crate::error::Result;
use crate::rt;
use mysql::{my_baseline, my_reset, MyState};
use postgres::{pg_baseline, pg_reset, PgState};

/// Where reused databases are pooled: the code that asked for the database (a fixture's
/// options) and the key of its setup. Databases asked for at one place usually hold one
/// template; one that holds another is cloned again under its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ReuseKey {
    pub(crate) site: &'static Location<'static>,
    pub(crate) setup: u64,
}

/// How long a reset waits for the sessions it ended to go.
pub(super) const SESSION_GRACE: Duration = Duration::from_secs(5);

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
