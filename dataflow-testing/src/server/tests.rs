//! The server module's tests; those that need a server skip without one.

use super::*;

#[test]
fn database_names_carry_marker_and_token() {
    let name = test_database_name();
    let token = crate::owner::run_token();
    assert!(name.starts_with(&format!("dftest_{token}_")), "{name}");
    assert_eq!(lease::owner_token(&name), Some(token));
    assert!(name.len() <= 63);
    assert!(
        name.ends_with("database_names_carry_marker_and_token"),
        "{name}"
    );
}

#[test]
fn urls_get_their_database_replaced() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        with_database("mysql://root@h/test?ssl-mode=disabled", "x"),
        "mysql://root@h/x?ssl-mode=disabled"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    assert_eq!(
        with_database("postgres://u:p%40ss@[::1]:5432/db?sslmode=disable", "x"),
        "postgres://u:p%40ss@[::1]:5432/x?sslmode=disable"
    );
    assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
    // A password with an `@` in it is hidden whole.
    assert_eq!(redact("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    assert_eq!(
        redact("mysql://root:pw@h/test?ssl-mode=disabled"),
        "mysql://root:***@h/test?ssl-mode=disabled"
    );
}

/// The test server the environment names, if any (these tests skip without one).
fn server() -> Option<Server> {
    Server::from_env().map(|server| server.expect("the test server is reachable"))
}

fn problem(e: &Error) -> ServerProblem {
    match e {
        Error::Server { problem, .. } => *problem,
        other => panic!("not a server error: {other}"),
    }
}

#[test]
fn a_name_collision_is_told_as_such() {
    let Some(server) = server() else { return };
    let name = test_database_name();
    server.create_empty(&name).unwrap();
    let _drop = scopeguard::guard((), |()| server.drop_database(&name).unwrap());
    let e = server.create_empty(&name).unwrap_err();
    assert_eq!(problem(&e), ServerProblem::NameTaken, "{e}");
    let text = e.to_string();
    assert!(text.contains("exists already"), "{text}");
    assert!(!text.contains("Start the server"), "{text}");
}

#[test]
fn a_user_who_may_not_create_databases_is_told_so() {
    let Some(server) = server() else { return };
    let role = format!("dfnocreate_{}", crate::owner::run_token());
    let url = url::Url::parse(&server.url).unwrap();
    let mut limited = url.clone();
    limited.set_username(&role).unwrap();
    let _ = limited.set_password(None);
    let e = match server.backend {
        Backend::Postgres => {
            // A role that may log in, but not create databases.
            server
                .execute(vec![format!("CREATE ROLE {role} LOGIN")])
                .unwrap();
            let _drop = scopeguard::guard((), |()| {
                server.execute(vec![format!("DROP ROLE {role}")]).unwrap()
            });
            let limited = Server::connect(POSTGRES_ENV, limited.as_str()).unwrap();
            let e = limited.create_empty(&test_database_name()).unwrap_err();
            // Its sessions end before the role goes.
            if let AdminPool::Postgres(pool) = &limited.admin {
                rt::block_on({
                    let pool = pool.clone();
                    async move { pool.close().await }
                });
            }
            e
        }
        _ => {
            // A user without any privilege cannot even use the database in the URL.
            server
                .execute(vec![format!("CREATE USER '{role}'@'%'")])
                .unwrap();
            let _drop = scopeguard::guard((), |()| {
                server
                    .execute(vec![format!("DROP USER '{role}'@'%'")])
                    .unwrap()
            });
            let (problem, reason) = Server::connect(MYSQL_ENV, limited.as_str())
                .err()
                .expect("the user may not connect");
            Error::Server {
                var: MYSQL_ENV,
                url: limited.to_string(),
                problem,
                reason,
            }
        }
    };
    assert_eq!(problem(&e), ServerProblem::Permission, "{e}");
    assert!(!e.to_string().contains("Start the server"), "{e}");
}

#[test]
fn both_variables_set_is_a_printed_choice_of_postgres() {
    assert_eq!(choose_server(false, false), None);
    assert_eq!(choose_server(true, false), Some((POSTGRES_ENV, None)));
    assert_eq!(choose_server(false, true), Some((MYSQL_ENV, None)));
    let (var, note) = choose_server(true, true).unwrap();
    assert_eq!(var, POSTGRES_ENV);
    let note = note.unwrap();
    assert!(note.contains("test databases go to PostgreSQL"), "{note}");
    assert!(note.contains("unset DATAFLOW_TEST_POSTGRES_URL"), "{note}");
}

#[test]
fn a_url_in_the_other_servers_variable_is_a_clear_error() {
    let (problem, reason) = Server::connect(POSTGRES_ENV, "mysql://root@127.0.0.1:1/test")
        .err()
        .expect("a MySQL URL in the PostgreSQL variable");
    assert_eq!(problem, ServerProblem::BadUrl);
    assert!(
        reason.contains("name that server with DATAFLOW_TEST_MYSQL_URL"),
        "{reason}"
    );
    let (problem, reason) = Server::connect(MYSQL_ENV, "postgres://u@127.0.0.1:1/db")
        .err()
        .expect("a PostgreSQL URL in the MySQL variable");
    assert_eq!(problem, ServerProblem::BadUrl);
    assert!(
        reason.contains("with DATAFLOW_TEST_POSTGRES_URL"),
        "{reason}"
    );
}

#[test]
fn an_unreachable_server_is_told_to_start() {
    // Nothing listens on port 1.
    let (problem, reason) = Server::connect(POSTGRES_ENV, "postgres://u@127.0.0.1:1/db")
        .err()
        .expect("nothing listens");
    assert_eq!(problem, ServerProblem::Unreachable, "{reason}");
    let (problem, _) = Server::connect(POSTGRES_ENV, "sqlite://x.db")
        .err()
        .expect("not a server URL");
    assert_eq!(problem, ServerProblem::BadUrl);
}

#[test]
fn a_template_left_half_built_by_a_killed_builder_is_built_again() {
    use dataflow::FieldType;
    let Some(server) = server() else { return };
    let model = |name: &str| {
        ModelSchema::new(format!("{name}{}", crate::owner::run_token()))
            .field("id", FieldType::String)
    };
    let schemas = [model("HalfA"), model("HalfB")];
    let template = format!(
        "{TEMPLATE_PREFIX}{:016x}",
        fingerprint(server.backend, &schemas)
    );
    // What a builder killed half-way leaves: on PostgreSQL a `_building` database (the
    // template appears only by its rename), on MariaDB a template with one table of two.
    let half = match server.backend {
        Backend::Postgres => format!("{template}_building"),
        _ => template.clone(),
    };
    let table = schemas[0].table();
    server
        .execute(vec![
            format!("CREATE DATABASE {half}"),
            match server.backend {
                Backend::Postgres => "SELECT 1".to_owned(),
                _ => format!("CREATE TABLE {half}.`{table}` (`id` VARCHAR(10))"),
            },
        ])
        .unwrap();
    let built = server.template(&schemas, None).unwrap();
    assert_eq!(built, template);
    let name = test_database_name();
    server.create_from_template(&name, &schemas, None).unwrap();
    let tables: Vec<String> = {
        let admin = server.admin.clone();
        let name = name.clone();
        let url = server.url_of(&name);
        rt::block_on(async move {
            match admin {
                AdminPool::Postgres(_) => {
                    let options: PgConnectOptions = url.parse().unwrap();
                    let mut conn = options.connect().await.unwrap();
                    let tables = sqlx::query_scalar(
                        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
                         ORDER BY 1",
                    )
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                    sqlx::Connection::close(conn).await.unwrap();
                    tables
                }
                AdminPool::MySql(pool) => sqlx::query_scalar(
                    "SELECT table_name FROM information_schema.tables \
                     WHERE table_schema = ? ORDER BY 1",
                )
                .bind(&name)
                .fetch_all(&pool)
                .await
                .unwrap(),
            }
        })
    };
    let mut expected: Vec<String> = schemas.iter().map(|s| s.table().to_owned()).collect();
    expected.sort();
    assert_eq!(tables, expected);
    assert!(server
        .databases(&format!("{template}_"))
        .unwrap()
        .is_empty());
    server.drop_database(&name).unwrap();
    let drop = |db: &str| match server.backend {
        Backend::Postgres => format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS {db}"),
    };
    server.execute(vec![drop(&template)]).unwrap();
}
