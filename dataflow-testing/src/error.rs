//! The toolkit's error type.

/// What can go wrong while setting up or tearing down a test database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A test server named by an environment variable could not be used.
    #[error(
        "{var}={url}: {reason}. Start the server, fix the URL, or unset {var} to test on SQLite"
    )]
    Server {
        /// The variable that names the server.
        var: &'static str,
        /// Its value, password hidden.
        url: String,
        /// What went wrong.
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

    /// An error from dataflow itself.
    #[error(transparent)]
    DataFlow(#[from] dataflow::Error),
}

/// The toolkit's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
