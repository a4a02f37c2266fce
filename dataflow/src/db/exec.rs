//! Running [`SqlQuery`]s on each backend: binding values, decoding rows into JSON.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Database, MySql, Postgres, Row, Sqlite};

use crate::error::Result;
use crate::model::FieldType;

use super::sql::SqlQuery;
use super::value::{self, Column, SqlValue};

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What a statement did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Done {
    pub(crate) rows_affected: u64,
    /// The id the database assigned to an inserted row (SQLite and MySQL).
    pub(crate) last_insert_id: Option<i64>,
}

/// How one backend binds and decodes values.
pub(crate) trait Driver: Database {
    /// Binds `value`, borrowed from the query it belongs to (no copy of text or bytes).
    fn bind<'q>(
        query: Query<'q, Self, <Self as Database>::Arguments<'q>>,
        value: &'q SqlValue,
    ) -> Query<'q, Self, <Self as Database>::Arguments<'q>>;

    fn decode(row: &Self::Row, index: usize, ty: FieldType) -> Result<Value>;

    fn done(result: &Self::QueryResult) -> Done;
}

fn decode_err(index: usize, message: String) -> crate::Error {
    crate::Error::Database(sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: message.into(),
    })
}

fn opt<T>(value: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
    value.map_or(Value::Null, f)
}

/// Binds the value types every backend encodes the same way; `None` for the rest.
macro_rules! bind_common {
    ($query:expr, $value:expr) => {
        match $value {
            SqlValue::Bool(v) => Ok($query.bind(*v)),
            SqlValue::I32(v) => Ok($query.bind(*v)),
            SqlValue::I64(v) => Ok($query.bind(*v)),
            SqlValue::F64(v) => Ok($query.bind(*v)),
            SqlValue::Text(v) => Ok($query.bind(v.as_str())),
            SqlValue::SharedText(v) => Ok($query.bind(&**v)),
            SqlValue::Bytes(v) => Ok($query.bind(v.as_slice())),
            _ => Err($query),
        }
    };
}

/// Binds a typed null for a backend that checks parameter types.
macro_rules! bind_typed_null {
    ($query:expr, $ty:expr) => {
        match $ty {
            FieldType::String => $query.bind(None::<String>),
            FieldType::I32 => $query.bind(None::<i32>),
            FieldType::I64 => $query.bind(None::<i64>),
            FieldType::F64 => $query.bind(None::<f64>),
            FieldType::Bool => $query.bind(None::<bool>),
            FieldType::Bytes => $query.bind(None::<Vec<u8>>),
            FieldType::Json => $query.bind(None::<Json<Value>>),
            FieldType::DateTime => $query.bind(None::<DateTime<Utc>>),
            FieldType::NaiveDateTime => $query.bind(None::<NaiveDateTime>),
        }
    };
}

/// Decodes the value types every backend decodes the same way; `None` for the rest.
macro_rules! decode_common {
    ($row:expr, $index:expr, $ty:expr) => {
        match $ty {
            FieldType::String => Some(opt(
                $row.try_get::<Option<String>, _>($index)?,
                Value::String,
            )),
            FieldType::I32 => Some(opt($row.try_get::<Option<i32>, _>($index)?, Value::from)),
            FieldType::I64 => Some(opt($row.try_get::<Option<i64>, _>($index)?, Value::from)),
            FieldType::F64 => Some(opt(
                $row.try_get::<Option<f64>, _>($index)?,
                value::float_json,
            )),
            FieldType::Bool => Some(opt($row.try_get::<Option<bool>, _>($index)?, Value::Bool)),
            FieldType::Bytes => Some(opt(
                $row.try_get::<Option<Vec<u8>>, _>($index)?,
                Value::from,
            )),
            _ => None,
        }
    };
}

impl Driver for Sqlite {
    fn bind<'q>(
        query: Query<'q, Self, <Self as Database>::Arguments<'q>>,
        value: &'q SqlValue,
    ) -> Query<'q, Self, <Self as Database>::Arguments<'q>> {
        match bind_common!(query, value) {
            Ok(query) => query,
            Err(query) => match value {
                // SQLite columns are untyped: any null will do.
                SqlValue::Null(_) => query.bind(None::<i64>),
                SqlValue::Json(v) => query.bind(v.to_string()),
                SqlValue::DateTime(t) => query.bind(value::format_datetime(t)),
                SqlValue::NaiveDateTime(t) => query.bind(value::format_naive(t)),
                _ => unreachable!("bind_common binds every other value"),
            },
        }
    }

    fn decode(row: &Self::Row, index: usize, ty: FieldType) -> Result<Value> {
        if let Some(value) = decode_common!(row, index, ty) {
            return Ok(value);
        }
        let Some(text) = row.try_get::<Option<String>, _>(index)? else {
            return Ok(Value::Null);
        };
        match ty {
            FieldType::Json => {
                serde_json::from_str(&text).map_err(|e| decode_err(index, e.to_string()))
            }
            FieldType::DateTime => value::parse_datetime(&text)
                .map(|t| Value::String(value::format_datetime(&t)))
                .ok_or_else(|| decode_err(index, format!("`{text}` is not a date-time"))),
            _ => value::parse_naive(&text)
                .map(|t| Value::String(value::format_naive(&t)))
                .ok_or_else(|| decode_err(index, format!("`{text}` is not a date-time"))),
        }
    }

    fn done(result: &Self::QueryResult) -> Done {
        Done {
            rows_affected: result.rows_affected(),
            last_insert_id: Some(result.last_insert_rowid()),
        }
    }
}

/// PostgreSQL and MySQL check parameter types and decode JSON and chrono types natively;
/// they differ only in what a statement reports.
macro_rules! typed_driver {
    ($db:ty, |$result:ident| $done:expr) => {
        impl Driver for $db {
            fn bind<'q>(
                query: Query<'q, Self, <Self as Database>::Arguments<'q>>,
                value: &'q SqlValue,
            ) -> Query<'q, Self, <Self as Database>::Arguments<'q>> {
                match bind_common!(query, value) {
                    Ok(query) => query,
                    Err(query) => match value {
                        SqlValue::Null(ty) => bind_typed_null!(query, ty),
                        SqlValue::Json(v) => query.bind(Json(v)),
                        SqlValue::DateTime(t) => query.bind(*t),
                        SqlValue::NaiveDateTime(t) => query.bind(*t),
                        _ => unreachable!("bind_common binds every other value"),
                    },
                }
            }

            fn decode(row: &Self::Row, index: usize, ty: FieldType) -> Result<Value> {
                if let Some(value) = decode_common!(row, index, ty) {
                    return Ok(value);
                }
                Ok(match ty {
                    FieldType::Json => opt(row.try_get::<Option<Json<Value>>, _>(index)?, |j| j.0),
                    FieldType::DateTime => {
                        opt(row.try_get::<Option<DateTime<Utc>>, _>(index)?, |t| {
                            Value::String(value::format_datetime(&t))
                        })
                    }
                    _ => opt(row.try_get::<Option<NaiveDateTime>, _>(index)?, |t| {
                        Value::String(value::format_naive(&t))
                    }),
                })
            }

            fn done($result: &Self::QueryResult) -> Done {
                $done
            }
        }
    };
}

typed_driver!(Postgres, |result| Done {
    rows_affected: result.rows_affected(),
    last_insert_id: None,
});

typed_driver!(MySql, |result| Done {
    rows_affected: result.rows_affected(),
    last_insert_id: i64::try_from(result.last_insert_id())
        .ok()
        .filter(|id| *id > 0),
});

fn prepare<'q, DB: Driver>(q: &'q SqlQuery) -> Query<'q, DB, <DB as Database>::Arguments<'q>> {
    q.args
        .iter()
        .fold(sqlx::query::<DB>(&q.sql), |query, value| {
            DB::bind(query, value)
        })
}

fn rows_to_json<DB: Driver>(
    rows: &[DB::Row],
    columns: &[Column],
) -> Result<Vec<Map<String, Value>>> {
    rows.iter()
        .map(|row| {
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| Ok((c.name.clone(), DB::decode(row, i, c.ty)?)))
                .collect()
        })
        .collect()
}

/// A connection taken from an instance's pool.
#[derive(Debug)]
pub(crate) enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
    MySql(PoolConnection<MySql>),
}

/// Runs `$body` with `$c` bound to the connection and `$db` to its database type.
macro_rules! on_conn {
    ($conn:expr, $db:ident, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => {
                type $db = Sqlite;
                $body
            }
            Conn::Postgres($c) => {
                type $db = Postgres;
                $body
            }
            Conn::MySql($c) => {
                type $db = MySql;
                $body
            }
        }
    };
}

impl Conn {
    // Written per backend rather than generic over `DB`: futures of generic sqlx code with
    // higher-ranked `Executor` bounds are not provably `Send`.
    // The futures are boxed for the same reason: it erases sqlx's lifetimes, which the
    // compiler otherwise fails to prove `Send` for in the callers' futures.
    pub(crate) fn execute<'a>(&'a mut self, q: &'a SqlQuery) -> BoxFuture<'a, Result<Done>> {
        Box::pin(async move {
            Ok(on_conn!(self, DB, c => {
                let result = prepare::<DB>(q).execute(&mut **c).await?;
                DB::done(&result)
            }))
        })
    }

    pub(crate) fn fetch<'a>(
        &'a mut self,
        q: &'a SqlQuery,
        columns: &'a [Column],
    ) -> BoxFuture<'a, Result<Vec<Map<String, Value>>>> {
        Box::pin(async move {
            on_conn!(self, DB, c => {
                let rows = prepare::<DB>(q).fetch_all(&mut **c).await?;
                rows_to_json::<DB>(&rows, columns)
            })
        })
    }

    /// Runs a statement of this crate's own (BEGIN, COMMIT, ...), unprepared.
    pub(crate) fn raw<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            on_conn!(self, _DB, c => {
                sqlx::Executor::execute(&mut **c, sql).await?;
            });
            Ok(())
        })
    }

    /// Makes the pool close this connection instead of taking it back.
    pub(crate) fn close_on_drop(&mut self) {
        on_conn!(self, _DB, c => c.close_on_drop())
    }
}
