//! Logs a user can turn on: the `tracing` spans of a workflow run and of a fixture's life.
//!
//! A test binary of its own, with one global subscriber: a subscriber set per thread
//! (`with_default`) while other tests' threads run and come and go loses events now and
//! then (tracing caches each callsite's interest process-wide), and a global one in the
//! main suite would log every other test. Each test reads only its own lines (its
//! instance id, its test name).

// The suite's models; this binary uses only `User`.
#[path = "models.rs"]
#[allow(dead_code)]
mod models;

use std::sync::{Arc, Mutex, OnceLock};

use dataflow::DataFlow;
use dataflow_testing::TempDatabase;
use serde_json::json;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;

use models::User;

/// What a `fmt` subscriber wrote, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Runs `f` with the binary's debug-level subscriber installed (it also sees the work `f`
/// hands to the engine); returns every line written while `f` ran, span closes included.
/// Lines of tests running at the same time may be among them: callers look for their own.
fn logs_of(f: impl FnOnce()) -> String {
    static OUT: OnceLock<Captured> = OnceLock::new();
    let out = OUT.get_or_init(|| {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_max_level(tracing::Level::DEBUG)
            .with_span_events(FmtSpan::CLOSE)
            .without_time()
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        out
    });
    let from = out.0.lock().unwrap().len();
    f();
    let bytes = out.0.lock().unwrap()[from..].to_vec();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_workflow_run_is_a_span_with_a_span_per_node_naming_its_id_type_and_rows() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<User>().unwrap();
    let logs = logs_of(|| {
        let mut wf = db.workflow();
        wf.add_node(
            "UserBulkCreateNode",
            "load",
            json!({"data": [
                {"id": "a", "name": "A", "active": true},
                {"id": "b", "name": "B", "active": false},
            ]}),
        )
        .add_node("UserListNode", "list", json!({}))
        .add_connection("load", "processed", "list", "limit");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let workflow = wf.build().unwrap();
        runtime
            .block_on(dataflow::LocalRuntime::new().execute(&workflow))
            .unwrap();
    });
    let id = db.instance_id();
    for expected in [
        format!("node{{id=load node_type=UserBulkCreateNode@{id} rows=2}}"),
        format!("node{{id=list node_type=UserListNode@{id} rows=2}}"),
        "workflow{run=run_".to_owned(),
        "nodes=2}".to_owned(),
    ] {
        assert!(logs.contains(&expected), "no `{expected}` in:\n{logs}");
    }
}

#[test]
fn a_fixtures_life_is_a_span_with_its_database_and_leak_check() {
    let logs = logs_of(|| {
        let tmp = TempDatabase::sqlite().unwrap();
        let db = DataFlow::new(tmp.url()).unwrap();
        db.model::<User>().unwrap();
        let guard =
            dataflow_testing::__private::finish_fixture("users_db", db, Default::default(), tmp);
        drop(guard);
    });
    for expected in [
        "test_dataflow{instance=df_",
        "test=a_fixtures_life_is_a_span_with_its_database_and_leak_check}",
        "test database copied from its template",
        "nodes cleaned up removed=10",
        "leak check passed check=Scoped",
        "test database removed",
    ] {
        assert!(logs.contains(expected), "no `{expected}` in:\n{logs}");
    }
}

/// A setup step for the server test's template.
fn no_setup(_: &DataFlow) -> dataflow::Result<()> {
    Ok(())
}

/// On a server (`DATAFLOW_TEST_POSTGRES_URL` or `DATAFLOW_TEST_MYSQL_URL`; CI runs this
/// binary with each), the template behind a test database is a span of its own.
#[test]
fn a_server_template_is_a_span_naming_it() {
    let server = ["DATAFLOW_TEST_POSTGRES_URL", "DATAFLOW_TEST_MYSQL_URL"]
        .iter()
        .any(|var| std::env::var(var).is_ok_and(|v| !v.is_empty()));
    if !server {
        eprintln!("a_server_template_is_a_span_naming_it: SKIPPED (no server variable set)");
        return;
    }
    let logs = logs_of(|| {
        let tmp = TempDatabase::options().setup(no_setup).build().unwrap();
        drop(tmp);
        dataflow_testing::wait_for_cleanup();
    });
    let line = logs
        .lines()
        .find(|line| line.contains("template ready"))
        .unwrap_or_else(|| panic!("no `template ready` in:\n{logs}"));
    assert!(line.contains("template{template=dftpl_"), "{line}");
    assert!(line.contains("setup=true"), "{line}");
}
