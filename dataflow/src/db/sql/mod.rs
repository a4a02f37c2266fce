//! SQL text for each backend. Identifiers reach SQL text only as [`Ident`]s (validated) and
//! always quoted; values only ever as bound parameters; other text only as `&'static str`
//! written in this crate's source. How each backend spells a statement is [`dialect`].
//!
//! A runtime string cannot be pushed as SQL text:
//!
//! ```compile_fail,E0597
//! use dataflow::__private::sql_text_is_static as push;
//! let user_input = String::from("1; DROP TABLE users");
//! push(&user_input);
//! ```
//!
//! ```
//! use dataflow::__private::sql_text_is_static as push;
//! push(" WHERE ");
//! ```

mod dialect;
mod ident;

pub(crate) use dialect::{column_type, Conflict, Dialect};
pub(crate) use ident::{Ident, ValidSchema};

use crate::model::FieldType;

use super::url::Backend;
use super::value::{Column, SqlValue};

/// SQL text with its bound values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlQuery {
    pub(crate) sql: String,
    pub(crate) args: Vec<SqlValue>,
}

/// Builds one statement for one backend. Its text is made of `&'static str` fragments,
/// quoted [`Ident`]s and placeholders; nothing else can be pushed.
#[derive(Debug)]
pub(crate) struct QueryBuilder {
    dialect: Dialect,
    sql: String,
    args: Vec<SqlValue>,
    /// Where each placeholder starts in `sql` (numbered dialects only), so that
    /// [`append`](Self::append) can renumber them.
    marks: Vec<usize>,
}

impl QueryBuilder {
    pub(crate) fn new(backend: Backend) -> Self {
        QueryBuilder {
            dialect: Dialect::of(backend),
            sql: String::with_capacity(128),
            args: Vec::new(),
            marks: Vec::new(),
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Appends SQL text written in this crate's source (never user input: a runtime
    /// `String` is not `'static`).
    pub(crate) fn push(&mut self, sql: &'static str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a validated identifier, quoted.
    pub(crate) fn push_ident(&mut self, ident: Ident<'_>) -> &mut Self {
        let quote = self.dialect.quote();
        self.sql.push(quote);
        self.sql.push_str(ident.as_str());
        self.sql.push(quote);
        self
    }

    /// Makes room for `binds` more placeholders and their values (a bulk insert's), so
    /// that a long statement is not regrown as it is written.
    pub(crate) fn reserve_binds(&mut self, binds: usize) {
        self.args.reserve(binds);
        // `?, ` and a share of a row's parentheses; numbered placeholders may regrow it.
        self.sql.reserve(binds * 4);
        if self.dialect.numbered_placeholders() {
            self.marks.reserve(binds);
        }
    }

    /// Appends a placeholder and binds `value` to it.
    pub(crate) fn push_bind(&mut self, value: SqlValue) -> &mut Self {
        self.args.push(value);
        if self.dialect.numbered_placeholders() {
            self.marks.push(self.sql.len());
        }
        self.dialect
            .write_placeholder(&mut self.sql, self.args.len());
        self
    }

    /// Appends `other`: its text and its bound values, its placeholders renumbered to
    /// follow this builder's.
    pub(crate) fn append(&mut self, other: QueryBuilder) -> &mut Self {
        debug_assert_eq!(self.dialect, other.dialect);
        if !self.dialect.numbered_placeholders() {
            self.sql.push_str(&other.sql);
            self.args.extend(other.args);
            return self;
        }
        let mut from = 0;
        for (i, (at, value)) in other.marks.iter().zip(other.args).enumerate() {
            self.sql.push_str(&other.sql[from..*at]);
            // `$n`: the sign and the digits of `n`.
            from = at + 1 + (i + 1).to_string().len();
            self.push_bind(value);
        }
        self.sql.push_str(&other.sql[from..]);
        self
    }

    /// Appends a number this crate computed (a column's digits): digits only, so it is
    /// never user text.
    pub(crate) fn push_number(&mut self, n: u8) -> &mut Self {
        use std::fmt::Write;
        let _ = write!(self.sql, "{n}");
        self
    }

    /// Appends `items` separated by `", "`, each written by `each`.
    pub(crate) fn push_list<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut each: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            each(self, item);
        }
        self
    }

    pub(crate) fn build(self) -> SqlQuery {
        SqlQuery {
            sql: self.sql,
            args: self.args,
        }
    }
}

/// Only `&'static str` can be SQL text (the compile-fail example in the module docs).
#[doc(hidden)]
pub fn sql_text_is_static(sql: &'static str) -> String {
    let mut q = QueryBuilder::new(Backend::Sqlite);
    q.push(sql);
    q.build().sql
}

/// `CREATE TABLE IF NOT EXISTS` for a schema, with its unique constraints, then
/// `CREATE INDEX IF NOT EXISTS` for each index (MySQL, which has no `IF NOT EXISTS` for
/// indexes, declares them in the table).
pub(crate) fn create_table(backend: Backend, schema: &ValidSchema) -> Vec<SqlQuery> {
    let dialect = Dialect::of(backend);
    let mut q = QueryBuilder::new(backend);
    let table = schema.table_ident();
    q.push("CREATE TABLE IF NOT EXISTS ")
        .push_ident(table)
        .push(" (");
    let keyed = |name: &str| {
        schema
            .unique_constraints()
            .iter()
            .chain(schema.indexes())
            .any(|k| k.columns.iter().any(|c| c == name))
    };
    q.push_list(schema.field_idents(), |q, (name, field)| {
        q.push_ident(name).push(" ");
        if name == Ident::ID {
            q.push(dialect.primary_key_type(field.ty));
        } else {
            match schema.digits_of(&field.name) {
                Some(digits) => dialect.push_decimal_type(q, digits),
                None => {
                    q.push(dialect.column_type(field.ty, keyed(&field.name)));
                }
            }
            if !field.nullable {
                q.push(" NOT NULL");
            }
        }
    });
    if schema.has_timestamps() {
        for ts in [Ident::CREATED_AT, Ident::UPDATED_AT] {
            q.push(", ")
                .push_ident(ts)
                .push(" ")
                .push(dialect.column_type(FieldType::DateTime, false))
                .push(" NOT NULL");
        }
    }
    for (name, columns) in schema.keys(true) {
        q.push(", CONSTRAINT ").push_ident(name).push(" UNIQUE (");
        q.push_list(columns, |q, c| {
            q.push_ident(c);
        });
        q.push(")");
    }
    if dialect.indexes_in_table() {
        for (name, columns) in schema.keys(false) {
            q.push(", INDEX ").push_ident(name).push(" (");
            q.push_list(columns, |q, c| {
                q.push_ident(c);
            });
            q.push(")");
        }
    }
    q.push(")");
    let mut statements = vec![q.build()];
    if !dialect.indexes_in_table() {
        for (name, columns) in schema.keys(false) {
            let mut q = QueryBuilder::new(backend);
            q.push("CREATE INDEX IF NOT EXISTS ")
                .push_ident(name)
                .push(" ON ")
                .push_ident(table)
                .push(" (");
            q.push_list(columns, |q, c| {
                q.push_ident(c);
            });
            q.push(")");
            statements.push(q.build());
        }
    }
    statements
}

/// The columns a row of `schema` is read back as.
pub(crate) fn columns(schema: &crate::model::ModelSchema) -> Vec<Column> {
    let timestamps: &[&str] = match schema.has_timestamps() {
        true => &crate::model::TIMESTAMP_COLUMNS,
        false => &[],
    };
    schema
        .fields()
        .iter()
        .map(|f| Column {
            name: f.name.clone(),
            ty: f.ty,
            nullable: f.nullable,
        })
        .chain(timestamps.iter().map(|ts| Column {
            name: (*ts).to_owned(),
            ty: FieldType::DateTime,
            nullable: false,
        }))
        .collect()
}

/// Appends `SELECT col, col, ... FROM table`.
pub(crate) fn push_select(q: &mut QueryBuilder, schema: &ValidSchema) {
    q.push("SELECT ");
    q.push_list(schema.column_idents(), |q, c| {
        q.push_ident(c);
    });
    q.push(" FROM ").push_ident(schema.table_ident());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelSchema;

    fn schema() -> ValidSchema {
        let schema = ModelSchema::new("User")
            .field("id", FieldType::I64)
            .field("name", FieldType::String)
            .nullable_field("meta", FieldType::Json);
        ValidSchema::new(schema).unwrap()
    }

    #[test]
    fn create_table_quotes_identifiers_per_backend() {
        assert_eq!(
            create_table(Backend::Sqlite, &schema())[0].sql,
            "CREATE TABLE IF NOT EXISTS \"users\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \
             \"name\" TEXT NOT NULL, \"meta\" TEXT, \"created_at\" TEXT NOT NULL, \
             \"updated_at\" TEXT NOT NULL)"
        );
        assert!(create_table(Backend::MySql, &schema())[0]
            .sql
            .starts_with("CREATE TABLE IF NOT EXISTS `users` (`id` BIGINT AUTO_INCREMENT"));
    }

    #[test]
    fn unique_constraints_are_named_and_indexes_follow_the_table() {
        let schema = ModelSchema::new("Member")
            .field("id", FieldType::String)
            .field("email", FieldType::String)
            .field("team", FieldType::I64)
            .unique(["email"])
            .index(["team"])
            .timestamps(false);
        let schema = ValidSchema::new(schema).unwrap();
        let sqlite = create_table(Backend::Sqlite, &schema);
        assert_eq!(
            sqlite[0].sql,
            "CREATE TABLE IF NOT EXISTS \"members\" (\"id\" TEXT NOT NULL PRIMARY KEY, \
             \"email\" TEXT NOT NULL, \"team\" INTEGER NOT NULL, \
             CONSTRAINT \"members_email_key\" UNIQUE (\"email\"))"
        );
        assert_eq!(
            sqlite[1].sql,
            "CREATE INDEX IF NOT EXISTS \"members_team_idx\" ON \"members\" (\"team\")"
        );
        let mysql = create_table(Backend::MySql, &schema);
        assert_eq!(mysql.len(), 1);
        assert!(
            mysql[0].sql.contains("`email` VARCHAR(255) NOT NULL"),
            "{}",
            mysql[0].sql
        );
        assert!(
            mysql[0].sql.ends_with("INDEX `members_team_idx` (`team`))"),
            "{}",
            mysql[0].sql
        );
    }

    #[test]
    fn placeholders_are_numbered_on_postgres_only() {
        for (backend, expected) in [
            (Backend::Postgres, "a = $1 AND b = $2"),
            (Backend::MySql, "a = ? AND b = ?"),
        ] {
            let mut q = QueryBuilder::new(backend);
            q.push("a = ")
                .push_bind(SqlValue::I32(1))
                .push(" AND b = ")
                .push_bind(SqlValue::I32(2));
            assert_eq!(q.build().sql, expected);
        }
    }

    #[test]
    fn append_moves_text_and_binds_and_renumbers_placeholders() {
        for (backend, expected) in [
            (Backend::Postgres, "a = $1 AND b = $2 AND c = $3"),
            (Backend::Sqlite, "a = ? AND b = ? AND c = ?"),
        ] {
            let mut q = QueryBuilder::new(backend);
            q.push("a = ").push_bind(SqlValue::I32(1));
            let mut tail = QueryBuilder::new(backend);
            tail.push(" AND b = ")
                .push_bind(SqlValue::I32(2))
                .push(" AND c = ")
                .push_bind(SqlValue::I32(3));
            q.append(tail);
            let q = q.build();
            assert_eq!(q.sql, expected);
            assert_eq!(
                q.args,
                [SqlValue::I32(1), SqlValue::I32(2), SqlValue::I32(3)]
            );
        }
    }

    #[test]
    fn append_renumbers_past_nine() {
        let mut q = QueryBuilder::new(Backend::Postgres);
        q.push_list((0..9).map(SqlValue::I32), |q, v| {
            q.push_bind(v);
        });
        let mut tail = QueryBuilder::new(Backend::Postgres);
        tail.push(", ")
            .push_list((9..12).map(SqlValue::I32), |q, v| {
                q.push_bind(v);
            });
        q.append(tail);
        let q = q.build();
        assert!(q.sql.ends_with("$9, $10, $11, $12"), "{}", q.sql);
        assert_eq!(q.args.len(), 12);
    }
}
