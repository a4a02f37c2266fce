//! `#[dataflow_fixture]` at compile time: the fixtures it accepts, compiled and run
//! (`tests/pass`), and the error, with its span, for each mistake it rejects (`tests/ui`).
//!
//! Here rather than in `dataflow-testing`: trybuild builds a project from this crate's
//! dev-dependencies, and here they are the SQLite-only toolkit, whatever features the
//! workspace build turns on (the same dependency build as the derive's suite reuses).

#[test]
fn dataflow_fixture_accepts_fixtures_and_rejects_mistakes_at_their_token() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/pass/*.rs");
}
