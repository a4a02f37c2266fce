//! The generated `impl ::dataflow::Model`, for a [`ModelInput`] that passed every check.
//!
//! Every path is absolute and goes through `::dataflow` (its `__private` module for
//! dependencies), so users need no other crate in scope.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::LitStr;

use crate::parse::{Body, FieldInput, FieldOption, ModelInput, ModelOption};

/// `impl ::dataflow::Model for Name`, building the schema once.
pub fn model_impl(model: &ModelInput) -> TokenStream {
    let ident = &model.ident;
    let name = LitStr::new(&ident.unraw().to_string(), ident.span());
    let table = model.table().map(|table| quote!(.with_table(#table)));
    let no_fields = Vec::new();
    let fields = match &model.body {
        Body::Fields(fields) => fields,
        Body::NotNamedStruct(_) => &no_fields,
    };
    let keys = fields
        .iter()
        .flat_map(field_keys)
        .chain(model.options.iter().filter_map(model_key));
    let fields = fields.iter().map(field);
    let timestamps = (!model.timestamps()).then(|| quote!(.timestamps(false)));
    quote! {
        #[automatically_derived]
        impl ::dataflow::Model for #ident {
            fn schema() -> &'static ::dataflow::ModelSchema {
                static SCHEMA: ::dataflow::__private::OnceLock<::dataflow::ModelSchema> =
                    ::dataflow::__private::OnceLock::new();
                SCHEMA.get_or_init(|| {
                    ::dataflow::ModelSchema::new(#name)
                        #table
                        #(#fields)*
                        #(#keys)*
                        #timestamps
                })
            }
        }
    }
}

/// `.field("name", ::dataflow::FieldType::X)`, or `.nullable_field(...)`.
fn field(field: &FieldInput) -> TokenStream {
    // `error::check` rejected every field without a column type.
    let Ok(column) = &field.column else {
        return TokenStream::new();
    };
    let name = LitStr::new(&field.name, field.ident.span());
    let method = if column.nullable {
        quote!(nullable_field)
    } else {
        quote!(field)
    };
    let variant = Ident::new(column.kind.variant(), Span::call_site());
    quote!(.#method(#name, ::dataflow::FieldType::#variant))
}

/// `.unique(["a", "b"])` or `.index([...])` for a struct option.
fn model_key(option: &ModelOption) -> Option<TokenStream> {
    let (method, fields) = match option {
        ModelOption::Unique { fields, .. } => (quote!(unique), fields),
        ModelOption::Index { fields, .. } => (quote!(index), fields),
        _ => return None,
    };
    let names = fields
        .iter()
        .map(|f| LitStr::new(&f.unraw().to_string(), f.span()));
    Some(quote!(.#method([#(#names),*])))
}

/// `.unique(["field"])` / `.index(["field"])` / `.digits("field", p, s)` for each option of
/// one field.
fn field_keys(field: &FieldInput) -> Vec<TokenStream> {
    let name = LitStr::new(&field.name, field.ident.span());
    field
        .options
        .iter()
        .filter_map(|option| match option {
            FieldOption::Unique(_) => Some(quote!(.unique([#name]))),
            FieldOption::Index(_) => Some(quote!(.index([#name]))),
            FieldOption::Decimal {
                digits: Ok((precision, scale)),
                ..
            } => {
                // `error::check` parsed both as u8; written without a suffix.
                let digit = |n: &syn::LitInt| {
                    proc_macro2::Literal::u8_unsuffixed(n.base10_parse().unwrap_or_default())
                };
                let (precision, scale) = (digit(precision), digit(scale));
                Some(quote!(.digits(#name, #precision, #scale)))
            }
            FieldOption::Decimal { digits: Err(_), .. } | FieldOption::Unknown(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::{parse_quote, DeriveInput};

    #[test]
    fn the_impl_lists_fields_in_order_after_the_table_override() {
        let input: DeriveInput = parse_quote! {
            #[dataflow(table = "people")]
            struct User { id: i64, r#type: Option<String> }
        };
        let rendered = model_impl(&ModelInput::from_derive(&input)).to_string();
        let expected = quote! {
            ::dataflow::ModelSchema::new("User")
                .with_table("people")
                .field("id", ::dataflow::FieldType::I64)
                .nullable_field("type", ::dataflow::FieldType::String)
        }
        .to_string();
        assert!(rendered.contains(&expected), "{rendered}");
    }

    #[test]
    fn decimal_digits_are_given_after_the_fields_without_a_suffix() {
        let input: DeriveInput = parse_quote! {
            struct Price { id: i64, #[dataflow(decimal(10u8, 2))] amount: Decimal }
        };
        let rendered = model_impl(&ModelInput::from_derive(&input)).to_string();
        let expected = quote! {
            .field("amount", ::dataflow::FieldType::Decimal)
                .digits("amount", 10, 2)
        }
        .to_string();
        assert!(rendered.contains(&expected), "{rendered}");
    }

    #[test]
    fn field_keys_come_before_struct_keys_and_timestamps_last() {
        let input: DeriveInput = parse_quote! {
            #[dataflow(unique(team, email), timestamps = false)]
            struct Member { id: i64, #[dataflow(index)] email: String, team: i64 }
        };
        let rendered = model_impl(&ModelInput::from_derive(&input)).to_string();
        let expected = quote! {
            .field("team", ::dataflow::FieldType::I64)
                .index(["email"])
                .unique(["team", "email"])
                .timestamps(false)
        }
        .to_string();
        assert!(rendered.contains(&expected), "{rendered}");
    }
}
