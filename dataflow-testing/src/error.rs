//! The toolkit's error type.

/// What can go wrong while setting up or tearing down a test database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A test server named by an environment variable could not be used; `problem` says why
    /// (the message says what to do about it).
    #[error("{}", server_message(var, url, *problem, reason))]
    Server {
        /// The variable that names the server.
        var: &'static str,
        /// Its value, password hidden.
        url: String,
        /// What kind of failure it was, from the server's error code.
        problem: ServerProblem,
        /// What went wrong, as the server or the driver said it.
        reason: String,
    },

    /// An environment variable of the toolkit with a value it does not know.
    #[error("{var}={value} is not valid; expected one of: {}", .expected.join(", "))]
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// The values it may take.
        expected: Vec<&'static str>,
    },

    /// A file operation on a temporary database failed.
    #[error("temporary database {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A `#[dataflow_fixture]` body returned an error.
    #[error("fixture `{fixture}` failed: {source}")]
    Fixture {
        /// The fixture's name.
        fixture: &'static str,
        /// What the body returned.
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Registry entries that a test's instances registered remain after the test (see
    /// [`LeakCheck`](crate::LeakCheck)). The message lists them by instance, with the test
    /// that registered them.
    #[error("{report}")]
    Leak {
        /// The entries that remain.
        entries: Vec<dataflow::RegistryEntry>,
        /// The report: which check, each instance with its test and nodes, what to do.
        report: String,
    },

    /// A statement of a SQL fixture file that failed.
    #[error("fixture {file}, statement at line {line}: {reason}")]
    SqlFixture {
        /// The fixture file.
        file: String,
        /// The line its failing statement starts on.
        line: usize,
        /// What the database said.
        reason: String,
    },

    /// A fixture file named in `fixtures(..)` that is in none of the places looked at.
    #[error("fixture file `{name}` not found; looked at: {}", .searched.join(", "))]
    FixtureMissing {
        /// The name as given.
        name: String,
        /// Where it was looked for.
        searched: Vec<String>,
    },

    /// An error from dataflow itself.
    #[error(transparent)]
    DataFlow(#[from] dataflow::Error),
}

/// The kind of a test server failure, told by the server's error code (SQLSTATE on
/// PostgreSQL, the error number on MySQL/MariaDB), never by its message text.
///
/// ```
/// use dataflow_testing::{Error, ServerProblem, TempDatabase};
///
/// fn explain(e: &Error) -> &'static str {
///     match e {
///         Error::Server { problem: ServerProblem::Unreachable, .. } => "start the server",
///         Error::Server { problem: ServerProblem::Permission, .. } => "grant CREATEDB",
///         _ => "read the message",
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerProblem {
    /// The server could not be reached: connection refused, timed out, host unknown, or the
    /// server is starting up or shutting down.
    Unreachable,
    /// A database of that name exists already (PostgreSQL 42P04, or 23505 on
    /// `pg_database_datname_index` when two sessions create it at once; MySQL 1007).
    NameTaken,
    /// The server's user may not do this, or was refused at login (PostgreSQL 42501,
    /// 28000, 28P01; MySQL 1044, 1045, 1142, 1227).
    Permission,
    /// The server ran out of disk space (PostgreSQL 53100; MySQL 1021, 1114).
    DiskFull,
    /// The URL is not one the toolkit can use (not `postgres://` or `mysql://`, or not
    /// parsable).
    BadUrl,
    /// The variable names a server whose backend this build of the toolkit leaves out:
    /// its `postgres` / `mysql` feature is off.
    NotEnabled,
    /// Anything else; the reason says what.
    Other,
}

impl ServerProblem {
    /// The problem an error code stands for: `sqlstate` from PostgreSQL (or MySQL, which
    /// reports one too), `mysql_number` from MySQL/MariaDB, and the constraint a unique
    /// violation names.
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) fn of_code(
        sqlstate: Option<&str>,
        mysql_number: Option<u16>,
        constraint: Option<&str>,
    ) -> ServerProblem {
        if let Some(number) = mysql_number {
            return match number {
                1007 => ServerProblem::NameTaken,
                1044 | 1045 | 1142 | 1227 => ServerProblem::Permission,
                1021 | 1114 => ServerProblem::DiskFull,
                // Server shutdown in progress, connection killed.
                1053 | 1927 => ServerProblem::Unreachable,
                _ => ServerProblem::Other,
            };
        }
        match sqlstate.unwrap_or_default() {
            "42P04" => ServerProblem::NameTaken,
            "23505" if constraint == Some("pg_database_datname_index") => ServerProblem::NameTaken,
            "42501" | "28000" | "28P01" => ServerProblem::Permission,
            "53100" => ServerProblem::DiskFull,
            // Cannot connect now (starting up), admin or crash shutdown.
            "57P01" | "57P02" | "57P03" => ServerProblem::Unreachable,
            code if code.starts_with("08") => ServerProblem::Unreachable,
            _ => ServerProblem::Other,
        }
    }

    /// The problem behind a sqlx error.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) fn of(error: &sqlx::Error) -> ServerProblem {
        match error {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => {
                ServerProblem::Unreachable
            }
            sqlx::Error::Configuration(_) => ServerProblem::BadUrl,
            sqlx::Error::Database(e) => ServerProblem::of_code(
                e.code().as_deref(),
                e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                    .map(|e| e.number()),
                e.constraint(),
            ),
            _ => ServerProblem::Other,
        }
    }
}

fn server_message(var: &str, url: &str, problem: ServerProblem, reason: &str) -> String {
    let advice = match problem {
        ServerProblem::Unreachable => format!(
            "the server cannot be reached. Start the server, fix the URL, or unset {var} to \
             test on SQLite"
        ),
        ServerProblem::NameTaken => "a database of that name exists already on the server. \
             Test database names carry a random run token, so something else made it: drop \
             it if nothing uses it"
            .to_owned(),
        ServerProblem::Permission => format!(
            "the server's user may not do this. The user in {var} must log in and create and \
             drop databases (PostgreSQL: CREATEDB; MySQL: CREATE and DROP on `dftest\\_%` and \
             `dftpl\\_%`)"
        ),
        ServerProblem::DiskFull => "the server's disk is full. Free space on the server \
             (unused `dftpl_*` templates can go)"
            .to_owned(),
        ServerProblem::BadUrl => format!(
            "not a URL the toolkit can use. Give {var} a postgres://user@host/db or \
             mysql://user@host/db URL, or unset it to test on SQLite"
        ),
        ServerProblem::NotEnabled => {
            let feature = if var.contains("MYSQL") {
                "mysql"
            } else {
                "postgres"
            };
            format!(
                "enable the `{feature}` feature of dataflow-testing (`dataflow-testing = {{ \
                 version = \"0.1\", features = [\"{feature}\"] }}` in [dev-dependencies]), or \
                 unset {var} to test on SQLite"
            )
        }
        ServerProblem::Other => return format!("{var}={url}: {reason}"),
    };
    format!("{var}={url}: {reason}: {advice}")
}

/// The toolkit's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_problems_are_told_by_code() {
        use ServerProblem::*;
        let pg = |code| ServerProblem::of_code(Some(code), None, None);
        assert_eq!(pg("42P04"), NameTaken);
        assert_eq!(
            ServerProblem::of_code(Some("23505"), None, Some("pg_database_datname_index")),
            NameTaken
        );
        assert_eq!(
            ServerProblem::of_code(Some("23505"), None, Some("users_pkey")),
            Other
        );
        assert_eq!(pg("42501"), Permission);
        assert_eq!(pg("28P01"), Permission);
        assert_eq!(pg("53100"), DiskFull);
        assert_eq!(pg("57P03"), Unreachable);
        assert_eq!(pg("08006"), Unreachable);
        assert_eq!(pg("55006"), Other);
        let my = |number| ServerProblem::of_code(Some("HY000"), Some(number), None);
        assert_eq!(my(1007), NameTaken);
        assert_eq!(my(1044), Permission);
        assert_eq!(my(1045), Permission);
        assert_eq!(my(1227), Permission);
        assert_eq!(my(1021), DiskFull);
        assert_eq!(my(1146), Other);
    }

    #[cfg(any(feature = "postgres", feature = "mysql"))]
    #[test]
    fn driver_errors_are_told_by_kind() {
        use ServerProblem::*;
        assert_eq!(ServerProblem::of(&sqlx::Error::PoolTimedOut), Unreachable);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(ServerProblem::of(&sqlx::Error::Io(refused)), Unreachable);
    }

    #[test]
    fn only_an_unreachable_server_is_told_to_start() {
        let message = |problem| {
            Error::Server {
                var: "DATAFLOW_TEST_POSTGRES_URL",
                url: "postgres://u@h/db".into(),
                problem,
                reason: "reason".into(),
            }
            .to_string()
        };
        assert!(message(ServerProblem::Unreachable).contains("Start the server"));
        for problem in [
            ServerProblem::NameTaken,
            ServerProblem::Permission,
            ServerProblem::DiskFull,
            ServerProblem::BadUrl,
            ServerProblem::NotEnabled,
            ServerProblem::Other,
        ] {
            let text = message(problem);
            assert!(!text.contains("Start the server"), "{text}");
            assert!(text.starts_with("DATAFLOW_TEST_POSTGRES_URL=postgres://u@h/db: reason"));
        }
        assert!(message(ServerProblem::NameTaken).contains("exists already"));
        assert!(message(ServerProblem::Permission).contains("CREATEDB"));
        assert!(message(ServerProblem::DiskFull).contains("disk is full"));
        assert!(message(ServerProblem::NotEnabled).contains("features = [\"postgres\"]"));
    }
}
