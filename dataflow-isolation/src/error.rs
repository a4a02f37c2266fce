//! Why a check could not run.

/// Why the check could not run (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line is wrong.
    #[error("{0}")]
    Usage(String),
    /// cargo failed before building: not a workspace, an unknown package...
    #[error("`{command}` failed:\n{reason}")]
    Cargo {
        /// The command that failed.
        command: String,
        /// What cargo said.
        reason: String,
    },
    /// The tests do not compile.
    #[error("the tests do not compile; fix these first:\n{}", errors.join("\n"))]
    DoesNotCompile {
        /// The compiler's errors.
        errors: Vec<String>,
    },
    /// Nothing to check.
    #[error("no test to check: {0}")]
    NoTests(String),
    /// A test binary could not list its tests (it crashes or hangs on start).
    #[error("cannot list the tests of {binary}: {reason}")]
    Listing {
        /// The binary.
        binary: String,
        /// What went wrong.
        reason: String,
    },
    /// A test binary could not be started.
    #[error("cannot run {binary}: {reason}")]
    Run {
        /// The binary.
        binary: String,
        /// What went wrong.
        reason: String,
    },
    /// The check's own files.
    #[error("cannot {what}: {source}")]
    Io {
        /// What the check was doing.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}
