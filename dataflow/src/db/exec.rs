//! Running [`SqlQuery`]s on each backend: binding values, decoding rows into JSON.

#[cfg(any(feature = "postgres", feature = "mysql"))]
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use sqlx::types::Json;
#[cfg(feature = "mysql")]
use sqlx::MySql;
#[cfg(feature = "postgres")]
use sqlx::Postgres;
#[cfg(feature = "sqlite")]
use sqlx::Sqlite;
use sqlx::{Database, Row};

use crate::error::Result;
use crate::model::FieldType;

use super::sql::SqlQuery;
use super::value::{self, Column, SqlValue};

pub(crate) type BoxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

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
            SqlValue::I16(v) => Ok($query.bind(*v)),
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
#[cfg(any(feature = "postgres", feature = "mysql"))]
macro_rules! bind_typed_null {
    ($query:expr, $ty:expr) => {
        match $ty {
            FieldType::String => $query.bind(None::<String>),
            FieldType::I16 => $query.bind(None::<i16>),
            FieldType::I32 => $query.bind(None::<i32>),
            FieldType::I64 => $query.bind(None::<i64>),
            FieldType::F32 => $query.bind(None::<f32>),
            FieldType::F64 => $query.bind(None::<f64>),
            FieldType::Date => $query.bind(None::<NaiveDate>),
            FieldType::Bool => $query.bind(None::<bool>),
            FieldType::Bytes => $query.bind(None::<Vec<u8>>),
            FieldType::Json => $query.bind(None::<Json<Value>>),
            FieldType::DateTime => $query.bind(None::<DateTime<Utc>>),
            FieldType::NaiveDateTime => $query.bind(None::<NaiveDateTime>),
            // Text where the backend stores them as text; PostgreSQL's own types are bound
            // by `typed_driver!`.
            FieldType::Uuid | FieldType::Decimal => $query.bind(None::<String>),
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
            FieldType::I16 => Some(opt($row.try_get::<Option<i16>, _>($index)?, Value::from)),
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

#[cfg(feature = "sqlite")]
impl Driver for Sqlite {
    fn bind<'q>(
        query: Query<'q, Self, <Self as Database>::Arguments<'q>>,
        value: &'q SqlValue,
    ) -> Query<'q, Self, <Self as Database>::Arguments<'q>> {
        match bind_common!(query, value) {
            Ok(query) => query,
            Err(query) => match value {
                // SQLite columns are untyped: any null will do.
                SqlValue::Null(_) | SqlValue::UntypedNull => query.bind(None::<i64>),
                // REAL is a double: store the f32's own digits, not its binary expansion.
                SqlValue::F32(v) => query.bind(f64::from(*v)),
                SqlValue::Json(v) => query.bind(v.to_string()),
                SqlValue::DateTime(t) => query.bind(value::format_datetime(t)),
                SqlValue::NaiveDateTime(t) => query.bind(value::format_naive(t)),
                SqlValue::Date(d) => query.bind(value::format_date(d)),
                #[cfg(feature = "uuid")]
                SqlValue::Uuid(u) => query.bind(u.hyphenated().to_string()),
                #[cfg(feature = "decimal")]
                SqlValue::Decimal(d) => query.bind(d.to_string()),
                _ => unreachable!("bind_common binds every other value"),
            },
        }
    }

    fn decode(row: &Self::Row, index: usize, ty: FieldType) -> Result<Value> {
        if let Some(value) = decode_common!(row, index, ty) {
            return Ok(value);
        }
        if ty == FieldType::F32 {
            let f = row.try_get::<Option<f64>, _>(index)?;
            return Ok(opt(f, |f| value::f32_json(f as f32)));
        }
        let Some(text) = row.try_get::<Option<String>, _>(index)? else {
            return Ok(Value::Null);
        };
        match ty {
            FieldType::Json => {
                serde_json::from_str(&text).map_err(|e| decode_err(index, e.to_string()))
            }
            FieldType::Date | FieldType::Uuid | FieldType::Decimal => text_typed(index, ty, &text),
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
#[cfg(any(feature = "postgres", feature = "mysql"))]
macro_rules! typed_driver {
    ($db:ty, null: $null:expr, uuid: $uuid:expr, special: $special:expr, |$result:ident| $done:expr) => {
        impl Driver for $db {
            fn bind<'q>(
                query: Query<'q, Self, <Self as Database>::Arguments<'q>>,
                value: &'q SqlValue,
            ) -> Query<'q, Self, <Self as Database>::Arguments<'q>> {
                match bind_common!(query, value) {
                    Ok(query) => query,
                    Err(query) => match value {
                        SqlValue::Null(ty) => $null(query, *ty),
                        SqlValue::UntypedNull => query.bind(UntypedNull),
                        SqlValue::F32(v) => query.bind(*v),
                        SqlValue::Json(v) => query.bind(Json(v)),
                        SqlValue::DateTime(t) => query.bind(*t),
                        SqlValue::NaiveDateTime(t) => query.bind(*t),
                        SqlValue::Date(d) => query.bind(*d),
                        #[cfg(feature = "uuid")]
                        SqlValue::Uuid(u) => $uuid(query, u),
                        #[cfg(feature = "decimal")]
                        SqlValue::Decimal(d) => query.bind(*d),
                        _ => unreachable!("bind_common binds every other value"),
                    },
                }
            }

            fn decode(row: &Self::Row, index: usize, ty: FieldType) -> Result<Value> {
                if let Some(value) = decode_common!(row, index, ty) {
                    return Ok(value);
                }
                Ok(match ty {
                    FieldType::F32 => opt(row.try_get::<Option<f32>, _>(index)?, value::f32_json),
                    FieldType::Date => opt(row.try_get::<Option<NaiveDate>, _>(index)?, |d| {
                        Value::String(value::format_date(&d))
                    }),
                    FieldType::Uuid | FieldType::Decimal => return $special(row, index, ty),
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

#[cfg(feature = "postgres")]
typed_driver!(
    Postgres,
    null: pg_null,
    uuid: pg_uuid,
    special: pg_special,
    |result| Done {
        rows_affected: result.rows_affected(),
        last_insert_id: None,
    }
);

#[cfg(feature = "postgres")]
fn pg_null(query: PgQuery<'_>, ty: FieldType) -> PgQuery<'_> {
    match ty {
        #[cfg(feature = "uuid")]
        FieldType::Uuid => query.bind(None::<uuid::Uuid>),
        #[cfg(feature = "decimal")]
        FieldType::Decimal => query.bind(None::<rust_decimal::Decimal>),
        ty => bind_typed_null!(query, ty),
    }
}

#[cfg(all(feature = "postgres", feature = "uuid"))]
fn pg_uuid<'q>(query: PgQuery<'q>, u: &uuid::Uuid) -> PgQuery<'q> {
    query.bind(*u)
}

#[cfg(feature = "postgres")]
fn pg_special(row: &sqlx::postgres::PgRow, index: usize, ty: FieldType) -> Result<Value> {
    match ty {
        #[cfg(feature = "uuid")]
        FieldType::Uuid => Ok(opt(row.try_get::<Option<uuid::Uuid>, _>(index)?, |u| {
            Value::String(u.hyphenated().to_string())
        })),
        #[cfg(feature = "decimal")]
        FieldType::Decimal => Ok(opt(
            row.try_get::<Option<rust_decimal::Decimal>, _>(index)?,
            value::decimal_json,
        )),
        _ => {
            let _ = row;
            Err(decode_err(
                index,
                format!("{ty:?} needs a crate feature of dataflow"),
            ))
        }
    }
}

#[cfg(feature = "mysql")]
fn mysql_null(query: MySqlQuery<'_>, ty: FieldType) -> MySqlQuery<'_> {
    bind_typed_null!(query, ty)
}

/// MySQL keeps UUIDs as CHAR(36).
#[cfg(all(feature = "mysql", feature = "uuid"))]
fn mysql_uuid<'q>(query: MySqlQuery<'q>, u: &uuid::Uuid) -> MySqlQuery<'q> {
    query.bind(u.hyphenated().to_string())
}

/// A UUID is CHAR(36); a DECIMAL comes as text either way, and is read as text so that its
/// padding zeros need not fit a `rust_decimal`.
#[cfg(feature = "mysql")]
fn mysql_special(row: &sqlx::mysql::MySqlRow, index: usize, ty: FieldType) -> Result<Value> {
    let text = row.try_get_unchecked::<Option<String>, _>(index)?;
    text.map_or(Ok(Value::Null), |text| text_typed(index, ty, &text))
}

#[cfg(feature = "mysql")]
typed_driver!(
    MySql,
    null: mysql_null,
    uuid: mysql_uuid,
    special: mysql_special,
    |result| Done {
    rows_affected: result.rows_affected(),
    last_insert_id: i64::try_from(result.last_insert_id())
        .ok()
        .filter(|id| *id > 0),
    }
);

#[cfg(feature = "postgres")]
type PgQuery<'q> = Query<'q, Postgres, <Postgres as Database>::Arguments<'q>>;
#[cfg(feature = "mysql")]
type MySqlQuery<'q> = Query<'q, MySql, <MySql as Database>::Arguments<'q>>;

/// A date, UUID or decimal stored as text, as JSON.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
fn text_typed(index: usize, ty: FieldType, text: &str) -> Result<Value> {
    let bad = || decode_err(index, format!("`{text}` is not {}", ty.describe()));
    match ty {
        FieldType::Date => value::parse_date(text)
            .map(|d| Value::String(value::format_date(&d)))
            .ok_or_else(bad),
        #[cfg(feature = "uuid")]
        FieldType::Uuid => uuid::Uuid::parse_str(text)
            .map(|u| Value::String(u.hyphenated().to_string()))
            .map_err(|_| bad()),
        #[cfg(feature = "decimal")]
        FieldType::Decimal => value::parse_decimal(text)
            .map(value::decimal_json)
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// A null whose type PostgreSQL infers from where the parameter is used (type oid 0), for
/// raw SQL; elsewhere any null.
#[cfg(any(feature = "postgres", feature = "mysql"))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct UntypedNull;

#[cfg(feature = "postgres")]
impl sqlx::Type<Postgres> for UntypedNull {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        sqlx::postgres::PgTypeInfo::with_oid(sqlx::postgres::types::Oid(0))
    }
}

#[cfg(feature = "postgres")]
impl sqlx::Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(
        &self,
        _buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        Ok(sqlx::encode::IsNull::Yes)
    }
}

#[cfg(feature = "mysql")]
impl sqlx::Type<MySql> for UntypedNull {
    fn type_info() -> sqlx::mysql::MySqlTypeInfo {
        <String as sqlx::Type<MySql>>::type_info()
    }
}

#[cfg(feature = "mysql")]
impl sqlx::Encode<'_, MySql> for UntypedNull {
    fn encode_by_ref(
        &self,
        _buf: &mut Vec<u8>,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        Ok(sqlx::encode::IsNull::Yes)
    }
}

pub(crate) fn prepare<'q, DB: Driver>(
    q: &'q SqlQuery,
) -> Query<'q, DB, <DB as Database>::Arguments<'q>> {
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
    #[cfg(feature = "sqlite")]
    Sqlite(PoolConnection<Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(PoolConnection<Postgres>),
    #[cfg(feature = "mysql")]
    MySql(PoolConnection<MySql>),
}

/// Runs `$body` with `$c` bound to the connection and `$db` to its database type.
macro_rules! on_conn {
    ($conn:expr, $db:ident, $c:ident => $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            $crate::db::exec::Conn::Sqlite($c) => {
                type $db = ::sqlx::Sqlite;
                $body
            }
            #[cfg(feature = "postgres")]
            $crate::db::exec::Conn::Postgres($c) => {
                type $db = ::sqlx::Postgres;
                $body
            }
            #[cfg(feature = "mysql")]
            $crate::db::exec::Conn::MySql($c) => {
                type $db = ::sqlx::MySql;
                $body
            }
        }
    };
}
pub(crate) use on_conn;

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

    /// Closes the connection now, without handing it back to its pool first (the pool
    /// counts it as gone). Closing fails only when the connection is broken: gone either
    /// way.
    pub(crate) fn close(self) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            on_conn!(self, _DB, c => {
                let _ = c.close().await;
            });
        })
    }

    /// Makes the pool close this connection instead of taking it back.
    pub(crate) fn close_on_drop(&mut self) {
        on_conn!(self, _DB, c => c.close_on_drop())
    }
}
