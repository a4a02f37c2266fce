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
