//! The checks on a [`ModelInput`]: each is a small function returning the `syn::Error` to
//! report, spanned at the offending token, and [`check`] reports them all at once.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Error, Generics, Ident, LitStr, Path};

use crate::parse::{
    Body, Column, FieldInput, FieldOption, Kind, ModelInput, ModelOption, TypeError,
};

/// The columns dataflow adds to every table and maintains itself.
const MAINTAINED_COLUMNS: [&str; 2] = ["created_at", "updated_at"];

/// The most digits a decimal column may have, as `dataflow::Digits::MAX_PRECISION` says.
const MAX_PRECISION: u8 = 28;

/// What an identifier may be, as `dataflow::validate_identifier` words it.
const PLAIN_IDENTIFIER: &str =
    "a plain identifier: ASCII letters, digits and `_`, not starting with a digit, at most 63 characters";

/// The supported field types, for error messages.
const SUPPORTED_TYPES: &str = "String, i16, i32, i64, f32, f64, bool, Vec<u8>, serde_json::Value, \
     chrono::DateTime<Utc>, chrono::NaiveDateTime, chrono::NaiveDate, uuid::Uuid, \
     rust_decimal::Decimal, or Option<T> of one of them for a nullable column";

/// Every problem with `model`, combined into one error, or `Ok` when it can be rendered.
pub fn check(model: &ModelInput) -> syn::Result<()> {
    let mut errors = model.syntax_errors.clone();
    errors.extend(options(&model.options));
    errors.extend(model_name(&model.ident));
    errors.extend(generic_struct(&model.generics));
    match &model.body {
        Body::NotNamedStruct(span) => errors.push(not_a_struct_with_named_fields(*span)),
        Body::Fields(fields) => {
            errors.extend(missing_id(&model.ident, fields));
            errors.extend(key_fields(&model.options, fields));
            let timestamps = model.timestamps();
            errors.extend(fields.iter().flat_map(|f| field(f, timestamps)));
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

/// Unknown keys, a repeated `table` or `timestamps`, and a table name that is not a plain
/// identifier.
fn options(options: &[ModelOption]) -> Vec<Error> {
    let mut errors = Vec::new();
    let (mut seen_table, mut seen_timestamps) = (false, false);
    for option in options {
        match option {
            ModelOption::Table { key, name } => {
                if seen_table {
                    errors.push(given_twice(key, "the table name"));
                }
                seen_table = true;
                errors.extend(table_name(name));
            }
            ModelOption::Timestamps { key, .. } => {
                if seen_timestamps {
                    errors.push(given_twice(key, "it"));
                }
                seen_timestamps = true;
            }
            ModelOption::Unique { .. } | ModelOption::Index { .. } => {}
            ModelOption::Unknown(key) => errors.push(unknown_key(key)),
        }
    }
    errors
}

fn unknown_key(key: &Path) -> Error {
    Error::new_spanned(
        key,
        "unknown key in #[dataflow(...)]; the keys are `table = \"name\"`, `unique(field, ...)`, \
         `index(field, ...)` and `timestamps = false`",
    )
}

fn given_twice(key: &Path, what: &str) -> Error {
    let key_name = key.get_ident().map(Ident::to_string).unwrap_or_default();
    Error::new_spanned(
        key,
        format!("`{key_name}` is given twice; give {what} once"),
    )
}

/// The fields named by `unique(...)` and `index(...)`: each a field of the struct, none
/// twice, at least one.
fn key_fields(options: &[ModelOption], fields: &[FieldInput]) -> Vec<Error> {
    let mut errors = Vec::new();
    for option in options {
        let (key, named) = match option {
            ModelOption::Unique { key, fields } | ModelOption::Index { key, fields } => {
                (key, fields)
            }
            _ => continue,
        };
        let key_name = key.get_ident().map(Ident::to_string).unwrap_or_default();
        if named.is_empty() {
            errors.push(Error::new_spanned(
                key,
                format!("`{key_name}()` needs at least one field, as in `{key_name}(email)`"),
            ));
        }
        for (i, ident) in named.iter().enumerate() {
            let name = ident.unraw().to_string();
            if !fields.iter().any(|f| f.name == name) {
                let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                errors.push(Error::new(
                    ident.span(),
                    format!(
                        "`{key_name}` names `{name}`, which is not a field of the struct; \
                         the fields are: {}",
                        known.join(", ")
                    ),
                ));
            } else if named[..i]
                .iter()
                .any(|other| other.unraw() == ident.unraw())
            {
                errors.push(Error::new(
                    ident.span(),
                    format!("`{key_name}` names `{name}` twice"),
                ));
            }
        }
    }
    errors
}

fn table_name(name: &LitStr) -> Option<Error> {
    (!is_plain_identifier(&name.value())).then(|| {
        Error::new(
            name.span(),
            format!("the table name must be {PLAIN_IDENTIFIER}"),
        )
    })
}

fn model_name(ident: &Ident) -> Option<Error> {
    (!is_plain_identifier(&ident.unraw().to_string())).then(|| {
        Error::new(
            ident.span(),
            format!("the model name (the struct's name) must be {PLAIN_IDENTIFIER}"),
        )
    })
}

fn generic_struct(generics: &Generics) -> Option<Error> {
    (!generics.params.is_empty()).then(|| {
        Error::new_spanned(
            generics,
            "#[derive(Model)] does not support generic structs: a model is one table with fixed columns",
        )
    })
}

fn not_a_struct_with_named_fields(span: Span) -> Error {
    Error::new(span, "#[derive(Model)] needs a struct with named fields")
}

fn missing_id(model: &Ident, fields: &[FieldInput]) -> Option<Error> {
    (!fields.iter().any(|f| f.name == "id")).then(|| {
        Error::new(
            model.span(),
            "a model needs a field `id` (String, uuid::Uuid, i32 or i64): the primary key",
        )
    })
}

/// Every problem with one field.
fn field(field: &FieldInput, timestamps: bool) -> Vec<Error> {
    let mut errors: Vec<Error> = field
        .options
        .iter()
        .enumerate()
        .filter_map(|option| field_option(option, &field.options))
        .collect();
    errors.extend(decimal_digits(field));
    errors.extend(field_name(field));
    if timestamps && MAINTAINED_COLUMNS.contains(&field.name.as_str()) {
        errors.push(maintained_column(field));
    } else if field.name == "id" {
        errors.extend(id_type(field));
    } else if let Err(error) = &field.column {
        errors.push(field_type(field, error));
    }
    errors
}

fn field_option((i, option): (usize, &FieldOption), all: &[FieldOption]) -> Option<Error> {
    let same = |other: &FieldOption| {
        matches!(
            (option, other),
            (FieldOption::Unique(_), FieldOption::Unique(_))
                | (FieldOption::Index(_), FieldOption::Index(_))
                | (FieldOption::Decimal { .. }, FieldOption::Decimal { .. })
        )
    };
    let key = match option {
        FieldOption::Unique(key) | FieldOption::Index(key) | FieldOption::Decimal { key, .. }
            if all[..i].iter().any(same) =>
        {
            return Some(given_twice(key, "it"));
        }
        FieldOption::Unique(_) | FieldOption::Index(_) | FieldOption::Decimal { .. } => {
            return None
        }
        FieldOption::Unknown(key) => key,
    };
    Some(Error::new_spanned(
        key,
        "unknown field option; a field takes #[dataflow(unique)], #[dataflow(index)] or \
         #[dataflow(decimal(precision, scale))] (table options such as `table = \"...\"` go \
         on the struct)",
    ))
}

/// What is wrong with a field's `decimal(precision, scale)`: not two numbers, digits that
/// a `rust_decimal::Decimal` cannot hold, or a field that is not a decimal.
fn decimal_digits(field: &FieldInput) -> Vec<Error> {
    let mut errors = Vec::new();
    for option in &field.options {
        let FieldOption::Decimal { key, digits } = option else {
            continue;
        };
        let (precision, scale) = match digits {
            Ok(digits) => digits,
            Err(error) => {
                errors.push(error.clone());
                continue;
            }
        };
        if !matches!(
            &field.column,
            Ok(Column {
                kind: Kind::Decimal,
                ..
            })
        ) {
            errors.push(Error::new_spanned(
                key,
                "decimal(precision, scale) fits only a rust_decimal::Decimal field \
                 (or an Option of one)",
            ));
        }
        let precision_value = precision.base10_parse::<u8>().ok();
        match precision_value {
            Some(1..=MAX_PRECISION) => {}
            _ => errors.push(Error::new_spanned(
                precision,
                format!(
                    "the precision is the number of digits, 1 to {MAX_PRECISION} (what a \
                     rust_decimal::Decimal holds)"
                ),
            )),
        }
        let fits = scale
            .base10_parse::<u8>()
            .is_ok_and(|s| precision_value.is_none_or(|p| s <= p));
        if !fits {
            errors.push(Error::new_spanned(
                scale,
                "the scale is the number of digits after the point, at most the precision",
            ));
        }
    }
    errors
}

fn field_name(field: &FieldInput) -> Option<Error> {
    (!is_plain_identifier(&field.name)).then(|| {
        Error::new(
            field.ident.span(),
            format!("a field name must be {PLAIN_IDENTIFIER}"),
        )
    })
}

fn maintained_column(field: &FieldInput) -> Error {
    Error::new(
        field.ident.span(),
        format!(
            "`{}` is maintained by dataflow; remove the field, or leave the timestamps out \
             with #[dataflow(timestamps = false)] on the struct",
            field.name
        ),
    )
}

fn id_type(field: &FieldInput) -> Option<Error> {
    let message = match &field.column {
        Ok(Column {
            nullable: false,
            kind: Kind::String | Kind::Uuid | Kind::I32 | Kind::I64,
        }) => return None,
        Ok(Column { nullable: true, .. }) | Err(TypeError::NestedOption) => {
            "`id` may not be optional: every row has one"
        }
        _ => {
            "`id` must be String or uuid::Uuid (supplied by the caller), or i32 or i64 (assigned by the database)"
        }
    };
    Some(Error::new_spanned(&field.ty, message))
}

fn field_type(field: &FieldInput, error: &TypeError) -> Error {
    match error {
        TypeError::Unsupported(ty) => Error::new_spanned(
            ty,
            format!("unsupported field type; supported: {SUPPORTED_TYPES}"),
        ),
        TypeError::NestedOption => Error::new_spanned(
            &field.ty,
            "Option<Option<T>> is not supported: a column is nullable (Option<T>) or not",
        ),
    }
}

/// Mirrors `dataflow::validate_identifier`, which the runtime applies to the same names.
fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::{parse_quote, DeriveInput};

    fn errors(input: DeriveInput) -> Vec<String> {
        match check(&ModelInput::from_derive(&input)) {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_valid_model_has_no_errors() {
        let input = parse_quote! {
            #[dataflow(table = "people")]
            struct User { id: String, r#type: Option<i32> }
        };
        assert_eq!(errors(input), Vec::<String>::new());
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let input = parse_quote! {
            #[dataflow(table = "bad name", colour = "red")]
            struct User<T> { name: u32, created_at: String, tag: Option<Option<T>> }
        };
        let errors = errors(input);
        assert_eq!(errors.len(), 7, "{errors:#?}");
    }

    #[test]
    fn decimal_digits_are_checked_against_the_field_and_what_a_decimal_holds() {
        let input = parse_quote! {
            struct Price {
                id: i64,
                #[dataflow(decimal(10, 2))] fine: Option<rust_decimal::Decimal>,
                #[dataflow(decimal(10, 2))] count: i64,
                #[dataflow(decimal(29, 2))] wide: Decimal,
                #[dataflow(decimal(4, 5))] scaled: Decimal,
                #[dataflow(decimal(10))] one: Decimal,
                #[dataflow(decimal(10, 2), decimal(8, 2))] twice: Decimal,
            }
        };
        let errors = errors(input);
        assert_eq!(
            errors,
            [
                "decimal(precision, scale) fits only a rust_decimal::Decimal field (or an Option of one)",
                "the precision is the number of digits, 1 to 28 (what a rust_decimal::Decimal holds)",
                "the scale is the number of digits after the point, at most the precision",
                "expected `decimal(precision, scale)`, two numbers such as `decimal(10, 2)`",
                "`decimal` is given twice; give it once",
            ],
        );
    }

    #[test]
    fn a_plain_identifier_is_ascii_and_short() {
        assert!(is_plain_identifier("user_profiles"));
        assert!(is_plain_identifier("_x1"));
        assert!(is_plain_identifier(&"a".repeat(63)));
        assert!(!is_plain_identifier(&"a".repeat(64)));
        assert!(!is_plain_identifier("1users"));
        assert!(!is_plain_identifier("größe"));
        assert!(!is_plain_identifier("users; DROP TABLE x"));
        assert!(!is_plain_identifier(""));
    }
}
