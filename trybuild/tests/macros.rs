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
    // trybuild's project takes no profile from this workspace: without this, its build of
    // every dependency and each pass case's link carry full debug info, which nothing here
    // reads (errors and panics name their lines without it).
    std::env::set_var("CARGO_PROFILE_DEV_DEBUG", "false");
    // trybuild (1.0.122, `src/cargo.rs`) builds the dependencies first with its rustflags,
    // then the cases with `--diagnostic-width=140` added: other flags, other units, so a
    // fresh target directory built every dependency twice. Cargo's own variable, which
    // trybuild leaves alone and which wins over its `--config` rustflags, gives both builds
    // the flags of the second (trybuild's, so the errors read the same): one build.
    let rustflags = [
        "--cfg",
        "trybuild",
        "--verbose",
        "-A",
        "dead_code",
        "--diagnostic-width=140",
    ];
    std::env::set_var("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\x1f"));
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/derive/ui/*.rs");
    cases.pass("tests/derive/pass/*.rs");
    cases.compile_fail("tests/fixture/ui/*.rs");
    cases.pass("tests/fixture/pass/*.rs");
}
