//! A panic storm, run in a process of its own (`leaky storm`): 200 guarded tests, a fifth of
//! which panic at different points; afterwards nothing of them is left.

use std::process::Command;

use dataflow_integration_tests::{MYSQL_ENV, POSTGRES_ENV};

fn storm(server: Option<(&str, String)>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leaky"));
    command
        .arg("storm")
        .env_remove(POSTGRES_ENV)
        .env_remove(MYSQL_ENV);
    if let Some((var, url)) = &server {
        command.env(var, url);
    }
    let output = command.output().expect("leaky storm runs");
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{summary}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        summary.contains("storm: 200 tests, 40 panicked, unexpected outcomes: [], registry entries left: 0, temporary files left: 0, server databases left: 0"),
        "{summary}"
    );
}

#[test]
fn a_panic_storm_on_sqlite_leaves_nothing() {
    storm(None);
}

#[test]
fn a_panic_storm_on_postgres_leaves_nothing() {
    if let Ok(url) = std::env::var(POSTGRES_ENV) {
        storm(Some((POSTGRES_ENV, url)));
    }
}

#[test]
fn a_panic_storm_on_mysql_leaves_nothing() {
    if let Ok(url) = std::env::var(MYSQL_ENV) {
        storm(Some((MYSQL_ENV, url)));
    }
}
