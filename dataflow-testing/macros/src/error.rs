//! The checks on a [`FixtureInput`]: each is a small function returning the `syn::Error` to
//! report, spanned at the offending token, and [`check`] reports them all at once.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{Attribute, Error, Generics, LitStr, Pat, Path, Receiver, Signature};

use crate::parse::{
    Argument, FixtureFn, FixtureInput, FixtureItem, FixtureOption, LeakCheck, Returns,
};

/// What a fixture returns, as every return-type error says it.
const RETURNS: &str = "a #[dataflow_fixture] returns DataFlow or Result<DataFlow, E>";

/// Every problem with `input`, combined into one error, or `Ok` when it can be rendered.
pub fn check(input: &FixtureInput) -> syn::Result<()> {
    let mut errors: Vec<Error> = input.syntax_error.iter().cloned().collect();
    errors.extend(options(&input.options));
    match &input.item {
        FixtureItem::NotAFunction(span) => errors.push(not_a_function(*span)),
        FixtureItem::Function(function) => {
            errors.extend(fixture_fn(function));
            errors.extend(database_argument(input, function));
        }
    }
    combine(errors)
}

fn combine(errors: Vec<Error>) -> syn::Result<()> {
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            first.extend(errors);
            Err(first)
        }
    }
}

/// Unknown keys, malformed values, keys given twice, and leak checks that do not exist, in
/// the order they are written.
fn options(options: &[FixtureOption]) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut seen: Vec<&Path> = Vec::new();
    for option in options {
        let key = match option {
            FixtureOption::Malformed(error) => {
                errors.push(error.clone());
                continue;
            }
            FixtureOption::Unknown(key) => {
                errors.push(unknown_key(key));
                continue;
            }
            FixtureOption::LeakCheck { key, value } => {
                errors.extend(leak_check(value));
                key
            }
            FixtureOption::KeepOnFailure { key, .. }
            | FixtureOption::Migrations { key, .. }
            | FixtureOption::Fixtures { key, .. }
            | FixtureOption::Setup { key, .. } => key,
            FixtureOption::Isolation { key, value } => {
                if !["database", "transaction", "reuse"].contains(&value.value().as_str()) {
                    errors.push(Error::new(
                        value.span(),
                        format!(
                            "unknown isolation {:?}; expected \"database\", \"transaction\" or \"reuse\"",
                            value.value()
                        ),
                    ));
                }
                key
            }
        };
        if seen.contains(&key) {
            errors.push(duplicate_key(key));
        }
        seen.push(key);
    }
    errors
}

/// Database options configure the fixture's `TempDatabase` argument: there must be one.
fn database_argument(input: &FixtureInput, function: &FixtureFn) -> Option<Error> {
    if !input.has_database_options() || function.database_argument().is_some() {
        return None;
    }
    let key = input.options.iter().find_map(|option| match option {
        FixtureOption::Migrations { key, .. }
        | FixtureOption::Fixtures { key, .. }
        | FixtureOption::Setup { key, .. }
        | FixtureOption::Isolation { key, .. } => Some(key),
        _ => None,
    })?;
    Some(Error::new_spanned(
        key,
        "migrations, fixtures, setup and isolation configure the fixture's temporary \
         database: take it as an argument, as in `fn db(temp_database: TempDatabase) -> DataFlow`",
    ))
}

fn unknown_key(key: &Path) -> Error {
    Error::new_spanned(
        key,
        format!(
            "unknown option in #[dataflow_fixture(...)]; the options are leak_check ({}), \
             keep_on_failure (a flag, or = true / = false), migrations = \"dir\", \
             fixtures(\"file.sql\", ...), setup = path::to::fn and isolation = \"database\" | \"transaction\" | \"reuse\"",
            LeakCheck::choices()
        ),
    )
}

fn duplicate_key(key: &Path) -> Error {
    let key = key.to_token_stream();
    Error::new_spanned(&key, format!("`{key}` is given twice; give it once"))
}

fn leak_check(value: &LitStr) -> Option<Error> {
    LeakCheck::from_value(&value.value()).is_none().then(|| {
        Error::new(
            value.span(),
            format!(
                "unknown leak check {:?}; expected {}",
                value.value(),
                LeakCheck::choices()
            ),
        )
    })
}

fn not_a_function(span: Span) -> Error {
    Error::new(
        span,
        "#[dataflow_fixture] goes on a function that returns DataFlow or Result<DataFlow, E>",
    )
}

/// Every problem with the function.
fn fixture_fn(function: &FixtureFn) -> Vec<Error> {
    let sig = &function.item.sig;
    let mut errors: Vec<Error> = function
        .item
        .attrs
        .iter()
        .filter_map(fixture_attribute)
        .collect();
    errors.extend(qualifiers(sig));
    errors.extend(generics(&sig.generics));
    errors.extend(
        function
            .arguments
            .iter()
            .filter_map(|argument| match argument {
                Argument::Named(_) => None,
                Argument::Receiver(receiver) => Some(receiver_argument(receiver)),
                Argument::Pattern(pattern) => Some(pattern_argument(pattern)),
            }),
    );
    errors.extend(return_type(&function.returns));
    errors
}

/// rstest attributes that do not fit: `#[fixture]` (the attribute adds its own) and
/// `#[once]` (a guard in a `static` never drops, so it would never clean up).
fn fixture_attribute(attr: &Attribute) -> Option<Error> {
    let path = attr.path();
    let message = if path.segments.last()?.ident == "fixture" {
        "#[dataflow_fixture] already makes the function an rstest fixture; remove #[fixture]"
    } else if path.is_ident("once") {
        "a #[dataflow_fixture] cannot be #[once]: its guard cleans up when the test ends; \
         for an instance shared by every test, write a plain #[fixture] #[once] that returns \
         a DataFlow and marks it with dataflow_testing::keep_for_process"
    } else {
        return None;
    };
    Some(Error::new_spanned(attr, message))
}

/// `async`, `const`, `unsafe` and `extern`: a fixture is a plain synchronous `fn`.
fn qualifiers(sig: &Signature) -> Vec<Error> {
    let mut errors = Vec::new();
    if let Some(asyncness) = &sig.asyncness {
        errors.push(Error::new(
            asyncness.span,
            "async fixtures are not supported: DataFlow::new is synchronous; \
             build the instance in a sync fixture",
        ));
    }
    let plain = |span: Span, qualifier: &str| {
        Error::new(
            span,
            format!("a #[dataflow_fixture] is a plain `fn`; remove `{qualifier}`"),
        )
    };
    if let Some(constness) = &sig.constness {
        errors.push(plain(constness.span, "const"));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(plain(unsafety.span, "unsafe"));
    }
    if let Some(abi) = &sig.abi {
        errors.push(Error::new_spanned(
            abi,
            "a #[dataflow_fixture] is a plain `fn`; remove the `extern` ABI",
        ));
    }
    errors
}

fn generics(generics: &Generics) -> Option<Error> {
    let generic = !generics.params.is_empty() || generics.where_clause.is_some();
    generic.then(|| {
        let tokens = match &generics.where_clause {
            Some(where_clause) if generics.params.is_empty() => where_clause.to_token_stream(),
            _ => generics.to_token_stream(),
        };
        Error::new_spanned(
            tokens,
            "a #[dataflow_fixture] cannot be generic: give its arguments concrete types",
        )
    })
}

fn receiver_argument(receiver: &Receiver) -> Error {
    Error::new_spanned(
        receiver,
        "a #[dataflow_fixture] is a free function: it cannot take `self`",
    )
}

fn pattern_argument(pattern: &Pat) -> Error {
    Error::new_spanned(
        pattern,
        "a #[dataflow_fixture] argument must be a plain name, as in `tmp: TempDatabase`: \
         the guard keeps every argument alive until it is dropped; destructure in the body",
    )
}

fn return_type(returns: &Returns) -> Option<Error> {
    match returns {
        Returns::DataFlow(_) | Returns::Result(_) => None,
        Returns::Missing(name) => Some(Error::new(
            *name,
            format!("{RETURNS}; add `-> DataFlow` to the signature"),
        )),
        Returns::Guard(ty) => Some(Error::new_spanned(
            ty,
            format!(
                "{RETURNS}; return the DataFlow itself: the fixture wraps it in a TestDataFlow"
            ),
        )),
        Returns::Other(ty) => Some(Error::new_spanned(ty, RETURNS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::quote;

    fn errors(args: TokenStream, item: TokenStream) -> Vec<String> {
        match check(&FixtureInput::parse(args, item).unwrap()) {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_valid_fixture_has_no_errors() {
        let errors = errors(
            quote!(leak_check = "scoped", keep_on_failure = false),
            quote! {
                /// Docs.
                pub(crate) fn users_db(
                    #[from(temp_database)] mut tmp: TempDatabase,
                    #[default(3)] n: u32,
                ) -> Result<dataflow::DataFlow, dataflow::Error> {
                    panic!("parsed, never run")
                }
            },
        );
        assert_eq!(errors, Vec::<String>::new());
    }

    #[test]
    fn an_invalid_leak_check_lists_the_valid_ones() {
        let errors = errors(
            quote!(leak_check = "strict"),
            quote!(
                fn db() -> DataFlow {
                    panic!("parsed, never run")
                }
            ),
        );
        assert_eq!(
            errors,
            [r#"unknown leak check "strict"; expected "scoped", "global" or "off""#]
        );
    }

    #[test]
    fn a_key_given_twice_is_reported_once_at_its_second_use() {
        let errors = errors(
            quote!(
                keep_on_failure,
                leak_check = "off",
                keep_on_failure = false,
                leak_check = "global"
            ),
            quote!(
                fn db() -> DataFlow {
                    panic!("parsed, never run")
                }
            ),
        );
        assert_eq!(
            errors,
            [
                "`keep_on_failure` is given twice; give it once",
                "`leak_check` is given twice; give it once",
            ]
        );
    }

    #[test]
    fn an_unknown_key_is_reported_every_time() {
        let errors = errors(
            quote!(transaction, transaction),
            quote!(
                fn db() -> DataFlow {
                    panic!("parsed, never run")
                }
            ),
        );
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].starts_with("unknown option"), "{errors:#?}");
    }

    #[test]
    fn an_async_fixture_is_rejected() {
        let errors = errors(
            TokenStream::new(),
            quote!(
                async fn db() -> DataFlow {
                    panic!("parsed, never run")
                }
            ),
        );
        assert_eq!(
            errors,
            [
                "async fixtures are not supported: DataFlow::new is synchronous; \
              build the instance in a sync fixture"
            ]
        );
    }

    #[test]
    fn a_where_clause_alone_makes_a_fixture_generic() {
        let errors = errors(
            TokenStream::new(),
            quote!(
                fn db() -> DataFlow
                where
                    (): Sized,
                {
                    panic!("parsed, never run")
                }
            ),
        );
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(errors[0].contains("cannot be generic"), "{errors:#?}");
    }

    #[test]
    fn an_explicit_fixture_attribute_is_rejected() {
        let errors = errors(
            TokenStream::new(),
            quote!(
                #[rstest::fixture]
                fn db() -> DataFlow {
                    panic!("parsed, never run")
                }
            ),
        );
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(errors[0].contains("remove #[fixture]"), "{errors:#?}");
    }

    #[test]
    fn a_once_fixture_is_rejected() {
        let errors = errors(
            TokenStream::new(),
            quote!(
                #[once]
                fn db() -> DataFlow {
                    panic!("parsed, never run")
                }
            ),
        );
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(errors[0].contains("cannot be #[once]"), "{errors:#?}");
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let errors = errors(
            quote!(leak_check = "all", colour = "red", keep_on_failure = "yes"),
            quote! {
                async unsafe fn db<T>(&self, (a, b): (u8, u8), _: T) -> Option<DataFlow> {
                    panic!("parsed, never run")
                }
            },
        );
        assert_eq!(errors.len(), 10, "{errors:#?}");
    }
}
