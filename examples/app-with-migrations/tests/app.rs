//! The shop under test: each test gets a database made from the migrations and the SQL
//! fixtures (a copy or clone of a template built once), and models over the migrated tables.
//! Runs on SQLite, and on PostgreSQL / MariaDB with `DATAFLOW_TEST_POSTGRES_URL` /
//! `DATAFLOW_TEST_MYSQL_URL`.

use app_with_migrations::{shop, spending_since};
use dataflow::{DataFlow, Error, LocalRuntime};
use dataflow_testing::{dataflow_fixture, TempDatabase, TestDataFlow};
use rstest::rstest;
use serde_json::{json, Value};

/// Run once on the template, after the migrations and before the fixtures.
pub fn audit_log(db: &DataFlow) -> dataflow::Result<()> {
    db.execute_sql_blocking("CREATE TABLE audit_log (line TEXT NOT NULL)", &[])
        .map(drop)
}

#[dataflow_fixture(
    migrations = "migrations",
    fixtures("customers.sql", "orders.sql"),
    setup = audit_log
)]
fn shop_db(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    shop(&db).unwrap();
    db
}

async fn run(db: &DataFlow, node: &str, params: Value) -> dataflow::Result<Value> {
    let mut wf = db.workflow();
    wf.add_node(node, "n", params);
    let (mut results, _) = LocalRuntime::new().execute(&wf.build()?).await?;
    Ok(std::mem::take(&mut results).into_map().remove("n").unwrap())
}

#[rstest]
#[tokio::test]
async fn the_seeded_shop_lists_pages_with_a_total(#[from(shop_db)] db: TestDataFlow) {
    let page = run(
        &db,
        "OrderListNode",
        json!({"filter": {"customer_id": 1}, "order_by": "-placed_on", "limit": 1, "include_total": true}),
    )
    .await
    .unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["records"][0]["placed_on"], "2024-03-09");
}

#[rstest]
#[tokio::test]
async fn a_duplicate_email_is_refused_naming_the_migrations_constraint(
    #[from(shop_db)] db: TestDataFlow,
) {
    let err = run(
        &db,
        "CustomerCreateNode",
        json!({"id": 3, "email": "ann@example.org", "name": "Another Ann"}),
    )
    .await
    .unwrap_err();
    match err.root() {
        Error::UniqueViolation {
            constraint, fields, ..
        } => {
            assert_eq!(constraint, "customers_email_key");
            assert_eq!(fields, &["email"]);
        }
        other => panic!("expected a unique violation, got {other}"),
    }
}

#[rstest]
#[tokio::test]
async fn raw_sql_reports_and_writes_in_the_tests_database(#[from(shop_db)] db: TestDataFlow) {
    let since = chrono::NaiveDate::from_ymd_opt(2024, 3, 5).unwrap();
    let rows = spending_since(&db, since).await.unwrap();
    let summary: Vec<(Value, i64)> = rows
        .iter()
        .map(|r| (r["name"].clone(), r["orders"].as_i64().unwrap()))
        .collect();
    assert_eq!(summary, [(json!("Ann"), 1), (json!("Bob"), 1)]);
    db.execute_sql("INSERT INTO audit_log (line) VALUES ('reported')", &[])
        .await
        .unwrap();
    let log = db
        .query_sql("SELECT line FROM audit_log", &[])
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "each test starts from the template: {log:?}");
}
