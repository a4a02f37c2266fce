//! The `#[derive(Model)]` macro of dataflow. Use it through `dataflow::Model`, where it is
//! documented.
//!
//! The derive runs in three steps, one module each:
//!
//! - `parse` reads the struct into a `ModelInput`, recording what was written without
//!   judging it;
//! - `error` checks it and reports every problem at once, each at its token;
//! - `render` writes `impl ::dataflow::Model`, only when there is no problem.

mod error;
mod parse;
mod render;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

use crate::parse::ModelInput;

#[allow(
    missing_docs,
    reason = "documented on the re-export `dataflow::Model` (dataflow/src/derive_model.md); \
              rustdoc would append a doc written here to that page"
)]
#[proc_macro_derive(Model, attributes(dataflow))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let model = ModelInput::from_derive(&input);
    match error::check(&model) {
        Ok(()) => render::model_impl(&model),
        Err(errors) => errors.into_compile_error(),
    }
    .into()
}
