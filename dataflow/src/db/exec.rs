//! Running [`SqlQuery`]s on each backend: binding values, decoding rows into JSON.

#[cfg(any(feature = "postgres", feature = "mysql"))]
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use sqlx::error::BoxDynError;
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteArguments;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use sqlx::types::Json;
#[cfg(feature = "mysql")]
use sqlx::MySql;
#[cfg(feature = "postgres")]
use sqlx::Postgres;
#[cfg(feature = "sqlite")]
use sqlx::Sqlite;
use sqlx::{Arguments, Database, Row};

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
    /// Adds `value` to a statement's arguments, moved in: text and bytes are handed over,
    /// not copied (SQLite's driver would copy borrowed ones to send them to its worker
    /// thread).
    fn bind(
        args: &mut <Self as Database>::Arguments<'_>,
        value: SqlValue,
    ) -> Result<(), BoxDynError>;

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

/// Binds the value types every backend encodes the same way: `Ok` with what adding it gave,
/// or `Err` with the value for the backend to bind.
macro_rules! bind_common {
    ($args:expr, $value:expr) => {
        match $value {
            SqlValue::Bool(v) => Ok($args.add(v)),
            SqlValue::I16(v) => Ok($args.add(v)),
            SqlValue::I32(v) => Ok($args.add(v)),
            SqlValue::I64(v) => Ok($args.add(v)),
            SqlValue::F64(v) => Ok($args.add(v)),
            SqlValue::Text(v) => Ok($args.add(v)),
            SqlValue::SharedText(v) => Ok($args.add(String::from(&*v))),
            SqlValue::Bytes(v) => Ok($args.add(v)),
            other => Err(other),
        }
    };
}

/// Binds a typed null for a backend that checks parameter types.
#[cfg(any(feature = "postgres", feature = "mysql"))]
macro_rules! bind_typed_null {
    ($args:expr, $ty:expr) => {
        match $ty {
            FieldType::String => $args.add(None::<String>),
            FieldType::I16 => $args.add(None::<i16>),
            FieldType::I32 => $args.add(None::<i32>),
            FieldType::I64 => $args.add(None::<i64>),
            FieldType::F32 => $args.add(None::<f32>),
            FieldType::F64 => $args.add(None::<f64>),
            FieldType::Date => $args.add(None::<NaiveDate>),
            FieldType::Bool => $args.add(None::<bool>),
            FieldType::Bytes => $args.add(None::<Vec<u8>>),
            FieldType::Json => $args.add(None::<Json<Value>>),
            FieldType::DateTime => $args.add(None::<DateTime<Utc>>),
            FieldType::NaiveDateTime => $args.add(None::<NaiveDateTime>),
            // Text where the backend stores them as text; PostgreSQL's own types are bound
            // by `typed_driver!`.
            FieldType::Uuid | FieldType::Decimal => $args.add(None::<String>),
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
    fn bind(args: &mut SqliteArguments<'_>, value: SqlValue) -> Result<(), BoxDynError> {
        match bind_common!(args, value) {
            Ok(added) => added,
            Err(value) => match value {
                // SQLite columns are untyped: any null will do.
                SqlValue::Null(_) | SqlValue::UntypedNull => args.add(None::<i64>),
                // REAL is a double: store the f32's own digits, not its binary expansion.
                SqlValue::F32(v) => args.add(f64::from(v)),
                SqlValue::Json(v) => args.add(v.to_string()),
                SqlValue::DateTime(t) => args.add(value::format_datetime(&t)),
                SqlValue::NaiveDateTime(t) => args.add(value::format_naive(&t)),
                SqlValue::Date(d) => args.add(value::format_date(&d)),
                #[cfg(feature = "uuid")]
                SqlValue::Uuid(u) => args.add(u.hyphenated().to_string()),
                #[cfg(feature = "decimal")]
                SqlValue::Decimal(d) => args.add(d.to_string()),
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
            fn bind(
                args: &mut <Self as Database>::Arguments<'_>,
                value: SqlValue,
            ) -> Result<(), BoxDynError> {
                match bind_common!(args, value) {
                    Ok(added) => added,
                    Err(value) => match value {
                        SqlValue::Null(ty) => $null(args, ty),
                        SqlValue::UntypedNull => args.add(UntypedNull),
                        SqlValue::F32(v) => args.add(v),
                        SqlValue::Json(v) => args.add(Json(*v)),
                        SqlValue::DateTime(t) => args.add(t),
                        SqlValue::NaiveDateTime(t) => args.add(t),
                        SqlValue::Date(d) => args.add(d),
                        #[cfg(feature = "uuid")]
                        SqlValue::Uuid(u) => $uuid(args, u),
                        #[cfg(feature = "decimal")]
                        SqlValue::Decimal(d) => args.add(d),
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
fn pg_null(args: &mut PgArguments, ty: FieldType) -> Result<(), BoxDynError> {
    match ty {
        #[cfg(feature = "uuid")]
        FieldType::Uuid => args.add(None::<uuid::Uuid>),
        #[cfg(feature = "decimal")]
        FieldType::Decimal => args.add(None::<rust_decimal::Decimal>),
        ty => bind_typed_null!(args, ty),
    }
}

#[cfg(all(feature = "postgres", feature = "uuid"))]
fn pg_uuid(args: &mut PgArguments, u: uuid::Uuid) -> Result<(), BoxDynError> {
    args.add(u)
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
fn mysql_null(args: &mut MySqlArguments, ty: FieldType) -> Result<(), BoxDynError> {
    bind_typed_null!(args, ty)
}

/// MySQL keeps UUIDs as CHAR(36).
#[cfg(all(feature = "mysql", feature = "uuid"))]
fn mysql_uuid(args: &mut MySqlArguments, u: uuid::Uuid) -> Result<(), BoxDynError> {
    args.add(u.hyphenated().to_string())
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

#[cfg(feature = "mysql")]
use sqlx::mysql::MySqlArguments;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgArguments;

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

/// `sql` with `args` bound, moved in. A value the driver cannot encode is an error here,
/// before anything runs.
pub(crate) fn prepare<'q, DB: Driver>(
    sql: &'q str,
    args: Vec<SqlValue>,
) -> std::result::Result<Query<'q, DB, <DB as Database>::Arguments<'q>>, sqlx::Error>
where
    <DB as Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    let mut arguments = <DB as Database>::Arguments::default();
    arguments.reserve(args.len(), 0);
    for value in args {
        DB::bind(&mut arguments, value).map_err(sqlx::Error::Encode)?;
    }
    Ok(sqlx::query_with(sql, arguments))
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
    pub(crate) fn execute(&mut self, q: SqlQuery) -> BoxFuture<'_, Result<Done>> {
        Box::pin(async move {
            let SqlQuery { sql, args } = q;
            Ok(on_conn!(self, DB, c => {
                let result = prepare::<DB>(&sql, args)?.execute(&mut **c).await?;
                DB::done(&result)
            }))
        })
    }

    pub(crate) fn fetch<'a>(
        &'a mut self,
        q: SqlQuery,
        columns: &'a [Column],
    ) -> BoxFuture<'a, Result<Vec<Map<String, Value>>>> {
        Box::pin(async move {
            let SqlQuery { sql, args } = q;
            on_conn!(self, DB, c => {
                let rows = prepare::<DB>(&sql, args)?.fetch_all(&mut **c).await?;
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
