//! The generated rstest fixture, for a [`FixtureInput`] that passed every check.
//!
//! The function keeps its name, attributes, visibility and arguments; it returns a
//! `::dataflow_testing::TestDataFlow`. The user's body runs in a closure that only borrows
//! the arguments, called by `__private::in_fixture` (which defers creating server databases
//! until the models are known), then `__private::finish_fixture` wraps the instance in a
//! guard that also owns the arguments, so that they outlive the instance's cleanup.
//!
//! Every path is absolute and goes through `::dataflow_testing` (its `__private` module for
//! dependencies, rstest included), so users need no other crate in scope.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{parse_quote, parse_quote_spanned, Attribute, Ident, LitStr};

use crate::parse::{Argument, FixtureInput, FixtureItem, FixtureOption, Returns};

/// The attribute that makes the function a fixture: rstest's, through the re-export.
///
/// Going through `dataflow_testing` keeps the attribute working when the user's crate
/// renames rstest or depends on another version. rstest's own expansion names the crate
/// only for `#[once]` and for string literals in `#[with(..)]`/`#[default(..)]`, and then
/// finds it in the user's `Cargo.toml`: those two need rstest as a dependency of the
/// user's crate, as `#[rstest]` tests do anyway.
fn rstest_fixture() -> Attribute {
    parse_quote!(#[::dataflow_testing::__private::rstest::fixture])
}

/// The fixture function, or nothing when there is no function to render.
pub fn fixture(input: &FixtureInput) -> TokenStream {
    // `error::check` rejected everything but a function returning DataFlow or a Result.
    let FixtureItem::Function(function) = &input.item else {
        return TokenStream::new();
    };
    let (Returns::DataFlow(ty) | Returns::Result(ty)) = &function.returns else {
        return TokenStream::new();
    };
    let mut item = function.item.clone();
    let name = LitStr::new(&item.sig.ident.unraw().to_string(), item.sig.ident.span());
    let body = &function.item.block;
    let result = Ident::new(
        "__dataflow_result",
        Span::mixed_site().located_at(ty.span()),
    );
    let options = options(input);
    let arguments = function
        .arguments
        .iter()
        .filter_map(|argument| match argument {
            Argument::Named(ident) => Some(ident),
            Argument::Receiver(_) | Argument::Pattern(_) => None,
        });

    if let (Some(index), Some(options)) = (function.database_argument(), database(input)) {
        if let Some(syn::FnArg::Typed(argument)) = item.sig.inputs.iter_mut().nth(index) {
            argument.attrs.push(parse_quote!(
                #[from(::dataflow_testing::__private::temp_database_with)]
            ));
            argument.attrs.push(parse_quote!(#[with(#options)]));
        }
    }
    item.attrs.insert(0, rstest_fixture());
    item.sig.output = parse_quote_spanned!(ty.span()=> -> ::dataflow_testing::TestDataFlow);
    *item.block = parse_quote! {{
        let #result = ::dataflow_testing::__private::in_fixture(|| -> #ty #body);
        ::dataflow_testing::__private::finish_fixture(
            #name,
            #result,
            #options,
            (#(#arguments,)*),
        )
    }};
    quote!(#item)
}

/// `::dataflow_testing::TempDatabase::options()` with a call for each database option,
/// paths from the crate's directory (`CARGO_MANIFEST_DIR`) as in `sqlx::test`; `None`
/// without database options.
fn database(input: &FixtureInput) -> Option<TokenStream> {
    if !input.has_database_options() {
        return None;
    }
    let calls = input.options.iter().map(|option| match option {
        FixtureOption::Migrations { dir, .. } => quote! {
            .migrations(::std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(#dir))
        },
        FixtureOption::Fixtures { files, .. } => quote! {
            #(.fixture_beside(env!("CARGO_MANIFEST_DIR"), file!(), #files))*
        },
        FixtureOption::Setup { function, .. } => quote!(.setup(#function)),
        FixtureOption::Isolation { value, .. } => {
            let variant = match value.value().as_str() {
                "transaction" => quote!(Transaction),
                "reuse" => quote!(Reuse),
                _ => quote!(Database),
            };
            quote!(.isolation(::dataflow_testing::Isolation::#variant))
        }
        _ => TokenStream::new(),
    });
    Some(quote!(::dataflow_testing::TempDatabase::options() #(#calls)*))
}

/// `::dataflow_testing::GuardOptions::new()` with a call for each option given.
fn options(input: &FixtureInput) -> TokenStream {
    let leak_check = input.leak_check().map(|check| {
        let variant = Ident::new(check.variant(), Span::call_site());
        quote!(.leak_check(::dataflow_testing::LeakCheck::#variant))
    });
    let keep_on_failure = input
        .keep_on_failure()
        .map(|keep| quote!(.keep_on_failure(#keep)));
    quote!(::dataflow_testing::GuardOptions::new() #leak_check #keep_on_failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::ItemFn;

    fn render(args: TokenStream, item: TokenStream) -> ItemFn {
        let input = FixtureInput::parse(args, item).unwrap();
        crate::error::check(&input).unwrap();
        syn::parse2(fixture(&input)).unwrap()
    }

    fn guard_options(args: TokenStream) -> String {
        let input = FixtureInput::parse(
            args,
            quote!(
                fn db() -> DataFlow {
                    make()
                }
            ),
        )
        .unwrap();
        options(&input).to_string()
    }

    #[test]
    fn a_fixture_without_options_runs_its_body_in_a_closure_and_keeps_its_arguments() {
        let rendered = render(
            TokenStream::new(),
            quote! {
                /// The users database.
                pub fn users_db(temp_database: TempDatabase, #[with(3)] mut n: u32) -> DataFlow {
                    make(temp_database.url(), n)
                }
            },
        );
        let expected: ItemFn = parse_quote! {
            #[::dataflow_testing::__private::rstest::fixture]
            /// The users database.
            pub fn users_db(temp_database: TempDatabase, #[with(3)] mut n: u32)
                -> ::dataflow_testing::TestDataFlow
            {
                let __dataflow_result = ::dataflow_testing::__private::in_fixture(|| -> DataFlow {
                    make(temp_database.url(), n)
                });
                ::dataflow_testing::__private::finish_fixture(
                    "users_db",
                    __dataflow_result,
                    ::dataflow_testing::GuardOptions::new(),
                    (temp_database, n,),
                )
            }
        };
        assert_eq!(rendered, expected);
    }

    #[test]
    fn database_options_configure_the_temp_database_argument() {
        let rendered = render(
            quote!(
                migrations = "migrations",
                fixtures("users.sql"),
                setup = roles::create,
                isolation = "transaction"
            ),
            quote! {
                fn db(temp_database: TempDatabase) -> DataFlow {
                    make(temp_database.url())
                }
            },
        );
        let expected: syn::FnArg = parse_quote! {
            #[from(::dataflow_testing::__private::temp_database_with)]
            #[with(::dataflow_testing::TempDatabase::options()
                .migrations(::std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
                .fixture_beside(env!("CARGO_MANIFEST_DIR"), file!(), "users.sql")
                .setup(roles::create)
                .isolation(::dataflow_testing::Isolation::Transaction))]
            temp_database: TempDatabase
        };
        assert_eq!(rendered.sig.inputs[0], expected);
    }

    #[test]
    fn a_fixture_returning_a_result_hands_the_result_over() {
        let rendered = render(
            quote!(leak_check = "global", keep_on_failure),
            quote! {
                fn db(#[from(temp_database)] tmp: TempDatabase) -> Result<DataFlow, Error> {
                    #![allow(unused)]
                    make(tmp.url())
                }
            },
        );
        let expected: ItemFn = parse_quote! {
            #[::dataflow_testing::__private::rstest::fixture]
            fn db(#[from(temp_database)] tmp: TempDatabase) -> ::dataflow_testing::TestDataFlow {
                #![allow(unused)]
                let __dataflow_result =
                    ::dataflow_testing::__private::in_fixture(|| -> Result<DataFlow, Error> {
                        make(tmp.url())
                    });
                ::dataflow_testing::__private::finish_fixture(
                    "db",
                    __dataflow_result,
                    ::dataflow_testing::GuardOptions::new()
                        .leak_check(::dataflow_testing::LeakCheck::Global)
                        .keep_on_failure(true),
                    (tmp,),
                )
            }
        };
        assert_eq!(rendered, expected);
    }

    #[test]
    fn only_the_options_given_become_guard_options() {
        let new = quote!(::dataflow_testing::GuardOptions::new());
        let cases = [
            (quote!(), quote!(#new)),
            (
                quote!(leak_check = "off"),
                quote!(#new.leak_check(::dataflow_testing::LeakCheck::Off)),
            ),
            (
                quote!(leak_check = "scoped"),
                quote!(#new.leak_check(::dataflow_testing::LeakCheck::Scoped)),
            ),
            (
                quote!(keep_on_failure = false),
                quote!(#new.keep_on_failure(false)),
            ),
        ];
        for (args, expected) in cases {
            assert_eq!(guard_options(args), expected.to_string());
        }
    }

    #[test]
    fn a_raw_function_name_is_named_without_its_prefix() {
        let rendered = render(
            TokenStream::new(),
            quote!(
                fn r#type() -> DataFlow {
                    make()
                }
            ),
        );
        let name = quote!(#rendered).to_string();
        assert!(name.contains("finish_fixture (\"type\""), "{name}");
    }
}
