//! `cargo-isolation-check`: cargo runs it as `cargo-isolation-check isolation-check ARGS`
//! for `cargo isolation-check ARGS`; run directly, it takes `ARGS` alone.

use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "isolation-check") {
        args.remove(0);
    }
    dataflow_isolation::main(args)
}
