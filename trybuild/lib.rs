//! The compile-time tests of the two macros, `#[derive(Model)]` and `#[dataflow_fixture]`,
//! with trybuild: `tests/macros.rs` runs every file of `tests/derive/` and
//! `tests/fixture/` (`ui/`: each mistake and its error at its token; `pass/`: what they
//! accept, compiled and run) in one trybuild run, so one project and one dependency build
//! serve both. Nothing here is public API.
