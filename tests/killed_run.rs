//! A test process killed with SIGKILL half-way: the next run removes what it left, and
//! nothing it did not create.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use dataflow::Backend;
use dataflow_integration_tests::{TestDatabase, MYSQL_ENV, POSTGRES_ENV};

/// Starts `leaky <args>` with `env`, waits for the line it prints, and kills it (SIGKILL).
fn start_and_kill(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leaky"));
    command
        .args(args)
        .stdout(Stdio::piped())
        .env_remove(POSTGRES_ENV)
        .env_remove(MYSQL_ENV);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("leaky starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("leaky prints");
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    line.trim().to_owned()
}

fn sweep(env: &[(&str, &str)]) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leaky"));
    command
        .arg("sweep")
        .env_remove(POSTGRES_ENV)
        .env_remove(MYSQL_ENV);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("leaky sweep runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_next_run_removes_the_sqlite_files_of_a_killed_run_and_nothing_else() {
    let temp = std::env::temp_dir();
    let bystander_file = temp.join(format!("dataflow-bystander-{}.db", std::process::id()));
    std::fs::write(&bystander_file, b"not ours").unwrap();
    let bystander_dir = tempfile::Builder::new()
        .prefix("dataflow-1-alive-owner-")
        .tempdir()
        .unwrap();

    let path = std::path::PathBuf::from(start_and_kill(&["sqlite-db"], &[]));
    assert!(path.exists(), "the killed run left {}", path.display());
    sweep(&[]);
    assert!(
        !path.parent().unwrap().exists(),
        "swept: {}",
        path.display()
    );
    assert!(
        bystander_file.exists(),
        "a file the toolkit did not make survives"
    );
    assert!(
        bystander_dir.path().exists(),
        "a directory whose owner is alive survives"
    );
    std::fs::remove_file(bystander_file).unwrap();
}

async fn server_case(backend: Backend, env: &'static str, isolation: &str) {
    let Ok(url) = std::env::var(env) else {
        return;
    };
    // A bystander database, and one that looks like ours but whose owner (pid 1) is alive.
    let Some(bystander) = TestDatabase::new(backend).await else {
        return;
    };
    let lookalike = format!("dftest_1_{}_lookalike", std::process::id());
    dataflow_integration_tests::admin(&url, backend, &format!("CREATE DATABASE {lookalike}")).await;

    let name = start_and_kill(&["server-db", isolation], &[(env, &url)]);
    assert!(name.starts_with("dftest_"), "{name}");
    let exists = |name: String| {
        let url = url.clone();
        async move { dataflow_integration_tests::database_exists(&url, backend, &name).await }
    };
    assert!(exists(name.clone()).await, "the killed run left {name}");
    sweep(&[(env, &url)]);
    assert!(!exists(name.clone()).await, "{name} was swept");
    assert!(
        exists(lookalike.clone()).await,
        "a database whose owner is alive survives"
    );
    assert!(
        exists(bystander.url().rsplit('/').next().unwrap().to_owned()).await,
        "the bystander survives"
    );
    dataflow_integration_tests::admin(&url, backend, &format!("DROP DATABASE {lookalike}")).await;
}

#[tokio::test]
async fn the_next_run_drops_the_postgres_databases_of_a_killed_run_and_nothing_else() {
    server_case(Backend::Postgres, POSTGRES_ENV, "database").await;
    server_case(Backend::Postgres, POSTGRES_ENV, "transaction").await;
}

#[tokio::test]
async fn the_next_run_drops_the_mysql_databases_of_a_killed_run_and_nothing_else() {
    server_case(Backend::MySql, MYSQL_ENV, "database").await;
}
