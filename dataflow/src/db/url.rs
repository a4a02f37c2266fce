//! Database URLs: which backend, and the connect options for it.

#[cfg(feature = "sqlite")]
use std::path::PathBuf;
use std::str::FromStr;

#[cfg(feature = "mysql")]
use sqlx::mysql::MySqlConnectOptions;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnectOptions;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnectOptions;

use crate::error::{Error, Result};

/// The kind of database behind an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite, in memory or in a file (the embedded default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Backend {
    /// The backend a URL names, without checking the rest of it.
    ///
    /// ```
    /// use dataflow::Backend;
    /// assert_eq!(Backend::of_url("postgresql://localhost/app"), Some(Backend::Postgres));
    /// assert_eq!(Backend::of_url("mariadb://root@localhost/test"), Some(Backend::MySql));
    /// assert_eq!(Backend::of_url("data.db"), Some(Backend::Sqlite));
    /// assert_eq!(Backend::of_url("http://example.com"), None);
    /// ```
    pub fn of_url(url: &str) -> Option<Backend> {
        let url = url.trim();
        if url == ":memory:" || url.starts_with("sqlite:") || is_bare_sqlite_path(url) {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Some(Backend::MySql)
        } else {
            None
        }
    }

    /// The crate feature that compiles this backend's driver: `"sqlite"`, `"postgres"` or
    /// `"mysql"`.
    ///
    /// ```
    /// use dataflow::Backend;
    /// assert_eq!(Backend::MySql.feature(), "mysql");
    /// ```
    pub fn feature(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    /// Whether this build of the crate has the backend's driver (its
    /// [feature](Self::feature) is on).
    ///
    /// ```
    /// use dataflow::Backend;
    /// assert_eq!(Backend::Postgres.is_enabled(), cfg!(feature = "postgres"));
    /// ```
    pub fn is_enabled(self) -> bool {
        match self {
            Backend::Sqlite => cfg!(feature = "sqlite"),
            Backend::Postgres => cfg!(feature = "postgres"),
            Backend::MySql => cfg!(feature = "mysql"),
        }
    }
}

/// What a URL resolved to: only the backends this build has.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A private in-memory SQLite database.
    #[cfg(feature = "sqlite")]
    SqliteMemory,
    /// A SQLite file.
    #[cfg(feature = "sqlite")]
    SqliteFile(Box<SqliteConnectOptions>, PathBuf),
    /// A PostgreSQL server.
    #[cfg(feature = "postgres")]
    Postgres(Box<PgConnectOptions>),
    /// A MySQL or MariaDB server.
    #[cfg(feature = "mysql")]
    MySql(Box<MySqlConnectOptions>),
}

impl Target {
    /// Whether this is a private in-memory SQLite database.
    pub(crate) fn is_memory(&self) -> bool {
        #[cfg(feature = "sqlite")]
        return matches!(self, Target::SqliteMemory);
        #[cfg(not(feature = "sqlite"))]
        false
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Target::SqliteMemory | Target::SqliteFile(..) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Target::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Target::MySql(_) => Backend::MySql,
        }
    }
}

fn is_bare_sqlite_path(url: &str) -> bool {
    !url.contains("://")
        && [".db", ".sqlite", ".sqlite3"]
            .iter()
            .any(|ext| url.ends_with(ext))
}

/// Parses a database URL. The error hides any password.
pub(crate) fn parse(url: &str) -> Result<Target> {
    let trimmed = url.trim();
    let invalid = |reason: String| Error::InvalidUrl {
        url: redact(url),
        reason,
    };
    if trimmed.is_empty() {
        return Err(invalid("the URL is empty".to_owned()));
    }
    let Some(backend) = Backend::of_url(trimmed) else {
        return Err(invalid(
            "unsupported scheme; expected sqlite::memory:, :memory:, sqlite://path, \
             sqlite:///abs/path, a path ending in .db, postgres://, postgresql://, mysql:// \
             or mariadb://"
                .to_owned(),
        ));
    };
    match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => parse_sqlite(trimmed).map_err(invalid),
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let options =
                PgConnectOptions::from_str(trimmed).map_err(|e| invalid(e.to_string()))?;
            Ok(Target::Postgres(Box::new(options)))
        }
        #[cfg(feature = "mysql")]
        Backend::MySql => {
            let url = match trimmed.strip_prefix("mariadb://") {
                Some(rest) => format!("mysql://{rest}"),
                None => trimmed.to_owned(),
            };
            let options =
                MySqlConnectOptions::from_str(&url).map_err(|e| invalid(e.to_string()))?;
            Ok(Target::MySql(Box::new(options)))
        }
        // A backend whose feature is off (with all three on, no backend gets here).
        #[allow(unreachable_patterns)]
        backend => Err(Error::BackendNotEnabled {
            url: redact(url),
            backend,
            feature: backend.feature(),
        }),
    }
}

#[cfg(feature = "sqlite")]
fn parse_sqlite(url: &str) -> std::result::Result<Target, String> {
    if url == ":memory:" || url == "sqlite::memory:" || url == "sqlite://:memory:" {
        return Ok(Target::SqliteMemory);
    }
    let path_and_query = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path_and_query.split('?').next().unwrap_or_default();
    if path.is_empty() {
        return Err("the SQLite URL names no file".to_owned());
    }
    if path.contains('\0') {
        return Err("the path holds a NUL byte, which no file name can".to_owned());
    }
    if path.starts_with(':') {
        // `sqlite::memroy:` would otherwise create a file named `:memroy:`.
        return Err(format!(
            "`{path}` is not a file name; for an in-memory database write `sqlite::memory:`, \
             for a file whose name starts with `:` write `sqlite://./{path}`"
        ));
    }
    if path.contains("mode=memory") || path.starts_with("file:") {
        return Err("use `sqlite::memory:` for an in-memory database".to_owned());
    }
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{path_and_query}"))
        .map_err(|e| e.to_string())?;
    Ok(Target::SqliteFile(Box::new(options), PathBuf::from(path)))
}

/// The query parameter that puts an instance in transaction mode:
/// `postgres://.../db?dataflow_isolation=transaction`, as a transaction-isolated test
/// database's URL carries it (so `DataFlow::new(url)` cannot leave the test's isolation).
pub(crate) const TRANSACTION_MARKER: &str = "dataflow_isolation=transaction";

/// The URL without the transaction-mode marker, and whether it had it.
pub(crate) fn take_transaction_marker(url: &str) -> (String, bool) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), false);
    };
    let mut found = false;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let ours = *pair == TRANSACTION_MARKER;
            found |= ours;
            !ours
        })
        .collect();
    match rest.is_empty() {
        true => (base.to_owned(), found),
        false => (format!("{base}?{}", rest.join("&")), found),
    }
}

/// The URL with any password replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form_parses_to_its_backend() {
        for (url, backend) in [
            ("sqlite::memory:", Backend::Sqlite),
            (":memory:", Backend::Sqlite),
            ("sqlite://data/app.db", Backend::Sqlite),
            ("sqlite:///tmp/app.db", Backend::Sqlite),
            ("app.db", Backend::Sqlite),
            ("postgres://u@localhost/db", Backend::Postgres),
            ("postgresql://u@localhost:5433/db", Backend::Postgres),
            ("mysql://root@localhost/test", Backend::MySql),
            ("mariadb://root@localhost/test", Backend::MySql),
        ] {
            match parse(url) {
                Ok(target) => assert_eq!(target.backend(), backend, "{url}"),
                Err(Error::BackendNotEnabled {
                    backend: off,
                    feature,
                    ..
                }) => {
                    assert!(!backend.is_enabled(), "{url}");
                    assert_eq!((off, feature), (backend, backend.feature()), "{url}");
                }
                Err(e) => panic!("{url}: {e}"),
            }
        }
    }

    #[test]
    fn a_url_of_a_backend_left_out_is_an_error_naming_its_feature() {
        for (url, backend) in [
            ("sqlite::memory:", Backend::Sqlite),
            ("postgres://u:secret@localhost/db", Backend::Postgres),
            ("mariadb://u:secret@localhost/db", Backend::MySql),
        ] {
            if backend.is_enabled() {
                continue;
            }
            let err = parse(url).unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(err, Error::BackendNotEnabled { backend: b, .. } if b == backend),
                "{message}"
            );
            assert!(
                message.contains(&format!("features = [\"{}\"]", backend.feature())),
                "{message}"
            );
            assert!(!message.contains("secret"), "{message}");
        }
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_paths_keep_their_absolute_form() {
        match parse("sqlite:///tmp/x/app.db").unwrap() {
            Target::SqliteFile(_, path) => assert_eq!(path, PathBuf::from("/tmp/x/app.db")),
            other => panic!("{other:?}"),
        }
        match parse("sqlite://rel/app.db?mode=rwc").unwrap() {
            Target::SqliteFile(_, path) => assert_eq!(path, PathBuf::from("rel/app.db")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_urls_are_errors_that_hide_passwords() {
        for url in [
            "",
            "http://x",
            "redis://localhost",
            "users.txt",
            "sqlite://",
            "sqlite://\0bad",
            "sqlite:///tmp/a\0b.db",
            "sqlite::memroy:",
            "sqlite::memory",
            "sqlite://:memroy:",
            "postgres://u:secret@[bad",
        ] {
            let err = parse(url).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidUrl { .. } | Error::BackendNotEnabled { .. }
                ),
                "{url}: {err}"
            );
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn a_mistyped_memory_url_names_the_right_form() {
        let err = parse("sqlite::memroy:").unwrap_err().to_string();
        assert!(err.contains("`:memroy:` is not a file name"), "{err}");
        assert!(err.contains("sqlite::memory:"), "{err}");
        assert!(matches!(
            parse("sqlite://./:odd.db").unwrap(),
            Target::SqliteFile(..)
        ));
    }

    #[test]
    fn the_transaction_marker_is_taken_out_of_the_query() {
        assert_eq!(
            take_transaction_marker("postgres://h/db?dataflow_isolation=transaction"),
            ("postgres://h/db".to_owned(), true)
        );
        assert_eq!(
            take_transaction_marker(
                "postgres://h/db?sslmode=disable&dataflow_isolation=transaction"
            ),
            ("postgres://h/db?sslmode=disable".to_owned(), true)
        );
        assert_eq!(
            take_transaction_marker("postgres://h/db?sslmode=disable"),
            ("postgres://h/db?sslmode=disable".to_owned(), false)
        );
    }

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("app.db"), "app.db");
    }
}
