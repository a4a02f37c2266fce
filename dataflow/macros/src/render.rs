//! The generated `impl ::dataflow::Model`, for a [`ModelInput`] that passed every check.
//!
//! Every path is absolute and goes through `::dataflow` (its `__private` module for
//! dependencies), so users need no other crate in scope.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::LitStr;

use crate::parse::{Body, FieldInput, ModelInput};

/// `impl ::dataflow::Model for Name`, building the schema once.
pub fn model_impl(model: &ModelInput) -> TokenStream {
    let ident = &model.ident;
    let name = LitStr::new(&ident.unraw().to_string(), ident.span());
    let table = model.table().map(|table| quote!(.with_table(#table)));
    let fields = match &model.body {
        Body::Fields(fields) => fields.iter().map(field).collect(),
        Body::NotNamedStruct(_) => Vec::new(),
    };
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
}
