//! [`Ident`]: a name that may be written into SQL text.
//!
//! **Invariant:** an `Ident` holds a plain identifier (ASCII letters, digits and `_`, not
//! starting with a digit, at most 63 characters). It is made only by validating a name
//! ([`Ident::new`]), from a name written in this crate's source ([`Ident::ID`] and the
//! timestamp columns), or by a [`ValidSchema`], whose names were all validated once.

use std::ops::Deref;
use std::sync::Arc;

use crate::error::Result;
use crate::model::{validate_identifier, FieldDef, ModelSchema};

/// A validated SQL identifier, borrowed from where it was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Ident<'a>(&'a str);

impl<'a> Ident<'a> {
    /// The primary key column.
    pub(crate) const ID: Ident<'static> = Ident::fixed("id");
    /// `created_at`, maintained by dataflow.
    pub(crate) const CREATED_AT: Ident<'static> = Ident::fixed("created_at");
    /// `updated_at`, maintained by dataflow.
    pub(crate) const UPDATED_AT: Ident<'static> = Ident::fixed("updated_at");

    /// Checks `name` ([`validate_identifier`]); `kind` names what it is for in the error.
    pub(crate) fn new(kind: &'static str, name: &'a str) -> Result<Self> {
        validate_identifier(kind, name)?;
        Ok(Ident(name))
    }

    /// A name written in this crate's source, checked when the constant is compiled.
    const fn fixed(name: &'static str) -> Ident<'static> {
        let bytes = name.as_bytes();
        assert!(!bytes.is_empty() && bytes.len() <= 63 && !bytes[0].is_ascii_digit());
        let mut i = 0;
        while i < bytes.len() {
            assert!(bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_');
            i += 1;
        }
        Ident(name)
    }

    pub(crate) fn as_str(self) -> &'a str {
        self.0
    }
}

impl PartialEq<str> for Ident<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Ident<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A [`ModelSchema`] that passed [`validate`](ModelSchema::validate): every name it holds
/// can be handed out as an [`Ident`] without checking it again. It reads as the schema
/// (`Deref`). Shared, not copied, by whoever needs the schema itself
/// ([`shared`](Self::shared)).
#[derive(Debug, Clone)]
pub(crate) struct ValidSchema(Arc<ModelSchema>);

impl ValidSchema {
    /// Validates `schema`.
    pub(crate) fn new(schema: ModelSchema) -> Result<Self> {
        schema.validate()?;
        Ok(ValidSchema(Arc::new(schema)))
    }

    /// The schema, shared.
    pub(crate) fn shared(&self) -> &Arc<ModelSchema> {
        &self.0
    }

    /// The table.
    pub(crate) fn table_ident(&self) -> Ident<'_> {
        Ident(self.0.table())
    }

    /// The field called `name`, with its name as an identifier.
    pub(crate) fn field(&self, name: &str) -> Option<(Ident<'_>, &FieldDef)> {
        self.0.field_def(name).map(|f| (Ident(&f.name), f))
    }

    /// The fields, each with its name as an identifier.
    pub(crate) fn field_idents(&self) -> impl Iterator<Item = (Ident<'_>, &FieldDef)> {
        self.0.fields().iter().map(|f| (Ident(&f.name), f))
    }

    /// The column called `name` (a field or a maintained timestamp).
    pub(crate) fn column_ident(&self, name: &str) -> Option<Ident<'_>> {
        self.column_idents().find(|c| c.0 == name)
    }

    /// Every column in order: the fields, then the timestamps the table has.
    pub(crate) fn column_idents(&self) -> impl Iterator<Item = Ident<'_>> {
        let timestamps: &[Ident<'static>] = match self.0.has_timestamps() {
            true => &[Ident::CREATED_AT, Ident::UPDATED_AT],
            false => &[],
        };
        self.0
            .fields()
            .iter()
            .map(|f| Ident(&f.name))
            .chain(timestamps.iter().copied())
    }

    /// The unique constraints (`true`) or indexes (`false`): name and columns.
    pub(crate) fn keys(&self, unique: bool) -> impl Iterator<Item = (Ident<'_>, Vec<Ident<'_>>)> {
        let keys = match unique {
            true => self.0.unique_constraints(),
            false => self.0.indexes(),
        };
        keys.iter()
            .map(|k| (Ident(&k.name), k.columns.iter().map(|c| Ident(c)).collect()))
    }
}

impl Deref for ValidSchema {
    type Target = ModelSchema;

    fn deref(&self) -> &ModelSchema {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::model::FieldType;

    #[test]
    fn ident_rejects_names_that_are_not_plain_identifiers() {
        let too_long = "a".repeat(64);
        for bad in [
            "",
            "users\"",
            "us`ers",
            "it's",
            "two words",
            "1st",
            "a;b",
            "naïve",
            too_long.as_str(),
        ] {
            let err = Ident::new("column", bad).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidIdentifier { kind: "column", name } if name == bad),
                "{bad:?}: {err}"
            );
        }
        assert_eq!(
            Ident::new("column", &"a".repeat(63))
                .unwrap()
                .as_str()
                .len(),
            63
        );
        assert_eq!(Ident::new("column", "_user_2").unwrap(), "_user_2");
        // Keywords are names like any other: every identifier is quoted.
        assert_eq!(Ident::new("column", "select").unwrap(), "select");
    }

    #[test]
    fn a_valid_schema_hands_out_its_own_names() {
        let schema = ModelSchema::new("Member")
            .field("id", FieldType::I64)
            .field("email", FieldType::String)
            .unique(["email"]);
        let schema = ValidSchema::new(schema).unwrap();
        assert_eq!(schema.table_ident(), "members");
        assert_eq!(schema.field("email").unwrap().0, "email");
        assert!(schema.field("nope").is_none());
        assert_eq!(schema.column_ident("created_at"), Some(Ident::CREATED_AT));
        let columns: Vec<&str> = schema.column_idents().map(Ident::as_str).collect();
        assert_eq!(columns, ["id", "email", "created_at", "updated_at"]);
        let (name, columns) = schema.keys(true).next().unwrap();
        assert_eq!(
            (name.as_str(), columns),
            ("members_email_key", vec![Ident("email")])
        );
    }

    #[test]
    fn an_invalid_schema_is_not_valid() {
        let schema = ModelSchema::new("User")
            .with_table("users; DROP TABLE x")
            .field("id", FieldType::I64);
        assert!(ValidSchema::new(schema).is_err());
    }
}
