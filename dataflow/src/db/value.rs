//! Values on their way between JSON and SQL.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::Backend;
use crate::error::{Error, Result};
use crate::model::{Digits, FieldType};

/// A value bound to a query parameter. Nulls carry their type: PostgreSQL wants it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue {
    Null(FieldType),
    /// A null whose type the database infers (raw SQL).
    UntypedNull,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(String),
    /// Text shared by many rows: a bulk insert's timestamps on SQLite, formatted once.
    SharedText(std::sync::Arc<str>),
    Bytes(Vec<u8>),
    /// Boxed: a JSON value is large, and every bound value is as large as the largest.
    Json(Box<Value>),
    DateTime(DateTime<Utc>),
    NaiveDateTime(NaiveDateTime),
    Date(NaiveDate),
    #[cfg(feature = "uuid")]
    Uuid(uuid::Uuid),
    #[cfg(feature = "decimal")]
    Decimal(rust_decimal::Decimal),
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
            Ok(SqlValue::Json(Box::new(Value::Null)))
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
        FieldType::I16 => SqlValue::I16(
            value
                .as_i64()
                .and_then(|n| i16::try_from(n).ok())
                .ok_or_else(wrong)?,
        ),
        FieldType::I32 => SqlValue::I32(
            value
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(wrong)?,
        ),
        FieldType::I64 => SqlValue::I64(value.as_i64().ok_or_else(wrong)?),
        FieldType::F32 => SqlValue::F32(
            value
                .as_f64()
                .map(|f| f as f32)
                .filter(|f| f.is_finite())
                .ok_or_else(wrong)?,
        ),
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
        FieldType::Json => SqlValue::Json(Box::new(value.clone())),
        FieldType::DateTime => {
            SqlValue::DateTime(value.as_str().and_then(parse_datetime).ok_or_else(wrong)?)
        }
        FieldType::NaiveDateTime => {
            SqlValue::NaiveDateTime(value.as_str().and_then(parse_naive).ok_or_else(wrong)?)
        }
        FieldType::Date => SqlValue::Date(value.as_str().and_then(parse_date).ok_or_else(wrong)?),
        #[cfg(feature = "uuid")]
        FieldType::Uuid => SqlValue::Uuid(
            value
                .as_str()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(wrong)?,
        ),
        #[cfg(feature = "decimal")]
        FieldType::Decimal => {
            let text = match value {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) => n.to_string(),
                _ => return Err(wrong()),
            };
            SqlValue::Decimal(parse_decimal(&text).ok_or_else(wrong)?)
        }
        #[allow(
            unreachable_patterns,
            reason = "reached only without the uuid or decimal feature"
        )]
        other => {
            return Err(Error::invalid_param(
                field,
                format!(
                    "{} needs the `{}` feature of dataflow",
                    other.describe(),
                    other.missing_feature().unwrap_or("?")
                ),
            ))
        }
    })
}

/// The value of a decimal field with fixed digits: `value` with the column's scale
/// (`12.5` becomes `12.50`, exactly), or an error naming the field when it has more digits
/// than the column holds, which the database would round or refuse.
pub(crate) fn fit_digits(
    field: &str,
    digits: Digits,
    value: SqlValue,
    json: &Value,
) -> Result<SqlValue> {
    #[cfg(feature = "decimal")]
    if let SqlValue::Decimal(mut d) = value {
        let before = u32::from(digits.precision - digits.scale);
        let integer = d.trunc().abs();
        let integer_digits = match integer.is_zero() {
            true => 0,
            false => integer.normalize().to_string().len() as u32,
        };
        if d.scale() > u32::from(digits.scale) || integer_digits > before {
            let expected = format!(
                "a decimal with at most {before} digits before the point and {} after \
                 (DECIMAL({}, {}))",
                digits.scale, digits.precision, digits.scale
            );
            return Err(Error::invalid_value(field, &expected, json));
        }
        d.rescale(u32::from(digits.scale));
        return Ok(SqlValue::Decimal(d));
    }
    let _ = (field, digits, json);
    Ok(value)
}

/// A JSON value as a parameter of raw SQL whose type the database does not say: by its
/// JSON type.
pub(crate) fn untyped(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::UntypedNull,
        Value::Bool(b) => SqlValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::I64(i),
            None => SqlValue::F64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Json(Box::new(other.clone())),
    }
}

pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

pub(crate) fn format_date(d: &NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// An `f32` as JSON, with the digits an `f32` prints (`0.1`, not `0.10000000149011612`).
pub(crate) fn f32_json(f: f32) -> Value {
    f.to_string()
        .parse::<f64>()
        .ok()
        .map_or(Value::Null, float_json)
}

/// A decimal, exactly, with the scale it is written with (`"12.50"` keeps its two digits).
/// Only more digits after the point than `rust_decimal` holds (28) lose their trailing zeros
/// first: MySQL's padding of a `DECIMAL(65, 30)` column (`1.500000000000000000000000000000`),
/// which no value was written with.
#[cfg(feature = "decimal")]
pub(crate) fn parse_decimal(text: &str) -> Option<rust_decimal::Decimal> {
    let scientific = text.contains(['e', 'E']);
    let fraction = text.split_once('.').map_or(0, |(_, f)| f.len());
    let trimmed = match !scientific && fraction > 28 {
        true => text.trim_end_matches('0').trim_end_matches('.'),
        false => text,
    };
    trimmed
        .parse::<rust_decimal::Decimal>()
        .or_else(|_| rust_decimal::Decimal::from_scientific(trimmed))
        .ok()
}

/// A decimal as JSON: a string with the decimal's own scale (`"12.50"`, not `"12.5"`).
#[cfg(feature = "decimal")]
pub(crate) fn decimal_json(d: rust_decimal::Decimal) -> Value {
    Value::String(d.to_string())
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
    fn a_bound_value_is_no_larger_than_a_string_and_its_tag() {
        // A bulk insert holds tens of thousands of them; a JSON value inline (72 bytes)
        // made each 80.
        assert!(size_of::<SqlValue>() <= 32);
    }

    #[cfg(feature = "decimal")]
    #[test]
    fn decimals_keep_their_written_scale_but_not_mysql_padding() {
        let back = |text: &str| parse_decimal(text).map(decimal_json);
        assert_eq!(back("12.50"), Some(json!("12.50")));
        assert_eq!(back("-0.10"), Some(json!("-0.10")));
        assert_eq!(back("100"), Some(json!("100")));
        // DECIMAL(65, 30): 30 digits after the point, more than a rust_decimal holds.
        assert_eq!(
            back("12.500000000000000000000000000000"),
            Some(json!("12.5"))
        );
        assert_eq!(back("12,5"), None);
    }

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
