//! [`TestDataFlow`]: the guard that cleans up after a test, also when it panicked.

use std::any::Any;
use std::fmt;
use std::ops::Deref;

use dataflow::DataFlow;

use crate::database::{self, TempDatabase};
use crate::error::Error;
use crate::leak;

/// Which leak check a guard runs when it drops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeakCheck {
    /// Nothing the test's instances registered may remain: the guard's own instance, and
    /// every instance created on the test's thread while it lived. Exact while other tests
    /// run in parallel threads.
    #[default]
    Scoped,
    /// No instance-owned entry may remain in the registry at all, whoever made it.
    ///
    /// Safe only where no other test registers at the same time, or another test's live
    /// instance fails this one:
    /// - under `cargo nextest run`, which runs each test in a process of its own; or
    /// - under `cargo test`, when every test of the binary that registers models holds
    ///   `#[serial(dataflow_registry)]` (serial_test, key [`REGISTRY_SERIAL_KEY`](crate::REGISTRY_SERIAL_KEY));
    ///   one test without it makes the check fail at random.
    ///
    /// Instances marked with [`keep_for_process`](crate::keep_for_process) are never leaks.
    /// Otherwise, [`LeakCheck::Scoped`] is exact under parallel tests and is the default.
    Global,
    /// No check.
    Off,
}

/// How a [`TestDataFlow`] behaves when it drops.
///
/// ```
/// use dataflow_testing::{GuardOptions, LeakCheck};
/// let options = GuardOptions::new().leak_check(LeakCheck::Global).keep_on_failure(true);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct GuardOptions {
    leak_check: LeakCheck,
    keep_on_failure: Option<bool>,
}

impl GuardOptions {
    /// Scoped leak check; a failed test's database is kept only with `DATAFLOW_KEEP_FAILED=1`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The leak check to run.
    pub fn leak_check(mut self, leak_check: LeakCheck) -> Self {
        self.leak_check = leak_check;
        self
    }

    /// Keep (or do not keep) the test's database when the test fails, whatever
    /// `DATAFLOW_KEEP_FAILED` says.
    pub fn keep_on_failure(mut self, keep: bool) -> Self {
        self.keep_on_failure = Some(keep);
        self
    }
}

/// A [`DataFlow`] guarded for one test. It derefs to the instance; when it drops (at the end
/// of the test, also when the test panicked, also while clones of the instance live
/// elsewhere) it removes the instance's nodes from the registry, runs the leak check,
/// closes the pool (rolling back a transaction-mode instance), and removes the test's
/// database.
///
/// It never panics while the test is already panicking (that would abort the test binary):
/// a leak found then is reported on stderr. A leak found after a passing test fails it.
///
/// ```
/// use dataflow::{DataFlow, NodeRegistry};
/// use dataflow_testing::{TempDatabase, TestDataFlow};
///
/// #[derive(dataflow::Model)]
/// struct Note { id: i64, text: String }
///
/// let tmp = TempDatabase::sqlite()?;
/// let db = TestDataFlow::new(tmp.dataflow()?).with_database(tmp);
/// db.model::<Note>()?;
/// let qualified = format!("NoteCreateNode@{}", db.instance_id());
/// assert!(NodeRegistry::global().contains(&qualified));
/// drop(db);
/// assert!(!NodeRegistry::global().contains(&qualified));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "bind it: `let db = ...`; a guard dropped at once cleans up at once"]
pub struct TestDataFlow {
    db: Option<DataFlow>,
    options: GuardOptions,
    /// The test thread the guard was made on.
    thread: Option<String>,
    /// Dropped after cleanup, last to first: the fixture's arguments, the database.
    keep: Vec<Box<dyn Any + Send>>,
    /// The guard's life, for `tracing`: the database prepared, the cleanup, the leak check,
    /// the database removed.
    span: tracing::Span,
}

const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<TestDataFlow>();
};

impl TestDataFlow {
    /// Guards `db` with the default options.
    pub fn new(db: DataFlow) -> Self {
        Self::with_options(db, GuardOptions::new())
    }

    /// Guards `db` with `options`.
    pub fn with_options(db: DataFlow, options: GuardOptions) -> Self {
        leak::guard_started(db.instance_id());
        let thread = std::thread::current().name().map(str::to_owned);
        let span = tracing::info_span!(
            "test_dataflow",
            instance = %db.instance_id(),
            test = %thread.as_deref().unwrap_or("<unnamed thread>"),
        );
        TestDataFlow {
            db: Some(db),
            options,
            thread,
            keep: Vec::new(),
            span,
        }
    }

    /// Makes `database` live until the guard has cleaned up, then removes it.
    pub fn with_database(self, database: TempDatabase) -> Self {
        self.keep_alive(database)
    }

    /// Makes `value` live until the guard has cleaned up (a fixture's arguments, say).
    pub fn keep_alive<T: Send + 'static>(mut self, value: T) -> Self {
        self.keep.push(Box::new(value));
        self
    }

    /// The guarded instance.
    pub fn dataflow(&self) -> &DataFlow {
        self.db
            .as_ref()
            .expect("the instance is only taken in drop")
    }

    /// Cleans up now and reports a leak as [`Error::Leak`] instead of panicking.
    ///
    /// ```
    /// use dataflow::DataFlow;
    /// use dataflow_testing::{Error, TestDataFlow};
    ///
    /// #[derive(dataflow::Model)]
    /// struct Note { id: i64 }
    ///
    /// let guard = TestDataFlow::new(DataFlow::new("sqlite::memory:")?);
    /// let leaked = DataFlow::new("sqlite::memory:")?;
    /// leaked.model::<Note>()?;
    /// match guard.finish() {
    ///     Err(Error::Leak { entries, .. }) => assert_eq!(entries.len(), 10),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self) -> Result<(), Error> {
        // After the teardown the guard holds no instance, so its drop does nothing more.
        self.teardown().map_or(Ok(()), Err)
    }

    /// Does the work of drop; returns the leak found, if any.
    fn teardown(&mut self) -> Option<Error> {
        let db = self.db.take()?;
        let _in_span = self.span.clone().entered();
        let id = db.instance_id();
        let removed = db.cleanup_nodes();
        tracing::debug!(removed, "nodes cleaned up");
        leak::guard_ended(id);
        let report = match self.options.leak_check {
            LeakCheck::Scoped => leak::scoped_report(id, self.thread.as_deref()),
            LeakCheck::Global => leak::global_report(),
            LeakCheck::Off => None,
        };
        match &report {
            Some(Error::Leak { entries, .. }) => {
                tracing::warn!(check = ?self.options.leak_check, leaked = entries.len(), "leak check failed")
            }
            _ => tracing::debug!(check = ?self.options.leak_check, "leak check passed"),
        }
        db.close_blocking();
        drop(db);
        let keep = std::mem::take(&mut self.keep);
        database::with_keep_failed(self.options.keep_on_failure, || {
            for value in keep.into_iter().rev() {
                drop(value);
            }
        });
        report
    }
}

impl Deref for TestDataFlow {
    type Target = DataFlow;

    fn deref(&self) -> &DataFlow {
        self.dataflow()
    }
}

impl fmt::Debug for TestDataFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDataFlow")
            .field("db", &self.db)
            .field("options", &self.options)
            .field("thread", &self.thread)
            .finish_non_exhaustive()
    }
}

impl Drop for TestDataFlow {
    fn drop(&mut self) {
        let Some(report) = self.teardown() else {
            return;
        };
        if std::thread::panicking() {
            eprintln!("dataflow-testing: {report}");
        } else {
            panic!("{report}");
        }
    }
}

/// An error a `#[dataflow_fixture]` body returned.
pub type FixtureError = Box<dyn std::error::Error + Send + Sync>;

/// What a `#[dataflow_fixture]` body may return: a `DataFlow`, or a `Result` of one whose
/// error converts into a boxed error (any `std::error::Error + Send + Sync`, a `String`, a
/// `&str`, an `anyhow::Error`).
pub trait IntoFixtureResult {
    /// The instance, or the body's error.
    fn into_fixture_result(self) -> Result<DataFlow, FixtureError>;
}

impl IntoFixtureResult for DataFlow {
    fn into_fixture_result(self) -> Result<DataFlow, FixtureError> {
        Ok(self)
    }
}

impl<E: Into<FixtureError>> IntoFixtureResult for Result<DataFlow, E> {
    fn into_fixture_result(self) -> Result<DataFlow, FixtureError> {
        self.map_err(Into::into)
    }
}

/// Whether `db` runs on one of the databases `prepared` from the template. Those URLs hold
/// the server's password; `db.url()` hides it, so they are compared with it hidden.
fn on_prepared(db: &DataFlow, prepared: &[String]) -> bool {
    prepared
        .iter()
        .any(|url| dataflow::__private::redact(url) == db.url())
}

/// The end of every `#[dataflow_fixture]`: guards the instance, keeps the fixture's
/// arguments alive as long as the guard, and prepares the test's database (on a server, a
/// clone of the template of the models the fixture registered).
pub fn finish_fixture<R: IntoFixtureResult, K: Send + 'static>(
    fixture: &'static str,
    result: R,
    options: GuardOptions,
    keep: K,
) -> TestDataFlow {
    let db = match result.into_fixture_result() {
        Ok(db) => db,
        Err(source) => panic!("{}", Error::Fixture { fixture, source }),
    };
    let guard = TestDataFlow::with_options(db, options).keep_alive(keep);
    let schemas = dataflow::__private::shared_model_schemas(&guard);
    let prepared = guard.span.in_scope(|| database::prepare_pending(&schemas));
    match prepared {
        Ok(prepared) => {
            // Its database came from the template of its models: their tables are there.
            if on_prepared(&guard, &prepared) {
                dataflow::__private::tables_exist(&guard);
            }
        }
        Err(e) => {
            drop(guard);
            panic!("fixture `{fixture}`: {e}");
        }
    }
    guard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "postgres")]
    #[test]
    fn a_database_from_the_template_is_recognised_when_its_url_has_a_password() {
        let url = "postgres://tester:s3cret@127.0.0.1:5432/dftest_x_1_t";
        let db = DataFlow::new(url).unwrap(); // connects lazily: no server needed
        assert!(on_prepared(&db, &[url.to_owned()]));
        assert!(!on_prepared(
            &db,
            &["postgres://tester:s3cret@127.0.0.1:5432/dftest_x_2_t".to_owned()]
        ));
    }

    #[test]
    fn a_fixtures_error_keeps_its_type() {
        let failing: Result<DataFlow, dataflow::Error> = Err(dataflow::Error::InvalidUrl {
            url: "x".into(),
            reason: "y".into(),
        });
        let source = failing.into_fixture_result().unwrap_err();
        assert!(source.downcast_ref::<dataflow::Error>().is_some());
        let message: Result<DataFlow, String> = Err("no database".to_owned());
        let error = Error::Fixture {
            fixture: "users_db",
            source: message.into_fixture_result().unwrap_err(),
        };
        assert_eq!(error.to_string(), "fixture `users_db` failed: no database");
    }
}
