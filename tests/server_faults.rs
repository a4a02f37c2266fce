//! Server faults on PostgreSQL: a connection terminated from outside while a workflow runs,
//! and the server unreachable, then back. (Driven through a TCP proxy this test controls,
//! so "unreachable" is real: connections are refused, open ones are cut.)

use std::time::Duration;

use dataflow::{Backend, DataFlow, Error, LocalRuntime};
use dataflow_integration_tests::TestDatabase;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::models::{run_node, User};

/// A TCP proxy to the PostgreSQL server that can be switched off (refusing and cutting
/// connections) and on again, on the same port.
struct Proxy {
    port: u16,
    target: String,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    async fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Proxy {
            port,
            target: target.to_owned(),
            task: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    /// Refuses new connections and cuts the open ones.
    async fn off(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    async fn on(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

fn through_proxy(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (userinfo, _host) = authority.rsplit_once('@').unwrap();
    format!("{scheme}://{userinfo}@127.0.0.1:{port}/{path}")
}

fn server_address(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_fails_the_node_and_the_instance_recovers_when_it_is_back() {
    let Some(database) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let mut proxy = Proxy::start(&server_address(database.url())).await;
    proxy.off().await;
    let url = through_proxy(database.url(), proxy.port);
    let db = DataFlow::builder(&url)
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    db.model::<User>().unwrap();

    // Unreachable at start.
    let err = run_node(
        &db,
        "UserCreateNode",
        json!({"id": "a", "name": "A", "active": true}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::NodeFailed { node_id, .. } if node_id == "n"),
        "{err}"
    );
    assert!(
        matches!(err.root(), Error::Connect { host, .. } if host.ends_with(&proxy.port.to_string())),
        "{err}"
    );

    // Back: the same instance works.
    proxy.on().await;
    run_node(
        &db,
        "UserCreateNode",
        json!({"id": "a", "name": "A", "active": true}),
    )
    .await
    .unwrap();

    // Cut mid-life, then back again.
    proxy.off().await;
    let err = run_node(&db, "UserListNode", json!({})).await.unwrap_err();
    assert!(matches!(&err, Error::NodeFailed { .. }), "{err}");
    proxy.on().await;
    assert_eq!(
        run_node(&db, "UserListNode", json!({})).await.unwrap()["count"],
        1
    );
    db.close().await;
    proxy.off().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_connection_fails_the_bulk_write_leaving_no_rows_and_the_next_workflow_succeeds(
) {
    let Some(database) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let url = format!("{}?application_name=dataflow_fault_test", database.url());
    let name = database.url().rsplit('/').next().unwrap().to_owned();
    let db = DataFlow::new(&url).unwrap();
    db.model::<User>().unwrap();
    db.migrate().await.unwrap();

    let admin =
        sqlx::PgPool::connect(&std::env::var(dataflow_integration_tests::POSTGRES_ENV).unwrap())
            .await
            .unwrap();
    let mut terminated = false;
    for attempt in 0..5 {
        let rows: Vec<_> = (0..20_000 * (attempt + 1))
            .map(|i| json!({"id": format!("r{i}"), "name": "x", "active": true}))
            .collect();
        let bulk = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut wf = db.workflow();
                wf.add_node(
                    "UserBulkCreateNode",
                    "bulk",
                    json!({"data": rows, "batch_size": 200}),
                );
                LocalRuntime::new().execute(&wf.build().unwrap()).await
            })
        };
        // Terminate the backend as soon as it is busy writing.
        let killer = {
            let (admin, name) = (admin.clone(), name.clone());
            tokio::spawn(async move {
                for _ in 0..2000 {
                    let killed: Vec<(bool,)> = sqlx::query_as(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = $1 AND application_name = 'dataflow_fault_test' AND state = 'active'",
                    )
                    .bind(&name)
                    .fetch_all(&admin)
                    .await
                    .unwrap();
                    if killed.iter().any(|(k,)| *k) {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                false
            })
        };
        let outcome = bulk.await.unwrap();
        let killed = killer.await.unwrap();
        match outcome {
            Err(err) if killed => {
                assert!(
                    matches!(&err, Error::NodeFailed { node_id, .. } if node_id == "bulk"),
                    "{err}"
                );
                terminated = true;
                break;
            }
            Err(err) => panic!("the bulk write failed without being terminated: {err}"),
            // Finished before the terminate landed: clear it and try with more rows.
            Ok(_) => {
                run_node(&db, "UserBulkDeleteNode", json!({"confirmed": true}))
                    .await
                    .unwrap();
            }
        }
    }
    assert!(terminated, "the bulk write was never caught in flight");
    let list = run_node(&db, "UserListNode", json!({"limit": 1}))
        .await
        .unwrap();
    assert_eq!(list["count"], 0, "no partial rows");
    run_node(
        &db,
        "UserCreateNode",
        json!({"id": "after", "name": "ok", "active": true}),
    )
    .await
    .unwrap();
    db.close().await;
    admin.close().await;
}
