//! `#[derive(Model)]` and `#[dataflow_fixture]` at compile time: what each accepts
//! (`pass/`, compiled and run) and the error, with its span, for each mistake it rejects
//! (`ui/`). One `TestCases`: trybuild builds one project for all of them.

#[test]
fn the_macros_accept_what_they_should_and_reject_mistakes_at_their_token() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/derive/ui/*.rs");
    cases.pass("tests/derive/pass/*.rs");
    cases.compile_fail("tests/fixture/ui/*.rs");
    cases.pass("tests/fixture/pass/*.rs");
}
