//! The test server in a build without the `postgres` and `mysql` features: the same items
//! as `server/`, so nothing else in the crate changes with the features, and a server
//! named in the environment is an error that says which feature to enable. No [`Server`]
//! can exist, so the methods below are never reached.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use dataflow::{Backend, ModelSchema};

use crate::error::{Error, Result, ServerProblem};
use crate::setup::DatabaseSetup;

/// The variable that names a PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "DATAFLOW_TEST_POSTGRES_URL";
/// The variable that names a MySQL or MariaDB server for tests.
pub const MYSQL_ENV: &str = "DATAFLOW_TEST_MYSQL_URL";

/// A test server: none in this build.
#[derive(Clone)]
pub(crate) struct Server {
    pub(crate) var: &'static str,
    pub(crate) backend: Backend,
    never: Infallible,
}

impl Server {
    /// `None` when neither variable is set; otherwise the error naming the feature to
    /// enable.
    pub(crate) fn from_env() -> Option<Result<Server>> {
        Self::named(|var| std::env::var(var).ok())
    }

    /// [`from_env`](Self::from_env), reading the variables with `get`.
    fn named(get: impl Fn(&str) -> Option<String>) -> Option<Result<Server>> {
        let set = |var| get(var).filter(|v| !v.trim().is_empty());
        let (var, url) = [POSTGRES_ENV, MYSQL_ENV]
            .into_iter()
            .find_map(|var| set(var).map(|url| (var, url)))?;
        let feature = if var == MYSQL_ENV {
            "mysql"
        } else {
            "postgres"
        };
        Some(Err(Error::Server {
            var,
            url: redact(&url),
            problem: ServerProblem::NotEnabled,
            reason: format!("dataflow-testing was built without its `{feature}` feature"),
        }))
    }

    pub(crate) fn url_of(&self, _name: &str) -> String {
        match self.never {}
    }

    pub(crate) fn databases(&self, _prefix: &str) -> Result<Vec<String>> {
        match self.never {}
    }

    pub(crate) fn drop_database_later(&self, _name: &str) {
        match self.never {}
    }

    pub(crate) fn create_empty(&self, _name: &str) -> Result<()> {
        match self.never {}
    }

    pub(crate) fn create_from_template(
        &self,
        _name: &str,
        _schemas: &[ModelSchema],
        _setup: Option<&Arc<DatabaseSetup>>,
    ) -> Result<()> {
        match self.never {}
    }

    pub(crate) fn shared_database(&self, _setup: Option<&Arc<DatabaseSetup>>) -> Result<String> {
        match self.never {}
    }

    pub(crate) fn template(
        &self,
        _schemas: &[ModelSchema],
        _setup: Option<&Arc<DatabaseSetup>>,
    ) -> Result<String> {
        match self.never {}
    }

    pub(crate) fn take_reusable(&self, _key: ReuseKey) -> Option<Reusable> {
        match self.never {}
    }

    pub(crate) fn reusable(&self, _name: &str, _template: Option<String>) -> Result<Reusable> {
        match self.never {}
    }

    pub(crate) fn give_back(&self, _key: ReuseKey, _db: Reusable) {
        match self.never {}
    }

    pub(crate) fn discard(&self, _db: Reusable) -> Result<()> {
        match self.never {}
    }

    pub(crate) fn forget(&self, _db: Reusable) {
        match self.never {}
    }
}

/// Where a reused database is pooled (see `server/reuse`): by the place that asked and the
/// setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ReuseKey {
    pub(crate) site: &'static std::panic::Location<'static>,
    pub(crate) setup: u64,
}

/// A pooled database: only a [`Server`] makes one, and none exists in this build.
#[derive(Debug)]
pub(crate) struct Reusable {
    pub(crate) name: String,
    pub(crate) template: Option<String>,
}

/// Drops the unused templates of the test server: with no server backend in this build,
/// there are none; a server named in the environment is an error naming the feature to
/// enable.
pub fn drop_unused_templates(_unused_for: Duration) -> Result<Vec<String>> {
    match Server::from_env() {
        None => Ok(Vec::new()),
        Some(server) => server.map(|server| match server.never {}),
    }
}

/// Nothing to drop at exit: this build makes no server databases.
pub(crate) fn drop_process_databases() {}

/// Never called: only a [`Server`] leads to it.
pub(crate) fn test_database_name() -> String {
    unreachable!("no test server exists in a build without `postgres` and `mysql`")
}

/// The URL with any password replaced by `***` (the core crate's rule).
pub(crate) fn redact(url: &str) -> String {
    dataflow::__private::redact(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_server_is_an_error_naming_the_feature_to_enable() {
        assert!(Server::named(|_| None).is_none(), "no variable, no server");
        assert!(
            Server::named(|_| Some(" ".to_owned())).is_none(),
            "blank is unset"
        );
        for (var, feature) in [(POSTGRES_ENV, "postgres"), (MYSQL_ENV, "mysql")] {
            let url = "postgres://u:secret@localhost/db".to_owned();
            let found = Server::named(|v| (v == var).then(|| url.clone()));
            let Some(Err(err)) = found else {
                panic!("{var}: expected an error");
            };
            let message = err.to_string();
            assert!(
                matches!(err, Error::Server { problem: ServerProblem::NotEnabled, var: v, .. } if v == var),
                "{message}"
            );
            assert!(
                message.contains(&format!("features = [\"{feature}\"]")),
                "{message}"
            );
            assert!(!message.contains("secret"), "{message}");
        }
    }
}
