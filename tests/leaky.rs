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
//! - `fail-test`: a guarded test that fails (for `DATAFLOW_KEEP_FAILED`).
//! - `sweep`: makes a temporary database, which sweeps up what killed runs left.
//! - `storm`: 200 guarded "tests" on named threads, as libtest runs them, of which a fifth
//!   panic: in the fixture, in a node, in the body, or while a clone of the instance lives
//!   on another thread. Then counts what is left: registry entries, temporary files,
//!   server databases. Prints one summary line; exits 0 only if nothing is left.

use std::io::Write;

use std::sync::Arc;

use dataflow::{DataFlow, Node, NodeFuture, NodeRegistry, Owner, Params};
use dataflow_testing::{dataflow_fixture, temp_database, Isolation, TempDatabase, TestDataFlow};
use serde_json::json;

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
        Some("storm") => storm(),
        Some("fail-test") => {
            // A guarded test that fails: its database is removed, or kept with
            // DATAFLOW_KEEP_FAILED=1.
            let failed = std::thread::Builder::new()
                .name("suite::fails".to_owned())
                .spawn(|| {
                    let db = storm_db::default();
                    run(&db, "WidgetCreateNode", json!({"id": "w"}));
                    panic!("the test fails");
                })
                .unwrap()
                .join();
            assert!(failed.is_err());
        }
        Some("sweep") => {
            // Making a temporary database sweeps up what killed runs left.
            if let Err(e) = TempDatabase::new() {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("usage: leaky leak|process-wide|clean|server-db [database|transaction]|sqlite-db|sweep|storm|fail-test");
            std::process::exit(64);
        }
    }
}

/// Where a storm test panics.
#[derive(Clone, Copy, Debug)]
enum PanicAt {
    Nowhere,
    Fixture,
    Node,
    Body,
    WhileCloneLives,
}

thread_local! {
    static FAIL_FIXTURE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[dataflow_fixture]
fn storm_db(temp_database: TempDatabase) -> Result<DataFlow, String> {
    if FAIL_FIXTURE.with(std::cell::Cell::get) {
        return Err("the storm fixture fails on purpose".to_owned());
    }
    let db = DataFlow::new(temp_database.url()).map_err(|e| e.to_string())?;
    db.model::<Widget>().map_err(|e| e.to_string())?;
    Ok(db)
}

struct Boom;

impl Node for Boom {
    fn run(&self, _params: Params) -> NodeFuture<'_> {
        Box::pin(async { panic!("a node panics on purpose") })
    }
}

fn run(db: &DataFlow, node: &str, params: serde_json::Value) -> serde_json::Value {
    let mut wf = db.workflow();
    wf.add_node(node, "n", params);
    let (results, _) = dataflow::blocking::LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .unwrap();
    results["n"].clone()
}

/// The threads on which a storm test's clone of its instance lives on after the test.
static CLONE_THREADS: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>> =
    std::sync::Mutex::new(Vec::new());

fn storm_test(case: usize, panic_at: PanicAt) {
    FAIL_FIXTURE.with(|f| f.set(matches!(panic_at, PanicAt::Fixture)));
    let db = storm_db::default();
    run(&db, "WidgetCreateNode", json!({"id": format!("w{case}")}));
    match panic_at {
        PanicAt::Nowhere | PanicAt::Fixture => {}
        PanicAt::Node => {
            NodeRegistry::global()
                .register(
                    "StormBoomNode",
                    Owner::Instance(db.instance_id()),
                    Arc::new(Boom),
                )
                .unwrap();
            run(&db, "StormBoomNode", json!({}));
        }
        PanicAt::Body => panic!("the body panics on purpose"),
        PanicAt::WhileCloneLives => {
            let clone: DataFlow = (*db).clone();
            let lives_on = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(50));
                run(&clone, "WidgetListNode", json!({}));
            });
            CLONE_THREADS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(lives_on);
            panic!("the body panics while a clone lives on");
        }
    }
    assert_eq!(run(&db, "WidgetListNode", json!({}))["count"], 1);
}

fn storm() {
    const TESTS: usize = 200;
    const PARALLEL: usize = 4;
    std::panic::set_hook(Box::new(|_| {}));
    let plan = |case: usize| match (case % 5, (case / 5) % 4) {
        (0, 0) => PanicAt::Fixture,
        (0, 1) => PanicAt::Node,
        (0, 2) => PanicAt::Body,
        (0, _) => PanicAt::WhileCloneLives,
        _ => PanicAt::Nowhere,
    };
    let mut panicked = 0;
    let mut unexpected = Vec::new();
    for batch in (0..TESTS).collect::<Vec<_>>().chunks(PARALLEL) {
        let threads: Vec<_> = batch
            .iter()
            .map(|&case| {
                let handle = std::thread::Builder::new()
                    .name(format!("storm::case_{case:03}"))
                    .spawn(move || storm_test(case, plan(case)))
                    .unwrap();
                (case, handle)
            })
            .collect();
        for (case, handle) in threads {
            let failed = handle.join().is_err();
            panicked += usize::from(failed);
            if failed != !matches!(plan(case), PanicAt::Nowhere) {
                unexpected.push(case);
            }
        }
    }
    // The clones that lived on after their test ended have ended too (however slow the
    // machine); then the server databases the guards drop in the background.
    let clones = std::mem::take(&mut *CLONE_THREADS.lock().unwrap_or_else(|e| e.into_inner()));
    for clone in clones {
        let _ = clone.join();
    }
    dataflow_testing::wait_for_cleanup();
    let entries = NodeRegistry::global()
        .entries()
        .iter()
        .filter(|e| e.owner != Owner::Static)
        .count();
    let marker = format!("dataflow-{}-", dataflow_testing::run_token());
    let files = std::fs::read_dir(std::env::temp_dir())
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                // The schema templates live until the process exits, by design.
                .filter(|name| name.starts_with(&marker) && !name.contains("-templates-"))
                .count()
        })
        .unwrap_or(0);
    let databases = leftover_databases();
    println!(
        "storm: {TESTS} tests, {panicked} panicked, unexpected outcomes: {unexpected:?}, registry entries left: {entries}, temporary files left: {files}, server databases left: {databases}"
    );
    let clean = unexpected.is_empty() && entries == 0 && files == 0 && databases == 0;
    std::process::exit(if clean { 0 } else { 1 });
}

/// This process's test databases still on the test server, if one is named.
fn leftover_databases() -> usize {
    use sqlx::Connection;
    let prefix = format!("dftest\\_{}\\_%", dataflow_testing::run_token());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Ok(url) = std::env::var(dataflow_testing::POSTGRES_ENV) {
        return rt.block_on(async {
            let mut conn = sqlx::postgres::PgConnection::connect(&url).await.unwrap();
            let (n,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM pg_database WHERE datname LIKE $1")
                    .bind(&prefix)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            usize::try_from(n).unwrap_or(usize::MAX)
        });
    }
    if let Ok(url) = std::env::var(dataflow_testing::MYSQL_ENV) {
        return rt.block_on(async {
            let mut conn = sqlx::mysql::MySqlConnection::connect(&url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE ?",
            )
            .bind(&prefix)
            .fetch_one(&mut conn)
            .await
            .unwrap();
            usize::try_from(n).unwrap_or(usize::MAX)
        });
    }
    0
}
