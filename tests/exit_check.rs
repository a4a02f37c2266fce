//! The exit check, watched from outside: `leaky` misbehaves on purpose in a process of its
//! own, and these tests read its exit status and stderr.

use std::process::{Command, Output};

fn leaky(mode: &str, leak_check: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leaky"));
    command.arg(mode);
    command.env_remove("DATAFLOW_LEAK_CHECK");
    if let Some(value) = leak_check {
        command.env("DATAFLOW_LEAK_CHECK", value);
    }
    command.output().expect("leaky runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_leaked_instance_fails_the_process_at_exit_listing_entries_and_test() {
    let output = leaky("leak", None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("exit leak check"), "{text}");
    assert!(text.contains("(test `suite::leaks_an_instance`)"), "{text}");
    assert!(
        text.contains("WidgetCreateNode") && text.contains("10 node(s)"),
        "{text}"
    );
}

#[test]
fn warn_reports_without_failing_and_off_says_nothing() {
    let warned = leaky("leak", Some("warn"));
    assert_eq!(warned.status.code(), Some(0));
    assert!(stderr(&warned).contains("suite::leaks_an_instance"));
    let off = leaky("leak", Some("off"));
    assert_eq!(off.status.code(), Some(0));
    assert!(!stderr(&off).contains("leak check"), "{}", stderr(&off));
}

#[test]
fn an_unknown_leak_check_value_is_an_error_listing_the_valid_ones() {
    let output = leaky("clean", Some("sometimes"));
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("DATAFLOW_LEAK_CHECK=sometimes") && text.contains("off, warn, fail"),
        "{text}"
    );
}

#[test]
fn process_wide_instances_and_clean_runs_pass() {
    for mode in ["process-wide", "clean"] {
        let output = leaky(mode, None);
        assert_eq!(output.status.code(), Some(0), "{mode}: {}", stderr(&output));
        assert!(
            !stderr(&output).contains("leak check"),
            "{mode}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn an_unreachable_test_server_is_one_clear_message_naming_the_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_leaky"))
        .arg("sweep")
        .env(
            "DATAFLOW_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:1/postgres",
        )
        .env_remove("DATAFLOW_TEST_MYSQL_URL")
        .output()
        .expect("leaky runs");
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(
        text.contains("DATAFLOW_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:1/postgres"),
        "{text}"
    );
    assert!(
        text.contains("unset DATAFLOW_TEST_POSTGRES_URL to test on SQLite"),
        "{text}"
    );
}

#[test]
fn dataflow_keep_failed_keeps_a_failed_tests_database_and_prints_where() {
    let output = Command::new(env!("CARGO_BIN_EXE_leaky"))
        .arg("fail-test")
        .env("DATAFLOW_KEEP_FAILED", "1")
        .env_remove("DATAFLOW_TEST_POSTGRES_URL")
        .env_remove("DATAFLOW_TEST_MYSQL_URL")
        .output()
        .expect("leaky runs");
    let text = stderr(&output);
    let path = text
        .lines()
        .find_map(|line| line.strip_prefix("dataflow-testing: kept the test database at "))
        .unwrap_or_else(|| panic!("no location printed: {text}"))
        .to_owned();
    let path = std::path::Path::new(&path);
    assert!(path.exists(), "{}", path.display());
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_leaky"))
        .arg("fail-test")
        .env_remove("DATAFLOW_KEEP_FAILED")
        .env_remove("DATAFLOW_TEST_POSTGRES_URL")
        .env_remove("DATAFLOW_TEST_MYSQL_URL")
        .output()
        .expect("leaky runs");
    assert!(
        !stderr(&output).contains("kept the test database"),
        "{}",
        stderr(&output)
    );
}
