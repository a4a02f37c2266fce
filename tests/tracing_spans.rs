//! Logs a user can turn on: the `tracing` spans of a workflow run and of a fixture's life.

use std::sync::{Arc, Mutex};

use dataflow::DataFlow;
use dataflow_testing::TempDatabase;
use serde_json::json;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;

use crate::models::User;

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

/// Runs `f` with a debug-level subscriber on this thread (and in the work it hands to the
/// engine); returns the lines it wrote, span closes included.
fn logs_of(f: impl FnOnce()) -> String {
    let out = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = out.0.lock().unwrap().clone();
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
        "test=tracing_spans::a_fixtures_life_is_a_span_with_its_database_and_leak_check}",
        "test database copied from its template",
        "nodes cleaned up removed=10",
        "leak check passed check=Scoped",
        "test database removed",
    ] {
        assert!(logs.contains(expected), "no `{expected}` in:\n{logs}");
    }
}
