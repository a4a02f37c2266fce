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
    /// `i16`: a JSON integer in range (`SMALLINT`).
    I16,
    /// `i32`: a JSON integer in range.
    I32,
    /// `i64`: a JSON integer.
    I64,
    /// `f32`: a JSON number (`REAL` / `FLOAT`), written back with `f32` precision.
    F32,
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
    /// `chrono::NaiveDate`: a `YYYY-MM-DD` string (`DATE`).
    Date,
    /// `uuid::Uuid`: a UUID string, written back hyphenated and lower-case (`UUID` on
    /// PostgreSQL, text elsewhere). Needs the crate feature `uuid` (on by default).
    Uuid,
    /// `rust_decimal::Decimal`: an exact decimal number as a JSON string such as `"12.50"`
    /// (a JSON number is accepted too), written back with the scale it is stored with
    /// (`"12.50"`). `NUMERIC` on PostgreSQL (which keeps each value's scale), text on SQLite
    /// (kept as written), `DECIMAL(65, 30)` on MySQL, whose 30 padding digits are dropped
    /// (`"12.5"`; a migrated `DECIMAL(p, s)` column gives its `s` digits). A field with
    /// fixed [`Digits`] (`#[dataflow(decimal(10, 2))]`) is `NUMERIC(10, 2)` /
    /// `DECIMAL(10, 2)` and reads back as `"12.50"` on every backend. On SQLite, filters
    /// compare it as text. Needs the crate feature `decimal` (on by default).
    Decimal,
}

impl FieldType {
    /// How the type is named in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            FieldType::String => "a string",
            FieldType::I16 => "an integer (i16)",
            FieldType::I32 => "an integer (i32)",
            FieldType::I64 => "an integer (i64)",
            FieldType::F32 | FieldType::F64 => "a number",
            FieldType::Bool => "a boolean",
            FieldType::Bytes => "an array of bytes (0-255)",
            FieldType::Json => "any JSON value",
            FieldType::DateTime => "an RFC 3339 date-time string",
            FieldType::NaiveDateTime => "an ISO 8601 date-time string",
            FieldType::Date => "a date string (YYYY-MM-DD)",
            FieldType::Uuid => "a UUID string",
            FieldType::Decimal => "a decimal number as a string (e.g. \"12.50\")",
        }
    }

    /// Whether the type is an integer that may be a primary key (and so an `id` of this
    /// type auto-increments).
    pub fn is_integer(self) -> bool {
        matches!(self, FieldType::I32 | FieldType::I64)
    }

    /// The crate feature this type needs, when it is not enabled.
    pub(crate) fn missing_feature(self) -> Option<&'static str> {
        match self {
            FieldType::Uuid if cfg!(not(feature = "uuid")) => Some("uuid"),
            FieldType::Decimal if cfg!(not(feature = "decimal")) => Some("decimal"),
            _ => None,
        }
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

/// The digits of a decimal column, `DECIMAL(precision, scale)`: at most `precision` digits,
/// `scale` of them after the point. `#[dataflow(decimal(10, 2))]` on a `Decimal` field, or
/// [`ModelSchema::digits`].
///
/// A value with more digits after the point, or more before it, is refused (an error naming
/// the field) rather than rounded by the database; one with fewer is stored with `scale`
/// digits, so `"12.5"` reads back as `"12.50"` on every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digits {
    /// All digits, 1 to [`Digits::MAX_PRECISION`].
    pub precision: u8,
    /// The digits after the point, at most `precision`.
    pub scale: u8,
}

impl Digits {
    /// The most digits a decimal field may have: what a `rust_decimal::Decimal` holds.
    pub const MAX_PRECISION: u8 = 28;

    /// The SQL type's spelling of these digits, e.g. `"(10, 2)"`.
    fn describe(self) -> String {
        format!("({}, {})", self.precision, self.scale)
    }
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
///     .field("email", FieldType::String)
///     .field("team", FieldType::I64)
///     .nullable_field("bio", FieldType::String)
///     .unique(["email"])
///     .index(["team", "email"]);
/// assert_eq!(schema.table(), "user_profiles");
/// assert!(schema.primary_key_auto_increments());
/// assert_eq!(schema.unique_constraints()[0].name, "user_profiles_email_key");
/// assert_eq!(schema.indexes()[0].name, "user_profiles_team_email_idx");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSchema {
    name: String,
    table: String,
    fields: Vec<FieldDef>,
    unique: Vec<KeyDef>,
    indexes: Vec<KeyDef>,
    timestamps: bool,
    digits: Vec<(String, Digits)>,
}

/// A unique constraint or an index over some columns of a model's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDef {
    /// Its name in the database: `<table>_<columns>_key` for a unique constraint,
    /// `<table>_<columns>_idx` for an index (how PostgreSQL names them by default).
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
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
            unique: Vec::new(),
            indexes: Vec::new(),
            timestamps: true,
            digits: Vec::new(),
        }
    }

    /// Stores the model in `table` instead of the default.
    pub fn with_table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        for key in self.unique.iter_mut().chain(&mut self.indexes) {
            key.name = key_name(&self.table, &key.columns, key.name.ends_with("_key"));
        }
        self
    }

    /// Adds a unique constraint over `columns` (one column, or several together), named
    /// `<table>_<columns>_key`.
    pub fn unique<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let columns: Vec<String> = columns.into_iter().map(Into::into).collect();
        let name = key_name(&self.table, &columns, true);
        self.unique.push(KeyDef { name, columns });
        self
    }

    /// Adds an index over `columns`, named `<table>_<columns>_idx`.
    pub fn index<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let columns: Vec<String> = columns.into_iter().map(Into::into).collect();
        let name = key_name(&self.table, &columns, false);
        self.indexes.push(KeyDef { name, columns });
        self
    }

    /// Whether the table has the `created_at` / `updated_at` columns dataflow maintains.
    /// Default: true.
    pub fn timestamps(mut self, timestamps: bool) -> Self {
        self.timestamps = timestamps;
        self
    }

    /// Fixes the digits of the decimal field `field`: `DECIMAL(precision, scale)` (see
    /// [`Digits`]). [`validate`](Self::validate) checks that `field` is a decimal field and
    /// that the digits fit.
    ///
    /// ```
    /// use dataflow::{Backend, FieldType, ModelSchema};
    ///
    /// let schema = ModelSchema::new("Price")
    ///     .field("id", FieldType::I64)
    ///     .field("amount", FieldType::Decimal)
    ///     .digits("amount", 10, 2);
    /// assert!(schema.create_table_sql(Backend::Postgres).contains("\"amount\" NUMERIC(10, 2) NOT NULL"));
    /// assert!(schema.create_table_sql(Backend::MySql).contains("`amount` DECIMAL(10, 2) NOT NULL"));
    /// assert!(ModelSchema::new("Price").field("id", FieldType::I64).digits("id", 10, 2).validate().is_err());
    /// ```
    pub fn digits(mut self, field: impl Into<String>, precision: u8, scale: u8) -> Self {
        self.digits
            .push((field.into(), Digits { precision, scale }));
        self
    }

    /// The fixed digits of a decimal field, if it has them (see [`digits`](Self::digits)).
    pub fn digits_of(&self, field: &str) -> Option<Digits> {
        self.digits
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, digits)| *digits)
    }

    /// Whether the table has `created_at` / `updated_at` (see [`timestamps`](Self::timestamps)).
    pub fn has_timestamps(&self) -> bool {
        self.timestamps
    }

    /// The unique constraints, in declaration order (the primary key not included).
    pub fn unique_constraints(&self) -> &[KeyDef] {
        &self.unique
    }

    /// The indexes, in declaration order.
    pub fn indexes(&self) -> &[KeyDef] {
        &self.indexes
    }

    /// The columns a constraint of the table's covers, by the constraint's name: the
    /// primary key (`<table>_pkey`, or MySQL's `PRIMARY`) or a unique constraint.
    pub fn constraint_columns(&self, constraint: &str) -> Option<Vec<String>> {
        if constraint == format!("{}_pkey", self.table) || constraint == "PRIMARY" {
            return Some(vec!["id".to_owned()]);
        }
        self.unique
            .iter()
            .find(|k| k.name == constraint)
            .map(|k| k.columns.clone())
    }

    /// The constraint over exactly `columns`: the primary key or a unique constraint.
    pub fn constraint_named_by_columns(&self, columns: &[String]) -> Option<String> {
        if columns == ["id"] {
            return Some(format!("{}_pkey", self.table));
        }
        self.unique
            .iter()
            .find(|k| k.columns == columns)
            .map(|k| k.name.clone())
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

    /// Every column of the table in order: the fields, then `created_at` and `updated_at`
    /// (unless [`timestamps(false)`](Self::timestamps)).
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        let timestamps: &[&str] = if self.timestamps {
            &TIMESTAMP_COLUMNS
        } else {
            &[]
        };
        self.fields
            .iter()
            .map(|f| f.name.as_str())
            .chain(timestamps.iter().copied())
    }

    /// The `CREATE TABLE IF NOT EXISTS` statement dataflow runs for this model on `backend`,
    /// followed by its `CREATE INDEX IF NOT EXISTS` statements (SQLite and PostgreSQL; MySQL
    /// declares indexes in the table), separated by `;`. A schema that does not pass
    /// [`validate`](Self::validate) has no SQL: the result is empty.
    ///
    /// ```
    /// use dataflow::{Backend, FieldType, ModelSchema};
    ///
    /// let sql = ModelSchema::new("Tag").field("id", FieldType::String).create_table_sql(Backend::Postgres);
    /// assert!(sql.starts_with("CREATE TABLE IF NOT EXISTS \"tags\""));
    /// let hostile = ModelSchema::new("Tag").with_table("t; DROP TABLE x").field("id", FieldType::String);
    /// assert_eq!(hostile.create_table_sql(Backend::Postgres), "");
    /// ```
    pub fn create_table_sql(&self, backend: crate::Backend) -> String {
        let Ok(schema) = crate::db::sql::ValidSchema::new(self.clone()) else {
            return String::new();
        };
        crate::db::sql::create_table(backend, &schema)
            .iter()
            .map(|q| q.sql.as_str())
            .collect::<Vec<_>>()
            .join(";\n")
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
            if let Some(feature) = field.ty.missing_feature() {
                return Err(invalid(format!(
                    "field `{}` needs the `{feature}` feature of dataflow",
                    field.name
                )));
            }
            if self.timestamps && TIMESTAMP_COLUMNS.contains(&field.name.as_str()) {
                return Err(invalid(format!(
                    "`{}` is maintained by dataflow; remove the field",
                    field.name
                )));
            }
        }
        for (i, (name, digits)) in self.digits.iter().enumerate() {
            let what = format!("decimal{} on `{name}`", digits.describe());
            match self.field_def(name) {
                None => return Err(invalid(format!("{what}: there is no such field"))),
                Some(f) if f.ty != FieldType::Decimal => {
                    return Err(invalid(format!(
                        "{what}: only a rust_decimal::Decimal field takes digits"
                    )))
                }
                Some(_) => {}
            }
            if self.digits[..i].iter().any(|(other, _)| other == name) {
                return Err(invalid(format!("{what}: the digits are given twice")));
            }
            if !(1..=Digits::MAX_PRECISION).contains(&digits.precision) {
                return Err(invalid(format!(
                    "{what}: the precision must be 1 to {} (what a Decimal holds)",
                    Digits::MAX_PRECISION
                )));
            }
            if digits.scale > digits.precision {
                return Err(invalid(format!(
                    "{what}: the scale (digits after the point) may not exceed the precision"
                )));
            }
        }
        let keys = [
            ("unique", "unique constraint", &self.unique),
            ("index", "index", &self.indexes),
        ];
        for (kind, what, keys) in keys {
            for (i, key) in keys.iter().enumerate() {
                validate_identifier(what, &key.name)?;
                if keys[..i].iter().any(|k| k.name == key.name) {
                    return Err(invalid(format!(
                        "{kind}({}) is declared twice",
                        key.columns.join(", ")
                    )));
                }
                if key.columns.is_empty() {
                    return Err(invalid(format!("{kind}() needs at least one field")));
                }
                for (i, column) in key.columns.iter().enumerate() {
                    if self.field_def(column).is_none() {
                        return Err(invalid(format!(
                            "{kind}({}) names `{column}`, which is not a field",
                            key.columns.join(", ")
                        )));
                    }
                    if key.columns[..i].contains(column) {
                        return Err(invalid(format!(
                            "{kind}({}) names `{column}` twice",
                            key.columns.join(", ")
                        )));
                    }
                }
            }
        }
        match self.primary_key() {
            None => Err(invalid("it has no `id` field".to_owned())),
            Some(pk) if pk.nullable => Err(invalid("`id` may not be optional".to_owned())),
            Some(pk)
                if !matches!(
                    pk.ty,
                    FieldType::String | FieldType::Uuid | FieldType::I32 | FieldType::I64
                ) =>
            {
                Err(invalid(
                    "`id` must be a String, Uuid, i32 or i64".to_owned(),
                ))
            }
            Some(_) => Ok(()),
        }
    }
}

/// `<table>_<col>_<col>_key` (unique) or `..._idx` (index).
fn key_name(table: &str, columns: &[String], unique: bool) -> String {
    let suffix = if unique { "key" } else { "idx" };
    format!("{table}_{}_{suffix}", columns.join("_"))
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

    #[test]
    fn decimal_digits_must_name_a_decimal_field_and_fit_a_decimal() {
        let schema = |field: &str, p: u8, s: u8| {
            ModelSchema::new("Price")
                .field("id", FieldType::I64)
                .field("amount", FieldType::Decimal)
                .digits(field, p, s)
        };
        assert!(schema("amount", 28, 28).validate().is_ok());
        assert_eq!(
            schema("amount", 10, 2).digits_of("amount"),
            Some(Digits {
                precision: 10,
                scale: 2
            })
        );
        for (bad, expected) in [
            (
                schema("id", 10, 2),
                "only a rust_decimal::Decimal field takes digits",
            ),
            (schema("price", 10, 2), "there is no such field"),
            (schema("amount", 0, 0), "the precision must be 1 to 28"),
            (schema("amount", 29, 2), "the precision must be 1 to 28"),
            (schema("amount", 4, 5), "may not exceed the precision"),
            (
                schema("amount", 10, 2).digits("amount", 8, 2),
                "given twice",
            ),
        ] {
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }
}
