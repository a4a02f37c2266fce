//! The `#[dataflow_fixture]` attribute of dataflow-testing. Use it through
//! `dataflow_testing::dataflow_fixture`, where it is documented.
//!
//! The attribute runs in three steps, one module each:
//!
//! - `parse` reads the options and the function into a `FixtureInput`, recording what was
//!   written without judging it;
//! - `error` checks it and reports every problem at once, each at its token;
//! - `render` writes the rstest fixture returning a `TestDataFlow`, only when there is no
//!   problem.

mod error;
mod parse;
mod render;

use proc_macro::TokenStream;

use crate::parse::FixtureInput;

#[allow(
    missing_docs,
    reason = "documented on the re-export `dataflow_testing::dataflow_fixture` \
              (dataflow-testing/src/dataflow_fixture.md); rustdoc would append a doc written \
              here to that page"
)]
#[proc_macro_attribute]
pub fn dataflow_fixture(args: TokenStream, item: TokenStream) -> TokenStream {
    let input = match FixtureInput::parse(args.into(), item.into()) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error().into(),
    };
    match error::check(&input) {
        Ok(()) => render::fixture(&input),
        Err(errors) => errors.into_compile_error(),
    }
    .into()
}
