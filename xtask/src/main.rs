//! `cargo xtask <command>`: project automation. This file only parses arguments; each
//! command lives in a module of its own as it lands.

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  isolation-check   find polluters, victims, brittle tests and leakers in a test suite (not yet built)
  bench             run the benchmarks and print ours/baseline ratios (not yet built)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("isolation-check" | "bench") => {
            eprintln!(
                "cargo xtask {}: not built yet; see the open issues",
                args[0]
            );
            ExitCode::from(2)
        }
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
