//! From syn's `DeriveInput` to a [`ModelInput`]: what the user wrote, read leniently.
//!
//! Parsing only fails on attribute syntax it cannot read; everything else (a missing `id`,
//! an unsupported type, ...) is recorded as written and judged by `error.rs`, so that every
//! problem is reported at once.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::{
    Attribute, Data, DeriveInput, Expr, ExprLit, Field, Fields, GenericArgument, Generics, Ident,
    Lit, LitBool, LitInt, LitStr, Meta, MetaList, MetaNameValue, Path, PathArguments, PathSegment,
    Token, Type, TypePath,
};

/// The name of the helper attribute: `#[dataflow(...)]`.
const ATTRIBUTE: &str = "dataflow";

/// A type deriving `Model`, as written.
pub struct ModelInput {
    /// The struct's name, which is the model name.
    pub ident: Ident,
    /// Its generic parameters (a model may not have any).
    pub generics: Generics,
    /// Its fields, or where it is not a struct with named fields.
    pub body: Body,
    /// The keys of its `#[dataflow(...)]` attributes, in order.
    pub options: Vec<ModelOption>,
    /// Attribute syntax that could not be read.
    pub syntax_errors: Vec<syn::Error>,
}

/// The body of the deriving type.
pub enum Body {
    /// A struct with named fields.
    Fields(Vec<FieldInput>),
    /// An enum, a union, a tuple or unit struct: the span an error should point at.
    NotNamedStruct(Span),
}

/// One key of a `#[dataflow(...)]` attribute on the struct.
pub enum ModelOption {
    /// `table = "name"`.
    Table {
        /// The `table` key.
        key: Path,
        /// The table name, not yet checked.
        name: LitStr,
    },
    /// `unique(a, b)`: a unique constraint over fields.
    Unique {
        /// The `unique` key.
        key: Path,
        /// The fields as written, not yet checked.
        fields: Vec<Ident>,
    },
    /// `index(a, b)`: an index over fields.
    Index {
        /// The `index` key.
        key: Path,
        /// The fields as written, not yet checked.
        fields: Vec<Ident>,
    },
    /// `timestamps = false`.
    Timestamps {
        /// The `timestamps` key.
        key: Path,
        /// The value.
        value: LitBool,
    },
    /// Any other key.
    Unknown(Path),
}

/// One key of a `#[dataflow(...)]` attribute on a field.
pub enum FieldOption {
    /// `unique`: a unique constraint on this field alone.
    Unique(Path),
    /// `index`: an index on this field alone.
    Index(Path),
    /// `decimal(precision, scale)`: the digits of a decimal column.
    Decimal {
        /// The `decimal` key.
        key: Path,
        /// The two numbers, or what was written instead.
        digits: syn::Result<(LitInt, LitInt)>,
    },
    /// Any other key, or a known key in another form (`unique = true`).
    Unknown(Path),
}

/// One named field.
pub struct FieldInput {
    /// The field as written, `r#` included.
    pub ident: Ident,
    /// The column name: the identifier without `r#`.
    pub name: String,
    /// The field's type.
    pub ty: Type,
    /// How the type is stored, or why it cannot be.
    pub column: Result<Column, TypeError>,
    /// The keys of the field's `#[dataflow(...)]` attributes, in order.
    pub options: Vec<FieldOption>,
}

/// How a field is stored: a `dataflow::FieldType` and whether it may be null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The stored type.
    pub kind: Kind,
    /// `Option<T>` in the struct.
    pub nullable: bool,
}

/// The supported field types, mirroring `dataflow::FieldType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `String`.
    String,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `bool`.
    Bool,
    /// `Vec<u8>`.
    Bytes,
    /// `serde_json::Value`.
    Json,
    /// `chrono::DateTime<Utc>`.
    DateTime,
    /// `chrono::NaiveDateTime`.
    NaiveDateTime,
    /// `chrono::NaiveDate`.
    Date,
    /// `uuid::Uuid`.
    Uuid,
    /// `rust_decimal::Decimal`.
    Decimal,
}

impl Kind {
    /// The name of the matching `dataflow::FieldType` variant.
    pub fn variant(self) -> &'static str {
        match self {
            Kind::String => "String",
            Kind::I16 => "I16",
            Kind::I32 => "I32",
            Kind::I64 => "I64",
            Kind::F32 => "F32",
            Kind::F64 => "F64",
            Kind::Bool => "Bool",
            Kind::Bytes => "Bytes",
            Kind::Json => "Json",
            Kind::DateTime => "DateTime",
            Kind::NaiveDateTime => "NaiveDateTime",
            Kind::Date => "Date",
            Kind::Uuid => "Uuid",
            Kind::Decimal => "Decimal",
        }
    }
}

/// Why a field type has no column type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeError {
    /// Not a supported type: the offending type (inside the `Option`, if any).
    Unsupported(Box<Type>),
    /// `Option<Option<T>>`.
    NestedOption,
}

impl ModelInput {
    /// Reads a derive input. Never fails: problems are recorded for `error::check`.
    pub fn from_derive(input: &DeriveInput) -> Self {
        let mut syntax_errors = Vec::new();
        let options = options(&input.attrs, &mut syntax_errors);
        let body = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Body::Fields(
                    named
                        .named
                        .iter()
                        .map(|f| field(f, &mut syntax_errors))
                        .collect(),
                ),
                Fields::Unnamed(unnamed) => Body::NotNamedStruct(unnamed.paren_token.span.join()),
                Fields::Unit => Body::NotNamedStruct(input.ident.span()),
            },
            Data::Enum(data) => Body::NotNamedStruct(data.enum_token.span),
            Data::Union(data) => Body::NotNamedStruct(data.union_token.span),
        };
        ModelInput {
            ident: input.ident.clone(),
            generics: input.generics.clone(),
            body,
            options,
            syntax_errors,
        }
    }

    /// The table name given with `#[dataflow(table = "...")]`, if any.
    pub fn table(&self) -> Option<&LitStr> {
        self.options.iter().find_map(|option| match option {
            ModelOption::Table { name, .. } => Some(name),
            _ => None,
        })
    }

    /// Whether the table has `created_at` / `updated_at` (`timestamps = false` says not).
    pub fn timestamps(&self) -> bool {
        self.options.iter().all(|option| match option {
            ModelOption::Timestamps { value, .. } => value.value,
            _ => true,
        })
    }
}

/// Whether `attr` is `#[dataflow(...)]`.
fn is_ours(attr: &Attribute) -> bool {
    attr.path().is_ident(ATTRIBUTE)
}

/// The keys of every `#[dataflow(...)]` attribute, recording those it cannot read.
fn options(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> Vec<ModelOption> {
    let mut options = Vec::new();
    for attr in attrs.iter().filter(|attr| is_ours(attr)) {
        match attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
            Ok(metas) => {
                for meta in metas {
                    match option(meta) {
                        Ok(option) => options.push(option),
                        Err(error) => errors.push(error),
                    }
                }
            }
            Err(error) => errors.push(error),
        }
    }
    options
}

/// One key: `table = "name"`, `unique(a, b)`, `index(a, b)`, `timestamps = bool`, or an
/// unknown key whatever its form.
fn option(meta: Meta) -> syn::Result<ModelOption> {
    let path = meta.path().clone();
    if path.is_ident("unique") || path.is_ident("index") {
        let Meta::List(list) = meta else {
            return Err(syn::Error::new_spanned(
                meta,
                format!(
                    "expected `{}(field, ...)` on the struct, or `#[dataflow({})]` on a field",
                    path.get_ident().map(Ident::to_string).unwrap_or_default(),
                    path.get_ident().map(Ident::to_string).unwrap_or_default(),
                ),
            ));
        };
        let fields = field_list(&list)?;
        return Ok(match path.is_ident("unique") {
            true => ModelOption::Unique { key: path, fields },
            false => ModelOption::Index { key: path, fields },
        });
    }
    if path.is_ident("timestamps") {
        return match literal(&meta) {
            Some((path, Lit::Bool(value))) => Ok(ModelOption::Timestamps { key: path, value }),
            _ => Err(syn::Error::new_spanned(
                meta,
                "expected `timestamps = false` (or `true`, the default)",
            )),
        };
    }
    if !path.is_ident("table") {
        return Ok(ModelOption::Unknown(path));
    }
    let expected = "expected `table = \"name\"`, the table name as a string literal";
    match literal(&meta) {
        Some((path, Lit::Str(name))) => Ok(ModelOption::Table { key: path, name }),
        _ => Err(syn::Error::new_spanned(meta, expected)),
    }
}

/// `key = literal`, if the meta has that form.
fn literal(meta: &Meta) -> Option<(Path, Lit)> {
    match meta {
        Meta::NameValue(MetaNameValue {
            path,
            value: Expr::Lit(ExprLit { lit, .. }),
            ..
        }) => Some((path.clone(), lit.clone())),
        _ => None,
    }
}

/// The field names of `unique(a, b)`, with raw identifiers as written.
fn field_list(list: &MetaList) -> syn::Result<Vec<Ident>> {
    let fields = list.parse_args_with(Punctuated::<Ident, Token![,]>::parse_terminated)?;
    Ok(fields.into_iter().collect())
}

/// The `10, 2` of `decimal(10, 2)`.
fn two_numbers(list: &MetaList) -> syn::Result<(LitInt, LitInt)> {
    let numbers = list.parse_args_with(Punctuated::<LitInt, Token![,]>::parse_terminated)?;
    let mut numbers = numbers.into_iter();
    match (numbers.next(), numbers.next(), numbers.next()) {
        (Some(precision), Some(scale), None) => Ok((precision, scale)),
        _ => Err(syn::Error::new_spanned(
            list,
            "expected `decimal(precision, scale)`, two numbers such as `decimal(10, 2)`",
        )),
    }
}

/// The keys of a field's `#[dataflow(...)]` attributes.
fn field_options(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> Vec<FieldOption> {
    let mut options = Vec::new();
    for attr in attrs.iter().filter(|attr| is_ours(attr)) {
        match attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
            Ok(metas) => options.extend(metas.into_iter().map(|meta| match meta {
                Meta::Path(path) if path.is_ident("unique") => FieldOption::Unique(path),
                Meta::Path(path) if path.is_ident("index") => FieldOption::Index(path),
                Meta::List(list) if list.path.is_ident("decimal") => FieldOption::Decimal {
                    key: list.path.clone(),
                    digits: two_numbers(&list),
                },
                other => FieldOption::Unknown(other.path().clone()),
            })),
            Err(error) => errors.push(error),
        }
    }
    options
}

fn field(field: &Field, errors: &mut Vec<syn::Error>) -> FieldInput {
    // Only called on named fields, which always have an identifier.
    let ident = field
        .ident
        .clone()
        .expect("a named field has an identifier");
    FieldInput {
        name: ident.unraw().to_string(),
        ident,
        ty: field.ty.clone(),
        column: column(&field.ty),
        options: field_options(&field.attrs, errors),
    }
}

/// How `ty` is stored, recognising types by the last segment of their path.
pub fn column(ty: &Type) -> Result<Column, TypeError> {
    match type_argument(ty, "Option") {
        Some(inner) if type_argument(inner, "Option").is_some() => Err(TypeError::NestedOption),
        Some(inner) => kind(inner).map(|kind| Column {
            kind,
            nullable: true,
        }),
        None => kind(ty).map(|kind| Column {
            kind,
            nullable: false,
        }),
    }
}

/// The column type of a type that is not an `Option`.
fn kind(ty: &Type) -> Result<Kind, TypeError> {
    let unsupported = || TypeError::Unsupported(Box::new(ty.clone()));
    let segment = last_segment(ty).ok_or_else(unsupported)?;
    if segment.arguments.is_none() {
        return match segment.ident.to_string().as_str() {
            "String" => Ok(Kind::String),
            "i16" => Ok(Kind::I16),
            "i32" => Ok(Kind::I32),
            "f32" => Ok(Kind::F32),
            "NaiveDate" => Ok(Kind::Date),
            "Uuid" => Ok(Kind::Uuid),
            "Decimal" => Ok(Kind::Decimal),
            "i64" => Ok(Kind::I64),
            "f64" => Ok(Kind::F64),
            "bool" => Ok(Kind::Bool),
            "Value" => Ok(Kind::Json),
            "NaiveDateTime" => Ok(Kind::NaiveDateTime),
            _ => Err(unsupported()),
        };
    }
    let argument_is = |name: &str| single_type_argument(segment).is_some_and(|t| is_plain(t, name));
    if segment.ident == "Vec" && argument_is("u8") {
        Ok(Kind::Bytes)
    } else if segment.ident == "DateTime" && argument_is("Utc") {
        Ok(Kind::DateTime)
    } else {
        Err(unsupported())
    }
}

/// `T` when `ty` is `Wrapper<T>` (by last path segment).
fn type_argument<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let segment = last_segment(ty)?;
    if segment.ident == wrapper {
        single_type_argument(segment)
    } else {
        None
    }
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

/// `T` when the segment is `Name<T>` with exactly one argument, a type.
fn single_type_argument(segment: &PathSegment) -> Option<&Type> {
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    match arguments.args.first() {
        Some(GenericArgument::Type(ty)) if arguments.args.len() == 1 => Some(ty),
        _ => None,
    }
}

/// Whether `ty` is the path type `name` (or `some::path::name`) without generic arguments.
fn is_plain(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == name && s.arguments.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn required(kind: Kind) -> Result<Column, TypeError> {
        Ok(Column {
            kind,
            nullable: false,
        })
    }

    fn nullable(kind: Kind) -> Result<Column, TypeError> {
        Ok(Column {
            kind,
            nullable: true,
        })
    }

    #[test]
    fn every_supported_type_maps_to_its_field_type() {
        let cases: [(Type, Kind); 14] = [
            (parse_quote!(i16), Kind::I16),
            (parse_quote!(f32), Kind::F32),
            (parse_quote!(chrono::NaiveDate), Kind::Date),
            (parse_quote!(uuid::Uuid), Kind::Uuid),
            (parse_quote!(rust_decimal::Decimal), Kind::Decimal),
            (parse_quote!(String), Kind::String),
            (parse_quote!(i32), Kind::I32),
            (parse_quote!(i64), Kind::I64),
            (parse_quote!(f64), Kind::F64),
            (parse_quote!(bool), Kind::Bool),
            (parse_quote!(Vec<u8>), Kind::Bytes),
            (parse_quote!(Value), Kind::Json),
            (parse_quote!(DateTime<Utc>), Kind::DateTime),
            (parse_quote!(NaiveDateTime), Kind::NaiveDateTime),
        ];
        for (ty, kind) in cases {
            assert_eq!(column(&ty), required(kind), "{}", quote::quote!(#ty));
        }
    }

    #[test]
    fn types_are_recognised_by_their_last_path_segment() {
        let cases: [(Type, Kind); 6] = [
            (parse_quote!(std::string::String), Kind::String),
            (
                parse_quote!(::std::vec::Vec<::core::primitive::u8>),
                Kind::Bytes,
            ),
            (parse_quote!(serde_json::Value), Kind::Json),
            (parse_quote!(chrono::DateTime<chrono::Utc>), Kind::DateTime),
            (parse_quote!(chrono::NaiveDateTime), Kind::NaiveDateTime),
            (parse_quote!((i64)), Kind::I64),
        ];
        for (ty, kind) in cases {
            assert_eq!(column(&ty), required(kind), "{}", quote::quote!(#ty));
        }
    }

    #[test]
    fn an_option_is_a_nullable_column_of_its_argument() {
        assert_eq!(
            column(&parse_quote!(Option<String>)),
            nullable(Kind::String)
        );
        assert_eq!(
            column(&parse_quote!(
                std::option::Option<chrono::DateTime<chrono::Utc>>
            )),
            nullable(Kind::DateTime)
        );
        assert_eq!(
            column(&parse_quote!(Option<Vec<u8>>)),
            nullable(Kind::Bytes)
        );
    }

    #[test]
    fn a_nested_option_is_rejected() {
        assert_eq!(
            column(&parse_quote!(Option<Option<i32>>)),
            Err(TypeError::NestedOption)
        );
    }

    #[test]
    fn unsupported_types_are_rejected_naming_the_offending_type() {
        let cases: [Type; 11] = [
            parse_quote!(u32),
            parse_quote!(u16),
            parse_quote!(&'static str),
            parse_quote!((i32, i32)),
            parse_quote!(Vec<String>),
            parse_quote!(Vec<u8, MyAlloc>),
            parse_quote!(DateTime<Local>),
            parse_quote!(DateTime),
            parse_quote!(String<T>),
            parse_quote!(<T as Trait>::String),
            parse_quote!([u8; 4]),
        ];
        for ty in cases {
            let expected = Err(TypeError::Unsupported(Box::new(ty.clone())));
            assert_eq!(column(&ty), expected, "{}", quote::quote!(#ty));
        }
        let inner: Type = parse_quote!(u32);
        assert_eq!(
            column(&parse_quote!(Option<u32>)),
            Err(TypeError::Unsupported(Box::new(inner)))
        );
    }

    #[test]
    fn raw_identifiers_give_plain_column_names() {
        let input: DeriveInput = parse_quote! {
            struct Item { id: i64, r#type: String }
        };
        let Body::Fields(fields) = ModelInput::from_derive(&input).body else {
            panic!("a struct with named fields");
        };
        assert_eq!(fields[1].name, "type");
    }

    #[test]
    fn the_table_option_is_read_and_unknown_keys_are_kept() {
        let input: DeriveInput = parse_quote! {
            #[dataflow(table = "people", schema = "x")]
            struct User { id: i64 }
        };
        let model = ModelInput::from_derive(&input);
        assert_eq!(model.table().map(LitStr::value).as_deref(), Some("people"));
        assert!(matches!(&model.options[1], ModelOption::Unknown(p) if p.is_ident("schema")));
        assert!(model.syntax_errors.is_empty());
    }

    #[test]
    fn keys_timestamps_and_field_options_are_read() {
        let input: DeriveInput = parse_quote! {
            #[dataflow(unique(team, r#type), index(team), timestamps = false)]
            struct Member { id: i64, #[dataflow(unique, index)] email: String, team: i64, r#type: String }
        };
        let model = ModelInput::from_derive(&input);
        assert!(model.syntax_errors.is_empty());
        assert!(!model.timestamps());
        assert!(
            matches!(&model.options[0], ModelOption::Unique { fields, .. } if fields.len() == 2)
        );
        assert!(
            matches!(&model.options[1], ModelOption::Index { fields, .. } if fields.len() == 1)
        );
        let Body::Fields(fields) = &model.body else {
            panic!("a struct with named fields");
        };
        assert!(matches!(
            fields[1].options.as_slice(),
            [FieldOption::Unique(_), FieldOption::Index(_)]
        ));
    }

    #[test]
    fn a_table_option_without_a_string_is_a_syntax_error() {
        let input: DeriveInput = parse_quote! {
            #[dataflow(table = people)]
            #[dataflow]
            struct User { id: i64 }
        };
        assert_eq!(ModelInput::from_derive(&input).syntax_errors.len(), 2);
    }
}
