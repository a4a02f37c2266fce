use chrono::{DateTime, Utc};
use dataflow::Model;

#[derive(Model)]
struct User {
    id: String,
    created_at: DateTime<Utc>,
    updated_at: Option<DateTime<Utc>>,
}

fn main() {}
