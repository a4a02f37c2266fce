//! A small shop whose schema is its `migrations/` directory (sqlx-cli format), not the
//! models: the models describe tables the migrations made, and dataflow checks that they
//! agree. `tests/app.rs` tests it with per-test databases built from the migrations and the
//! SQL fixtures in `tests/fixtures/`.

use dataflow::{DataFlow, Model};

/// A customer: `customers`, made by the first migration.
#[derive(Model, Debug)]
#[dataflow(timestamps = false)]
pub struct Customer {
    /// Primary key.
    pub id: i64,
    /// Unique (`customers_email_key` in the migration).
    #[dataflow(unique)]
    pub email: String,
    /// Display name.
    pub name: String,
}

/// An order: `orders`, made by the second (reversible) migration.
#[derive(Model, Debug)]
#[dataflow(timestamps = false)]
pub struct Order {
    /// Primary key.
    pub id: i64,
    /// The customer who placed it.
    pub customer_id: i64,
    /// The total, in cents.
    pub total_cents: i64,
    /// The day it was placed.
    pub placed_on: chrono::NaiveDate,
}

/// The directory of the migrations, for code outside this crate's tests.
pub const MIGRATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");

/// The shop on an instance whose database holds the migrated tables.
pub fn shop(db: &DataFlow) -> dataflow::Result<()> {
    db.model::<Customer>()?;
    db.model::<Order>()
}

/// Each customer's number of orders and total spent, by raw SQL (bound parameters only).
pub async fn spending_since(
    db: &DataFlow,
    since: chrono::NaiveDate,
) -> dataflow::Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    let placeholder = match db.backend() {
        dataflow::Backend::Postgres => "$1",
        _ => "?",
    };
    let sql = format!(
        "SELECT c.name AS name, COUNT(o.id) AS orders, SUM(o.total_cents) AS cents \
         FROM customers c JOIN orders o ON o.customer_id = c.id \
         WHERE o.placed_on >= {placeholder} GROUP BY c.name ORDER BY c.name"
    );
    db.query_sql(&sql, &[serde_json::json!(since.to_string())])
        .await
}
