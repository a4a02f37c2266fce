//! The ten generated nodes, filters and bulk atomicity, on every backend.

use dataflow::{DataFlow, Error};
use dataflow_integration_tests::on_every_backend;
use serde_json::{json, Value};

use crate::models::{run_node, Event, User};

async fn users(url: &str) -> DataFlow {
    let db = DataFlow::new(url).unwrap();
    db.model::<User>().unwrap();
    db
}

async fn seed(db: &DataFlow) {
    let data = json!([
        {"id": "u1", "name": "Alice", "age": 31, "active": true},
        {"id": "u2", "name": "Bob", "age": 17, "active": false},
        {"id": "u3", "name": "Carol", "age": null, "active": true},
        {"id": "u4", "name": "Dave", "age": 45, "active": true},
    ]);
    let out = run_node(db, "UserBulkCreateNode", json!({ "data": data }))
        .await
        .unwrap();
    assert_eq!(out, json!({"processed": 4, "inserted": 4}));
}

fn ids(list: &Value) -> Vec<&str> {
    list["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

async fn create_read_update_delete(url: &str) {
    let db = users(url).await;
    let created = run_node(
        &db,
        "UserCreateNode",
        json!({"id": "u1", "name": "Alice", "age": 31, "active": true}),
    )
    .await
    .unwrap();
    assert_eq!(created["id"], "u1");
    assert_eq!(created["age"], 31);
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created["created_at"], created["updated_at"]);
    let user: User = serde_json::from_value(created.clone()).unwrap();
    assert_eq!(user.name, "Alice");

    let read = run_node(&db, "UserReadNode", json!({"id": "u1"}))
        .await
        .unwrap();
    assert_eq!(read, created);

    let updated = run_node(
        &db,
        "UserUpdateNode",
        json!({"filter": {"id": "u1"}, "fields": {"age": null, "name": "Alicia"}}),
    )
    .await
    .unwrap();
    assert_eq!(updated["name"], "Alicia");
    assert_eq!(updated["age"], Value::Null);
    assert_eq!(updated["created_at"], created["created_at"]);
    assert!(updated["updated_at"].as_str() >= created["updated_at"].as_str());

    let deleted = run_node(&db, "UserDeleteNode", json!({"id": "u1"}))
        .await
        .unwrap();
    assert_eq!(deleted, json!({"id": "u1", "deleted": true}));
    let again = run_node(&db, "UserDeleteNode", json!({"filter": {"id": "u1"}}))
        .await
        .unwrap();
    assert_eq!(again, json!({"id": "u1", "deleted": false}));

    let missing = run_node(&db, "UserReadNode", json!({"id": "u1"}))
        .await
        .unwrap_err();
    assert!(
        matches!(missing.root(), Error::NotFound { model, .. } if model == "User"),
        "{missing}"
    );
    let soft = run_node(
        &db,
        "UserReadNode",
        json!({"id": "u1", "raise_on_not_found": false}),
    )
    .await
    .unwrap();
    assert_eq!(soft, json!({"found": false}));
    let err = run_node(
        &db,
        "UserUpdateNode",
        json!({"filter": {"id": "nobody"}, "fields": {"name": "x"}}),
    )
    .await
    .unwrap_err();
    assert!(matches!(err.root(), Error::NotFound { .. }), "{err}");
}

async fn every_field_type_round_trips(url: &str) {
    let db = DataFlow::new(url).unwrap();
    db.model::<Event>().unwrap();
    let input = json!({
        "kind": "signup",
        "score": 2.5,
        "count": 9_007_199_254_740_993_i64,
        "payload": {"tags": ["a", "b"], "n": 1},
        "blob": [0, 1, 254, 255],
        "at": "2024-05-01T10:00:00.123456+02:00",
        "local": "2024-05-01T10:00:00",
    });
    let first = run_node(&db, "EventCreateNode", input.clone())
        .await
        .unwrap();
    let second = run_node(&db, "EventCreateNode", input).await.unwrap();
    assert_eq!(
        second["id"].as_i64().unwrap(),
        first["id"].as_i64().unwrap() + 1,
        "ids auto-increment"
    );
    let event: Event = serde_json::from_value(first.clone()).unwrap();
    assert_eq!(event.count, 9_007_199_254_740_993);
    assert_eq!(event.payload, json!({"tags": ["a", "b"], "n": 1}));
    assert_eq!(event.blob, [0, 1, 254, 255]);
    assert_eq!(first["at"], "2024-05-01T08:00:00.123456Z");
    assert_eq!(first["local"], "2024-05-01T10:00:00.000000");
    let read = run_node(&db, "EventReadNode", json!({"id": first["id"]}))
        .await
        .unwrap();
    assert_eq!(read, first);
    let list = run_node(
        &db,
        "EventListNode",
        json!({"filter": {"at": {"$lt": "2024-05-01T09:00:00Z"}, "local": {"$null": false}}}),
    )
    .await
    .unwrap();
    assert_eq!(list["count"], 2);
}

async fn list_filters_orders_and_pages(url: &str) {
    let db = users(url).await;
    seed(&db).await;
    let all = run_node(&db, "UserListNode", json!({})).await.unwrap();
    assert_eq!(ids(&all), ["u1", "u2", "u3", "u4"]);
    assert_eq!(all["count"], 4);
    assert_eq!(all["limit"], Value::Null);
    assert_eq!(all["offset"], 0);

    for (filter, expected) in [
        (json!({"age": {"$gte": 18}}), vec!["u1", "u4"]),
        (json!({"age": {"$gt": 17, "$lt": 45}}), vec!["u1"]),
        (json!({"age": {"$lte": 17}}), vec!["u2"]),
        (json!({"age": {"$ne": 31}}), vec!["u2", "u4"]),
        (json!({"age": {"$eq": 45}}), vec!["u4"]),
        (json!({"age": null}), vec!["u3"]),
        (
            json!({"age": {"$null": false}, "active": true}),
            vec!["u1", "u4"],
        ),
        (json!({"id": {"$in": ["u2", "u3", "zz"]}}), vec!["u2", "u3"]),
        (json!({"id": {"$nin": ["u2", "u3"]}}), vec!["u1", "u4"]),
        (json!({"id": {"$in": []}}), vec![]),
        (json!({"name": {"$like": "%o%"}}), vec!["u2", "u3"]),
        (json!({"active": false}), vec!["u2"]),
    ] {
        let out = run_node(&db, "UserListNode", json!({ "filter": filter }))
            .await
            .unwrap();
        assert_eq!(ids(&out), expected, "filter {filter}");
    }

    let page = run_node(
        &db,
        "UserListNode",
        json!({"order_by": "-name", "limit": 2, "offset": 1}),
    )
    .await
    .unwrap();
    assert_eq!(ids(&page), ["u3", "u2"]);
    assert_eq!(
        (
            page["count"].clone(),
            page["limit"].clone(),
            page["offset"].clone()
        ),
        (json!(2), json!(2), json!(1))
    );
    let tail = run_node(
        &db,
        "UserListNode",
        json!({"order_by": ["-active", "age"], "offset": 2}),
    )
    .await
    .unwrap();
    assert_eq!(ids(&tail), ["u4", "u2"]);
}

async fn upsert_creates_then_updates(url: &str) {
    let db = users(url).await;
    let params = json!({"where": {"id": "u9"}, "create": {"name": "Zed", "active": true}, "update": {"name": "Zed 2"}});
    let first = run_node(&db, "UserUpsertNode", params.clone())
        .await
        .unwrap();
    assert_eq!(first["action"], "created");
    assert_eq!(first["record"]["name"], "Zed");
    let second = run_node(&db, "UserUpsertNode", params).await.unwrap();
    assert_eq!(second["action"], "updated");
    assert_eq!(second["record"]["name"], "Zed 2");
    assert_eq!(second["record"]["id"], "u9");
}

async fn bulk_operations(url: &str) {
    let db = users(url).await;
    seed(&db).await;
    let skip = json!({"data": [{"id": "u1", "name": "Dup", "active": true}, {"id": "u5", "name": "Eve", "active": true}], "conflict_resolution": "skip"});
    assert_eq!(
        run_node(&db, "UserBulkCreateNode", skip).await.unwrap(),
        json!({"processed": 2, "inserted": 1})
    );
    assert_eq!(
        run_node(&db, "UserReadNode", json!({"id": "u1"}))
            .await
            .unwrap()["name"],
        "Alice"
    );

    let update = json!({"data": [{"id": "u1", "name": "Alice 2", "active": true}, {"id": "u6", "name": "Fay", "active": false}], "conflict_resolution": "update", "batch_size": 1});
    assert_eq!(
        run_node(&db, "UserBulkCreateNode", update).await.unwrap(),
        json!({"processed": 2, "inserted": 1})
    );
    assert_eq!(
        run_node(&db, "UserReadNode", json!({"id": "u1"}))
            .await
            .unwrap()["name"],
        "Alice 2"
    );

    let out = run_node(
        &db,
        "UserBulkUpdateNode",
        json!({"filter": {"active": false}, "fields": {"age": 99}}),
    )
    .await
    .unwrap();
    assert_eq!(out, json!({"processed": 2, "updated": 2}));
    let out = run_node(&db, "UserListNode", json!({"filter": {"age": 99}}))
        .await
        .unwrap();
    assert_eq!(ids(&out), ["u2", "u6"]);

    let upsert = json!({"data": [{"id": "u2", "name": "Bobby", "active": true}, {"id": "u7", "name": "Gus", "active": true}]});
    assert_eq!(
        run_node(&db, "UserBulkUpsertNode", upsert).await.unwrap(),
        json!({"processed": 2, "inserted": 1, "updated": 1})
    );
    let by_name =
        json!({"data": [{"id": "ignored", "name": "Gus", "active": false}], "conflict_on": "name"});
    assert_eq!(
        run_node(&db, "UserBulkUpsertNode", by_name).await.unwrap(),
        json!({"processed": 1, "inserted": 0, "updated": 1})
    );
    assert_eq!(
        run_node(&db, "UserReadNode", json!({"id": "u7"}))
            .await
            .unwrap()["active"],
        false
    );

    let err = run_node(&db, "UserBulkDeleteNode", json!({"filter": {}}))
        .await
        .unwrap_err();
    assert!(matches!(err.root(), Error::EmptyFilter { .. }), "{err}");
    let err = run_node(&db, "UserBulkUpdateNode", json!({"fields": {"age": 1}}))
        .await
        .unwrap_err();
    assert!(matches!(err.root(), Error::EmptyFilter { .. }), "{err}");
    let out = run_node(
        &db,
        "UserBulkDeleteNode",
        json!({"filter": {"active": true}}),
    )
    .await
    .unwrap();
    assert_eq!(out["deleted"], 5);
    let out = run_node(
        &db,
        "UserBulkDeleteNode",
        json!({"filter": {}, "confirmed": true}),
    )
    .await
    .unwrap();
    assert_eq!(out, json!({"processed": 2, "deleted": 2}));
}

async fn a_bulk_create_that_fails_half_way_leaves_no_rows(url: &str) {
    let db = users(url).await;
    seed(&db).await;
    // Row 2 collides with a stored id after row 1 was inserted in the same transaction.
    let data = json!({"data": [
        {"id": "n1", "name": "New", "active": true},
        {"id": "n2", "name": "New", "active": true},
        {"id": "u1", "name": "Clash", "active": true},
    ], "batch_size": 1});
    let err = run_node(&db, "UserBulkCreateNode", data).await.unwrap_err();
    assert!(
        matches!(err.root(), Error::UniqueViolation { constraint, fields, .. }
            if fields == &["id"] && constraint == "users_pkey"),
        "{err}"
    );
    let all = run_node(&db, "UserListNode", json!({})).await.unwrap();
    assert_eq!(
        ids(&all),
        ["u1", "u2", "u3", "u4"],
        "nothing of the failed bulk create remains"
    );

    let upsert = json!({"data": [{"id": "n3", "name": "New", "active": true}, {"id": "n4", "active": true}]});
    let err = run_node(&db, "UserBulkUpsertNode", upsert)
        .await
        .unwrap_err();
    assert!(
        matches!(err.root(), Error::MissingField { field, .. } if field == "name"),
        "{err}"
    );
    assert_eq!(
        run_node(&db, "UserListNode", json!({})).await.unwrap()["count"],
        4
    );
}

async fn a_bulk_create_of_rows_that_set_different_fields_stores_each_as_given(url: &str) {
    let db = users(url).await;
    // Rows with and without the optional `age`, in runs that batches of two cut across.
    let data = json!({"data": [
        {"id": "r1", "name": "One", "age": 1, "active": true},
        {"id": "r2", "name": "Two", "active": false},
        {"id": "r3", "active": true, "name": "Three"},
        {"id": "r4", "name": "Four", "age": 4, "active": true},
        {"id": "r5", "name": "Five", "age": null, "active": false},
    ], "batch_size": 2});
    assert_eq!(
        run_node(&db, "UserBulkCreateNode", data).await.unwrap(),
        json!({"processed": 5, "inserted": 5})
    );
    let all = run_node(&db, "UserListNode", json!({})).await.unwrap();
    let stored: Vec<(&str, &str, &Value, &Value)> = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
                &r["age"],
                &r["active"],
            )
        })
        .collect();
    assert_eq!(
        stored,
        [
            ("r1", "One", &json!(1), &json!(true)),
            ("r2", "Two", &Value::Null, &json!(false)),
            ("r3", "Three", &Value::Null, &json!(true)),
            ("r4", "Four", &json!(4), &json!(true)),
            ("r5", "Five", &Value::Null, &json!(false)),
        ]
    );
    // One time for the whole call, in both columns of every row.
    let records = all["records"].as_array().unwrap();
    let created = &records[0]["created_at"];
    assert!(created.is_string(), "{created}");
    for r in records {
        assert_eq!((&r["created_at"], &r["updated_at"]), (created, created));
    }

    // A bad row after good ones: the error names its row and field, and nothing is written.
    let data = json!({"data": [
        {"id": "s1", "name": "Fine", "active": true},
        {"id": "s2", "name": "Fine", "age": 2, "active": true},
        {"id": "s3", "age": 3, "active": true},
    ]});
    let err = run_node(&db, "UserBulkCreateNode", data).await.unwrap_err();
    assert!(
        matches!(err.root(), Error::MissingField { context, field } if field == "name" && context.contains("data[2]")),
        "{err}"
    );
    assert_eq!(
        run_node(&db, "UserListNode", json!({})).await.unwrap()["count"],
        5
    );
}

async fn hostile_strings_are_stored_literally(url: &str) {
    let db = users(url).await;
    let evil = "Robert'); DROP TABLE users; --";
    run_node(
        &db,
        "UserCreateNode",
        json!({"id": evil, "name": evil, "active": true}),
    )
    .await
    .unwrap();
    let found = run_node(&db, "UserListNode", json!({"filter": {"name": evil}}))
        .await
        .unwrap();
    assert_eq!(found["records"][0]["id"], evil);
    let read = run_node(&db, "UserReadNode", json!({"id": evil}))
        .await
        .unwrap();
    assert_eq!(read["name"], evil);
}

on_every_backend! {
    create_read_update_delete,
    every_field_type_round_trips,
    list_filters_orders_and_pages,
    upsert_creates_then_updates,
    bulk_operations,
    a_bulk_create_that_fails_half_way_leaves_no_rows,
    a_bulk_create_of_rows_that_set_different_fields_stores_each_as_given,
    hostile_strings_are_stored_literally,
}
