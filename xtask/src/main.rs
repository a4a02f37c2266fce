//! `cargo xtask <command>`: project automation. This file only parses arguments; each
//! command lives in a module of its own as it lands.

use std::process::ExitCode;

mod bench;
mod isolation_check;

const USAGE: &str = "usage: cargo xtask <command> [ARGS]

commands:
  isolation-check   find polluters, victims, brittle tests and leakers in a test suite
                    (`cargo xtask isolation-check --help` for its options)
  bench             run the benchmarks and print ours/baseline ratios";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("isolation-check") => isolation_check::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command `{other}`\n\n{USAGE}");
            ExitCode::from(2)
        }
        None => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
