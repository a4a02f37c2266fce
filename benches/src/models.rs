//! The models the workloads register, and the same tables as raw SQL for the baselines.

use std::sync::OnceLock;

use dataflow::{FieldType, Model, ModelSchema};

/// The model of a guarded test's life: one create, one list.
#[derive(Model, Debug, Clone, PartialEq)]
pub struct User {
    /// Caller-supplied id.
    pub id: String,
    /// A name.
    pub name: String,
}

/// The `users` table exactly as dataflow creates it on SQLite: what the raw baselines
/// create (a unit test keeps the two equal).
pub const USERS_DDL: &str =
    "CREATE TABLE IF NOT EXISTS \"users\" (\"id\" TEXT NOT NULL PRIMARY KEY, \
     \"name\" TEXT NOT NULL, \"created_at\" TEXT NOT NULL, \"updated_at\" TEXT NOT NULL)";

/// How many models the schema of the set-up metrics has.
pub const SCHEMA_MODELS: usize = 20;

/// A 20-model schema of the size a real application has: `Entity0` .. `Entity19`, each with
/// eight fields of mixed types. Built once; `register_model` takes clones, as
/// `db.model::<M>()` clones a derived model's static schema.
pub fn twenty_models() -> &'static [ModelSchema] {
    static MODELS: OnceLock<Vec<ModelSchema>> = OnceLock::new();
    MODELS.get_or_init(|| {
        (0..SCHEMA_MODELS)
            .map(|i| {
                ModelSchema::new(format!("Entity{i}"))
                    .field("id", FieldType::I64)
                    .field("name", FieldType::String)
                    .field("count", FieldType::I64)
                    .field("score", FieldType::F64)
                    .field("active", FieldType::Bool)
                    .nullable_field("notes", FieldType::String)
                    .nullable_field("payload", FieldType::Json)
                    .nullable_field("seen_at", FieldType::DateTime)
            })
            .collect()
    })
}

/// The DDL of [`twenty_models`] on `backend`, for the raw baselines (the same statements
/// dataflow runs).
pub fn twenty_models_ddl(backend: dataflow::Backend) -> Vec<String> {
    twenty_models()
        .iter()
        .map(|s| s.create_table_sql(backend))
        .collect()
}

/// `count` distinct two-field models named `{prefix}0`, `{prefix}1`, ...: ten registry
/// entries each.
pub fn many_models(prefix: &str, count: usize) -> Vec<ModelSchema> {
    (0..count)
        .map(|i| {
            ModelSchema::new(format!("{prefix}{i}"))
                .field("id", FieldType::String)
                .field("name", FieldType::String)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataflow::Backend;

    #[test]
    fn the_raw_users_table_is_the_one_dataflow_creates() {
        assert_eq!(User::schema().create_table_sql(Backend::Sqlite), USERS_DDL);
    }

    #[test]
    fn the_schema_has_twenty_valid_models_with_distinct_tables() {
        let models = twenty_models();
        assert_eq!(models.len(), SCHEMA_MODELS);
        for m in models {
            m.validate().unwrap();
        }
        let mut tables: Vec<&str> = models.iter().map(ModelSchema::table).collect();
        tables.dedup();
        assert_eq!(tables.len(), SCHEMA_MODELS);
    }
}
