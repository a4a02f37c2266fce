//! Parallel stress, on every backend: 16 threads, each creating and dropping 50 instances
//! that all register the same model names, writing and reading their own rows through
//! bound and unbound workflows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dataflow::{DataFlow, FieldType, ModelSchema, NodeRegistry, Owner, WorkflowBuilder};
use dataflow_integration_tests::on_every_backend;
use serde_json::{json, Value};

const THREADS: usize = 16;
const INSTANCES: usize = 50;
const ROWS: usize = 5;

#[derive(Default)]
struct Tally {
    written: AtomicUsize,
    read_back: AtomicUsize,
    foreign: AtomicUsize,
    errors: AtomicUsize,
}

/// Every instance registers the same model name; each stores it in a table of its own, so
/// they can share one database.
fn schema(thread: usize, instance: usize) -> ModelSchema {
    ModelSchema::new("StressItem")
        .with_table(format!("stress_{thread}_{instance}"))
        .field("id", FieldType::String)
        .field("owner", FieldType::String)
}

fn one_instance(
    url: &str,
    thread: usize,
    instance: usize,
    tally: &Tally,
) -> dataflow::Result<Vec<dataflow::InstanceId>> {
    let runtime = dataflow::blocking::LocalRuntime::new();
    let db = DataFlow::builder(url).max_connections(2).build()?;
    db.register_model(schema(thread, instance))?;
    let me = format!("t{thread}-i{instance}");
    let id = db.instance_id();

    // Bound: short names resolve to this instance although 15 other threads hold them.
    let rows: Vec<Value> = (0..ROWS)
        .map(|r| json!({"id": format!("{me}-r{r}"), "owner": me}))
        .collect();
    let mut wf = db.workflow();
    wf.add_node("StressItemBulkCreateNode", "bulk", json!({"data": rows}))
        .add_node("StressItemListNode", "list", json!({}));
    wf.add_connection("bulk", "processed", "list", "limit");
    let (results, _) = runtime.execute(&wf.build()?)?;
    // Unbound: qualified names reach this instance exactly.
    let mut unbound = WorkflowBuilder::new();
    unbound
        .add_node(
            &format!("StressItemCreateNode@{id}"),
            "one",
            json!({"id": format!("{me}-extra"), "owner": me}),
        )
        .add_node(
            &format!("StressItemListNode@{id}"),
            "all",
            json!({"order_by": "id"}),
        );
    let (unbound_results, _) = runtime.execute(&unbound.build()?)?;
    tally.written.fetch_add(ROWS + 1, Ordering::Relaxed);

    for records in [
        &results["list"]["records"],
        &unbound_results["all"]["records"],
    ] {
        for record in records.as_array().into_iter().flatten() {
            tally.read_back.fetch_add(1, Ordering::Relaxed);
            if record["owner"] != me.as_str() {
                tally.foreign.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    db.close_blocking();
    Ok(vec![id])
}

async fn sixteen_threads_fifty_instances_each(url: &str) {
    let tally = Arc::new(Tally::default());
    let ids = Arc::new(std::sync::Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (url, tally, ids) = (url.to_owned(), Arc::clone(&tally), Arc::clone(&ids));
            std::thread::Builder::new()
                .name(format!("stress-{thread}"))
                .spawn(move || {
                    for instance in 0..INSTANCES {
                        match one_instance(&url, thread, instance, &tally) {
                            Ok(mine) => ids.lock().unwrap().extend(mine),
                            Err(e) => {
                                eprintln!("stress-{thread} instance {instance}: {e}");
                                tally.errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
                .unwrap()
        })
        .collect();
    for thread in threads {
        thread.join().expect("a stress thread panicked");
    }
    let expected = THREADS * INSTANCES * (ROWS + 1);
    assert_eq!(
        tally.errors.load(Ordering::Relaxed),
        0,
        "no errors (no `database is locked`)"
    );
    assert_eq!(
        tally.written.load(Ordering::Relaxed),
        expected,
        "every row written"
    );
    // Each instance reads its rows twice (bound list before the extra row, unbound after).
    let read = tally.read_back.load(Ordering::Relaxed);
    assert_eq!(
        read,
        THREADS * INSTANCES * (ROWS + ROWS + 1),
        "zero rows lost"
    );
    assert_eq!(
        tally.foreign.load(Ordering::Relaxed),
        0,
        "zero rows read from another instance"
    );
    let ids = ids.lock().unwrap();
    assert_eq!(ids.len(), THREADS * INSTANCES);
    let left = NodeRegistry::global()
        .entries()
        .into_iter()
        .filter(|e| matches!(e.owner, Owner::Instance(id) if ids.contains(&id)))
        .count();
    assert_eq!(left, 0, "zero registry entries left");
}

on_every_backend! {
    sixteen_threads_fifty_instances_each,
}
