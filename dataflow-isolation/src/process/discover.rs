//! Finding the tests: `cargo test --no-run --message-format=json` for the test binaries
//! (read with `cargo_metadata`), then `<binary> --list --format terse` for the tests in each.

use std::ffi::OsString;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cargo_metadata::diagnostic::DiagnosticLevel;
use cargo_metadata::Message;

use super::Spawn;
use crate::{Error, Options};

/// One test binary and the tests the check looks at in it.
#[derive(Debug, Clone)]
pub(crate) struct Binary {
    pub exe: PathBuf,
    pub package: String,
    /// `lib`, `bin`, `test`, `bench`, `example` or `proc-macro`.
    pub kind: String,
    /// The target's name (`--test <name>`).
    pub target: String,
    pub manifest_path: PathBuf,
    /// The tests to check: selected by the filters, not ignored, sorted.
    pub tests: Vec<String>,
    /// Every test the binary selects with the filters, ignored ones too, sorted: the list
    /// libtest shuffles.
    pub listed: Vec<String>,
    /// Where its dynamic libraries are, as cargo would tell the loader: the toolchain's
    /// (a proc-macro crate's tests link `libstd.so`) and those build scripts named.
    pub dylib_paths: Vec<PathBuf>,
}

impl Binary {
    /// `dataflow-planted-suite (lib)`, `dataflow (test derive)`.
    pub(crate) fn label(&self) -> String {
        match self.kind.as_str() {
            "lib" | "proc-macro" => format!("{} (lib)", self.package),
            kind => format!("{} ({kind} {})", self.package, self.target),
        }
    }

    /// The `cargo test` arguments that build and run only this binary.
    pub(crate) fn cargo_selector(&self) -> Vec<String> {
        let mut args = vec!["-p".to_owned(), self.package.clone()];
        match self.kind.as_str() {
            "lib" | "proc-macro" => args.push("--lib".into()),
            kind => {
                args.push(format!("--{kind}"));
                args.push(self.target.clone());
            }
        }
        args
    }

    pub(crate) fn manifest_dir(&self) -> &Path {
        self.manifest_path.parent().unwrap_or(Path::new("."))
    }

    /// The variables cargo sets when it runs a test binary, which tests may read.
    pub(crate) fn cargo_env(&self, cargo: &Path) -> Vec<(String, OsString)> {
        let mut env = vec![
            (
                "CARGO_MANIFEST_DIR".to_owned(),
                self.manifest_dir().as_os_str().to_owned(),
            ),
            ("CARGO_PKG_NAME".to_owned(), self.package.clone().into()),
            (
                "CARGO_CRATE_NAME".to_owned(),
                self.target.replace('-', "_").into(),
            ),
            ("CARGO".to_owned(), cargo.as_os_str().to_owned()),
        ];
        // Dynamic libraries: the build's (next to the binary), the toolchain's, build scripts'.
        if let Some(deps) = self.exe.parent() {
            let var = if cfg!(target_os = "macos") {
                "DYLD_FALLBACK_LIBRARY_PATH"
            } else if cfg!(windows) {
                "PATH"
            } else {
                "LD_LIBRARY_PATH"
            };
            let mut paths = vec![deps.to_path_buf()];
            paths.extend(self.dylib_paths.iter().cloned());
            if let Some(old) = std::env::var_os(var) {
                paths.extend(std::env::split_paths(&old));
            }
            if let Ok(joined) = std::env::join_paths(paths) {
                env.push((var.to_owned(), joined));
            }
        }
        env
    }
}

/// What `cargo test --no-run` built.
pub(crate) struct Built {
    pub binaries: Vec<Binary>,
    pub duration: Duration,
}

/// Builds the test binaries the options select (tests not listed yet).
pub(crate) fn build(options: &Options) -> Result<Built, Error> {
    let start = Instant::now();
    let mut command = Command::new(&options.cargo);
    command
        .arg("test")
        .arg("--no-run")
        .arg("--message-format=json");
    command.args(options.cargo_args());
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| Error::Cargo {
        command: format!("{} test --no-run", options.cargo.display()),
        reason: format!("could not start cargo: {e}"),
    })?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    let mut binaries: Vec<Binary> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut build_ok = None;
    let mut dylib_paths: Vec<PathBuf> = toolchain_libdir(options).into_iter().collect();
    let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    for message in Message::parse_stream(stdout) {
        let Ok(message) = message else { break };
        match message {
            Message::CompilerArtifact(artifact) => {
                let Some(exe) = artifact.executable else {
                    continue;
                };
                let exe = exe.into_std_path_buf();
                if !artifact.profile.test || binaries.iter().any(|b| b.exe == exe) {
                    continue;
                }
                binaries.push(Binary {
                    exe,
                    package: package_name(&artifact.package_id.repr),
                    kind: artifact
                        .target
                        .kind
                        .first()
                        .map_or_else(|| "lib".to_owned(), ToString::to_string),
                    target: artifact.target.name,
                    manifest_path: artifact.manifest_path.into_std_path_buf(),
                    tests: Vec::new(),
                    listed: Vec::new(),
                    dylib_paths: Vec::new(),
                });
            }
            Message::BuildScriptExecuted(script) => {
                for path in script.linked_paths {
                    // `native=/path`, `dependency=/path`, or a bare path.
                    let path = path.as_str();
                    let path = PathBuf::from(path.split_once('=').map_or(path, |(_, p)| p));
                    if !dylib_paths.contains(&path) {
                        dylib_paths.push(path);
                    }
                }
            }
            Message::CompilerMessage(message)
                if message.message.level == DiagnosticLevel::Error =>
            {
                errors.extend(message.message.rendered);
            }
            Message::BuildFinished(finished) => build_ok = Some(finished.success),
            _ => {}
        }
    }
    let status = child.wait().map_err(|e| Error::Cargo {
        command: "cargo test --no-run".into(),
        reason: e.to_string(),
    })?;
    let stderr = stderr.join().unwrap_or_default();
    if !errors.is_empty() || build_ok == Some(false) {
        return Err(Error::DoesNotCompile {
            errors: if errors.is_empty() {
                vec![tail(&stderr, 30)]
            } else {
                errors
            },
        });
    }
    if !status.success() {
        return Err(Error::Cargo {
            command: format!(
                "{} test --no-run {}",
                options.cargo.display(),
                options.cargo_args().join(" ")
            ),
            reason: tail(&stderr, 30),
        });
    }
    for binary in &mut binaries {
        binary.dylib_paths = dylib_paths.clone();
    }
    binaries
        .sort_by(|a, b| (&a.package, &a.kind, &a.target).cmp(&(&b.package, &b.kind, &b.target)));
    Ok(Built {
        binaries,
        duration: start.elapsed(),
    })
}

/// The toolchain's library directory (`rustc --print target-libdir`), where `libstd.so`
/// is; `None` if rustc cannot say.
fn toolchain_libdir(options: &Options) -> Option<PathBuf> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut command = Command::new(rustc);
    command.args(["--print", "target-libdir"]);
    // Where a `rust-toolchain` file would pick the toolchain cargo builds with.
    if let Some(dir) = options.manifest_path.as_deref().and_then(Path::parent) {
        if !dir.as_os_str().is_empty() {
            command.current_dir(dir);
        }
    }
    let output = command.stderr(Stdio::null()).output().ok()?;
    let dir = String::from_utf8(output.stdout).ok()?;
    let dir = dir.trim();
    (output.status.success() && !dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Lists the tests of `binary` that the filters select, and which of them are ignored.
pub(crate) fn list(binary: &mut Binary, options: &Options) -> Result<(), Error> {
    let all = list_with(binary, options, false)?;
    let ignored = list_with(binary, options, true)?;
    binary.tests = all
        .iter()
        .filter(|t| !ignored.contains(t))
        .cloned()
        .collect();
    binary.listed = all;
    Ok(())
}

fn list_with(binary: &Binary, options: &Options, ignored: bool) -> Result<Vec<String>, Error> {
    let mut args = vec!["--list".to_owned(), "--format".into(), "terse".into()];
    if ignored {
        args.push("--ignored".into());
    }
    args.extend(options.libtest_filters());
    let spawn = Spawn {
        program: binary.exe.clone(),
        args,
        cwd: binary.manifest_dir().to_path_buf(),
        env: binary.cargo_env(&options.cargo),
        env_remove: vec![],
        timeout: options.timeout,
    };
    let ran = super::run_capturing(&spawn).map_err(|e| Error::Listing {
        binary: binary.label(),
        reason: format!("could not start {}: {e}", binary.exe.display()),
    })?;
    if !ran.success {
        let why = if ran.timed_out.is_some() {
            format!("it did not answer within {}s", options.timeout.as_secs())
        } else {
            ran.status.clone()
        };
        return Err(Error::Listing {
            binary: binary.label(),
            reason: format!(
                "`{} --list` failed: {why}\n{}",
                binary.exe.display(),
                tail(&ran.stderr_tail, 15)
            ),
        });
    }
    let mut tests: Vec<String> = ran
        .stdout
        .iter()
        .filter_map(|line| line.trim_end().strip_suffix(": test"))
        .map(str::to_owned)
        .collect();
    tests.sort();
    tests.dedup();
    Ok(tests)
}

/// The package name in a cargo package id: `path+file:///w/dataflow#0.1.0` (the name is the
/// last path segment), `path+file:///w/x#name@0.1.0`, `registry+...#name@1.0.0`, or the
/// old `name 0.1.0 (path+file:///...)`.
pub(crate) fn package_name(id: &str) -> String {
    if let Some((url, fragment)) = id.rsplit_once('#') {
        if let Some((name, _version)) = fragment.split_once('@') {
            return name.to_owned();
        }
        return url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(url)
            .to_owned();
    }
    id.split(' ').next().unwrap_or(id).to_owned()
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_come_from_every_id_format() {
        assert_eq!(
            package_name("path+file:///work/main/dataflow#0.1.0"),
            "dataflow"
        );
        assert_eq!(
            package_name("path+file:///work/main/tests/planted#dataflow-planted-suite@0.1.0"),
            "dataflow-planted-suite"
        );
        assert_eq!(
            package_name("registry+https://github.com/rust-lang/crates.io-index#serde@1.0.0"),
            "serde"
        );
        assert_eq!(
            package_name("xtask 0.1.0 (path+file:///work/main/xtask)"),
            "xtask"
        );
    }

    #[test]
    fn selectors_and_labels_name_the_target() {
        let mut b = Binary {
            exe: "/t/deps/x".into(),
            package: "pkg".into(),
            kind: "lib".into(),
            target: "pkg".into(),
            manifest_path: "/w/pkg/Cargo.toml".into(),
            tests: vec![],
            listed: vec![],
            dylib_paths: vec![],
        };
        assert_eq!(b.cargo_selector(), ["-p", "pkg", "--lib"]);
        assert_eq!(b.label(), "pkg (lib)");
        b.kind = "test".into();
        b.target = "integration".into();
        assert_eq!(b.cargo_selector(), ["-p", "pkg", "--test", "integration"]);
        assert_eq!(b.label(), "pkg (test integration)");
        assert_eq!(b.manifest_dir(), Path::new("/w/pkg"));
    }
}
