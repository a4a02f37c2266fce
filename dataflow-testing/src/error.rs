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

    /// A statement of a SQL fixture file that failed.
    #[error("fixture {file}, statement at line {line}: {reason}")]
    Fixture {
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

/// The toolkit's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
