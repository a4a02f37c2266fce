//! Helpers of the integration tests: one database per test on every backend.
//!
//! SQLite runs always. PostgreSQL and MariaDB run when `DATAFLOW_TEST_POSTGRES_URL` /
//! `DATAFLOW_TEST_MYSQL_URL` name a server; otherwise their tests return at once and a note
//! on stderr (not captured by libtest) says which suite was skipped.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use dataflow::Backend;
use sqlx::{ConnectOptions, Connection, Executor};

/// The variable that names a PostgreSQL server for the tests.
pub const POSTGRES_ENV: &str = "DATAFLOW_TEST_POSTGRES_URL";
/// The variable that names a MySQL or MariaDB server for the tests.
pub const MYSQL_ENV: &str = "DATAFLOW_TEST_MYSQL_URL";

/// A database of one test's own, removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Nothing,
    File {
        _dir: tempfile::TempDir,
    },
    Server {
        admin_url: String,
        name: String,
        backend: Backend,
    },
}

impl TestDatabase {
    /// A database on `backend`, or `None` (after a note on stderr) when its server is not
    /// configured.
    pub async fn new(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite_file()),
            Backend::Postgres => Self::server(POSTGRES_ENV, backend).await,
            _ => Self::server(MYSQL_ENV, backend).await,
        }
    }

    /// A private in-memory SQLite database.
    pub fn sqlite_memory() -> TestDatabase {
        TestDatabase {
            url: "sqlite::memory:".to_owned(),
            cleanup: Cleanup::Nothing,
        }
    }

    /// A SQLite file in a temporary directory.
    pub fn sqlite_file() -> TestDatabase {
        let dir = tempfile::Builder::new()
            .prefix("dataflow-it-")
            .tempdir()
            .expect("a temporary directory");
        TestDatabase {
            url: format!("sqlite://{}", dir.path().join("test.db").display()),
            cleanup: Cleanup::File { _dir: dir },
        }
    }

    async fn server(env: &str, backend: Backend) -> Option<TestDatabase> {
        let Ok(admin_url) = std::env::var(env) else {
            note_skipped(env);
            return None;
        };
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "dataflow_it_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(&admin_url, backend, &format!("CREATE DATABASE {name}")).await;
        let url = with_database(&admin_url, &name);
        Some(TestDatabase {
            url,
            cleanup: Cleanup::Server {
                admin_url,
                name,
                backend,
            },
        })
    }

    /// The database URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Server {
            admin_url,
            name,
            backend,
        } = &self.cleanup
        {
            let drop = match backend {
                Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                _ => format!("DROP DATABASE IF EXISTS {name}"),
            };
            let (admin_url, backend) = (admin_url.clone(), *backend);
            // Drop may run inside a test's runtime: do the async work on a thread of its own.
            let done = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime")
                    .block_on(admin(&admin_url, backend, &drop))
            })
            .join();
            if done.is_err() && !std::thread::panicking() {
                panic!("could not drop test database {name}");
            }
        }
    }
}

/// Whether database `name` exists on the server at `url`.
pub async fn database_exists(url: &str, backend: Backend, name: &str) -> bool {
    match backend {
        Backend::Postgres => {
            let mut conn = sqlx::postgres::PgConnection::connect(url)
                .await
                .expect("the server");
            let found: Option<(i32,)> =
                sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
                    .bind(name)
                    .fetch_optional(&mut conn)
                    .await
                    .expect("a query");
            found.is_some()
        }
        _ => {
            let url = url.replacen("mariadb://", "mysql://", 1);
            let mut conn = sqlx::mysql::MySqlConnection::connect(&url)
                .await
                .expect("the server");
            let found: Option<(String,)> = sqlx::query_as(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?",
            )
            .bind(name)
            .fetch_optional(&mut conn)
            .await
            .expect("a query");
            found.is_some()
        }
    }
}

/// Runs one statement on the server's admin database.
pub async fn admin(url: &str, backend: Backend, sql: &str) {
    match backend {
        Backend::Postgres => {
            let mut conn = url
                .parse::<sqlx::postgres::PgConnectOptions>()
                .expect("a PostgreSQL URL")
                .disable_statement_logging()
                .connect()
                .await
                .unwrap_or_else(|e| panic!("cannot reach {POSTGRES_ENV}={url}: {e}"));
            conn.execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            let _ = conn.close().await;
        }
        _ => {
            let url = url.replacen("mariadb://", "mysql://", 1);
            let mut conn = sqlx::mysql::MySqlConnection::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("cannot reach {MYSQL_ENV}={url}: {e}"));
            conn.execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            let _ = conn.close().await;
        }
    }
}

/// `url` with its database (path) replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a server URL");
    let (authority, query) = match rest.split_once('/') {
        Some((authority, path)) => (authority, path.split_once('?').map(|(_, q)| q)),
        None => (rest, None),
    };
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

fn note_skipped(env: &str) {
    static POSTGRES: Once = Once::new();
    static MYSQL: Once = Once::new();
    let once = if env == POSTGRES_ENV {
        &POSTGRES
    } else {
        &MYSQL
    };
    once.call_once(|| {
        // Straight to the stderr handle: libtest captures `eprintln!`, not this.
        let _ = writeln!(
            std::io::stderr(),
            "note: {env} is not set: the {} suite is SKIPPED (its tests return at once)",
            if env == POSTGRES_ENV {
                "PostgreSQL"
            } else {
                "MySQL/MariaDB"
            }
        );
    });
}

/// Declares each listed `async fn name(url: &str)` as a test on every backend:
/// `name::sqlite`, `name::sqlite_memory`, `name::postgres`, `name::mysql`.
#[macro_export]
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let db = $crate::TestDatabase::sqlite_file();
                    super::$case(db.url()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_memory() {
                    let db = $crate::TestDatabase::sqlite_memory();
                    super::$case(db.url()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = $crate::TestDatabase::new(::dataflow::Backend::Postgres).await {
                        super::$case(db.url()).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    if let Some(db) = $crate::TestDatabase::new(::dataflow::Backend::MySql).await {
                        super::$case(db.url()).await;
                    }
                }
            }
        )*
    };
}
