//! The command line: `cargo isolation-check [OPTIONS] [TESTNAME...]`, for the cargo
//! subcommand and for an xtask to hand its arguments to. Help and `--version` come from
//! the same clap definitions as the parsing.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::{run, Error, Options};

const ABOUT: &str =
    "Find the tests whose outcome depends on other tests, and the tests that leave state behind.";

const LONG_ABOUT: &str = "\
Find the tests whose outcome depends on other tests, and the tests that leave state behind.

Runs every test alone, each suite in one process in several orders (forward, reverse,
seeded shuffles), traces which test registered and resolved each registry entry, and
explains every change of outcome: the trace, then pair runs of the tests that ran right
before it, then bisection; it counts every polluter or setter and looks for a cleaner.

Findings:
  polluter / victim      the victim passes alone and fails after the polluter
  state-setter / brittle the brittle test fails alone and passes after the setter
  cleaner                run between a polluter and its victim, makes the victim pass
  leaker                 leaves registry entries, temporary files or databases behind
  latent access          resolved another test's registry entry, though nothing failed
  plain failure          fails alone and in every order (not an isolation problem)";

const AFTER_HELP: &str = "\
Exit status: 0 no findings, 1 findings (plain failures included), 2 the check could not run.
With GITHUB_ACTIONS=true, each finding is also printed as a GitHub annotation.

Every run gets a private TMPDIR and DATAFLOW_TRACE_FILE (the registry trace; test
binaries that link dataflow-testing write it), and DATAFLOW_ISOLATION_CHECK=1.";

/// The arguments, as clap reads them.
#[derive(Debug, Parser)]
#[command(
    name = "cargo isolation-check",
    bin_name = "cargo isolation-check",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP
)]
struct Args {
    /// Check only tests whose name contains one of these.
    #[arg(value_name = "TESTNAME")]
    filters: Vec<String>,
    /// Match TESTNAMEs exactly.
    #[arg(long)]
    exact: bool,
    /// Leave out tests whose name contains PATTERN (repeatable).
    #[arg(long, value_name = "PATTERN")]
    skip: Vec<String>,
    /// The workspace or package to check (a Cargo.toml or its folder) [default: the current one].
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Check this package (repeatable) [default: what `cargo test` tests].
    #[arg(short, long = "package", value_name = "SPEC")]
    packages: Vec<String>,
    /// Check every member of the workspace.
    #[arg(long, visible_alias = "all")]
    workspace: bool,
    /// Features to build the tests with (passed to cargo).
    #[arg(short = 'F', long, value_name = "FEATURES")]
    features: Vec<String>,
    /// Build with every feature (passed to cargo).
    #[arg(long)]
    all_features: bool,
    /// Build without the default features (passed to cargo).
    #[arg(long)]
    no_default_features: bool,
    /// Build in release mode (passed to cargo).
    #[arg(long)]
    release: bool,
    /// Where cargo builds (passed to cargo).
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// Seeded shuffles of each suite.
    #[arg(long, value_name = "N", default_value_t = 3)]
    rounds: u32,
    /// Also run orders that put every ordered pair of tests of a binary next to each other
    /// at least once (about 2n processes for n tests), so every test that depends on one
    /// other test is found.
    #[arg(long)]
    pairs: bool,
    /// Run only share K of N of the single-test runs and orders (for N CI machines), and
    /// write its evidence to --json FILE; --merge combines the shards' files.
    #[arg(long, value_name = "K/N")]
    partition: Option<crate::Partition>,
    /// Combine the JSON files of the shards of a --partition'ed check into one report
    /// (runs only the probes the findings need).
    #[arg(long, value_name = "JSON", num_args = 1.., conflicts_with = "partition")]
    merge: Vec<PathBuf>,
    /// The seed of the first shuffle, to replay a check [default: random; with --partition, fixed].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Kill a test-binary process when one test runs longer than SECS.
    #[arg(long, value_name = "SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Test-binary processes at a time [default: the number of CPUs].
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    jobs: Option<u64>,
    /// Write every finding, with evidence and commands, as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write polluter -> victim and setter -> brittle edges as Graphviz DOT, or Mermaid if
    /// FILE ends in .mmd.
    #[arg(long, value_name = "FILE")]
    graph: Option<PathBuf>,
    /// Write the findings as JUnit XML, one testcase per finding with its reproduce commands.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
}

impl Args {
    fn into_options(self) -> Options {
        let mut cargo_flags = Vec::new();
        for features in self.features {
            cargo_flags.push("--features".to_owned());
            cargo_flags.push(features);
        }
        for (on, flag) in [
            (self.all_features, "--all-features"),
            (self.no_default_features, "--no-default-features"),
            (self.release, "--release"),
        ] {
            if on {
                cargo_flags.push(flag.to_owned());
            }
        }
        if let Some(dir) = self.target_dir {
            cargo_flags.push("--target-dir".to_owned());
            cargo_flags.push(dir.display().to_string());
        }
        let defaults = Options::default();
        Options {
            manifest_path: self.manifest_path.map(|mut path| {
                if path.is_dir() {
                    path.push("Cargo.toml");
                }
                path
            }),
            packages: self.packages,
            workspace: self.workspace,
            cargo_flags,
            filters: self.filters,
            skip: self.skip,
            exact: self.exact,
            rounds: self.rounds,
            pairs: self.pairs,
            partition: self.partition,
            merge: self.merge,
            seed: self.seed,
            timeout: Duration::from_secs(self.timeout),
            jobs: self.jobs.map_or(defaults.jobs, |jobs| {
                usize::try_from(jobs).unwrap_or(usize::MAX)
            }),
            json: self.json,
            graph: self.graph,
            junit: self.junit,
            progress: !self.no_progress,
            ..defaults
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Command {
    /// `--help` or `--version`: print this and stop.
    Print(String),
    /// Run the check.
    Check(Box<Options>),
}

/// Parses the arguments after the command name (`isolation-check`).
///
/// ```
/// use dataflow_isolation::{parse_args, Command};
///
/// let Ok(Command::Check(options)) = parse_args(["--rounds", "5", "registry"]) else {
///     panic!("a check");
/// };
/// assert_eq!((options.rounds, options.filters.as_slice()), (5, &["registry".to_owned()][..]));
/// assert!(matches!(parse_args(["--version"]), Ok(Command::Print(_))));
/// assert!(parse_args(["--rounds", "many"]).is_err());
/// ```
pub fn parse_args<I, S>(args: I) -> Result<Command, Error>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let argv = std::iter::once(OsString::from("cargo isolation-check"))
        .chain(args.into_iter().map(Into::into));
    match Args::try_parse_from(argv) {
        Ok(args) => Ok(Command::Check(Box::new(args.into_options()))),
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                Ok(Command::Print(e.render().to_string()))
            }
            _ => Err(Error::Usage(e.render().to_string().trim_end().to_owned())),
        },
    }
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
        Ok(Command::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Check(options)) => *options,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // Test processes run in process groups of their own, out of the terminal's reach:
    // Ctrl-C stops them here. (A program that has its own handler keeps it.)
    let _ = ctrlc::set_handler(|| {
        crate::process::stop_all();
        crate::runner::remove_scratch();
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
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        print!("{}", report.github_annotations());
    }
    // A shard's --json is its evidence, written already.
    let json = options.json.as_ref().filter(|_| report.partition.is_none());
    let written = [
        json.map(|p| (p, report.write_json(p))),
        options.graph.as_ref().map(|p| (p, report.write_graph(p))),
        options.junit.as_ref().map(|p| (p, report.write_junit(p))),
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
            Command::Print(text) => panic!("not a check: {text}"),
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
    fn bad_input_is_a_usage_error_that_names_the_option() {
        for (args, names) in [
            (&["--rounds", "many"][..], "--rounds"),
            (&["--bogus"], "--bogus"),
            (&["--seed"], "--seed"),
            (&["--timeout", "0"], "--timeout"),
            (&["-j", "0"], "--jobs"),
        ] {
            let err = parse_args(args.iter().copied()).unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{args:?}: {err}");
            assert!(err.to_string().contains(names), "{args:?}: {err}");
        }
    }

    #[test]
    fn help_and_version_come_from_the_definitions() {
        let Command::Print(help) = parse_args(["--help"]).unwrap() else {
            panic!("help")
        };
        for flag in [
            "--manifest-path",
            "--rounds",
            "--jobs",
            "Exit status",
            "polluter",
        ] {
            assert!(help.contains(flag), "{flag} missing from\n{help}");
        }
        let Command::Print(version) = parse_args(["--version"]).unwrap() else {
            panic!("version")
        };
        assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    }
}
