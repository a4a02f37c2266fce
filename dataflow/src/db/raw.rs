//! Raw SQL on an instance's session: JSON parameters bound (never formatted into the text),
//! result rows decoded into JSON objects by their columns' types.
//!
//! The statement is prepared first, which tells how many placeholders it has (a wrong count
//! is [`Error::SqlParameters`]) and, on PostgreSQL, the type the server inferred for each
//! one: a parameter is converted to that type, so `$1` works for a `DATE` or `UUID` column
//! without a cast. Prepared statements are cached per connection, so the next run of the
//! same text costs no extra round trip.

use serde_json::{Map, Value};
use sqlx::{Column as _, Either, Executor, Row, Statement, TypeInfo, ValueRef};

use crate::error::{short_sql, Error, Result};
use crate::model::FieldType;

use super::exec::{on_conn, prepare, BoxFuture, Conn, Driver};
use super::sql::SqlQuery;
use super::value::{self, SqlValue};

impl Conn {
    /// Runs `sql` with `params`; returns the number of rows it affected. Without
    /// parameters the text may hold several statements (a fixture file, say).
    pub(crate) fn execute_sql<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            let fail = |e| sql_error(sql, e);
            if params.is_empty() {
                #[cfg(feature = "sqlite")]
                if matches!(self, Conn::Sqlite(_)) {
                    // SQLite binds NULL to a placeholder left without a value: count them.
                    self.bound(sql, params).await?;
                }
                return Ok(on_conn!(self, _DB, c => {
                    Executor::execute(&mut **c, sql).await.map_err(fail)?.rows_affected()
                }));
            }
            let q = self.bound(sql, params).await?;
            Ok(on_conn!(self, DB, c => {
                prepare::<DB>(&q.sql, q.args).map_err(fail)?.execute(&mut **c).await.map_err(fail)?.rows_affected()
            }))
        })
    }

    /// Runs `sql` with `params`; returns its rows as JSON objects, keyed by column name.
    pub(crate) fn query_sql<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<Vec<Map<String, Value>>>> {
        Box::pin(async move {
            let q = self.bound(sql, params).await?;
            let fail = |e| sql_error(sql, e);
            on_conn!(self, DB, c => {
                let rows = prepare::<DB>(&q.sql, q.args).map_err(fail)?.fetch_all(&mut **c).await.map_err(fail)?;
                rows.iter()
                    .map(|row| row_json::<DB>(sql, row))
                    .collect()
            })
        })
    }

    /// Prepares `sql`, checks the number of parameters and converts them.
    async fn bound(&mut self, sql: &str, params: &[Value]) -> Result<SqlQuery> {
        let fail = |e| sql_error(sql, e);
        // PostgreSQL says the type it inferred for each placeholder; the others only count.
        let (expected, types): (usize, Vec<Option<FieldType>>) = on_conn!(self, _DB, c => {
            let statement = Executor::prepare(&mut **c, sql).await.map_err(fail)?;
            match statement.parameters() {
                Some(Either::Left(types)) => (
                    types.len(),
                    types.iter().map(|t| field_type(t.name())).collect(),
                ),
                Some(Either::Right(n)) => (n, Vec::new()),
                None => (params.len(), Vec::new()),
            }
        });
        if expected != params.len() {
            return Err(Error::SqlParameters {
                sql: short_sql(sql),
                expected,
                given: params.len(),
            });
        }
        let args = params
            .iter()
            .enumerate()
            .map(|(i, v)| match types.get(i).copied().flatten() {
                Some(ty) => value::to_sql(&format!("${}", i + 1), ty, true, v),
                None => Ok(value::untyped(v)),
            })
            .collect::<Result<Vec<SqlValue>>>()?;
        Ok(SqlQuery {
            sql: sql.to_owned(),
            args,
        })
    }
}

/// The model type a database type name decodes as (PostgreSQL and MySQL names), if any.
fn field_type(name: &str) -> Option<FieldType> {
    use FieldType as T;
    Some(match name {
        "BOOL" | "BOOLEAN" => T::Bool,
        "INT2" => T::I16,
        "INT4" => T::I32,
        "INT8" => T::I64,
        "FLOAT4" | "FLOAT" => T::F32,
        "FLOAT8" | "DOUBLE" => T::F64,
        "NUMERIC" | "DECIMAL" if cfg!(feature = "decimal") => T::Decimal,
        "UUID" if cfg!(feature = "uuid") => T::Uuid,
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" | "UNKNOWN" | "CHAR" | "TINYTEXT"
        | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" => T::String,
        "BYTEA" | "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
            T::Bytes
        }
        "JSON" | "JSONB" => T::Json,
        "DATE" => T::Date,
        "TIMESTAMP" | "DATETIME" => T::NaiveDateTime,
        "TIMESTAMPTZ" => T::DateTime,
        _ => return None,
    })
}

/// How one backend turns a result column it has no model for into JSON.
trait RawRow: Driver {
    fn raw_json(row: &Self::Row, index: usize, type_name: &str) -> Result<Option<Value>>;
}

#[cfg(feature = "sqlite")]
impl RawRow for sqlx::Sqlite {
    /// SQLite values carry their own storage class; a column declared BOOLEAN gives
    /// booleans.
    fn raw_json(row: &Self::Row, index: usize, declared: &str) -> Result<Option<Value>> {
        let raw = row.try_get_raw(index)?;
        if raw.is_null() {
            return Ok(Some(Value::Null));
        }
        let stored = raw.type_info().name().to_owned();
        Ok(Some(match stored.as_str() {
            "INTEGER" if declared == "BOOLEAN" => Value::Bool(row.try_get::<bool, _>(index)?),
            "INTEGER" => Value::from(row.try_get::<i64, _>(index)?),
            "REAL" => value::float_json(row.try_get::<f64, _>(index)?),
            "BLOB" => Value::from(row.try_get::<Vec<u8>, _>(index)?),
            _ => Value::String(row.try_get::<String, _>(index)?),
        }))
    }
}

#[cfg(feature = "postgres")]
impl RawRow for sqlx::Postgres {
    fn raw_json(row: &Self::Row, index: usize, type_name: &str) -> Result<Option<Value>> {
        if row.try_get_raw(index)?.is_null() || type_name == "VOID" {
            return Ok(Some(Value::Null));
        }
        Ok(match type_name {
            "TIME" => Some(Value::String(
                row.try_get::<chrono::NaiveTime, _>(index)?.to_string(),
            )),
            "OID" => Some(Value::from(
                row.try_get::<sqlx::postgres::types::Oid, _>(index)?.0,
            )),
            "\"CHAR\"" => Some(Value::from(row.try_get::<i8, _>(index)?)),
            _ => None,
        })
    }
}

#[cfg(feature = "mysql")]
impl RawRow for sqlx::MySql {
    /// Integers of any width decode as `i64` (`u64` unsigned); the rest by type name.
    fn raw_json(row: &Self::Row, index: usize, type_name: &str) -> Result<Option<Value>> {
        if row.try_get_raw(index)?.is_null() || type_name == "NULL" {
            return Ok(Some(Value::Null));
        }
        Ok(match type_name {
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
                Some(Value::from(row.try_get_unchecked::<i64, _>(index)?))
            }
            name if name.ends_with(" UNSIGNED") => {
                Some(Value::from(row.try_get_unchecked::<u64, _>(index)?))
            }
            "DECIMAL" if cfg!(not(feature = "decimal")) => {
                Some(Value::String(row.try_get_unchecked::<String, _>(index)?))
            }
            "TIME" => Some(Value::String(
                row.try_get::<chrono::NaiveTime, _>(index)?.to_string(),
            )),
            _ => None,
        })
    }
}

/// One row as a JSON object.
fn row_json<DB: RawRow>(sql: &str, row: &DB::Row) -> Result<Map<String, Value>> {
    row.columns()
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let type_name = column.type_info().name();
            let value = match DB::raw_json(row, i, type_name)? {
                Some(value) => value,
                None => match field_type(type_name) {
                    Some(ty) => DB::decode(row, i, ty)?,
                    None => {
                        return Err(Error::Sql {
                            sql: short_sql(sql),
                            reason: format!(
                                "column `{}` has type {type_name}, which has no JSON form here; \
                                 cast it in the query (for example to text)",
                                column.name()
                            ),
                            source: None,
                        })
                    }
                },
            };
            Ok((column.name().to_owned(), value))
        })
        .collect()
}

/// A driver error of raw SQL: [`Error::Sql`] naming the statement, except errors of the
/// connection itself.
fn sql_error(sql: &str, err: sqlx::Error) -> Error {
    match err {
        sqlx::Error::Database(_) | sqlx::Error::ColumnDecode { .. } | sqlx::Error::Protocol(_) => {
            Error::Sql {
                sql: short_sql(sql),
                reason: err.to_string(),
                source: Some(err),
            }
        }
        other => Error::Database(other),
    }
}
