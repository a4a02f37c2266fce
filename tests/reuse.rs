//! Reused server databases (`#[dataflow_fixture(isolation = "reuse")]`): a test that
//! writes, commits, moves sequences and changes the schema leaves nothing for the next
//! user of the same database. On PostgreSQL or MariaDB when a server is named; on SQLite
//! the mode falls back to a database of the test's own.

use dataflow::{Backend, DataFlow, Model};
use dataflow_testing::{dataflow_fixture, Isolation, TempDatabase, TestDataFlow};
use serde_json::{json, Value};

use crate::models::run_node;
use crate::schema_fixtures::Customer;

/// A model whose integer id the database counts (a sequence, `AUTO_INCREMENT`); its
/// table is empty in the template.
#[allow(dead_code)]
#[derive(Model)]
#[dataflow(timestamps = false)]
pub struct Visit {
    id: i64,
    page: String,
}

/// Run once on the template: a counted table with rows, and a table referencing it.
pub fn tickets(db: &DataFlow) -> dataflow::Result<()> {
    let counted = match db.backend() {
        Backend::Postgres => "id SERIAL PRIMARY KEY",
        Backend::MySql => "id INT AUTO_INCREMENT PRIMARY KEY",
        _ => "id INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    for sql in [
        format!("CREATE TABLE tickets ({counted}, title VARCHAR(100) NOT NULL)"),
        "INSERT INTO tickets (title) VALUES ('first')".to_owned(),
        "INSERT INTO tickets (title) VALUES ('second')".to_owned(),
        "CREATE TABLE notes (id INT PRIMARY KEY, ticket_id INT NOT NULL REFERENCES tickets (id), \
         body VARCHAR(100) NOT NULL)"
            .to_owned(),
        "INSERT INTO notes (id, ticket_id, body) VALUES (1, 1, 'look')".to_owned(),
    ] {
        db.execute_sql_blocking(&sql, &[])?;
    }
    Ok(())
}

#[dataflow_fixture(
    migrations = "testdata/migrations",
    fixtures("customers.sql"),
    setup = crate::reuse::tickets,
    isolation = "reuse"
)]
fn reused_db(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    db.model::<Customer>().unwrap();
    db.model::<Visit>().unwrap();
    db
}

/// The database's name, from its URL.
fn name(db: &DataFlow) -> String {
    let path = db.url().rsplit('/').next().unwrap();
    path.split('?').next().unwrap().to_owned()
}

/// What tells a database reset in place from one made again under the same name: its oid
/// on PostgreSQL; on MariaDB, the InnoDB id of a table the tests never write.
fn identity(db: &DataFlow) -> Value {
    let sql = match db.backend() {
        Backend::Postgres => {
            "SELECT CAST(oid AS BIGINT) AS v FROM pg_database WHERE datname = current_database()"
        }
        _ => {
            "SELECT CAST(table_id AS SIGNED) AS v FROM information_schema.innodb_sys_tables \
             WHERE name = CONCAT(DATABASE(), '/_sqlx_migrations')"
        }
    };
    query(db, sql)[0]["v"].clone()
}

/// Runs a node from this synchronous test.
fn node(db: &DataFlow, node: &str, params: Value) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run_node(db, node, params)).unwrap()
}

fn query(db: &DataFlow, sql: &str) -> Vec<serde_json::Map<String, Value>> {
    db.query_sql_blocking(sql, &[]).unwrap()
}

fn exec(db: &DataFlow, sql: &str) {
    db.execute_sql_blocking(sql, &[]).unwrap();
}

/// Exactly what the template holds: rows, and where the counters stand.
fn assert_template_state(db: &TestDataFlow) {
    let customers = query(db, "SELECT id, name FROM customers ORDER BY id");
    let rows: Vec<(i64, &str)> = customers
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["name"].as_str().unwrap()))
        .collect();
    assert_eq!(rows, [(1, "Ann"), (2, "Bob; the builder")]);
    let notes = query(db, "SELECT COUNT(*) AS n FROM notes");
    assert_eq!(notes[0]["n"], 1);
    let visits = query(db, "SELECT COUNT(*) AS n FROM visits");
    assert_eq!(visits[0]["n"], 0);
    let here = match db.backend() {
        Backend::Postgres => "current_schema()",
        _ => "DATABASE()",
    };
    let tables = query(
        db,
        &format!(
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_name = 'scratch' AND table_schema = {here}"
        ),
    );
    assert_eq!(tables[0]["n"], 0, "the last test's table is gone");
    // The counters: tickets go on from the template's rows, visits start at 1.
    exec(db, "INSERT INTO tickets (title) VALUES ('third')");
    let tickets = query(db, "SELECT id, title FROM tickets ORDER BY id");
    let ids: Vec<i64> = tickets.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3], "{tickets:?}");
    assert_eq!(tickets[0]["title"], "first");
    let visit = node(db, "VisitCreateNode", json!({"page": "/"}));
    assert_eq!(visit["id"], 1);
}

/// Test A's writes: committed rows in every table, through nodes and raw SQL, on more than
/// one connection, and counters moved far. Returns a second instance whose connection is
/// still open: the reset must end it.
fn write_everything(db: &TestDataFlow) -> DataFlow {
    node(
        db,
        "CustomerCreateNode",
        json!({"id": 3, "email": "cy@example.org", "name": "Cy"}),
    );
    for _ in 0..3 {
        node(db, "VisitCreateNode", json!({"page": "/a"}));
    }
    exec(db, "UPDATE customers SET name = 'Changed' WHERE id = 1");
    exec(db, "DELETE FROM notes");
    exec(db, "INSERT INTO tickets (title) VALUES ('extra')");
    // A second instance on the same database: another connection, committed too.
    let other = DataFlow::new(db.url()).unwrap();
    other
        .execute_sql_blocking("DELETE FROM customers WHERE id = 2", &[])
        .unwrap();
    match db.backend() {
        Backend::Postgres => {
            exec(db, "SELECT setval('tickets_id_seq', 100)");
            exec(db, "SELECT setval('visits_id_seq', 50)");
        }
        _ => {
            exec(db, "ALTER TABLE tickets AUTO_INCREMENT = 100");
            exec(db, "ALTER TABLE visits AUTO_INCREMENT = 50");
        }
    }
    other
}

#[test]
fn a_reused_database_holds_nothing_of_its_last_test() {
    let a = reused_db::default();
    if a.backend() == Backend::Sqlite {
        return; // no server: a database of the test's own
    }
    let first = name(&a);
    let made = identity(&a);
    assert_template_state(&a);
    let left_open = write_everything(&a);
    drop(a);
    drop(left_open); // its session was ended by the reset

    // B: the same database, exactly the template's contents and counters.
    let b = reused_db::default();
    assert_eq!(name(&b), first, "the database was reused");
    assert_eq!(identity(&b), made, "reset in place, not made again");
    assert_template_state(&b);
    let _left_open = write_everything(&b);
    // The schema changed too: a table, an altered sequence, on PostgreSQL a function and a
    // type.
    exec(&b, "CREATE TABLE scratch (id INT PRIMARY KEY)");
    exec(&b, "INSERT INTO scratch (id) VALUES (1)");
    if b.backend() == Backend::Postgres {
        exec(&b, "ALTER SEQUENCE tickets_id_seq INCREMENT BY 10");
        exec(
            &b,
            "CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42'",
        );
        exec(&b, "CREATE TYPE mood AS ENUM ('sad', 'happy')");
    } else {
        exec(&b, "ALTER TABLE tickets MODIFY title VARCHAR(200) NOT NULL");
    }
    drop(b);

    // C: the same name again, made again from the template in the background.
    let c = reused_db::default();
    assert_eq!(name(&c), first, "the database was replaced under its name");
    assert_ne!(identity(&c), made, "made again");
    assert_template_state(&c);
    if c.backend() == Backend::Postgres {
        let left = query(
            &c,
            "SELECT (SELECT COUNT(*) FROM pg_proc WHERE proname = 'answer') AS f, \
                    (SELECT COUNT(*) FROM pg_type WHERE typname = 'mood') AS t, \
                    (SELECT increment_by FROM pg_sequences WHERE sequencename = 'tickets_id_seq') AS i",
        );
        assert_eq!(left[0]["f"], 0);
        assert_eq!(left[0]["t"], 0);
        assert_eq!(left[0]["i"], 1);
    } else {
        let width = query(
            &c,
            "SELECT CAST(character_maximum_length AS SIGNED) AS w FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 'tickets' AND column_name = 'title'",
        );
        assert_eq!(width[0]["w"], 100);
    }
}

/// A database pooled at one place (this function).
fn reusable() -> TempDatabase {
    let tmp = TempDatabase::options()
        .isolation(Isolation::Reuse)
        .build()
        .unwrap();
    tmp.create().unwrap();
    tmp
}

#[test]
fn a_kept_database_never_returns_to_the_pool() {
    let first = reusable();
    let Some(kept) = first.name().map(str::to_owned) else {
        return; // SQLite
    };
    assert_eq!(first.isolation(), Isolation::Reuse);
    drop(first);
    let second = reusable();
    assert_eq!(second.name(), Some(kept.as_str()), "reused");
    second.keep(); // as for a failed test with DATAFLOW_KEEP_FAILED=1
    drop(second);
    let third = reusable();
    assert_ne!(third.name(), Some(kept.as_str()));
    drop(third);
    // The kept one is the test's to drop.
    let (url, backend) = match std::env::var(dataflow_testing::POSTGRES_ENV) {
        Ok(url) if !url.trim().is_empty() => (url, Backend::Postgres),
        _ => (
            std::env::var(dataflow_testing::MYSQL_ENV).unwrap(),
            Backend::MySql,
        ),
    };
    let exists = |name: String| {
        let url = url.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            dataflow_integration_tests::database_exists(&url, backend, &name).await
        })
    };
    assert!(exists(kept.clone()), "{kept} was kept");
    let drop_sql = match backend {
        Backend::Postgres => format!("DROP DATABASE {kept} WITH (FORCE)"),
        _ => format!("DROP DATABASE {kept}"),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(dataflow_integration_tests::admin(
        url.trim(),
        backend,
        &drop_sql,
    ));
}
