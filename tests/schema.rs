//! Models for real tables: richer field types, unique keys and indexes, tables without
//! timestamps, and `include_total`, on every backend.

use dataflow::{DataFlow, Error, Model};
use dataflow_integration_tests::on_every_backend;
use serde_json::{json, Value};

use crate::models::run_node;

/// Every type added for real schemas, each also nullable. (Rows are read as JSON here.)
#[allow(dead_code)]
#[derive(Model, Debug)]
#[dataflow(unique(team, handle), index(handle, team), timestamps = false)]
pub struct Member {
    pub id: uuid::Uuid,
    #[dataflow(unique)]
    pub email: String,
    #[dataflow(index)]
    pub team: i16,
    pub handle: String,
    pub weight: f32,
    pub born: chrono::NaiveDate,
    pub balance: rust_decimal::Decimal,
    pub friend: Option<uuid::Uuid>,
    pub last_paid: Option<rust_decimal::Decimal>,
    pub anniversary: Option<chrono::NaiveDate>,
    pub level: Option<i16>,
    pub ratio: Option<f32>,
}

const ID: &str = "6f1c9a52-3c0e-4d7b-9a51-0b8e2f2c7d10";

fn member(id: &str, email: &str, team: i16, handle: &str) -> Value {
    json!({
        "id": id, "email": email, "team": team, "handle": handle,
        "weight": 72.3, "born": "1990-02-28", "balance": "1234567890.123456789",
    })
}

async fn members(url: &str) -> DataFlow {
    let db = DataFlow::new(url).unwrap();
    db.model::<Member>().unwrap();
    db
}

async fn new_field_types_round_trip_exactly(url: &str) {
    let db = members(url).await;
    let mut params = member(&ID.to_uppercase(), "a@x.org", 7, "ann");
    params["friend"] = json!("00000000-0000-0000-0000-000000000001");
    params["last_paid"] = json!("0.10");
    params["level"] = json!(-32768);
    params["ratio"] = json!(0.1);
    let created = run_node(&db, "MemberCreateNode", params).await.unwrap();
    let expected = json!({
        "id": ID, "email": "a@x.org", "team": 7, "handle": "ann",
        "weight": 72.3, "born": "1990-02-28", "balance": "1234567890.123456789",
        "friend": "00000000-0000-0000-0000-000000000001", "last_paid": "0.10",
        "anniversary": null, "level": -32768, "ratio": 0.1,
    });
    let mut expected = expected;
    if db.backend() == dataflow::Backend::MySql {
        // The toolkit's own MySQL column is DECIMAL(65, 30): every value has 30 digits
        // after the point there, so the written scale is not kept (a migrated DECIMAL(p, s)
        // column keeps its own: `declared_decimal_scales_come_back_as_stored`).
        expected["last_paid"] = json!("0.1");
    }
    assert_eq!(
        Value::Object(created.as_object().unwrap().clone()),
        expected
    );
    assert!(created.get("created_at").is_none(), "timestamps = false");
    let read = run_node(&db, "MemberReadNode", json!({"id": ID}))
        .await
        .unwrap();
    assert_eq!(read, expected);
    // Filters take the same forms.
    let found = run_node(
        &db,
        "MemberListNode",
        json!({"filter": {"born": {"$lt": "2000-01-01"}, "friend": "00000000-0000-0000-0000-000000000001"}}),
    )
    .await
    .unwrap();
    assert_eq!(found["count"], 1);
    let updated = run_node(
        &db,
        "MemberUpdateNode",
        json!({"filter": {"id": ID}, "fields": {"balance": "-0.000000000000000001", "anniversary": "2020-06-01"}}),
    )
    .await
    .unwrap();
    assert_eq!(updated["balance"], "-0.000000000000000001");
    assert_eq!(updated["anniversary"], "2020-06-01");

    for (field, bad) in [
        ("id", json!("not-a-uuid")),
        ("born", json!("28/02/1990")),
        ("balance", json!("12,5")),
        ("team", json!(40000)),
    ] {
        let mut params = member("6f1c9a52-3c0e-4d7b-9a51-0b8e2f2c7d11", "b@x.org", 1, "b");
        params[field] = bad;
        let err = run_node(&db, "MemberCreateNode", params).await.unwrap_err();
        assert!(
            matches!(err.root(), Error::InvalidValue { field: f, .. } if f == field),
            "{field}: {err}"
        );
    }
}

fn violation(err: &Error) -> (String, Vec<String>) {
    match err.root() {
        Error::UniqueViolation {
            model,
            constraint,
            fields,
        } => {
            assert_eq!(model, "Member");
            (constraint.clone(), fields.clone())
        }
        other => panic!("expected a unique violation, got {other}"),
    }
}

async fn unique_violations_name_the_constraint_and_fields(url: &str) {
    let db = members(url).await;
    run_node(&db, "MemberCreateNode", member(ID, "a@x.org", 1, "ann"))
        .await
        .unwrap();
    let other = "6f1c9a52-3c0e-4d7b-9a51-0b8e2f2c7d11";

    let err = run_node(&db, "MemberCreateNode", member(other, "a@x.org", 2, "bob"))
        .await
        .unwrap_err();
    assert_eq!(
        violation(&err),
        ("members_email_key".to_owned(), vec!["email".to_owned()])
    );
    assert!(err.to_string().contains("members_email_key"), "{err}");

    let err = run_node(&db, "MemberCreateNode", member(other, "b@x.org", 1, "ann"))
        .await
        .unwrap_err();
    assert_eq!(
        violation(&err),
        (
            "members_team_handle_key".to_owned(),
            vec!["team".to_owned(), "handle".to_owned()]
        )
    );

    let err = run_node(&db, "MemberCreateNode", member(ID, "c@x.org", 3, "cy"))
        .await
        .unwrap_err();
    assert_eq!(
        violation(&err),
        ("members_pkey".to_owned(), vec!["id".to_owned()])
    );

    run_node(&db, "MemberCreateNode", member(other, "b@x.org", 2, "bob"))
        .await
        .unwrap();
    let err = run_node(
        &db,
        "MemberUpdateNode",
        json!({"filter": {"id": other}, "fields": {"email": "a@x.org"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(violation(&err).0, "members_email_key");

    let err = run_node(
        &db,
        "MemberUpsertNode",
        json!({"where": {"email": "new@x.org"}, "create": member("6f1c9a52-3c0e-4d7b-9a51-0b8e2f2c7d12", "new@x.org", 1, "ann")}),
    )
    .await
    .unwrap_err();
    assert_eq!(violation(&err).0, "members_team_handle_key");

    // A bulk create that fails on its last row leaves none of its rows.
    let data = json!({"data": [
        member("6f1c9a52-3c0e-4d7b-9a51-0b8e2f2c7d13", "d@x.org", 4, "d"),
        member("6f1c9a52-3c0e-4d7b-9a51-0b8e2f2c7d14", "e@x.org", 4, "e"),
        member("6f1c9a52-3c0e-4d7b-9a51-0b8e2f2c7d15", "b@x.org", 4, "f"),
    ], "batch_size": 1});
    let err = run_node(&db, "MemberBulkCreateNode", data)
        .await
        .unwrap_err();
    assert_eq!(violation(&err).1, ["email"]);
    let all = run_node(&db, "MemberListNode", json!({})).await.unwrap();
    assert_eq!(all["count"], 2, "{all}");
}

async fn indexes_exist_under_their_names(url: &str) {
    let db = members(url).await;
    db.migrate().await.unwrap();
    let sql = match db.backend() {
        dataflow::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'members' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        dataflow::Backend::Postgres => {
            "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'members' \
             AND indexname LIKE '%_idx' ORDER BY indexname"
        }
        _ => {
            "SELECT DISTINCT index_name AS name FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = 'members' \
             AND index_name LIKE '%_idx' ORDER BY index_name"
        }
    };
    let names: Vec<Value> = db
        .query_sql(sql, &[])
        .await
        .unwrap()
        .into_iter()
        .map(|row| row["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("members_handle_team_idx"), json!("members_team_idx")]
    );
}

async fn list_gives_the_total_when_asked(url: &str) {
    let db = members(url).await;
    let data: Vec<Value> = (0..5)
        .map(|i| {
            member(
                &format!("6f1c9a52-3c0e-4d7b-9a51-0b8e2f2c7d2{i}"),
                &format!("m{i}@x.org"),
                (i % 2) as i16,
                &format!("m{i}"),
            )
        })
        .collect();
    run_node(&db, "MemberBulkCreateNode", json!({ "data": data }))
        .await
        .unwrap();
    let page = run_node(
        &db,
        "MemberListNode",
        json!({"filter": {"team": 0}, "limit": 1, "offset": 1, "include_total": true}),
    )
    .await
    .unwrap();
    assert_eq!(page["count"], 1);
    assert_eq!(page["total"], 3);
    let plain = run_node(&db, "MemberListNode", json!({"limit": 1}))
        .await
        .unwrap();
    assert!(plain.get("total").is_none(), "{plain}");
    assert_eq!(db.nodes().len(), 10, "still ten nodes per model");
}

/// A model over a table with a declared decimal scale, as a migration makes it.
#[allow(dead_code)]
#[derive(Model, Debug)]
#[dataflow(timestamps = false)]
pub struct Price {
    pub id: i64,
    pub amount: rust_decimal::Decimal,
}

async fn declared_decimal_scales_come_back_as_stored(url: &str) {
    let db = DataFlow::new(url).unwrap();
    // SQLite keeps decimals as text: exactly as written.
    let amount = match db.backend() {
        dataflow::Backend::Postgres => "NUMERIC(12, 2)",
        dataflow::Backend::MySql => "DECIMAL(12, 2)",
        _ => "TEXT",
    };
    let create = format!("CREATE TABLE prices (id BIGINT PRIMARY KEY, amount {amount} NOT NULL)");
    db.execute_sql(&create, &[]).await.unwrap();
    db.model::<Price>().unwrap();
    for (id, written) in [(1, "12.50"), (2, "-0.10"), (3, "100.00")] {
        let created = run_node(&db, "PriceCreateNode", json!({"id": id, "amount": written}))
            .await
            .unwrap();
        assert_eq!(created["amount"], written);
        let read = run_node(&db, "PriceReadNode", json!({"id": id}))
            .await
            .unwrap();
        assert_eq!(read["amount"], written);
    }
}

/// The same digits declared on the model: the toolkit's own table has them.
#[allow(dead_code)]
#[derive(Model, Debug)]
#[dataflow(timestamps = false, table = "fixed_prices")]
pub struct FixedPrice {
    pub id: i64,
    #[dataflow(decimal(6, 2))]
    pub amount: rust_decimal::Decimal,
    #[dataflow(decimal(4, 0))]
    pub units: Option<rust_decimal::Decimal>,
}

async fn decimal_digits_on_the_model_fix_the_scale_on_every_backend(url: &str) {
    let db = DataFlow::new(url).unwrap();
    db.model::<FixedPrice>().unwrap();
    for (written, stored) in [
        ("12.5", "12.50"),
        ("-0.1", "-0.10"),
        ("9999.99", "9999.99"),
        ("7", "7.00"),
    ] {
        let created = run_node(
            &db,
            "FixedPriceCreateNode",
            json!({"amount": written, "units": "12"}),
        )
        .await
        .unwrap();
        assert_eq!(created["amount"], stored, "{written}");
        assert_eq!(created["units"], "12");
        let read = run_node(&db, "FixedPriceReadNode", json!({"id": created["id"]}))
            .await
            .unwrap();
        assert_eq!(read["amount"], stored, "{written}");
    }
    // More digits than the column holds: refused, naming the field, and nothing written.
    for (field, bad) in [
        ("amount", "0.125"),
        ("amount", "10000"),
        ("units", "0.5"),
        ("units", "12345"),
    ] {
        let mut params = json!({"amount": "1", "units": "1"});
        params[field] = json!(bad);
        let err = run_node(&db, "FixedPriceCreateNode", params)
            .await
            .unwrap_err();
        assert!(
            matches!(err.root(), Error::InvalidValue { field: f, expected, .. } if f == field && expected.contains("DECIMAL(")),
            "{field} = {bad}: {err}"
        );
    }
    let all = run_node(&db, "FixedPriceListNode", json!({}))
        .await
        .unwrap();
    assert_eq!(all["count"], 4);
    // The column's type is what a migration would declare.
    let sql = match db.backend() {
        dataflow::Backend::Postgres => "SELECT numeric_precision AS p, numeric_scale AS s FROM information_schema.columns WHERE table_name = 'fixed_prices' AND column_name = 'amount'",
        dataflow::Backend::MySql => "SELECT CAST(numeric_precision AS SIGNED) AS p, CAST(numeric_scale AS SIGNED) AS s FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'fixed_prices' AND column_name = 'amount'",
        _ => return,
    };
    let rows = db.query_sql(sql, &[]).await.unwrap();
    assert_eq!(
        (rows[0]["p"].as_i64(), rows[0]["s"].as_i64()),
        (Some(6), Some(2))
    );
}

on_every_backend! {
    new_field_types_round_trip_exactly,
    declared_decimal_scales_come_back_as_stored,
    decimal_digits_on_the_model_fix_the_scale_on_every_backend,
    unique_violations_name_the_constraint_and_fields,
    indexes_exist_under_their_names,
    list_gives_the_total_when_asked,
}
