//! Compile-time behaviour of `#[derive(Model)]`: what it accepts (`tests/pass`) and the
//! error, with its span, for each mistake it rejects (`tests/ui`).
//!
//! Here rather than in `dataflow`: trybuild builds a project from this crate's
//! dev-dependencies, and here they are dataflow with its default features (SQLite only),
//! whatever features the workspace build turns on.

#[test]
fn derive_model_accepts_supported_structs_and_rejects_mistakes_at_their_token() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/pass/*.rs");
}
