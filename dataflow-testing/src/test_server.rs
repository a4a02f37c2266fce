//! The test server's databases seen from outside the tests: what the isolation check
//! (crate `dataflow-isolation`) lists before and after a run to find databases a test left.

use std::collections::BTreeSet;

use crate::error::Result;
use crate::server::Server;

/// The test server named by `DATAFLOW_TEST_POSTGRES_URL` (or else `DATAFLOW_TEST_MYSQL_URL`),
/// for listing its databases.
///
/// ```
/// // With neither variable set there is no server to look at.
/// if std::env::var_os(dataflow_testing::POSTGRES_ENV).is_none()
///     && std::env::var_os(dataflow_testing::MYSQL_ENV).is_none()
/// {
///     assert!(dataflow_testing::TestServer::from_env().is_none());
/// }
/// ```
pub struct TestServer {
    server: Server,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("var", &self.server.var)
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// The server the environment names; `None` when neither variable is set, an error
    /// when the server cannot be reached.
    pub fn from_env() -> Option<Result<TestServer>> {
        Server::from_env().map(|found| found.map(|server| TestServer { server }))
    }

    /// The variable that named the server.
    pub fn var(&self) -> &'static str {
        self.server.var
    }

    /// The name of every database on the server now.
    pub fn databases(&self) -> Result<BTreeSet<String>> {
        Ok(self.server.databases("")?.into_iter().collect())
    }
}
