//! How each backend spells SQL: quoting, placeholders, upserts, `NULL` ordering,
//! `LIMIT` / `OFFSET`, `RETURNING`, column types and keys. Every SQL decision that depends
//! on the backend is made here; the rest of the crate says what it wants, not how.

use super::{Ident, QueryBuilder};
use crate::db::url::Backend;
use crate::model::{Digits, FieldType};

/// What an insert does with a row whose key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// Fail (the database's unique violation).
    Error,
    /// Keep the stored row.
    Skip,
    /// Overwrite the stored row's columns with the new values.
    Update,
}

/// The SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dialect(Backend);

impl Dialect {
    pub(crate) fn of(backend: Backend) -> Self {
        Dialect(backend)
    }

    /// The character an identifier is quoted with.
    pub(crate) fn quote(self) -> char {
        match self.0 {
            Backend::MySql => '`',
            Backend::Sqlite | Backend::Postgres => '"',
        }
    }

    /// Whether placeholders are numbered (`$1`) rather than all `?`.
    pub(crate) fn numbered_placeholders(self) -> bool {
        self.0 == Backend::Postgres
    }

    /// Writes the placeholder of the `n`th bound value (from 1).
    pub(crate) fn write_placeholder(self, sql: &mut String, n: usize) {
        match self.numbered_placeholders() {
            true => {
                use std::fmt::Write;
                let _ = write!(sql, "${n}");
            }
            false => sql.push('?'),
        }
    }

    /// The most parameters one statement may bind (kept under each driver's limit).
    pub(crate) fn max_bind_params(self) -> usize {
        match self.0 {
            Backend::Sqlite => 32_000,
            Backend::Postgres | Backend::MySql => 65_000,
        }
    }

    /// The statement that begins a transaction. SQLite takes the write lock at once, so two
    /// writers wait on `busy_timeout` instead of failing to upgrade a read lock.
    pub(crate) fn begin(self) -> &'static str {
        match self.0 {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres | Backend::MySql => "BEGIN",
        }
    }

    /// Whether `INSERT/UPDATE ... RETURNING` can read rows back in the same statement.
    pub(crate) fn returning(self) -> bool {
        matches!(self.0, Backend::Sqlite | Backend::Postgres)
    }

    /// Whether the row count of an insert with `conflict` is the number of rows inserted
    /// (MySQL counts an update as two rows, and a skipped row as found).
    pub(crate) fn counts_inserts(self, conflict: Conflict) -> bool {
        match conflict {
            Conflict::Error => true,
            Conflict::Skip => self.0 != Backend::MySql,
            Conflict::Update => false,
        }
    }

    /// Appends what an insert does on a conflict on the primary key; `updated` are the
    /// columns [`Conflict::Update`] overwrites (none: the stored row is kept).
    pub(crate) fn push_on_conflict(
        self,
        q: &mut QueryBuilder,
        conflict: Conflict,
        updated: &[Ident<'_>],
    ) {
        let conflict = match conflict {
            Conflict::Update if updated.is_empty() => Conflict::Skip,
            other => other,
        };
        match (conflict, self.0) {
            (Conflict::Error, _) => {}
            (Conflict::Skip, Backend::MySql) => {
                q.push(" ON DUPLICATE KEY UPDATE ")
                    .push_ident(Ident::ID)
                    .push(" = ")
                    .push_ident(Ident::ID);
            }
            (Conflict::Skip, _) => {
                q.push(" ON CONFLICT DO NOTHING");
            }
            (Conflict::Update, Backend::MySql) => {
                q.push(" ON DUPLICATE KEY UPDATE ");
                q.push_list(updated, |q, &c| {
                    q.push_ident(c).push(" = VALUES(").push_ident(c).push(")");
                });
            }
            (Conflict::Update, _) => {
                q.push(" ON CONFLICT (")
                    .push_ident(Ident::ID)
                    .push(") DO UPDATE SET ");
                q.push_list(updated, |q, &c| {
                    q.push_ident(c).push(" = excluded.").push_ident(c);
                });
            }
        }
    }

    /// The direction of an `ORDER BY` key. Nulls sort as the smallest value on every
    /// backend (PostgreSQL's default is the opposite).
    pub(crate) fn order(self, descending: bool) -> &'static str {
        match (descending, self.0 == Backend::Postgres) {
            (false, false) => " ASC",
            (true, false) => " DESC",
            (false, true) => " ASC NULLS FIRST",
            (true, true) => " DESC NULLS LAST",
        }
    }

    /// Appends ` LIMIT` / ` OFFSET` (an offset without a limit needs a limit on SQLite and
    /// MySQL).
    pub(crate) fn push_limit_offset(self, q: &mut QueryBuilder, limit: Option<i64>, offset: i64) {
        match (limit, self.0) {
            (Some(limit), _) => {
                q.push(" LIMIT ")
                    .push_bind(crate::db::value::SqlValue::I64(limit));
            }
            (None, Backend::Sqlite) if offset > 0 => {
                q.push(" LIMIT -1");
            }
            (None, Backend::MySql) if offset > 0 => {
                q.push(" LIMIT 18446744073709551615");
            }
            (None, _) => {}
        }
        if offset > 0 {
            q.push(" OFFSET ")
                .push_bind(crate::db::value::SqlValue::I64(offset));
        }
    }

    /// The column type of a field that is not the primary key. `keyed`: the column is in a
    /// unique constraint or an index.
    pub(crate) fn column_type(self, ty: FieldType, keyed: bool) -> &'static str {
        // MySQL cannot index TEXT without a prefix length.
        if keyed && self.0 == Backend::MySql && ty == FieldType::String {
            return "VARCHAR(255)";
        }
        column_type(self.0, ty)
    }

    /// The column type of a decimal field with fixed digits: `NUMERIC(p, s)` /
    /// `DECIMAL(p, s)`; text on SQLite, which keeps the value as the node wrote it.
    pub(crate) fn push_decimal_type(self, q: &mut QueryBuilder, digits: Digits) {
        let name = match self.0 {
            Backend::Sqlite => {
                q.push(column_type(self.0, FieldType::Decimal));
                return;
            }
            Backend::Postgres => "NUMERIC(",
            Backend::MySql => "DECIMAL(",
        };
        q.push(name)
            .push_number(digits.precision)
            .push(", ")
            .push_number(digits.scale)
            .push(")");
    }

    /// The column definition of the primary key (`id`).
    pub(crate) fn primary_key_type(self, ty: FieldType) -> &'static str {
        use Backend::*;
        match (self.0, ty) {
            (Sqlite, FieldType::I32 | FieldType::I64) => "INTEGER PRIMARY KEY AUTOINCREMENT",
            (Postgres, FieldType::I32) => "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            (Postgres, FieldType::I64) => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            (MySql, FieldType::I32) => "INT AUTO_INCREMENT PRIMARY KEY",
            (MySql, FieldType::I64) => "BIGINT AUTO_INCREMENT PRIMARY KEY",
            (MySql, FieldType::Uuid) => "CHAR(36) NOT NULL PRIMARY KEY",
            (Postgres, FieldType::Uuid) => "UUID NOT NULL PRIMARY KEY",
            (MySql, _) => "VARCHAR(255) NOT NULL PRIMARY KEY",
            (Sqlite | Postgres, _) => "TEXT NOT NULL PRIMARY KEY",
        }
    }

    /// The query for the columns of a table (bound to its name) as `name` and `type`.
    pub(crate) fn table_columns_query(self) -> &'static str {
        match self.0 {
            Backend::Sqlite => "SELECT name, type FROM pragma_table_info(?)",
            Backend::Postgres => {
                "SELECT column_name::text AS name, data_type::text AS type \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name::text = $1"
            }
            Backend::MySql => {
                "SELECT CAST(column_name AS CHAR) AS name, CAST(data_type AS CHAR) AS type \
                 FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = ?"
            }
        }
    }

    /// Whether indexes are declared in `CREATE TABLE` (MySQL, which has no
    /// `CREATE INDEX IF NOT EXISTS`) rather than by statements of their own.
    pub(crate) fn indexes_in_table(self) -> bool {
        self.0 == Backend::MySql
    }
}

/// The column type of a field of type `ty` on `backend`.
pub(crate) fn column_type(backend: Backend, ty: FieldType) -> &'static str {
    use Backend::*;
    use FieldType as T;
    match (backend, ty) {
        (Sqlite, T::String | T::Json | T::DateTime | T::NaiveDateTime) => "TEXT",
        // Text keeps a decimal exact (NUMERIC affinity would make it a double).
        (Sqlite, T::Date | T::Uuid | T::Decimal) => "TEXT",
        (Sqlite, T::I16 | T::I32 | T::I64) => "INTEGER",
        (Sqlite, T::F32 | T::F64) => "REAL",
        (Sqlite, T::Bool) => "BOOLEAN",
        (Sqlite, T::Bytes) => "BLOB",
        (Postgres, T::String) => "TEXT",
        (Postgres, T::I16) => "SMALLINT",
        (Postgres, T::I32) => "INTEGER",
        (Postgres, T::F32) => "REAL",
        (Postgres, T::Date) => "DATE",
        (Postgres, T::Uuid) => "UUID",
        (Postgres, T::Decimal) => "NUMERIC",
        (Postgres, T::I64) => "BIGINT",
        (Postgres, T::F64) => "DOUBLE PRECISION",
        (Postgres, T::Bool) => "BOOLEAN",
        (Postgres, T::Bytes) => "BYTEA",
        (Postgres, T::Json) => "JSONB",
        (Postgres, T::DateTime) => "TIMESTAMPTZ",
        (Postgres, T::NaiveDateTime) => "TIMESTAMP",
        (MySql, T::String) => "TEXT",
        (MySql, T::I16) => "SMALLINT",
        (MySql, T::I32) => "INT",
        (MySql, T::F32) => "FLOAT",
        (MySql, T::Date) => "DATE",
        (MySql, T::Uuid) => "CHAR(36)",
        (MySql, T::Decimal) => "DECIMAL(65, 30)",
        (MySql, T::I64) => "BIGINT",
        (MySql, T::F64) => "DOUBLE",
        (MySql, T::Bool) => "BOOLEAN",
        (MySql, T::Bytes) => "LONGBLOB",
        (MySql, T::Json) => "JSON",
        (MySql, T::DateTime | T::NaiveDateTime) => "DATETIME(6)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::value::SqlValue;

    const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    fn insert(backend: Backend, conflict: Conflict, updated: &[Ident<'_>]) -> String {
        let mut q = QueryBuilder::new(backend);
        q.push("INSERT ...");
        Dialect::of(backend).push_on_conflict(&mut q, conflict, updated);
        q.build().sql
    }

    #[test]
    fn each_dialect_spells_an_upsert_its_own_way() {
        let name = Ident::new("field", "name").unwrap();
        let expected = [
            (
                Backend::Sqlite,
                Conflict::Skip,
                "INSERT ... ON CONFLICT DO NOTHING",
            ),
            (
                Backend::Postgres,
                Conflict::Skip,
                "INSERT ... ON CONFLICT DO NOTHING",
            ),
            (
                Backend::MySql,
                Conflict::Skip,
                "INSERT ... ON DUPLICATE KEY UPDATE `id` = `id`",
            ),
            (
                Backend::Sqlite,
                Conflict::Update,
                "INSERT ... ON CONFLICT (\"id\") DO UPDATE SET \"name\" = excluded.\"name\"",
            ),
            (
                Backend::Postgres,
                Conflict::Update,
                "INSERT ... ON CONFLICT (\"id\") DO UPDATE SET \"name\" = excluded.\"name\"",
            ),
            (
                Backend::MySql,
                Conflict::Update,
                "INSERT ... ON DUPLICATE KEY UPDATE `name` = VALUES(`name`)",
            ),
        ];
        for (backend, conflict, sql) in expected {
            assert_eq!(
                insert(backend, conflict, &[name]),
                sql,
                "{backend:?} {conflict:?}"
            );
        }
        for backend in ALL {
            assert_eq!(insert(backend, Conflict::Error, &[name]), "INSERT ...");
            // Nothing to update: the stored row is kept.
            assert_eq!(
                insert(backend, Conflict::Update, &[]),
                insert(backend, Conflict::Skip, &[])
            );
        }
    }

    #[test]
    fn nulls_sort_first_on_every_dialect() {
        for backend in [Backend::Sqlite, Backend::MySql] {
            assert_eq!(Dialect::of(backend).order(false), " ASC");
            assert_eq!(Dialect::of(backend).order(true), " DESC");
        }
        let postgres = Dialect::of(Backend::Postgres);
        assert_eq!(postgres.order(false), " ASC NULLS FIRST");
        assert_eq!(postgres.order(true), " DESC NULLS LAST");
    }

    fn limit(backend: Backend, limit: Option<i64>, offset: i64) -> (String, Vec<SqlValue>) {
        let mut q = QueryBuilder::new(backend);
        Dialect::of(backend).push_limit_offset(&mut q, limit, offset);
        let q = q.build();
        (q.sql, q.args)
    }

    #[test]
    fn an_offset_without_a_limit_gets_the_dialects_unlimited_limit() {
        assert_eq!(limit(Backend::Sqlite, None, 5).0, " LIMIT -1 OFFSET ?");
        assert_eq!(
            limit(Backend::MySql, None, 5).0,
            " LIMIT 18446744073709551615 OFFSET ?"
        );
        assert_eq!(limit(Backend::Postgres, None, 5).0, " OFFSET $1");
        assert_eq!(
            limit(Backend::Postgres, Some(10), 5),
            (
                " LIMIT $1 OFFSET $2".to_owned(),
                vec![SqlValue::I64(10), SqlValue::I64(5)]
            )
        );
        for backend in ALL {
            assert_eq!(limit(backend, None, 0).0, "");
        }
    }

    #[test]
    fn dialect_facts_per_backend() {
        let [sqlite, postgres, mysql] = ALL.map(Dialect::of);
        assert_eq!(
            (sqlite.quote(), postgres.quote(), mysql.quote()),
            ('"', '"', '`')
        );
        assert!(sqlite.returning() && postgres.returning() && !mysql.returning());
        assert_eq!(sqlite.begin(), "BEGIN IMMEDIATE");
        assert_eq!(mysql.begin(), "BEGIN");
        assert!(sqlite.counts_inserts(Conflict::Skip));
        assert!(!mysql.counts_inserts(Conflict::Skip));
        assert!(!postgres.counts_inserts(Conflict::Update));
        assert_eq!(mysql.column_type(FieldType::String, true), "VARCHAR(255)");
        assert_eq!(mysql.column_type(FieldType::String, false), "TEXT");
        assert_eq!(postgres.column_type(FieldType::String, true), "TEXT");
        assert_eq!(
            postgres.primary_key_type(FieldType::I64),
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        );
        assert!(mysql.indexes_in_table() && !sqlite.indexes_in_table());
    }
}
