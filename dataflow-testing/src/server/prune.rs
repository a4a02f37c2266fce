//! Template databases pile up, one per schema set ever tested: each use marks the template
//! (once per process, in the server's catalog, never inside the template, whose contents
//! every clone copies), and [`drop_unused_templates`] drops those not used for a while.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Executor, Row};

use super::{AdminPool, Server, TEMPLATE_PREFIX};
use crate::error::Result;
use crate::rt;

/// The comment a template carries: when a process last used it.
const MARK: &str = "dataflow-testing template, last used at unix time ";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The statement that marks template `name` as used at `unix` (seconds).
fn mark_sql(admin: &AdminPool, name: &str, unix: u64) -> String {
    match admin {
        AdminPool::Postgres(_) => format!("COMMENT ON DATABASE {name} IS '{MARK}{unix}'"),
        AdminPool::MySql(_) => format!("ALTER DATABASE {name} COMMENT = '{MARK}{unix}'"),
    }
}

/// When a template was last used, from its comment.
fn last_used(comment: Option<&str>) -> Option<u64> {
    comment?.strip_prefix(MARK)?.trim().parse().ok()
}

impl Server {
    /// Marks template `name` as used now. Best effort: a user that may not comment on the
    /// database (not its owner) or a server without database comments (MySQL) leaves it
    /// unmarked, and [`drop_unused_templates`] then never drops it.
    pub(super) fn mark_used(&self, name: &str) {
        let sql = mark_sql(&self.admin, name, now());
        let _ = self.execute_raw(vec![sql]);
    }

    /// Drops the templates not used for `unused_for`, unless one is being built (its lock
    /// is taken). Returns their names.
    fn drop_unused_templates(&self, unused_for: Duration) -> Result<Vec<String>> {
        let admin = self.admin.clone();
        let pattern = format!("{}%", TEMPLATE_PREFIX.replace('_', "\\_"));
        let cutoff = now().saturating_sub(unused_for.as_secs());
        // Marked, and last used before the cutoff.
        let unused = move |comment: Option<&str>| last_used(comment).is_some_and(|t| t < cutoff);
        rt::block_on(async move {
            let mut dropped = Vec::new();
            match admin {
                AdminPool::Postgres(pool) => {
                    let mut conn = pool.acquire().await?;
                    let rows = sqlx::query(
                        "SELECT datname, shobj_description(oid, 'pg_database') \
                         FROM pg_database WHERE datname LIKE $1 ORDER BY 1",
                    )
                    .bind(&pattern)
                    .fetch_all(&mut *conn)
                    .await?;
                    for row in rows {
                        let (name, comment): (String, Option<String>) = (row.get(0), row.get(1));
                        let Some(key) = build_key(&name) else {
                            continue;
                        };
                        if !unused(comment.as_deref()) {
                            continue;
                        }
                        let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                            .bind(key)
                            .fetch_one(&mut *conn)
                            .await?;
                        if free {
                            let done = conn
                                .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
                                .await;
                            sqlx::query("SELECT pg_advisory_unlock($1)")
                                .bind(key)
                                .execute(&mut *conn)
                                .await?;
                            done?;
                            dropped.push(name);
                        }
                    }
                }
                AdminPool::MySql(pool) => {
                    let mut conn = pool.acquire().await?;
                    let rows = sqlx::query(
                        "SELECT schema_name, schema_comment FROM information_schema.schemata \
                         WHERE schema_name LIKE ? ORDER BY 1",
                    )
                    .bind(&pattern)
                    .fetch_all(&mut *conn)
                    .await?;
                    for row in rows {
                        let (name, comment): (String, Option<String>) = (row.get(0), row.get(1));
                        if build_key(&name).is_none() || !unused(comment.as_deref()) {
                            continue;
                        }
                        let free: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, 0)")
                            .bind(&name)
                            .fetch_one(&mut *conn)
                            .await?;
                        if free == Some(1) {
                            let done = conn
                                .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
                                .await;
                            sqlx::query("SELECT RELEASE_LOCK(?)")
                                .bind(&name)
                                .execute(&mut *conn)
                                .await?;
                            done?;
                            dropped.push(name);
                        }
                    }
                }
            }
            Ok::<_, sqlx::Error>(dropped)
        })
        .map_err(|e| self.fail("dropping unused templates", e))
    }
}

/// The build lock key of template `name` (its fingerprint); `None` for anything else (a
/// half-built `_building` database is dropped by the next build of its fingerprint).
fn build_key(name: &str) -> Option<i64> {
    let hex = name.strip_prefix(TEMPLATE_PREFIX)?;
    (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
        .and_then(|key| i64::try_from(key).ok())
}

/// Drops the template databases (`dftpl_*`) on the test server that no process has used for
/// `unused_for`, and returns their names. Templates pile up on a server, one per schema
/// set ever tested; each process that uses a template marks it in the server's catalog
/// (a database comment, never inside the template). A template being built is left alone,
/// and so is one without a mark (built by an older version, or by a user that may not
/// comment on it). Without a test server named in the environment, there is nothing to do.
///
/// A process that started using a template earlier than `unused_for` ago and still runs
/// would lose it: give a duration longer than any run. From a shell:
/// `cargo run -p dataflow-testing --example drop_unused_templates -- 30` (days).
///
/// ```
/// use std::time::Duration;
///
/// let dropped = dataflow_testing::drop_unused_templates(Duration::from_secs(30 * 86_400))?;
/// for name in dropped {
///     println!("dropped {name}");
/// }
/// # Ok::<(), dataflow_testing::Error>(())
/// ```
pub fn drop_unused_templates(unused_for: Duration) -> Result<Vec<String>> {
    match Server::from_env() {
        None => Ok(Vec::new()),
        Some(server) => server?.drop_unused_templates(unused_for),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_and_keys_are_read_back() {
        assert_eq!(
            last_used(Some(&format!("{MARK}1700000000"))),
            Some(1_700_000_000)
        );
        assert_eq!(last_used(Some("a comment of a person")), None);
        assert_eq!(last_used(None), None);
        assert_eq!(build_key("dftpl_00000000000000ff"), Some(255));
        assert_eq!(build_key("dftpl_00000000000000ff_building"), None);
        assert_eq!(build_key("dftest_x"), None);
    }

    #[test]
    fn only_templates_unused_for_long_and_not_being_built_are_dropped() {
        use dataflow::{FieldType, ModelSchema};
        let Some(server) = Server::from_env().map(|s| s.unwrap()) else {
            return;
        };
        let schema = |table: &str| {
            [
                ModelSchema::new(format!("Prune{table}{}", crate::owner::run_token()))
                    .field("id", FieldType::String),
            ]
        };
        let (old, fresh, busy) = (schema("Old"), schema("Fresh"), schema("Busy"));
        let [old, fresh, busy] = [&old, &fresh, &busy].map(|s| server.template(s, None).unwrap());
        let long_ago = now() - 40 * 86_400;
        server
            .execute(vec![
                mark_sql(&server.admin, &old, long_ago),
                mark_sql(&server.admin, &busy, long_ago),
            ])
            .unwrap();
        // Another session builds `busy` right now: it holds its build lock.
        let busy_key = build_key(&busy).unwrap();
        let holder = {
            let admin = server.admin.clone();
            let busy = busy.clone();
            rt::block_on(async move {
                match admin {
                    AdminPool::Postgres(pool) => {
                        let mut conn = pool.acquire().await.unwrap().detach();
                        sqlx::query("SELECT pg_advisory_lock($1)")
                            .bind(busy_key)
                            .execute(&mut conn)
                            .await
                            .unwrap();
                        Box::new(conn) as Box<dyn std::any::Any + Send>
                    }
                    AdminPool::MySql(pool) => {
                        let mut conn = pool.acquire().await.unwrap().detach();
                        sqlx::query("SELECT GET_LOCK(?, 0)")
                            .bind(&busy)
                            .execute(&mut conn)
                            .await
                            .unwrap();
                        Box::new(conn) as Box<dyn std::any::Any + Send>
                    }
                }
            })
        };
        let dropped = server
            .drop_unused_templates(Duration::from_secs(30 * 86_400))
            .unwrap();
        assert!(dropped.contains(&old), "{dropped:?}");
        assert!(!dropped.contains(&fresh), "used just now: {dropped:?}");
        assert!(!dropped.contains(&busy), "being built: {dropped:?}");
        assert!(server.databases(&old).unwrap().is_empty());
        rt::block_on(async move { drop(holder) });
        let drop_sql = |name: &str| format!("DROP DATABASE IF EXISTS {name}");
        server
            .execute(vec![drop_sql(&fresh), drop_sql(&busy)])
            .unwrap();
    }
}
