//! The command line of `isolation-check`, for an xtask to hand its arguments to.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::{run, Error, Options};

/// `--help`.
pub const HELP: &str = "\
Find the tests whose outcome depends on other tests, and the tests that leave state behind.

usage: cargo xtask isolation-check [OPTIONS] [TESTNAME...]

Runs every test alone, each suite in one process in several orders (forward, reverse,
seeded shuffles), traces which test registered and resolved each registry entry, and
explains every change of outcome by a pair run or a bisection.

Findings:
  polluter / victim      the victim passes alone and fails after the polluter
  state-setter / brittle the brittle test fails alone and passes after the setter
  leaker                 leaves registry entries, temporary files or databases behind
  latent access          resolved another test's registry entry, though nothing failed
  plain failure          fails alone and in every order (not an isolation problem)

Options:
  TESTNAME...               check only tests whose name contains one of these
      --exact               match TESTNAMEs exactly
      --skip PATTERN        leave out tests whose name contains PATTERN (repeatable)
      --manifest-path PATH  the workspace or package to check (default: the current one)
  -p, --package SPEC        check this package (repeatable; default: what `cargo test` tests)
      --workspace           check every member of the workspace
      --features FEATURES   passed to cargo; also --all-features, --no-default-features,
                            --release, --target-dir DIR
      --rounds N            seeded shuffles of each suite [default: 3]
      --seed N              the seed of the first shuffle, to replay a check [default: random]
      --timeout SECS        kill a test-binary process when one test runs longer [default: 300]
  -j, --jobs N              test-binary processes at a time [default: number of CPUs]
      --json FILE           write every finding, with evidence and commands, as JSON
      --graph FILE          write polluter -> victim and setter -> brittle edges as
                            Graphviz DOT, or Mermaid if FILE ends in .mmd
      --no-progress         no progress bar
  -h, --help                print this help

Exit status: 0 no findings, 1 findings (plain failures included), 2 the check could not run.

Every run gets a private TMPDIR and DATAFLOW_TRACE_FILE (the registry trace; test
binaries that link dataflow-testing write it), and DATAFLOW_ISOLATION_CHECK=1.";

/// What the command line asks for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Command {
    /// `--help`.
    Help,
    /// Run the check.
    Check(Box<Options>),
}

/// Parses the arguments after the command name (`isolation-check`).
pub fn parse_args<I, S>(args: I) -> Result<Command, Error>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let mut options = Options::default();
    let mut args = args
        .into_iter()
        .map(|a| a.into().to_string_lossy().into_owned());
    let mut positional_only = false;
    while let Some(arg) = args.next() {
        if positional_only || !arg.starts_with('-') || arg == "-" {
            options.filters.push(arg);
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, Error> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| Error::Usage(format!("{name} needs a value")))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--" => positional_only = true,
            "--exact" => options.exact = true,
            "--skip" => options.skip.push(value("--skip")?),
            "--manifest-path" => {
                let mut path = PathBuf::from(value("--manifest-path")?);
                if path.is_dir() {
                    path.push("Cargo.toml");
                }
                options.manifest_path = Some(path);
            }
            "-p" | "--package" => options.packages.push(value("--package")?),
            "--workspace" | "--all" => options.workspace = true,
            "--features" | "-F" => {
                options.cargo_flags.push("--features".into());
                options.cargo_flags.push(value("--features")?);
            }
            "--target-dir" => {
                options.cargo_flags.push("--target-dir".into());
                options.cargo_flags.push(value("--target-dir")?);
            }
            "--all-features" | "--no-default-features" | "--release" => {
                options.cargo_flags.push(flag.clone());
            }
            "--rounds" => options.rounds = number(&flag, &value("--rounds")?)?,
            "--seed" => options.seed = Some(number(&flag, &value("--seed")?)?),
            "--timeout" => {
                let secs: u64 = number(&flag, &value("--timeout")?)?;
                if secs == 0 {
                    return Err(Error::Usage("--timeout must be at least 1 second".into()));
                }
                options.timeout = Duration::from_secs(secs);
            }
            "-j" | "--jobs" => {
                let jobs: usize = number(&flag, &value("--jobs")?)?;
                options.jobs = jobs.max(1);
            }
            "--json" => options.json = Some(value("--json")?.into()),
            "--graph" => options.graph = Some(value("--graph")?.into()),
            "--no-progress" => options.progress = false,
            _ => return Err(Error::Usage(format!("unknown option `{arg}`"))),
        }
    }
    Ok(Command::Check(Box::new(options)))
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, Error> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::Usage(format!("{flag} wants a whole number, not `{value}`")))
}

/// The whole command: parses `args` (those after `isolation-check`), runs the check,
/// prints the report, writes `--json` and `--graph`, and returns the exit code: 0 clean,
/// 1 findings, 2 the check could not run (the reason is printed).
pub fn main<I, S>(args: I) -> ExitCode
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let options = match parse_args(args) {
        Ok(Command::Help) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Check(options)) => *options,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Test processes run in process groups of their own, out of the terminal's reach:
    // Ctrl-C stops them here. (A program that has its own handler keeps it.)
    let _ = ctrlc::set_handler(|| {
        super::process::stop_all();
        super::runner::remove_scratch();
        eprintln!("\nisolation-check: interrupted; the test processes it started are stopped");
        std::process::exit(130);
    });
    let report = match run(&options) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: the isolation check could not run: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report.render());
    let written = [
        options.json.as_ref().map(|p| (p, report.write_json(p))),
        options.graph.as_ref().map(|p| (p, report.write_graph(p))),
    ];
    for (path, result) in written.into_iter().flatten() {
        match result {
            Ok(()) => println!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::from(report.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str]) -> Options {
        match parse_args(args.iter().copied()).unwrap() {
            Command::Check(options) => *options,
            Command::Help => panic!("not help"),
        }
    }

    #[test]
    fn flags_and_filters_are_parsed() {
        let o = check(&[
            "registry",
            "--manifest-path=tests/planted/Cargo.toml",
            "-p",
            "a",
            "--package",
            "b",
            "--rounds",
            "5",
            "--seed=42",
            "--timeout",
            "9",
            "-j",
            "1",
            "--json",
            "out.json",
            "--graph",
            "g.mmd",
            "--skip",
            "slow",
            "--all-features",
            "--",
            "--literal",
        ]);
        assert_eq!(o.filters, ["registry", "--literal"]);
        assert_eq!(o.manifest_path, Some("tests/planted/Cargo.toml".into()));
        assert_eq!(o.packages, ["a", "b"]);
        assert_eq!((o.rounds, o.seed, o.jobs), (5, Some(42), 1));
        assert_eq!(o.timeout, Duration::from_secs(9));
        assert_eq!(o.json, Some("out.json".into()));
        assert_eq!(o.graph, Some("g.mmd".into()));
        assert_eq!(
            o.libtest_filters(),
            ["registry", "--literal", "--skip", "slow"]
        );
        assert_eq!(
            o.cargo_args(),
            [
                "--manifest-path",
                "tests/planted/Cargo.toml",
                "--package",
                "a",
                "--package",
                "b",
                "--all-features"
            ]
        );
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for args in [
            &["--rounds", "many"][..],
            &["--bogus"],
            &["--seed"],
            &["--timeout", "0"],
        ] {
            let err = parse_args(args.iter().copied()).unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{args:?}: {err}");
        }
        assert!(matches!(parse_args(["-h"]).unwrap(), Command::Help));
    }
}
