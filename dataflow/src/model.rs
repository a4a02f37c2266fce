//! Models: the schema behind a `#[derive(Model)]` struct, and the names derived from it.

use crate::error::{Error, Result};

/// A struct whose rows a [`DataFlow`](crate::DataFlow) stores and whose nodes it generates.
///
/// Implement it with `#[derive(Model)]`; a hand-written implementation returns a
/// [`ModelSchema`] built at run time.
pub trait Model: 'static {
    /// The model's schema: name, table and fields.
    fn schema() -> &'static ModelSchema;
}

/// The type of a model field, as it is stored and as it appears in node parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldType {
    /// `String`: a JSON string.
    String,
    /// `i32`: a JSON integer in range.
    I32,
    /// `i64`: a JSON integer.
    I64,
    /// `f64`: a JSON number.
    F64,
    /// `bool`: a JSON boolean.
    Bool,
    /// `Vec<u8>`: a JSON array of bytes (0 to 255), as serde writes a `Vec<u8>`.
    Bytes,
    /// `serde_json::Value`: any JSON value.
    Json,
    /// `chrono::DateTime<Utc>`: an RFC 3339 string.
    DateTime,
    /// `chrono::NaiveDateTime`: an ISO 8601 string without offset.
    NaiveDateTime,
}

impl FieldType {
    /// How the type is named in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            FieldType::String => "a string",
            FieldType::I32 => "an integer (i32)",
            FieldType::I64 => "an integer (i64)",
            FieldType::F64 => "a number",
            FieldType::Bool => "a boolean",
            FieldType::Bytes => "an array of bytes (0-255)",
            FieldType::Json => "any JSON value",
            FieldType::DateTime => "an RFC 3339 date-time string",
            FieldType::NaiveDateTime => "an ISO 8601 date-time string",
        }
    }

    /// Whether the type is an integer (and so an `id` of this type auto-increments).
    pub fn is_integer(self) -> bool {
        matches!(self, FieldType::I32 | FieldType::I64)
    }
}

/// One field of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// The field (and column) name.
    pub name: String,
    /// Its type.
    pub ty: FieldType,
    /// Whether it may be null (`Option<T>` in the struct).
    pub nullable: bool,
}

/// The columns every table gets besides the model's fields, maintained by dataflow.
pub const TIMESTAMP_COLUMNS: [&str; 2] = ["created_at", "updated_at"];

/// A model's name, table and fields.
///
/// ```
/// use dataflow::{FieldType, ModelSchema};
///
/// let schema = ModelSchema::new("UserProfile")
///     .field("id", FieldType::I64)
///     .field("name", FieldType::String)
///     .nullable_field("bio", FieldType::String);
/// assert_eq!(schema.table(), "user_profiles");
/// assert!(schema.primary_key_auto_increments());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSchema {
    name: String,
    table: String,
    fields: Vec<FieldDef>,
}

impl ModelSchema {
    /// A schema with no fields, stored in the default table (see [`table_name`]).
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let table = table_name(&name);
        ModelSchema {
            name,
            table,
            fields: Vec::new(),
        }
    }

    /// Stores the model in `table` instead of the default.
    pub fn with_table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// Adds a field that may not be null.
    pub fn field(mut self, name: impl Into<String>, ty: FieldType) -> Self {
        self.fields.push(FieldDef {
            name: name.into(),
            ty,
            nullable: false,
        });
        self
    }

    /// Adds a field that may be null.
    pub fn nullable_field(mut self, name: impl Into<String>, ty: FieldType) -> Self {
        self.fields.push(FieldDef {
            name: name.into(),
            ty,
            nullable: true,
        });
        self
    }

    /// The model name, e.g. `"User"`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table name, e.g. `"users"`.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The model's own fields, `id` included, in declaration order.
    pub fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    /// The field called `name`, if the model has one.
    pub fn field_def(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The `id` field.
    ///
    /// A schema that passed [`validate`](Self::validate) always has one.
    pub fn primary_key(&self) -> Option<&FieldDef> {
        self.field_def("id")
    }

    /// Whether `id` is an integer the database assigns.
    pub fn primary_key_auto_increments(&self) -> bool {
        self.primary_key().is_some_and(|pk| pk.ty.is_integer())
    }

    /// Every column of the table in order: the fields, then `created_at` and `updated_at`.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .map(|f| f.name.as_str())
            .chain(TIMESTAMP_COLUMNS)
    }

    /// The `CREATE TABLE IF NOT EXISTS` statement dataflow runs for this model on `backend`
    /// (for a [valid](Self::validate) schema).
    ///
    /// ```
    /// use dataflow::{Backend, FieldType, ModelSchema};
    ///
    /// let sql = ModelSchema::new("Tag").field("id", FieldType::String).create_table_sql(Backend::Postgres);
    /// assert!(sql.starts_with("CREATE TABLE IF NOT EXISTS \"tags\""));
    /// ```
    pub fn create_table_sql(&self, backend: crate::Backend) -> String {
        crate::db::sql::create_table(backend, self).sql
    }

    /// Checks that every name is a plain identifier, that `id` exists with a supported type,
    /// and that no field is declared twice or takes a name dataflow maintains.
    pub fn validate(&self) -> Result<()> {
        validate_identifier("model", &self.name)?;
        validate_identifier("table", &self.table)?;
        let invalid = |reason: String| Error::InvalidModel {
            model: self.name.clone(),
            reason,
        };
        for (i, field) in self.fields.iter().enumerate() {
            validate_identifier("field", &field.name)?;
            if self.fields[..i].iter().any(|f| f.name == field.name) {
                return Err(invalid(format!("field `{}` is declared twice", field.name)));
            }
            if TIMESTAMP_COLUMNS.contains(&field.name.as_str()) {
                return Err(invalid(format!(
                    "`{}` is maintained by dataflow; remove the field",
                    field.name
                )));
            }
        }
        match self.primary_key() {
            None => Err(invalid("it has no `id` field".to_owned())),
            Some(pk) if pk.nullable => Err(invalid("`id` may not be optional".to_owned())),
            Some(pk) if !matches!(pk.ty, FieldType::String | FieldType::I32 | FieldType::I64) => {
                Err(invalid("`id` must be a String, i32 or i64".to_owned()))
            }
            Some(_) => Ok(()),
        }
    }
}

/// Checks that `name` is a plain SQL identifier: ASCII letters, digits and `_`, not starting
/// with a digit, at most 63 characters. `kind` names what it is for in the error.
///
/// ```
/// assert!(dataflow::validate_identifier("table", "users").is_ok());
/// assert!(dataflow::validate_identifier("table", "users; DROP TABLE x").is_err());
/// ```
pub fn validate_identifier(kind: &'static str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if starts_well && rest_ok && name.len() <= 63 {
        Ok(())
    } else {
        Err(Error::InvalidIdentifier {
            kind,
            name: name.to_owned(),
        })
    }
}

/// The default table of a model: its name in snake_case, pluralised.
///
/// ```
/// assert_eq!(dataflow::table_name("User"), "users");
/// assert_eq!(dataflow::table_name("UserProfile"), "user_profiles");
/// assert_eq!(dataflow::table_name("Category"), "categories");
/// assert_eq!(dataflow::table_name("Address"), "addresses");
/// assert_eq!(dataflow::table_name("HTTPRequest"), "http_requests");
/// ```
pub fn table_name(model: &str) -> String {
    let snake = snake_case(model);
    pluralize(&snake)
}

fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn pluralize(word: &str) -> String {
    let ends = |s: &str| word.ends_with(s);
    if ends("s") || ends("x") || ends("z") || ends("ch") || ends("sh") {
        format!("{word}es")
    } else if ends("y")
        && !word[..word.len() - 1].ends_with(|c: char| "aeiou".contains(c))
        && word.len() > 1
    {
        format!("{}ies", &word[..word.len() - 1])
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_snake_case_plurals() {
        for (model, table) in [
            ("User", "users"),
            ("UserProfile", "user_profiles"),
            ("Box", "boxes"),
            ("Key", "keys"),
            ("Story", "stories"),
            ("OrderItem2", "order_item2s"),
            ("Match", "matches"),
        ] {
            assert_eq!(table_name(model), table, "table of {model}");
        }
    }

    #[test]
    fn a_schema_without_id_is_rejected() {
        let err = ModelSchema::new("User")
            .field("name", FieldType::String)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("no `id` field"), "{err}");
    }

    #[test]
    fn a_schema_with_a_hostile_table_name_is_rejected() {
        let err = ModelSchema::new("User")
            .with_table("users; DROP TABLE x")
            .field("id", FieldType::String)
            .validate()
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidIdentifier { kind: "table", .. }),
            "{err}"
        );
    }

    #[test]
    fn maintained_columns_cannot_be_declared() {
        let err = ModelSchema::new("User")
            .field("id", FieldType::String)
            .field("created_at", FieldType::DateTime)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("maintained by dataflow"), "{err}");
    }
}
