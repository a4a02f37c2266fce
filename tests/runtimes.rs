//! One instance from sync code, from current-thread and multi-thread runtimes, and across
//! runtimes that come and go.

use std::sync::LazyLock;

use dataflow::DataFlow;
use serde_json::json;

use crate::models::{run_node, User};

fn create_and_count_blocking(db: &DataFlow, id: &str) -> u64 {
    let mut wf = db.workflow();
    wf.add_node(
        "UserCreateNode",
        "c",
        json!({"id": id, "name": id, "active": true}),
    )
    .add_node("UserListNode", "l", json!({}));
    wf.add_connection("c", "id", "l", "filter.id");
    let (results, _) = dataflow::blocking::LocalRuntime::new()
        .execute(&wf.build().unwrap())
        .unwrap();
    results["l"]["count"].as_u64().unwrap()
}

#[test]
fn works_from_synchronous_code() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<User>().unwrap();
    assert_eq!(create_and_count_blocking(&db, "s1"), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn works_on_a_current_thread_runtime() {
    let db = DataFlow::connect("sqlite::memory:").await.unwrap();
    db.model::<User>().unwrap();
    run_node(
        &db,
        "UserCreateNode",
        json!({"id": "c1", "name": "x", "active": true}),
    )
    .await
    .unwrap();
    assert_eq!(
        run_node(&db, "UserListNode", json!({})).await.unwrap()["count"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_on_a_multi_thread_runtime_with_concurrent_workflows() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<User>().unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                run_node(
                    &db,
                    "UserCreateNode",
                    json!({"id": format!("m{i}"), "name": "x", "active": true}),
                )
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        run_node(&db, "UserListNode", json!({})).await.unwrap()["count"],
        20
    );
}

/// One instance for the two tests below, each of which runs on a runtime of its own that
/// ends with the test.
static SHARED: LazyLock<DataFlow> = LazyLock::new(|| {
    // In memory: a file would outlive the process (statics are never dropped).
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<User>().unwrap();
    // Lives until the process exits, by design: not a leak.
    dataflow_testing::keep_for_process(&db);
    db
});

async fn use_shared(id: &str) {
    run_node(
        &SHARED,
        "UserCreateNode",
        json!({"id": id, "name": id, "active": true}),
    )
    .await
    .unwrap();
    let read = run_node(&SHARED, "UserReadNode", json!({"id": id}))
        .await
        .unwrap();
    assert_eq!(read["name"], id);
}

#[tokio::test]
async fn a_shared_instance_serves_one_runtime() {
    use_shared("rt-1").await;
}

#[tokio::test]
async fn a_shared_instance_serves_another_runtime() {
    use_shared("rt-2").await;
}

#[test]
fn a_shared_instance_outlives_the_runtimes_that_used_it() {
    for round in 0..3 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(use_shared(&format!("gone-{round}")));
        drop(rt);
    }
    let multi = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    multi.block_on(use_shared("after"));
}

#[test]
fn an_in_memory_database_is_private_to_its_instance_and_shared_by_its_pool() {
    let a = DataFlow::builder(":memory:")
        .max_connections(4)
        .build()
        .unwrap();
    let b = DataFlow::new(":memory:").unwrap();
    a.model::<User>().unwrap();
    b.model::<User>().unwrap();
    for i in 0..8 {
        assert_eq!(create_and_count_blocking(&a, &format!("a{i}")), 1);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Several connections at once all see the same rows.
        let reads: Vec<_> = (0..8)
            .map(|i| {
                let a = a.clone();
                tokio::spawn(async move {
                    run_node(&a, "UserReadNode", json!({"id": format!("a{i}")})).await
                })
            })
            .collect();
        for read in reads {
            read.await.unwrap().unwrap();
        }
        assert_eq!(
            run_node(&a, "UserListNode", json!({})).await.unwrap()["count"],
            8
        );
        assert_eq!(
            run_node(&b, "UserListNode", json!({})).await.unwrap()["count"],
            0
        );
    });
}
