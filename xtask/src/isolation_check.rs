//! `cargo xtask isolation-check`: the engine lives in `dataflow_testing::isolation`, so
//! any workspace can call it the same way; this is the whole of the command.

use std::process::ExitCode;

/// Runs the check with the arguments after `isolation-check`.
pub fn run(args: &[String]) -> ExitCode {
    dataflow_testing::isolation::main(args)
}
