//! `#[derive(Model)]` and `#[dataflow_fixture]` at compile time: what each accepts
//! (`pass/`, compiled and run) and the error, with its span, for each mistake it rejects
//! (`ui/`). One `TestCases`: trybuild builds one project for all of them.

#[test]
fn the_macros_accept_what_they_should_and_reject_mistakes_at_their_token() {
    // The pass cases run on the toolkit's default features, SQLite only: a server named in
    // the environment (a CI step that runs everything against PostgreSQL, say) would be
    // an error there, so they do not see it. This binary has no other test to race with.
    for var in ["DATAFLOW_TEST_POSTGRES_URL", "DATAFLOW_TEST_MYSQL_URL"] {
        std::env::remove_var(var);
    }
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/derive/ui/*.rs");
    cases.pass("tests/derive/pass/*.rs");
    cases.compile_fail("tests/fixture/ui/*.rs");
    cases.pass("tests/fixture/pass/*.rs");
}
