//! `cargo run --example quickstart`: two models, a workflow with connections on SQLite, and
//! two instances with the same model name staying isolated.
//!
//! Set `DATABASE_URL` to run it on another database (`postgres://...`, `mysql://...`).

use dataflow::{DataFlow, LocalRuntime, Model, NodeRegistry};
use serde_json::json;

#[derive(Model, serde::Deserialize)]
struct User {
    id: String,
    name: String,
    email: String,
    age: Option<i32>,
}

#[derive(Model, serde::Deserialize)]
struct Order {
    id: i64,
    user_id: String,
    total: f64,
    paid: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = std::env::temp_dir().join(format!("dataflow-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let default_url = format!("sqlite://{}", scratch.join("shop.db").display());
    let url = std::env::var("DATABASE_URL").unwrap_or(default_url);

    // 1. One instance, two models: 20 generated nodes.
    let db = DataFlow::new(&url)?;
    db.model::<User>()?;
    db.model::<Order>()?;
    println!("instance {} on {url}", db.instance_id());
    println!(
        "registered {} nodes: {}",
        db.nodes().len(),
        db.nodes().join(", ")
    );

    // 2. A workflow whose connections pass one node's output to the next.
    let mut wf = db.workflow();
    wf.add_node(
        "UserCreateNode",
        "alice",
        json!({"id": "alice", "name": "Alice", "email": "alice@example.com", "age": 31}),
    )
    .add_node(
        "OrderBulkCreateNode",
        "orders",
        json!({"data": [
            {"user_id": "alice", "total": 19.5, "paid": true},
            {"user_id": "alice", "total": 5.0, "paid": false},
        ]}),
    )
    .add_node(
        "OrderListNode",
        "unpaid",
        json!({"filter": {"paid": false}}),
    )
    .add_node("OrderUpdateNode", "pay", json!({"fields": {"paid": true}}))
    .add_node("UserReadNode", "reread", json!({}))
    .add_connection("alice", "id", "reread", "id")
    .add_connection("unpaid", "records.0.id", "pay", "filter.id");
    let workflow = wf.build()?;
    let (results, run) = LocalRuntime::new().execute(&workflow).await?;
    let user: User = serde_json::from_value(results["reread"].clone())?;
    println!(
        "{run}: created user {} ({} <{}>, age {:?})",
        user.id, user.name, user.email, user.age
    );
    let paid: Order = serde_json::from_value(results["pay"].clone())?;
    println!(
        "{run}: inserted {} orders, found {} unpaid, then paid order {} of {} ({:.2}): paid = {}",
        results["orders"]["inserted"],
        results["unpaid"]["count"],
        paid.id,
        paid.user_id,
        paid.total,
        paid.paid
    );

    // 3. A second instance with the same model name: its own database, its own nodes.
    let other = DataFlow::new("sqlite::memory:")?;
    other.model::<User>()?;
    let mut wf = other.workflow();
    wf.add_node(
        "UserCreateNode",
        "bob",
        json!({"id": "bob", "name": "Bob", "email": "bob@example.com"}),
    )
    .add_node("UserListNode", "everyone", json!({}));
    wf.add_connection("bob", "id", "everyone", "filter.id");
    let (results, _) = LocalRuntime::new().execute(&wf.build()?).await?;
    println!(
        "instance {} sees {} user(s): {}",
        other.instance_id(),
        results["everyone"]["count"],
        results["everyone"]["records"][0]["name"]
    );
    let mut wf = db.workflow();
    wf.add_node("UserListNode", "everyone", json!({}));
    let (results, _) = LocalRuntime::new().execute(&wf.build()?).await?;
    println!(
        "instance {} still sees {} user(s): {}",
        db.instance_id(),
        results["everyone"]["count"],
        results["everyone"]["records"][0]["name"]
    );

    let registry = NodeRegistry::global();
    let holders: Vec<String> = registry
        .entries()
        .into_iter()
        .filter(|e| e.name == "UserCreateNode")
        .map(|e| e.qualified_name())
        .collect();
    println!("UserCreateNode is held by: {}", holders.join(", "));

    // 4. Cleaning up one instance removes exactly its nodes.
    println!(
        "cleanup of {} removed {} nodes",
        other.instance_id(),
        other.cleanup_nodes()
    );
    println!(
        "cleanup of {} removed {} nodes (again: {})",
        db.instance_id(),
        db.cleanup_nodes(),
        db.cleanup_nodes()
    );
    println!(
        "registry now holds UserCreateNode: {}",
        registry.contains("UserCreateNode")
    );

    db.close().await;
    std::fs::remove_dir_all(&scratch)?;
    Ok(())
}
