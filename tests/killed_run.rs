//! A test process killed with SIGKILL half-way: the next run removes what it left, and
//! nothing it did not create.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use dataflow::Backend;
use dataflow_integration_tests::{TestDatabase, MYSQL_ENV, POSTGRES_ENV};

/// A `leaky` process, killed when dropped (also when an assertion fails first).
struct Leaky(std::process::Child);

impl Drop for Leaky {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `leaky <args>` with `env` and waits for the line it prints (what it made).
fn start(args: &[&str], env: &[(&str, &str)]) -> (Leaky, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leaky"));
    command
        .args(args)
        .stdout(Stdio::piped())
        .env_remove(POSTGRES_ENV)
        .env_remove(MYSQL_ENV);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = Leaky(command.spawn().expect("leaky starts"));
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("leaky prints");
    (child, line.trim().to_owned())
}

/// Kills `child` with SIGKILL.
fn kill(child: Leaky) {
    drop(child);
}

/// [`start`], then [`kill`].
fn start_and_kill(args: &[&str], env: &[(&str, &str)]) -> String {
    let (child, line) = start(args, env);
    kill(child);
    line
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
    eprintln!("sweep: {}", String::from_utf8_lossy(&output.stderr));
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
    // Named in the scheme before run tokens (a pid): nothing tells whether its owner lives.
    let bystander_dir = tempfile::Builder::new()
        .prefix("dataflow-1-alive-owner-")
        .tempdir()
        .unwrap();

    let (alive, alive_path) = start(&["sqlite-db"], &[]);
    let path = std::path::PathBuf::from(start_and_kill(&["sqlite-db"], &[]));
    assert!(path.exists(), "the killed run left {}", path.display());
    sweep(&[]);
    assert!(
        std::path::Path::new(&alive_path).exists(),
        "the file of a live owner survives: {alive_path}"
    );
    kill(alive);
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
        "a directory named after a pid survives"
    );
    sweep(&[]);
    assert!(
        !std::path::Path::new(&alive_path).exists(),
        "swept once killed: {alive_path}"
    );
    std::fs::remove_file(bystander_file).unwrap();
}

async fn server_case(backend: Backend, env: &'static str, isolation: &str) {
    let Ok(url) = std::env::var(env) else {
        return;
    };
    // A bystander database, and one named in the scheme before run tokens (a pid).
    let Some(bystander) = TestDatabase::new(backend).await else {
        return;
    };
    let old_scheme = format!("dftest_1_{}_old_scheme", std::process::id());
    dataflow_integration_tests::admin(&url, backend, &format!("CREATE DATABASE {old_scheme}"))
        .await;

    // A live owner (as if on another machine), and one killed.
    let (alive, alive_name) = start(&["server-db", isolation], &[(env, &url)]);
    let name = start_and_kill(&["server-db", isolation], &[(env, &url)]);
    assert!(name.starts_with("dftest_"), "{name}");
    let exists = |name: String| {
        let url = url.clone();
        async move { dataflow_integration_tests::database_exists(&url, backend, &name).await }
    };
    assert!(exists(name.clone()).await, "the killed run left {name}");
    // The sweep leaves databases younger than its grace period (a second) alone.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    sweep(&[(env, &url)]);
    assert!(!exists(name.clone()).await, "{name} was swept");
    assert!(
        exists(alive_name.clone()).await,
        "the database of a live owner survives"
    );
    assert!(
        exists(old_scheme.clone()).await,
        "a database named after a pid survives: nothing tells whether its owner lives"
    );
    assert!(
        exists(bystander.url().rsplit('/').next().unwrap().to_owned()).await,
        "the bystander survives"
    );
    kill(alive);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    sweep(&[(env, &url)]);
    assert!(!exists(alive_name.clone()).await, "{alive_name} was swept");
    dataflow_integration_tests::admin(&url, backend, &format!("DROP DATABASE {old_scheme}")).await;
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
