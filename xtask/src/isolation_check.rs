//! `cargo xtask isolation-check`: the engine is the crate `dataflow-isolation` (also
//! installable as `cargo isolation-check` for any workspace); this is the whole of the
//! command.

use std::process::ExitCode;

/// Runs the check with the arguments after `isolation-check`.
pub fn run(args: &[String]) -> ExitCode {
    dataflow_isolation::main(args)
}
