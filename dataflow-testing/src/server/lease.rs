//! The server lease: this process's proof of life on the test server, and the sweep that
//! drops the databases of owners that are gone.
//!
//! A process takes its lease before it creates its first database: a session-level lock
//! named after its run token (see `owner.rs`), held on a connection of its own until the
//! process exits. PostgreSQL: `pg_advisory_lock(key)` with the one-`bigint` form and a
//! negative key (the token's bits with the sign bit set); template builds lock the
//! fingerprint, which is never negative, so the two never meet. (The two-`int4` form would
//! keep only 32 bits of the token, and two live processes out of a few thousand could then
//! share a key.) MariaDB/MySQL: `GET_LOCK('dftest_owner_<token>', 0)`, 26 characters of
//! the 64 a lock name may have.
//!
//! The server releases a session lock when the session ends, however the process ended
//! (SIGKILL, a crash, a lost machine). So the sweep drops a `dftest_<token>_...` database
//! only when its owner's lock is free (`pg_try_advisory_lock`, released at once;
//! `IS_FREE_LOCK`), wherever the owner ran. And only when it is older than [`GRACE`],
//! where the server can tell the age: the lease comes before the first `CREATE DATABASE`,
//! so a free lock alone means a dead owner; the grace period is a second guard against a
//! creator that never took a lease (a tool of its own using the prefix). PostgreSQL tells
//! a database's age by its `PG_VERSION` file (`pg_stat_file`, which needs superuser or
//! `pg_read_server_files`; without it the lock alone decides); MariaDB by its tables'
//! `create_time` (an empty database has none: the lock alone decides).
//!
//! Names without a token (`dftest_<pid>_...` from before run tokens, a person's database)
//! are never swept: nothing tells whether their owner lives.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Executor, Row};

use super::{AdminPool, TEST_PREFIX};
use crate::owner;

/// A PostgreSQL database younger than this is never swept.
pub(super) const GRACE: Duration = Duration::from_secs(1);

/// A connection that holds this process's lease on a server. It is never used again and
/// never closed: the server releases the lock when the process ends.
#[allow(dead_code)] // held, never read
enum Lease {
    Postgres(PgConnection),
    MySql(MySqlConnection),
}

/// The leases this process holds, by server (`host:port`): one per server, however many
/// URLs (users, databases) name it, since a second session could not take the same lock.
fn leases() -> &'static tokio::sync::Mutex<HashMap<String, Lease>> {
    static LEASES: OnceLock<tokio::sync::Mutex<HashMap<String, Lease>>> = OnceLock::new();
    LEASES.get_or_init(Default::default)
}

/// The server a URL names, as a key of [`leases`].
fn server_key(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if parsed.host_str().is_some() => format!(
            "{}:{}",
            parsed.host_str().unwrap_or_default(),
            parsed.port().unwrap_or_default()
        ),
        _ => url.to_owned(),
    }
}

/// Takes this process's lease on the server `url` names (PostgreSQL), unless it holds it.
pub(super) async fn ensure_pg(url: &str, options: PgConnectOptions) -> Result<(), sqlx::Error> {
    let mut leases = leases().lock().await;
    let key = server_key(url);
    if let std::collections::hash_map::Entry::Vacant(slot) = leases.entry(key) {
        slot.insert(take_pg(options).await?);
    }
    Ok(())
}

/// [`ensure_pg`] for MariaDB/MySQL.
pub(super) async fn ensure_mysql(
    url: &str,
    options: MySqlConnectOptions,
) -> Result<(), sqlx::Error> {
    let mut leases = leases().lock().await;
    let key = server_key(url);
    if let std::collections::hash_map::Entry::Vacant(slot) = leases.entry(key) {
        slot.insert(take_mysql(options).await?);
    }
    Ok(())
}

/// The advisory-lock key of the owner with token value `token` (PostgreSQL).
fn pg_key(token: u64) -> i64 {
    (token | (1 << 63)) as i64
}

/// The lock name of the owner with token `token` (MariaDB/MySQL).
fn my_lock(token: &str) -> String {
    format!("{TEST_PREFIX}owner_{token}")
}

/// The token of the owner of test database `name`, if its name carries one.
pub(super) fn owner_token(name: &str) -> Option<&str> {
    let token = name.strip_prefix(TEST_PREFIX)?.split('_').next()?;
    owner::decode(token).map(|_| token)
}

/// Takes this process's lease on a connection of its own. Nobody else takes this lock (a
/// sweeper tries it only for tokens that have databases, and this one has none yet), so
/// it is free at once; the few retries cover a sweeper's momentary hold all the same.
async fn take_pg(options: PgConnectOptions) -> Result<Lease, sqlx::Error> {
    let mut conn = options
        .application_name(&format!("dataflow-testing lease {}", owner::run_token()))
        .disable_statement_logging()
        .connect()
        .await?;
    // A server-wide idle timeout would end the session, and the lease with it.
    let _ = conn.execute("SET idle_session_timeout = 0").await;
    let key = pg_key(owner::run_token_value());
    for _ in 0..100 {
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut conn)
            .await?;
        if taken {
            return Ok(Lease::Postgres(conn));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(sqlx::Error::Protocol(format!(
        "the lease lock of run token {} stays taken",
        owner::run_token()
    )))
}

/// [`take_pg`] for MariaDB/MySQL.
async fn take_mysql(options: MySqlConnectOptions) -> Result<Lease, sqlx::Error> {
    let mut conn = options.disable_statement_logging().connect().await?;
    // The default `wait_timeout` (8 hours) would end a long run's idle session; a year is
    // the largest value the server takes.
    let _ = conn.execute("SET SESSION wait_timeout = 31536000").await;
    let name = my_lock(owner::run_token());
    for _ in 0..100 {
        let taken: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, 0)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
        if taken == Some(1) {
            return Ok(Lease::MySql(conn));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(sqlx::Error::Protocol(format!(
        "the lease lock {name} stays taken"
    )))
}

/// The test databases on the server whose owner is gone: a token in the name, the owner's
/// lock free, and (PostgreSQL) older than [`GRACE`].
pub(super) async fn stale_databases(admin: &AdminPool) -> Result<Vec<String>, sqlx::Error> {
    let pattern = format!("{}%", TEST_PREFIX.replace('_', "\\_"));
    let grace = GRACE.as_secs_f64();
    let own = owner::run_token();
    let mut stale = Vec::new();
    match admin {
        AdminPool::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            let aged = sqlx::query(
                "SELECT datname, EXTRACT(EPOCH FROM now() - \
                 (pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification)::float8 \
                 FROM pg_database WHERE datname LIKE $1",
            )
            .bind(&pattern)
            .fetch_all(&mut *conn)
            .await;
            let rows: Vec<(String, Option<f64>)> = match aged {
                Ok(rows) => rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
                // Not allowed to read the server's files: the lock alone decides.
                Err(_) => sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE $1")
                    .bind(&pattern)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| (r.get(0), None))
                    .collect(),
            };
            for (name, age) in rows {
                let Some(token) = owner_token(&name).filter(|t| *t != own) else {
                    continue;
                };
                if age.is_some_and(|age| age < grace) {
                    continue;
                }
                let key = pg_key(owner::decode(token).expect("owner_token decodes"));
                let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(key)
                    .fetch_one(&mut *conn)
                    .await?;
                if free {
                    sqlx::query("SELECT pg_advisory_unlock($1)")
                        .bind(key)
                        .execute(&mut *conn)
                        .await?;
                    stale.push(name);
                }
            }
        }
        AdminPool::MySql(pool) => {
            let mut conn = pool.acquire().await?;
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ?",
            )
            .bind(&pattern)
            .fetch_all(&mut *conn)
            .await?;
            for name in names {
                let Some(token) = owner_token(&name).filter(|t| *t != own) else {
                    continue;
                };
                let free: Option<i64> = sqlx::query_scalar("SELECT IS_FREE_LOCK(?)")
                    .bind(my_lock(token))
                    .fetch_one(&mut *conn)
                    .await?;
                if free == Some(1) {
                    stale.push(name);
                }
            }
        }
    }
    stale.sort();
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_read_from_tokens_only() {
        let token = owner::run_token();
        assert_eq!(
            owner_token(&format!("dftest_{token}_4_my_test")),
            Some(token)
        );
        assert_eq!(owner_token(&format!("dftest_{token}_shared")), Some(token));
        assert_eq!(owner_token("dftest_123_4_my_test"), None, "the pid scheme");
        assert_eq!(owner_token("dftpl_0123456789abcdef"), None);
        assert_eq!(owner_token("production"), None);
    }

    #[test]
    fn one_lease_per_server_whatever_the_user_or_database() {
        assert_eq!(
            server_key("postgres://a@db.example:5432/x"),
            server_key("postgres://b:pw@db.example:5432/y?sslmode=disable")
        );
        assert_ne!(
            server_key("postgres://a@db.example:5432/x"),
            server_key("postgres://a@db.example:5433/x")
        );
    }

    #[test]
    fn owner_lock_keys_never_meet_template_keys() {
        // Template builds lock a fingerprint, which is never negative.
        for token in [0, 1, u64::MAX, 1 << 63, 0x7fff_ffff_ffff_ffff] {
            assert!(pg_key(token) < 0);
        }
        assert!(my_lock(&owner::encode(u64::MAX)).len() <= 64);
    }
}
