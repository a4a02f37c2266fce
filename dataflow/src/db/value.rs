//! Values on their way between JSON and SQL.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::Backend;
use crate::error::{Error, Result};
use crate::model::FieldType;

/// A value bound to a query parameter. Nulls carry their type: PostgreSQL wants it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue {
    Null(FieldType),
    Bool(bool),
    I32(i32),
    I64(i64),
    F64(f64),
    Text(String),
    /// Text shared by many rows: a bulk insert's timestamps on SQLite, formatted once.
    SharedText(std::sync::Arc<str>),
    Bytes(Vec<u8>),
    Json(Value),
    DateTime(DateTime<Utc>),
    NaiveDateTime(NaiveDateTime),
}

/// A column as queries read it back: its name, type and whether it may be null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) ty: FieldType,
    pub(crate) nullable: bool,
}

/// Converts a JSON value to the SQL value of a field, or says why it does not fit.
pub(crate) fn to_sql(
    field: &str,
    ty: FieldType,
    nullable: bool,
    value: &Value,
) -> Result<SqlValue> {
    let wrong = || Error::invalid_value(field, ty.describe(), value);
    if value.is_null() {
        return if nullable {
            Ok(SqlValue::Null(ty))
        } else if ty == FieldType::Json {
            // A required JSON field holds JSON's own null.
            Ok(SqlValue::Json(Value::Null))
        } else {
            Err(Error::invalid_value(
                field,
                &format!("{} (the field is not optional)", ty.describe()),
                value,
            ))
        };
    }
    Ok(match ty {
        FieldType::String => SqlValue::Text(value.as_str().ok_or_else(wrong)?.to_owned()),
        FieldType::I32 => SqlValue::I32(
            value
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(wrong)?,
        ),
        FieldType::I64 => SqlValue::I64(value.as_i64().ok_or_else(wrong)?),
        FieldType::F64 => SqlValue::F64(value.as_f64().ok_or_else(wrong)?),
        FieldType::Bool => SqlValue::Bool(value.as_bool().ok_or_else(wrong)?),
        FieldType::Bytes => SqlValue::Bytes(
            value
                .as_array()
                .ok_or_else(wrong)?
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(wrong)?,
        ),
        FieldType::Json => SqlValue::Json(value.clone()),
        FieldType::DateTime => {
            SqlValue::DateTime(value.as_str().and_then(parse_datetime).ok_or_else(wrong)?)
        }
        FieldType::NaiveDateTime => {
            SqlValue::NaiveDateTime(value.as_str().and_then(parse_naive).ok_or_else(wrong)?)
        }
    })
}

/// The current time as a bulk insert binds it to every row: on SQLite (which stores it as
/// text) formatted once and shared, elsewhere a timestamp.
pub(crate) fn now_for_rows(backend: Backend) -> SqlValue {
    let now = now();
    match backend {
        Backend::Sqlite => SqlValue::SharedText(format_datetime(&now).into()),
        _ => SqlValue::DateTime(now),
    }
}

/// The current time, cut to microseconds (what every backend stores).
pub(crate) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// RFC 3339 with exactly six fractional digits and `Z`: sorts as text in time order.
pub(crate) fn format_datetime(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// ISO 8601 without offset, six fractional digits.
pub(crate) fn format_naive(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| parse_naive(s).map(|n| n.and_utc()))
}

pub(crate) fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
}

/// A float as JSON; NaN and infinities, which JSON cannot hold, become null.
pub(crate) fn float_json(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_of_the_right_type_convert() {
        assert_eq!(
            to_sql("n", FieldType::I32, false, &json!(5)).unwrap(),
            SqlValue::I32(5)
        );
        assert_eq!(
            to_sql("b", FieldType::Bytes, false, &json!([1, 2])).unwrap(),
            SqlValue::Bytes(vec![1, 2])
        );
        assert_eq!(
            to_sql("o", FieldType::String, true, &json!(null)).unwrap(),
            SqlValue::Null(FieldType::String)
        );
        let t = to_sql(
            "t",
            FieldType::DateTime,
            false,
            &json!("2024-05-01T10:00:00+02:00"),
        )
        .unwrap();
        assert_eq!(
            t,
            SqlValue::DateTime(parse_datetime("2024-05-01T08:00:00Z").unwrap())
        );
    }

    #[test]
    fn values_of_the_wrong_type_name_the_field() {
        for (ty, value) in [
            (FieldType::I32, json!("5")),
            (FieldType::I32, json!(1_i64 << 40)),
            (FieldType::Bool, json!(1)),
            (FieldType::String, json!(null)),
            (FieldType::Bytes, json!([300])),
            (FieldType::DateTime, json!("yesterday")),
        ] {
            let err = to_sql("age", ty, false, &value).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidValue { field, .. } if field == "age"),
                "{err}"
            );
        }
    }

    #[test]
    fn datetimes_format_with_fixed_width() {
        let t = parse_datetime("2024-05-01T08:00:00Z").unwrap();
        assert_eq!(format_datetime(&t), "2024-05-01T08:00:00.000000Z");
    }
}
