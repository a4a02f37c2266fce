//! `cargo run --example transaction_mode`: PostgreSQL transaction mode, what
//! `#[with(Isolation::Transaction)]` on `dataflow_db` gives each test. The instance runs on
//! one connection inside a transaction that is never committed: closing (or dropping) it
//! rolls back every row it wrote. Tables are created outside the transactions, in a
//! database the toolkit makes for the process and drops at exit.
//!
//! Needs a server: `DATAFLOW_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres`.
//! Without it the example says so and exits successfully.

use dataflow::{LocalRuntime, Model};
use dataflow_testing::{Isolation, TempDatabase};
use serde_json::json;

// The fields are read through the generated nodes, never in Rust.
#[allow(dead_code)]
#[derive(Model)]
struct Note {
    id: i64,
    text: String,
}

async fn count_notes(db: &dataflow::DataFlow) -> dataflow::Result<serde_json::Value> {
    let mut wf = db.workflow();
    wf.add_node("NoteListNode", "read", json!({}));
    let (results, _run) = LocalRuntime::new().execute(&wf.build()?).await?;
    Ok(results["read"]["count"].clone())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = TempDatabase::with_isolation(Isolation::Transaction)?;
    if tmp.isolation() != Isolation::Transaction {
        println!(
            "skipped: transaction mode needs PostgreSQL; set DATAFLOW_TEST_POSTGRES_URL (for \
             example postgres://postgres@127.0.0.1:5432/postgres) to run this example"
        );
        return Ok(());
    }

    let db = tmp.dataflow()?; // transaction mode on, since the database is isolated that way
    db.model::<Note>()?;
    let mut wf = db.workflow();
    wf.add_node(
        "NoteBulkCreateNode",
        "write",
        json!({"data": [{"text": "one"}, {"text": "two"}]}),
    );
    LocalRuntime::new().execute(&wf.build()?).await?;
    println!(
        "inside the transaction of {}: {} notes",
        db.instance_id(),
        count_notes(&db).await?
    );
    db.close().await; // rolls back

    let next = tmp.dataflow()?;
    next.model::<Note>()?;
    let after = count_notes(&next).await?;
    println!("in a new transaction after close: {after} notes");
    if after != 0 {
        return Err("the rows outlived the rolled-back transaction".into());
    }
    Ok(())
}
