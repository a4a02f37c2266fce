//! The columns of an existing table, and whether a model can read and write them: how a
//! model over a table made by a migration is checked.

use serde_json::json;

use crate::error::{Error, Result};
use crate::model::{FieldType, ModelSchema};

use super::{sql, Backend, Store};

/// The columns of `table` with their types as the database names them, or `None` when the
/// table does not exist.
pub(crate) async fn table_columns(
    store: &Store,
    table: &str,
) -> Result<Option<Vec<(String, String)>>> {
    let query = sql::Dialect::of(store.backend()).table_columns_query();
    let mut session = store.session().await?;
    let rows = session.query_sql(query, &[json!(table)]).await;
    let rows = session.finish(rows).await?;
    let columns: Vec<(String, String)> = rows
        .iter()
        .map(|row| {
            let text = |key: &str| row[key].as_str().unwrap_or_default().to_owned();
            (text("name"), text("type"))
        })
        .collect();
    Ok((!columns.is_empty()).then_some(columns))
}

/// Checks that the table's `columns` hold every column of `schema`, each of a type the
/// model can read and write.
pub(crate) fn check(
    schema: &ModelSchema,
    backend: Backend,
    columns: &[(String, String)],
) -> Result<()> {
    for column in sql::columns(schema) {
        let mismatch = |found: String| Error::SchemaMismatch {
            model: schema.name().to_owned(),
            table: schema.table().to_owned(),
            column: column.name.clone(),
            expected: sql::column_type(backend, column.ty).to_owned(),
            found,
        };
        let found = columns
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&column.name));
        match found {
            None => return Err(mismatch("no such column".to_owned())),
            Some((_, ty)) if !compatible(backend, column.ty, ty) => {
                return Err(mismatch(ty.clone()));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Whether a column of database type `found` holds values of `ty` (both ways).
fn compatible(backend: Backend, ty: FieldType, found: &str) -> bool {
    let found = found.to_ascii_lowercase();
    let is = |names: &[&str]| names.contains(&found.as_str());
    use FieldType as T;
    match backend {
        // PostgreSQL decodes strictly: each type has its column types.
        Backend::Postgres => match ty {
            T::String => is(&["text", "character varying", "character", "citext", "name"]),
            T::I16 => is(&["smallint"]),
            T::I32 => is(&["integer"]),
            T::I64 => is(&["bigint"]),
            T::F32 => is(&["real"]),
            T::F64 => is(&["double precision"]),
            T::Bool => is(&["boolean"]),
            T::Bytes => is(&["bytea"]),
            T::Json => is(&["json", "jsonb"]),
            T::DateTime => is(&["timestamp with time zone"]),
            T::NaiveDateTime => is(&["timestamp without time zone"]),
            T::Date => is(&["date"]),
            T::Uuid => is(&["uuid"]),
            T::Decimal => is(&["numeric"]),
        },
        Backend::MySql => match ty {
            T::String => is(&[
                "varchar",
                "char",
                "text",
                "tinytext",
                "mediumtext",
                "longtext",
                "enum",
                "set",
            ]),
            T::I16 | T::I32 | T::I64 => is(&[
                "tinyint",
                "smallint",
                "mediumint",
                "int",
                "integer",
                "bigint",
            ]),
            T::F32 | T::F64 => is(&["float", "double", "real"]),
            T::Bool => is(&["tinyint", "boolean", "bool"]),
            T::Bytes => is(&[
                "blob",
                "tinyblob",
                "mediumblob",
                "longblob",
                "binary",
                "varbinary",
            ]),
            // MariaDB's JSON is LONGTEXT.
            T::Json => is(&["json", "longtext"]),
            T::DateTime | T::NaiveDateTime => is(&["datetime", "timestamp"]),
            T::Date => is(&["date"]),
            T::Uuid => is(&["char", "varchar", "uuid"]),
            T::Decimal => is(&["decimal"]),
        },
        // SQLite stores any value in any column: only the affinity of the declared type
        // says whether values come back as the model wrote them.
        Backend::Sqlite => {
            let has = |part: &str| found.contains(part);
            let text = has("char") || has("clob") || has("text");
            let integer = has("int");
            let real = has("real") || has("floa") || has("doub");
            let blob = has("blob") || found.is_empty();
            let numeric = !text && !integer && !real && !blob;
            match ty {
                T::String | T::Json | T::Uuid => text || has("json") || has("uuid"),
                // Text keeps a decimal exact; a NUMERIC column would make it a double.
                T::Decimal => text,
                T::DateTime | T::NaiveDateTime | T::Date => text || has("date") || has("time"),
                T::I16 | T::I32 | T::I64 | T::Bool => integer || numeric,
                T::F32 | T::F64 => real || integer || numeric,
                T::Bytes => blob,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_column_and_a_wrong_type_are_named() {
        let schema = ModelSchema::new("User")
            .field("id", FieldType::I64)
            .field("email", FieldType::String)
            .timestamps(false);
        let err = check(
            &schema,
            Backend::Postgres,
            &[("id".into(), "bigint".into())],
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::SchemaMismatch { column, found, .. } if column == "email" && found == "no such column"),
            "{err}"
        );
        let columns = [
            ("id".to_owned(), "integer".to_owned()),
            ("email".to_owned(), "text".to_owned()),
        ];
        let err = check(&schema, Backend::Postgres, &columns).unwrap_err();
        assert_eq!(
            err.to_string(),
            "model User does not match its table `users`: column `id` should be BIGINT, found integer"
        );
        assert!(check(&schema, Backend::Sqlite, &columns).is_ok());
    }

    #[test]
    fn sqlite_affinities_decide() {
        assert!(compatible(
            Backend::Sqlite,
            FieldType::String,
            "VARCHAR(40)"
        ));
        assert!(compatible(Backend::Sqlite, FieldType::Bool, "BOOLEAN"));
        assert!(compatible(
            Backend::Sqlite,
            FieldType::DateTime,
            "TIMESTAMP"
        ));
        assert!(!compatible(Backend::Sqlite, FieldType::String, "INTEGER"));
        assert!(!compatible(
            Backend::Sqlite,
            FieldType::Decimal,
            "NUMERIC(10, 2)"
        ));
    }
}
