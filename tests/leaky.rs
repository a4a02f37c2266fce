//! A program that misbehaves on purpose, for the tests that must watch the toolkit from the
//! outside (its exit check runs when a process exits). `leaky <mode>`:
//!
//! - `leak`: a "test" thread registers a model on an instance it never drops, then the
//!   process exits normally.
//! - `process-wide`: the same, but the instance is marked with `keep_for_process`.
//! - `clean`: registers and cleans up.
//! - `server-db <isolation>`: creates a guarded per-test server database, prints its name,
//!   then waits to be killed (`database` or `transaction` isolation).
//! - `sqlite-db`: the same with a temporary SQLite file, printing its path.
//! - `sweep`: makes a temporary database, which sweeps up what killed runs left.

use std::io::Write;

use dataflow::DataFlow;
use dataflow_testing::{Isolation, TempDatabase, TestDataFlow};

#[derive(dataflow::Model)]
#[allow(dead_code)] // only its schema is used
struct Widget {
    id: String,
}

fn on_test_thread(name: &str, body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(body)
        .expect("a thread")
        .join()
        .expect("the test thread did not panic");
}

fn wait_to_be_killed(what: &str) -> ! {
    println!("{what}");
    std::io::stdout().flush().expect("stdout");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("leak") => on_test_thread("suite::leaks_an_instance", || {
            let db = DataFlow::new("sqlite::memory:").unwrap();
            db.model::<Widget>().unwrap();
            std::mem::forget(db);
        }),
        Some("process-wide") => on_test_thread("suite::shares_an_instance", || {
            let db = DataFlow::new("sqlite::memory:").unwrap();
            db.model::<Widget>().unwrap();
            dataflow_testing::keep_for_process(&db);
            std::mem::forget(db);
        }),
        Some("clean") => on_test_thread("suite::cleans_up", || {
            let db = DataFlow::new("sqlite::memory:").unwrap();
            db.model::<Widget>().unwrap();
        }),
        Some("server-db") => {
            let isolation = match args.get(1).map(String::as_str) {
                Some("transaction") => Isolation::Transaction,
                _ => Isolation::Database,
            };
            let tmp = TempDatabase::with_isolation(isolation).unwrap();
            let db = TestDataFlow::new(tmp.dataflow().unwrap()).with_database(tmp);
            db.model::<Widget>().unwrap();
            let name = db.url().rsplit('/').next().unwrap_or_default().to_owned();
            let _db = db;
            wait_to_be_killed(&name);
        }
        Some("sqlite-db") => {
            let tmp = TempDatabase::sqlite().unwrap();
            let path = tmp.path().unwrap().display().to_string();
            let db = TestDataFlow::new(tmp.dataflow().unwrap()).with_database(tmp);
            db.model::<Widget>().unwrap();
            dataflow::blocking::LocalRuntime::new()
                .execute(&{
                    let mut wf = db.workflow();
                    wf.add_node("WidgetCreateNode", "w", serde_json::json!({"id": "w1"}));
                    wf.build().unwrap()
                })
                .unwrap();
            wait_to_be_killed(&path);
        }
        Some("sweep") => {
            // Making a temporary database sweeps up what killed runs left.
            let _tmp = TempDatabase::new().unwrap();
        }
        _ => {
            eprintln!("usage: leaky leak|process-wide|clean|server-db [database|transaction]|sqlite-db|sweep");
            std::process::exit(64);
        }
    }
}
