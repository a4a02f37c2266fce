//! Tidy checks of the repository itself, as rust-analyzer's `xtask/src/tidy.rs` does: here,
//! that ARCHITECTURE.md's code map names every source file of every crate, and that the
//! suites built into the workspace's target directory take its debug profile.

use std::path::{Path, PathBuf};

/// The workspace root (this crate is `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// Every `.rs` and `.md` file under the `src/` folder of every crate of the repository
/// (folders with a `Cargo.toml`), relative to the root; not `target/`, not the planted
/// suites nor the copies of published crates' suites under `tests/real/` (test fixtures of
/// the isolation check, not crates of the project).
fn source_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path
                .extension()
                .is_some_and(|ext| ext == "rs" || ext == "md")
            {
                out.push(path);
            }
        }
    }
    fn crates(dir: &Path, out: &mut Vec<PathBuf>) {
        let skip = [
            "target",
            ".git",
            "planted",
            "planted-env",
            "real",
            "node_modules",
        ];
        if dir.join("Cargo.toml").is_file() && dir.join("src").is_dir() {
            walk(&dir.join("src"), out);
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .filter(|p| !p.ends_with("src"))
            .filter(|p| !skip.iter().any(|s| p.file_name().is_some_and(|n| n == *s)))
            .collect();
        dirs.sort();
        for sub in dirs {
            crates(&sub, out);
        }
    }
    let mut out = Vec::new();
    crates(root, &mut out);
    out.into_iter()
        .map(|p| p.strip_prefix(root).unwrap().to_owned())
        .collect()
}

/// The `### ` sections of the code map: heading, then body.
fn sections(map: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = map;
    while let Some(start) = rest.find("\n### ") {
        let after = &rest[start + 1..];
        let heading_end = after.find('\n').unwrap_or(after.len());
        let body_end = after[heading_end..]
            .find("\n## ")
            .map(|i| i + heading_end)
            .unwrap_or(after.len());
        let body_end = after[heading_end..]
            .find("\n### ")
            .map(|i| i + heading_end)
            .unwrap_or(body_end)
            .min(body_end);
        out.push((&after[..heading_end], &after[heading_end..body_end]));
        rest = &after[body_end..];
    }
    out
}

/// Whether `text` names `word` as a whole (not `rt.rs` inside `report.rs`).
fn names(text: &str, word: &str) -> bool {
    let edge = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || "_-".contains(c)));
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        edge(before) && (after.is_none() || edge(after) || after == Some('.'))
    })
}

/// Items of a section: list entries and paragraphs.
fn items(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in body.lines() {
        if line.trim().is_empty() || line.starts_with("- ") || out.is_empty() {
            out.push(String::new());
        }
        out.last_mut().unwrap().push_str(line);
        out.last_mut().unwrap().push('\n');
    }
    out
}

/// Why `file` (relative to the root) is not in the code map, if it is not. The section
/// whose heading names its top folder (`dataflow/`) must name the file by its path inside
/// that folder without `src/` (`db/url.rs`, `macros/parse.rs`), or, for a file in a
/// sub-folder or a nested crate, name the folder (`db/`, `macros/`) and the file in one
/// item, or, for a file directly in the crate's `src/`, name the file.
fn missing(map: &str, file: &Path) -> Option<String> {
    let text = file.to_string_lossy().replace('\\', "/");
    let (top, rest) = text.split_once('/')?;
    let inner = rest
        .split('/')
        .filter(|part| *part != "src")
        .collect::<Vec<_>>()
        .join("/");
    let section = sections(map)
        .into_iter()
        .find(|(heading, _)| names(heading, &format!("{top}/")));
    let Some((_, body)) = section else {
        return Some(format!(
            "{text}: no `### ` heading of ARCHITECTURE.md names `{top}/`; add a section for it"
        ));
    };
    let found = names(body, &inner)
        || match inner.rsplit_once('/') {
            Some((folder, name)) => items(body)
                .iter()
                .any(|item| names(item, &format!("{folder}/")) && names(item, name)),
            None => names(body, &inner),
        };
    (!found).then(|| {
        format!("{text}: the `{top}/` section of ARCHITECTURE.md does not mention `{inner}`")
    })
}

#[test]
fn the_code_map_names_every_source_file() {
    let root = root();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let files = source_files(&root);
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("dataflow/src/registry.rs")),
        "the walk found the crates: {files:?}"
    );
    let problems: Vec<String> = files.iter().filter_map(|f| missing(&map, f)).collect();
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md's code map misses {} file(s); add each to its crate's section:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn the_tidy_check_names_what_is_missing() {
    let map = "# A\n\n## Code map\n\n### `core/`\n\n- `lib.rs`, `report.rs`\n- `db/`: `url.rs`\n\n## Invariants\n";
    assert_eq!(missing(map, Path::new("core/src/lib.rs")), None);
    assert_eq!(missing(map, Path::new("core/src/db/url.rs")), None);
    for (file, inner) in [
        ("core/src/rt.rs", "rt.rs"),
        ("core/macros/src/lib.rs", "macros/lib.rs"),
        ("core/src/nodes/url.rs", "nodes/url.rs"),
    ] {
        assert_eq!(
            missing(map, Path::new(file)),
            Some(format!(
                "{file}: the `core/` section of ARCHITECTURE.md does not mention `{inner}`"
            ))
        );
    }
    assert!(missing(map, Path::new("other/src/lib.rs"))
        .unwrap()
        .contains("no `### ` heading of ARCHITECTURE.md names `other/`"));
}

/// The `[profile.*]` sections of a manifest, each header with its settings (comments and
/// blank lines left out), in order.
fn profile_sections(manifest: &str) -> Vec<(String, Vec<String>)> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_profile = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_profile = line.starts_with("[profile.");
            if in_profile {
                sections.push((line.to_owned(), Vec::new()));
            }
        } else if let Some((_, settings)) = sections.last_mut().filter(|_| in_profile) {
            if !line.is_empty() && !line.starts_with('#') {
                settings.push(line.to_owned());
            }
        }
    }
    sections
}

/// The isolation check's tests (`dataflow-isolation/tests/isolation_check.rs`) build the
/// planted suites and the copies in `tests/real/` into the workspace's target directory.
/// Each of them that has dependencies repeats the root's profile sections: with another
/// profile, every dependency it shares with the workspace would be built a second time in
/// a cold `cargo test --workspace`.
#[test]
fn the_suites_built_into_the_workspace_target_take_its_profile() {
    let root = root();
    let read = |path: &Path| {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let expected = profile_sections(&read(&root.join("Cargo.toml")));
    assert!(
        expected.iter().any(|(header, _)| header == "[profile.dev]"),
        "{expected:?}"
    );
    assert_ne!(profile_sections("[profile.dev]\ndebug = 2\n"), expected);

    let mut suites: Vec<PathBuf> = ["tests/planted", "tests/planted-env"]
        .iter()
        .map(|s| root.join(s))
        .collect();
    let real = std::fs::read_dir(root.join("tests/real")).unwrap();
    suites.extend(real.flatten().map(|e| e.path()));
    suites.sort();
    let mut checked = 0;
    for suite in &suites {
        let packages = read(&suite.join("Cargo.lock"))
            .matches("[[package]]")
            .count();
        if packages > 1 {
            checked += 1;
            assert_eq!(
                profile_sections(&read(&suite.join("Cargo.toml"))),
                expected,
                "{}/Cargo.toml: copy the root manifest's [profile.*] sections",
                suite.display()
            );
        }
    }
    assert!(
        checked >= 3,
        "the planted suite, dotenvy and tempfile: {suites:?}"
    );
}
