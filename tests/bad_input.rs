//! Bad input gets a clear, typed error that names the problem, and loses nothing.

use std::time::{Duration, Instant};

use dataflow::{DataFlow, Error, FieldType, ModelSchema};
use serde_json::{json, Value};

use crate::models::{run_node, User};

#[test]
fn malformed_and_unsupported_urls_are_rejected() {
    for url in [
        "",
        "   ",
        "http://example.com/db",
        "redis://localhost",
        "notes.txt",
        "sqlite://",
        "sqlite://\0bad",
        "sqlite::memroy:",
        "postgres://u:hunter2@[::1",
    ] {
        let err = DataFlow::new(url).unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{url:?}: {err}");
        assert!(
            !err.to_string().contains("hunter2"),
            "passwords stay hidden: {err}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_naming_the_host_within_the_timeout() {
    for url in [
        "postgres://postgres@127.0.0.1:1/postgres",
        "mysql://root@127.0.0.1:1/test",
    ] {
        let started = Instant::now();
        let err = DataFlow::builder(url)
            .connect_timeout(Duration::from_millis(300))
            .connect()
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url}: took {:?}",
            started.elapsed()
        );
        assert!(
            matches!(&err, Error::Connect { host, .. } if host == "127.0.0.1:1"),
            "{url}: {err}"
        );
    }
}

#[test]
fn identifiers_that_are_not_plain_names_are_rejected() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    let cases = [
        (
            ModelSchema::new("User; DROP TABLE x").field("id", FieldType::String),
            "model",
        ),
        (
            ModelSchema::new("User")
                .with_table("users; DROP TABLE x")
                .field("id", FieldType::String),
            "table",
        ),
        (
            ModelSchema::new("User")
                .field("id", FieldType::String)
                .field("name\"--", FieldType::String),
            "field",
        ),
        (
            ModelSchema::new("User")
                .field("id", FieldType::String)
                .field("1st", FieldType::String),
            "field",
        ),
        (ModelSchema::new("").field("id", FieldType::String), "model"),
    ];
    for (schema, kind) in cases {
        let err = db.register_model(schema.clone()).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidIdentifier { kind: k, .. } if *k == kind),
            "{schema:?}: {err}"
        );
    }
    assert!(db.nodes().is_empty(), "nothing was registered");
}

#[test]
fn schemas_without_a_usable_id_or_with_a_taken_table_are_rejected() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<User>().unwrap();
    for schema in [
        ModelSchema::new("NoId").field("name", FieldType::String),
        ModelSchema::new("FloatId").field("id", FieldType::F64),
        ModelSchema::new("NullId").nullable_field("id", FieldType::String),
        ModelSchema::new("Twice")
            .field("id", FieldType::String)
            .field("id", FieldType::String),
        ModelSchema::new("Impostor")
            .with_table("users")
            .field("id", FieldType::String),
    ] {
        let err = db.register_model(schema.clone()).unwrap_err();
        assert!(
            matches!(err, Error::InvalidModel { .. }),
            "{schema:?}: {err}"
        );
    }
}

/// What an error must be.
type Check = fn(&Error) -> bool;

/// `(node, params, what the error must be)`.
fn param_cases() -> Vec<(&'static str, Value, Check)> {
    vec![
        (
            "UserCreateNode",
            json!({"id": "x", "name": "n", "active": true, "nickname": "z"}),
            |e| matches!(e, Error::UnknownField { field, .. } if field == "nickname"),
        ),
        (
            "UserCreateNode",
            json!({"id": "x", "active": true}),
            |e| matches!(e, Error::MissingField { field, .. } if field == "name"),
        ),
        (
            "UserCreateNode",
            json!({"id": "x", "name": "n", "active": "yes"}),
            |e| matches!(e, Error::InvalidValue { field, .. } if field == "active"),
        ),
        (
            "UserCreateNode",
            json!({"id": "x", "name": "n", "active": true, "age": 3_000_000_000_i64}),
            |e| matches!(e, Error::InvalidValue { field, .. } if field == "age"),
        ),
        (
            "UserCreateNode",
            json!({"id": 5, "name": "n", "active": true}),
            |e| matches!(e, Error::InvalidValue { field, .. } if field == "id"),
        ),
        (
            "UserCreateNode",
            json!({"id": "x", "name": null, "active": true}),
            |e| matches!(e, Error::InvalidValue { field, .. } if field == "name"),
        ),
        (
            "UserListNode",
            json!({"filter": {"nickname": "z"}}),
            |e| matches!(e, Error::UnknownField { field, .. } if field == "nickname"),
        ),
        (
            "UserListNode",
            json!({"filter": {"age": {"$between": [1, 2]}}}),
            |e| matches!(e, Error::UnknownOperator { operator, .. } if operator == "$between"),
        ),
        (
            "UserListNode",
            json!({"filter": {"age": {"$gt": "ten"}}}),
            |e| matches!(e, Error::InvalidValue { field, .. } if field == "age"),
        ),
        (
            "UserListNode",
            json!({"filter": {"users; DROP TABLE users": 1}}),
            |e| matches!(e, Error::UnknownField { .. }),
        ),
        (
            "UserListNode",
            json!({"order_by": "age; DROP TABLE users"}),
            |e| matches!(e, Error::UnknownField { .. }),
        ),
        (
            "UserListNode",
            json!({"limit": -1}),
            |e| matches!(e, Error::InvalidValue { field, .. } if field == "limit"),
        ),
        (
            "UserListNode",
            json!({"limt": 1}),
            |e| matches!(e, Error::UnknownField { field, .. } if field == "limt"),
        ),
        (
            "UserReadNode",
            json!({}),
            |e| matches!(e, Error::MissingField { field, .. } if field == "id"),
        ),
        (
            "UserUpdateNode",
            json!({"id": "u1", "fields": {"id": "u2"}}),
            |e| matches!(e, Error::UnknownField { field, .. } if field == "id"),
        ),
        (
            "UserUpdateNode",
            json!({"id": "u1"}),
            |e| matches!(e, Error::MissingField { field, .. } if field == "fields"),
        ),
        (
            "UserBulkCreateNode",
            json!({"data": {"id": "x"}}),
            |e| matches!(e, Error::InvalidValue { field, .. } if field == "data"),
        ),
        (
            "UserBulkCreateNode",
            json!({"data": [{"id": "x", "name": "n", "active": true}], "conflict_resolution": "merge"}),
            |e| matches!(e, Error::InvalidValue { field, .. } if field == "conflict_resolution"),
        ),
        (
            "UserBulkCreateNode",
            json!({"data": [{"id": "x", "name": "n", "active": true}, {"id": "y", "active": true}]}),
            |e| matches!(e, Error::MissingField { context, field } if field == "name" && context.contains("data[1]")),
        ),
        ("UserBulkDeleteNode", json!({}), |e| {
            matches!(e, Error::EmptyFilter { .. })
        }),
        (
            "UserBulkDeleteNode",
            json!({"filter": {}, "confirmed": "yes"}),
            |e| matches!(e, Error::InvalidValue { field, .. } if field == "confirmed"),
        ),
        (
            "UserBulkUpsertNode",
            json!({"data": [{"id": "x", "name": "n", "active": true}], "conflict_on": "nickname"}),
            |e| matches!(e, Error::UnknownField { field, .. } if field == "nickname"),
        ),
        (
            // BulkUpsert goes row by row: a batch size would be accepted and ignored.
            "UserBulkUpsertNode",
            json!({"data": [{"id": "x", "name": "n", "active": true}], "batch_size": 10}),
            |e| matches!(e, Error::UnknownField { field, .. } if field == "batch_size"),
        ),
        (
            "UserUpsertNode",
            json!({"create": {"name": "n"}}),
            |e| matches!(e, Error::MissingField { field, .. } if field == "where"),
        ),
    ]
}

#[tokio::test]
async fn bad_parameters_are_typed_errors_and_change_nothing() {
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<User>().unwrap();
    run_node(
        &db,
        "UserCreateNode",
        json!({"id": "u1", "name": "Kept", "active": true}),
    )
    .await
    .unwrap();
    for (node, params, expected) in param_cases() {
        let err = run_node(&db, node, params.clone()).await.unwrap_err();
        assert!(expected(err.root()), "{node} {params}: got {err:?}");
        assert!(
            err.to_string().contains("`n`"),
            "the error names the node id: {err}"
        );
    }
    let all = run_node(&db, "UserListNode", json!({})).await.unwrap();
    assert_eq!(all["count"], 1);
    assert_eq!(all["records"][0]["name"], "Kept");
}

/// `(what, the workflow, the problem it must report)`.
type WorkflowCase = (
    &'static str,
    fn(&mut dataflow::WorkflowBuilder),
    fn(&dataflow::WorkflowProblem) -> bool,
);

#[test]
fn bad_workflows_report_each_problem() {
    use dataflow::WorkflowProblem as P;
    let db = DataFlow::new("sqlite::memory:").unwrap();
    db.model::<User>().unwrap();
    let cases: Vec<WorkflowCase> = vec![
        (
            "duplicate id",
            |w| {
                w.add_node("UserListNode", "a", json!({}))
                    .add_node("UserListNode", "a", json!({}));
            },
            |p| matches!(p, P::DuplicateNodeId(id) if id == "a"),
        ),
        (
            "unknown source id",
            |w| {
                w.add_node("UserListNode", "a", json!({}))
                    .add_connection("ghost", "x", "a", "y");
            },
            |p| matches!(p, P::UnknownNodeId(id) if id == "ghost"),
        ),
        (
            "unknown target id",
            |w| {
                w.add_node("UserListNode", "a", json!({}))
                    .add_connection("a", "x", "ghost", "y");
            },
            |p| matches!(p, P::UnknownNodeId(id) if id == "ghost"),
        ),
        (
            "self-loop",
            |w| {
                w.add_node("UserListNode", "a", json!({}))
                    .add_connection("a", "x", "a", "y");
            },
            |p| matches!(p, P::SelfLoop(id) if id == "a"),
        ),
        (
            "cycle",
            |w| {
                w.add_node("UserListNode", "a", json!({}))
                    .add_node("UserListNode", "b", json!({}))
                    .add_connection("a", "x", "b", "y")
                    .add_connection("b", "x", "a", "y");
            },
            |p| matches!(p, P::Cycle(ids) if ids.len() == 3),
        ),
        (
            "params not an object",
            |w| {
                w.add_node("UserListNode", "a", json!("limit=1"));
            },
            |p| matches!(p, P::ParamsNotObject(id) if id == "a"),
        ),
        (
            "unknown node type",
            |w| {
                w.add_node("UserLstNode", "a", json!({}));
            },
            |p| matches!(p, P::UnknownNodeType { suggestions, .. } if suggestions.contains(&"UserListNode".to_owned())),
        ),
        (
            "qualified name of no instance",
            |w| {
                w.add_node("UserListNode@df_999999999", "a", json!({}));
            },
            |p| matches!(p, P::UnknownNodeType { .. }),
        ),
    ];
    for (what, build, expected) in cases {
        let mut wf = db.workflow();
        build(&mut wf);
        let err = wf.build().unwrap_err();
        let Error::InvalidWorkflow(problems) = &err else {
            panic!("{what}: {err}")
        };
        assert!(problems.iter().any(expected), "{what}: {err}");
    }
}

#[test]
fn bad_environment_variables_are_clear_errors() {
    use std::process::Command;
    let leaky = |mode: &str, env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_leaky"));
        command
            .arg(mode)
            .env_remove("DATAFLOW_TEST_POSTGRES_URL")
            .env_remove("DATAFLOW_TEST_MYSQL_URL");
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    };
    let cases: [(&str, &str, &str, &str); 5] = [
        (
            "DATAFLOW_LEAK_CHECK",
            "sometimes",
            "clean",
            "expected one of: off, warn, fail",
        ),
        (
            "DATAFLOW_LEAK_CHECK",
            "1",
            "clean",
            "expected one of: off, warn, fail",
        ),
        (
            "DATAFLOW_TEST_POSTGRES_URL",
            "http://localhost/db",
            "sweep",
            "not a postgres:// or mysql:// URL",
        ),
        (
            "DATAFLOW_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:1/x",
            "sweep",
            "cannot be reached. Start the server",
        ),
        (
            "DATAFLOW_TEST_MYSQL_URL",
            "mysql://root@127.0.0.1:1/test",
            "sweep",
            "DATAFLOW_TEST_MYSQL_URL=",
        ),
    ];
    for (var, value, mode, expected) in cases {
        let output = leaky(mode, &[(var, value)]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{var}={value} was accepted");
        assert!(stderr.contains(expected), "{var}={value}: {stderr}");
    }
}
