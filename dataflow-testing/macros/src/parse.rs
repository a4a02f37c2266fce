//! From the attribute's tokens to a [`FixtureInput`]: what the user wrote, read leniently.
//!
//! Parsing only fails on an item that is not Rust. Everything else (options it cannot read,
//! an `async fn`, a wrong return type, an unknown option, ...) is recorded as written and
//! judged by `error.rs`, so that every problem is reported at once.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Expr, ExprLit, FnArg, GenericArgument, Ident, Item, ItemFn, Lit, LitBool, LitStr, Meta,
    MetaNameValue, Pat, PatIdent, Path, PathArguments, PathSegment, Receiver, ReturnType, Token,
    Type, TypePath,
};

/// What `#[dataflow_fixture(...)]` was put on, with its options.
pub struct FixtureInput {
    /// The options, in order, not yet checked for duplicates or values.
    pub options: Vec<FixtureOption>,
    /// Why the options could not be read as a list of `key`, `key = value`, `key(...)`.
    pub syntax_error: Option<syn::Error>,
    /// The item the attribute is on.
    pub item: FixtureItem,
}

/// The item under the attribute.
pub enum FixtureItem {
    /// A function: the fixture to be.
    Function(Box<FixtureFn>),
    /// Anything else: the span an error should point at.
    NotAFunction(Span),
}

/// A function under `#[dataflow_fixture]`, as written.
pub struct FixtureFn {
    /// The function, unchanged.
    pub item: ItemFn,
    /// Its arguments, in order.
    pub arguments: Vec<Argument>,
    /// What it returns.
    pub returns: Returns,
}

/// One argument of the function.
pub enum Argument {
    /// `name: Type` (or `mut name: Type`), whatever its attributes: the binding.
    Named(Ident),
    /// `self`, `&self`, `self: Box<Self>`, ...
    Receiver(Box<Receiver>),
    /// Any other pattern, such as `(a, b): (A, B)` or `_: T`.
    Pattern(Box<Pat>),
}

/// The function's return type, classified by the last segment of its path.
pub enum Returns {
    /// `DataFlow`, `dataflow::DataFlow`, ...: the type.
    DataFlow(Box<Type>),
    /// `Result<DataFlow, E>`, `dataflow::Result<DataFlow>`, ...: the type.
    Result(Box<Type>),
    /// `TestDataFlow`: the guard the fixture makes, returned by mistake; the type.
    Guard(Box<Type>),
    /// No `->` at all: the function's name, to point at.
    Missing(Span),
    /// Anything else: the type.
    Other(Box<Type>),
}

/// One key of `#[dataflow_fixture(...)]`.
pub enum FixtureOption {
    /// `leak_check = "..."`.
    LeakCheck {
        /// The `leak_check` key.
        key: Path,
        /// Its value, not yet checked.
        value: LitStr,
    },
    /// `keep_on_failure`, or `keep_on_failure = true|false`.
    KeepOnFailure {
        /// The `keep_on_failure` key.
        key: Path,
        /// The value: `true` for the bare flag.
        value: bool,
    },
    /// `migrations = "dir"`: a directory from the crate's directory.
    Migrations {
        /// The `migrations` key.
        key: Path,
        /// The directory.
        dir: LitStr,
    },
    /// `fixtures("a.sql", "b.sql")`: SQL files, looked for as sqlx::test does.
    Fixtures {
        /// The `fixtures` key.
        key: Path,
        /// The file names.
        files: Vec<LitStr>,
    },
    /// `setup = path::to::function`.
    Setup {
        /// The `setup` key.
        key: Path,
        /// The function.
        function: Path,
    },
    /// `isolation = "transaction"`, `"reuse"` or `"database"`.
    Isolation {
        /// The `isolation` key.
        key: Path,
        /// Its value, not yet checked.
        value: LitStr,
    },
    /// Any other key, whatever its form.
    Unknown(Path),
    /// A known key with a value of the wrong kind (`leak_check = global`, ...): the error.
    Malformed(syn::Error),
}

/// The leak checks of `dataflow_testing::LeakCheck`, by their option value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakCheck {
    /// `"scoped"`: what this test's instances registered.
    Scoped,
    /// `"global"`: no instance-owned entry at all.
    Global,
    /// `"off"`: no check.
    Off,
}

impl LeakCheck {
    /// Every leak check, in the order error messages list them.
    pub const ALL: [LeakCheck; 3] = [LeakCheck::Scoped, LeakCheck::Global, LeakCheck::Off];

    /// The option value naming it: `"scoped"`, ...
    pub fn value(self) -> &'static str {
        match self {
            LeakCheck::Scoped => "scoped",
            LeakCheck::Global => "global",
            LeakCheck::Off => "off",
        }
    }

    /// The name of the matching `dataflow_testing::LeakCheck` variant.
    pub fn variant(self) -> &'static str {
        match self {
            LeakCheck::Scoped => "Scoped",
            LeakCheck::Global => "Global",
            LeakCheck::Off => "Off",
        }
    }

    /// The values, for error messages: `"scoped", "global" or "off"`.
    pub fn choices() -> String {
        let quoted: Vec<String> = LeakCheck::ALL
            .iter()
            .map(|check| format!("\"{}\"", check.value()))
            .collect();
        match quoted.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// The leak check an option value names, if any.
    pub fn from_value(value: &str) -> Option<LeakCheck> {
        LeakCheck::ALL
            .into_iter()
            .find(|check| check.value() == value)
    }
}

impl FixtureInput {
    /// Reads the attribute's arguments and the item. Fails only when the item is not Rust.
    pub fn parse(args: TokenStream, item: TokenStream) -> syn::Result<Self> {
        let (options, syntax_error) = match options(args) {
            Ok(options) => (options, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        let item = match syn::parse2::<Item>(item)? {
            Item::Fn(function) => FixtureItem::Function(Box::new(FixtureFn::new(function))),
            other => FixtureItem::NotAFunction(keyword_span(&other)),
        };
        Ok(FixtureInput {
            options,
            syntax_error,
            item,
        })
    }

    /// The leak check chosen with `leak_check = "..."`, if a valid one was given.
    pub fn leak_check(&self) -> Option<LeakCheck> {
        self.options.iter().find_map(|option| match option {
            FixtureOption::LeakCheck { value, .. } => LeakCheck::from_value(&value.value()),
            _ => None,
        })
    }

    /// Whether a database option (migrations, fixtures, setup, isolation) is given.
    pub fn has_database_options(&self) -> bool {
        self.options.iter().any(|option| {
            matches!(
                option,
                FixtureOption::Migrations { .. }
                    | FixtureOption::Fixtures { .. }
                    | FixtureOption::Setup { .. }
                    | FixtureOption::Isolation { .. }
            )
        })
    }

    /// The value of `keep_on_failure`, if given.
    pub fn keep_on_failure(&self) -> Option<bool> {
        self.options.iter().find_map(|option| match option {
            FixtureOption::KeepOnFailure { value, .. } => Some(*value),
            _ => None,
        })
    }
}

impl FixtureFn {
    /// The position of the argument of type `TempDatabase` (by last path segment), which
    /// the database options configure.
    pub fn database_argument(&self) -> Option<usize> {
        self.item.sig.inputs.iter().position(|input| match input {
            FnArg::Typed(typed) => {
                last_segment(&typed.ty).is_some_and(|segment| segment.ident == "TempDatabase")
            }
            FnArg::Receiver(_) => false,
        })
    }

    fn new(item: ItemFn) -> Self {
        let arguments = item.sig.inputs.iter().map(argument).collect();
        let returns = match &item.sig.output {
            ReturnType::Default => Returns::Missing(item.sig.ident.span()),
            ReturnType::Type(_, ty) => returns(ty),
        };
        FixtureFn {
            item,
            arguments,
            returns,
        }
    }
}

/// The keys of `#[dataflow_fixture(...)]`, or why they cannot be read as a list.
fn options(args: TokenStream) -> syn::Result<Vec<FixtureOption>> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    Ok(metas.into_iter().map(option).collect())
}

/// One key, whatever its value.
fn option(meta: Meta) -> FixtureOption {
    let path = meta.path();
    let read = if path.is_ident("leak_check") {
        leak_check(meta)
    } else if path.is_ident("keep_on_failure") {
        keep_on_failure(meta)
    } else if path.is_ident("migrations") || path.is_ident("isolation") {
        string_option(meta)
    } else if path.is_ident("fixtures") {
        fixtures(meta)
    } else if path.is_ident("setup") {
        setup(meta)
    } else {
        Ok(FixtureOption::Unknown(path.clone()))
    };
    read.unwrap_or_else(FixtureOption::Malformed)
}

fn leak_check(meta: Meta) -> syn::Result<FixtureOption> {
    let expected = || format!("expected leak_check = {}", LeakCheck::choices());
    match meta {
        Meta::NameValue(MetaNameValue {
            path,
            value:
                Expr::Lit(ExprLit {
                    lit: Lit::Str(value),
                    ..
                }),
            ..
        }) => Ok(FixtureOption::LeakCheck { key: path, value }),
        Meta::NameValue(MetaNameValue { value, .. }) => {
            Err(syn::Error::new_spanned(value, expected()))
        }
        other => Err(syn::Error::new_spanned(other, expected())),
    }
}

/// `migrations = "dir"` or `isolation = "..."`.
fn string_option(meta: Meta) -> syn::Result<FixtureOption> {
    let expected = match meta.path().is_ident("migrations") {
        true => "expected migrations = \"dir\", the directory from the crate's directory",
        false => "expected isolation = \"database\", \"transaction\" or \"reuse\"",
    };
    match meta {
        Meta::NameValue(MetaNameValue {
            path,
            value:
                Expr::Lit(ExprLit {
                    lit: Lit::Str(value),
                    ..
                }),
            ..
        }) => Ok(match path.is_ident("migrations") {
            true => FixtureOption::Migrations {
                key: path,
                dir: value,
            },
            false => FixtureOption::Isolation { key: path, value },
        }),
        Meta::NameValue(MetaNameValue { value, .. }) => {
            Err(syn::Error::new_spanned(value, expected))
        }
        other => Err(syn::Error::new_spanned(other, expected)),
    }
}

/// `fixtures("a.sql", ...)`.
fn fixtures(meta: Meta) -> syn::Result<FixtureOption> {
    const EXPECTED: &str =
        "expected fixtures(\"users.sql\", ...), the SQL files as string literals";
    let Meta::List(list) = meta else {
        return Err(syn::Error::new_spanned(meta, EXPECTED));
    };
    let files = list
        .parse_args_with(Punctuated::<LitStr, Token![,]>::parse_terminated)
        .map_err(|e| syn::Error::new(e.span(), EXPECTED))?;
    if files.is_empty() {
        return Err(syn::Error::new_spanned(list, EXPECTED));
    }
    Ok(FixtureOption::Fixtures {
        key: list.path,
        files: files.into_iter().collect(),
    })
}

/// `setup = path::to::function`.
fn setup(meta: Meta) -> syn::Result<FixtureOption> {
    const EXPECTED: &str =
        "expected setup = path::to::function, a fn(&DataFlow) -> dataflow::Result<()>";
    match meta {
        Meta::NameValue(MetaNameValue {
            path,
            value: Expr::Path(function),
            ..
        }) if function.qself.is_none() => Ok(FixtureOption::Setup {
            key: path,
            function: function.path,
        }),
        Meta::NameValue(MetaNameValue { value, .. }) => {
            Err(syn::Error::new_spanned(value, EXPECTED))
        }
        other => Err(syn::Error::new_spanned(other, EXPECTED)),
    }
}

fn keep_on_failure(meta: Meta) -> syn::Result<FixtureOption> {
    const EXPECTED: &str =
        "expected keep_on_failure, keep_on_failure = true or keep_on_failure = false";
    match meta {
        Meta::Path(key) => Ok(FixtureOption::KeepOnFailure { key, value: true }),
        Meta::NameValue(MetaNameValue {
            path,
            value:
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(LitBool { value, .. }),
                    ..
                }),
            ..
        }) => Ok(FixtureOption::KeepOnFailure { key: path, value }),
        Meta::NameValue(MetaNameValue { value, .. }) => {
            Err(syn::Error::new_spanned(value, EXPECTED))
        }
        Meta::List(list) => Err(syn::Error::new_spanned(list, EXPECTED)),
    }
}

fn argument(argument: &FnArg) -> Argument {
    match argument {
        FnArg::Receiver(receiver) => Argument::Receiver(Box::new(receiver.clone())),
        FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(PatIdent {
                by_ref: None,
                subpat: None,
                ident,
                ..
            }) => Argument::Named(ident.clone()),
            pattern => Argument::Pattern(Box::new(pattern.clone())),
        },
    }
}

/// Classifies a return type by the last segment of its path.
pub fn returns(ty: &Type) -> Returns {
    let boxed = || Box::new(ty.clone());
    if is_dataflow(ty) {
        return Returns::DataFlow(boxed());
    }
    let is_result = last_segment(ty).is_some_and(|segment| {
        segment.ident == "Result" && first_type_argument(segment).is_some_and(is_dataflow)
    });
    let is_guard = last_segment(ty).is_some_and(|s| s.ident == "TestDataFlow");
    if is_result {
        Returns::Result(boxed())
    } else if is_guard {
        Returns::Guard(boxed())
    } else {
        Returns::Other(boxed())
    }
}

/// Whether `ty` is `DataFlow` (or `some::path::DataFlow`) without generic arguments.
fn is_dataflow(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "DataFlow" && s.arguments.is_none())
}

/// The last segment of a plain path type (`a::b::C<T>` gives `C<T>`).
fn last_segment(ty: &Type) -> Option<&PathSegment> {
    match ty {
        Type::Path(TypePath { qself: None, path }) => path.segments.last(),
        Type::Group(group) => last_segment(&group.elem),
        Type::Paren(paren) => last_segment(&paren.elem),
        _ => None,
    }
}

/// `T` when the segment is `Name<T>` or `Name<T, E>`: one or two arguments, all types.
fn first_type_argument(segment: &PathSegment) -> Option<&Type> {
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    let all_types = arguments
        .args
        .iter()
        .all(|argument| matches!(argument, GenericArgument::Type(_)));
    match arguments.args.first() {
        Some(GenericArgument::Type(ty)) if all_types && arguments.args.len() <= 2 => Some(ty),
        _ => None,
    }
}

/// The keyword of an item that is not a function (`struct`, `impl`, ...), or its first token.
fn keyword_span(item: &Item) -> Span {
    match item {
        Item::Struct(item) => item.struct_token.span,
        Item::Enum(item) => item.enum_token.span,
        Item::Union(item) => item.union_token.span,
        Item::Const(item) => item.const_token.span,
        Item::Static(item) => item.static_token.span,
        Item::Type(item) => item.type_token.span,
        Item::Trait(item) => item.trait_token.span,
        Item::Impl(item) => item.impl_token.span,
        Item::Mod(item) => item.mod_token.span,
        Item::Use(item) => item.use_token.span,
        Item::ExternCrate(item) => item.extern_token.span,
        Item::ForeignMod(item) => item.abi.extern_token.span,
        Item::Macro(item) => item.mac.path.span(),
        other => other.span(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;
    use syn::parse_quote;

    fn function(item: TokenStream) -> FixtureFn {
        match FixtureInput::parse(TokenStream::new(), item).unwrap().item {
            FixtureItem::Function(function) => *function,
            FixtureItem::NotAFunction(_) => panic!("a function"),
        }
    }

    fn with_options(args: TokenStream) -> FixtureInput {
        FixtureInput::parse(
            args,
            quote!(
                fn db() -> DataFlow {
                    panic!("parsed, never run")
                }
            ),
        )
        .unwrap()
    }

    #[test]
    fn return_types_are_recognised_by_their_last_path_segment() {
        let dataflow: [Type; 3] = [
            parse_quote!(DataFlow),
            parse_quote!(dataflow::DataFlow),
            parse_quote!(::dataflow::DataFlow),
        ];
        for ty in dataflow {
            assert!(
                matches!(returns(&ty), Returns::DataFlow(_)),
                "{}",
                quote!(#ty)
            );
        }
        let results: [Type; 5] = [
            parse_quote!(Result<DataFlow, dataflow::Error>),
            parse_quote!(dataflow::Result<DataFlow>),
            parse_quote!(std::result::Result<dataflow::DataFlow, Box<dyn std::error::Error>>),
            parse_quote!(anyhow::Result<DataFlow>),
            parse_quote!(::core::result::Result<::dataflow::DataFlow, String>),
        ];
        for ty in results {
            assert!(
                matches!(returns(&ty), Returns::Result(_)),
                "{}",
                quote!(#ty)
            );
        }
    }

    #[test]
    fn other_return_types_are_kept_to_be_reported() {
        assert!(matches!(
            returns(&parse_quote!(dataflow_testing::TestDataFlow)),
            Returns::Guard(_)
        ));
        let others: [Type; 7] = [
            parse_quote!(()),
            parse_quote!(Option<DataFlow>),
            parse_quote!(Result<String, Error>),
            parse_quote!(Result),
            parse_quote!(DataFlow<T>),
            parse_quote!(&DataFlow),
            parse_quote!(impl Into<DataFlow>),
        ];
        for ty in others {
            assert!(matches!(returns(&ty), Returns::Other(_)), "{}", quote!(#ty));
        }
    }

    #[test]
    fn a_missing_return_type_is_recorded() {
        let function = function(quote!(
            fn db() {}
        ));
        assert!(matches!(function.returns, Returns::Missing(_)));
    }

    #[test]
    fn arguments_are_read_with_their_bindings() {
        let function = function(quote! {
            fn db(
                #[from(temp_database)] tmp: TempDatabase,
                mut count: u32,
                (a, b): (u8, u8),
                _: String,
                ref r: u8,
            ) -> DataFlow { panic!("parsed, never run") }
        });
        let kinds: Vec<String> = function
            .arguments
            .iter()
            .map(|argument| match argument {
                Argument::Named(ident) => ident.to_string(),
                Argument::Receiver(_) => "self".to_owned(),
                Argument::Pattern(_) => "pattern".to_owned(),
            })
            .collect();
        assert_eq!(kinds, ["tmp", "count", "pattern", "pattern", "pattern"]);
    }

    #[test]
    fn a_receiver_is_recorded() {
        let function = function(quote!(
            fn db(&self) -> DataFlow {
                panic!("parsed, never run")
            }
        ));
        assert!(matches!(function.arguments[0], Argument::Receiver(_)));
    }

    #[test]
    fn an_item_that_is_not_a_function_is_recorded() {
        let input = FixtureInput::parse(
            TokenStream::new(),
            quote!(
                struct Db;
            ),
        )
        .unwrap();
        assert!(matches!(input.item, FixtureItem::NotAFunction(_)));
    }

    #[test]
    fn no_options_choose_nothing() {
        let input = with_options(TokenStream::new());
        assert!(input.options.is_empty());
        assert!(input.syntax_error.is_none());
        assert_eq!(input.leak_check(), None);
        assert_eq!(input.keep_on_failure(), None);
    }

    #[test]
    fn every_option_form_is_read() {
        let input = with_options(quote!(leak_check = "global", keep_on_failure));
        assert!(input.syntax_error.is_none());
        assert_eq!(input.leak_check(), Some(LeakCheck::Global));
        assert_eq!(input.keep_on_failure(), Some(true));

        let input = with_options(quote!(keep_on_failure = false, leak_check = "off",));
        assert!(input.syntax_error.is_none());
        assert_eq!(input.leak_check(), Some(LeakCheck::Off));
        assert_eq!(input.keep_on_failure(), Some(false));
    }

    #[test]
    fn every_leak_check_is_named_by_its_value() {
        for check in LeakCheck::ALL {
            assert_eq!(LeakCheck::from_value(check.value()), Some(check));
        }
        assert_eq!(LeakCheck::choices(), r#""scoped", "global" or "off""#);
        assert_eq!(LeakCheck::from_value("Global"), None);
    }

    #[test]
    fn unknown_keys_are_kept_whatever_their_form() {
        let input = with_options(quote!(leak = "off", transaction, timeout(5)));
        assert!(input.syntax_error.is_none());
        let unknown: Vec<String> = input
            .options
            .iter()
            .map(|option| match option {
                FixtureOption::Unknown(path) => quote!(#path).to_string(),
                _ => panic!("only unknown keys"),
            })
            .collect();
        assert_eq!(unknown, ["leak", "transaction", "timeout"]);
    }

    #[test]
    fn values_of_the_wrong_kind_are_kept_as_errors_in_order() {
        let input = with_options(quote!(
            leak_check,
            leak_check = global,
            leak_check("off"),
            keep_on_failure = "yes",
            keep_on_failure(true),
        ));
        assert!(input.syntax_error.is_none());
        let malformed = input
            .options
            .iter()
            .filter(|option| matches!(option, FixtureOption::Malformed(_)))
            .count();
        assert_eq!(malformed, 5);
    }

    #[test]
    fn unreadable_options_are_a_syntax_error() {
        let input = with_options(quote!(leak_check = ));
        assert!(input.options.is_empty());
        assert!(input.syntax_error.is_some());
    }

    #[test]
    fn an_invalid_leak_check_value_is_kept_to_be_reported() {
        let input = with_options(quote!(leak_check = "strict"));
        assert!(input.syntax_error.is_none());
        assert!(
            matches!(&input.options[0], FixtureOption::LeakCheck { value, .. } if value.value() == "strict")
        );
        assert_eq!(input.leak_check(), None);
    }
}
