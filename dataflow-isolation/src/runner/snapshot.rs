//! What a run leaves behind outside its process: files in its temporary directory, and
//! databases on the test servers.
//!
//! Every run gets a fresh, private temporary directory (`TMPDIR`, `TMP` and `TEMP` point at
//! it), so whatever is in it after the run was left there by that run, whatever else runs
//! on the machine.

use std::collections::BTreeSet;
use std::path::Path;

use dataflow_testing::TestServer;

/// The entries left in `dir`: top-level names, directories with a trailing `/` and the
/// number of files in them.
pub(crate) fn leftover_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut left: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                match count_files(&entry.path()) {
                    0 => format!("{name}/"),
                    1 => format!("{name}/ (1 file)"),
                    n => format!("{name}/ ({n} files)"),
                }
            } else {
                name
            }
        })
        .collect();
    left.sort();
    left
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        count_files(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The databases on the test server named by `DATAFLOW_TEST_POSTGRES_URL` (or else
/// `DATAFLOW_TEST_MYSQL_URL`).
pub(crate) struct Databases {
    server: TestServer,
}

impl Databases {
    /// The server the environment names; `Ok(None)` when none is set.
    pub(crate) fn from_env() -> Result<Option<Databases>, String> {
        match TestServer::from_env() {
            None => Ok(None),
            Some(Ok(server)) => Ok(Some(Databases { server })),
            Some(Err(e)) => Err(e.to_string()),
        }
    }

    /// The variable that named the server.
    pub(crate) fn var(&self) -> &'static str {
        self.server.var()
    }

    /// Every database on the server now.
    pub(crate) fn list(&self) -> Result<BTreeSet<String>, String> {
        self.server.databases().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_name_files_and_count_what_directories_hold() {
        let dir = tempfile::tempdir().unwrap();
        assert!(leftover_files(dir.path()).is_empty());
        std::fs::write(dir.path().join("b.txt"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("a/deep")).unwrap();
        std::fs::write(dir.path().join("a/deep/1"), "").unwrap();
        std::fs::write(dir.path().join("a/2"), "").unwrap();
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        assert_eq!(
            leftover_files(dir.path()),
            ["a/ (2 files)", "b.txt", "empty/"]
        );
        assert!(leftover_files(&dir.path().join("missing")).is_empty());
    }
}
