//! The `cargo test` command that makes a run again, for a person to paste into a shell.

use std::path::{Path, PathBuf};

use super::run::{Order, Selection};
use crate::process::discover::Binary;
use crate::process::libtest;
use crate::Options;

/// What every printed command starts with: a fresh temporary directory, as each run of
/// the check has, so a file a polluter left in the real `/tmp` cannot make the next
/// command fail too.
pub(crate) const FRESH_TMPDIR: &str = "TMPDIR=$(mktemp -d) ";

/// The `cargo test` command that makes this run, relative to the current directory, in a
/// fresh `TMPDIR` ([`FRESH_TMPDIR`]).
pub(crate) fn command(
    options: &Options,
    binary: &Binary,
    selection: &Selection,
    order: Order,
) -> String {
    let mut words: Vec<String> = vec!["cargo".into(), "test".into()];
    if let Some(path) = &options.manifest_path {
        words.push("--manifest-path".into());
        words.push(relative(path));
    }
    words.extend(options.cargo_flags.iter().cloned());
    words.extend(binary.cargo_selector());
    if let Order::Seeded(_) = order {
        // libtest's shuffle is unstable: RUSTC_BOOTSTRAP for the test binary only, through
        // a runner, since cargo rebuilds everything when it sees the variable itself.
        words.push("--config".into());
        words.push(format!(
            "target.'cfg(all())'.runner='env RUSTC_BOOTSTRAP={}'",
            libtest::BOOTSTRAP_VALUE
        ));
    }
    words.push("--".into());
    match selection {
        Selection::Suite => words.extend(options.libtest_filters()),
        Selection::Exact(names) => {
            words.push("--exact".into());
            words.extend(names.iter().cloned());
        }
    }
    match order {
        Order::Parallel => {}
        Order::Forward => words.push("--test-threads=1".into()),
        Order::Seeded(seed) => {
            words.push("--test-threads=1".into());
            words.push("-Z".into());
            words.push("unstable-options".into());
            words.push("--shuffle-seed".into());
            words.push(seed.to_string());
        }
    }
    format!("{FRESH_TMPDIR}{}", quote(&words))
}

fn relative(path: &Path) -> String {
    let absolute: PathBuf = if path.is_absolute() {
        path.to_path_buf()
    } else {
        return path.display().to_string();
    };
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            absolute
                .strip_prefix(cwd)
                .ok()
                .map(|p| p.display().to_string())
        })
        .unwrap_or_else(|| path.display().to_string())
}

/// `words` as one line for a POSIX shell: quoted by shlex where a word needs it (shlex
/// also quotes `=`, which a shell takes literally in any word after the first, so a word
/// of only such characters stays as it is, for a person to read).
pub(crate) fn quote(words: &[String]) -> String {
    let plain = |word: &str| {
        !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=./:@,+%".contains(c))
    };
    words
        .iter()
        .map(|word| match plain(word) {
            true => word.clone(),
            // Only a NUL byte cannot be quoted, and no argument can hold one.
            false => shlex::try_quote(word).map_or_else(|_| word.clone(), |q| q.into_owned()),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_the_shell_only_when_needed() {
        let words: Vec<String> = [
            "cargo",
            "registry::victim",
            "--test-threads=1",
            "a b",
            "it's $HOME",
            "",
        ]
        .map(String::from)
        .to_vec();
        let line = quote(&words);
        assert!(
            line.starts_with("cargo registry::victim --test-threads=1 "),
            "{line}"
        );
        assert_eq!(shlex::split(&line).unwrap(), words, "{line}");
    }
}
