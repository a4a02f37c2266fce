//! A polluter and its victim through a file on disk, outside the registry: the trace has
//! nothing to say, so the check finds the polluter by bisection.

use std::io::Write;
use std::path::PathBuf;

/// A ledger both tests use by path (in the temporary directory, which the check gives each
/// run fresh).
fn ledger_path() -> PathBuf {
    std::env::temp_dir().join("planted-shared-ledger.txt")
}

#[test]
fn polluter_writes_a_ledger_row_and_keeps_the_file() {
    let mut ledger = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ledger_path())
        .unwrap();
    writeln!(ledger, "l-1 100").unwrap();
}

#[test]
fn victim_expects_an_empty_ledger() {
    let rows = std::fs::read_to_string(ledger_path()).unwrap_or_default();
    assert!(
        rows.is_empty(),
        "the shared ledger should start empty, found {rows:?}"
    );
}
