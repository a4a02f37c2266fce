//! JSON filters (`{"age": {"$gte": 18}, "name": "Alice"}`) checked against a model and
//! turned into a `WHERE` clause whose every value is a bound parameter.

use serde_json::{Map, Value};

use crate::db::sql::{Ident, QueryBuilder};
use crate::db::value::{self, Column, SqlValue};
use crate::error::{Error, Result};
use crate::model::FieldType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Nin,
    Like,
    IsNull,
    IsNotNull,
}

#[derive(Debug, Clone, PartialEq)]
struct Condition<'a> {
    column: Ident<'a>,
    op: Op,
    values: Vec<SqlValue>,
}

/// A checked filter: conditions ANDed together.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Filter<'a> {
    conditions: Vec<Condition<'a>>,
}

impl<'a> Filter<'a> {
    /// Checks `filter` (a JSON object, or null for none) against `columns`.
    pub(crate) fn parse(columns: &'a [Column], filter: &Value, context: &str) -> Result<Self> {
        let object = match filter {
            Value::Null => return Ok(Filter::default()),
            Value::Object(object) => object,
            other => return Err(Error::invalid_value(context, "a JSON object", other)),
        };
        let mut conditions = Vec::with_capacity(object.len());
        for (field, condition) in object {
            let column =
                columns
                    .iter()
                    .find(|c| c.name == *field)
                    .ok_or_else(|| Error::UnknownField {
                        context: context.to_owned(),
                        field: field.clone(),
                        expected: columns.iter().map(|c| c.name.clone()).collect(),
                    })?;
            match condition {
                Value::Object(ops) => {
                    for (op, operand) in ops {
                        conditions.push(parse_operator(column, op, operand)?);
                    }
                }
                plain => conditions.push(parse_operator(column, "$eq", plain)?),
            }
        }
        Ok(Filter { conditions })
    }

    /// A filter of equalities, e.g. `id = ?`.
    pub(crate) fn equal(column: Ident<'a>, value: SqlValue) -> Self {
        let mut filter = Filter::default();
        filter.and_equal(column, value);
        filter
    }

    /// Adds `column = value`.
    pub(crate) fn and_equal(&mut self, column: Ident<'a>, value: SqlValue) {
        self.conditions.push(Condition {
            column,
            op: Op::Eq,
            values: vec![value],
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// Appends ` WHERE ...`, or nothing for an empty filter.
    pub(crate) fn push_where(&self, q: &mut QueryBuilder) {
        for (i, c) in self.conditions.iter().enumerate() {
            q.push(if i == 0 { " WHERE " } else { " AND " });
            push_condition(q, c);
        }
    }
}

fn push_condition(q: &mut QueryBuilder, c: &Condition<'_>) {
    let comparison = match c.op {
        Op::Eq => " = ",
        Op::Ne => " <> ",
        Op::Gt => " > ",
        Op::Gte => " >= ",
        Op::Lt => " < ",
        Op::Lte => " <= ",
        Op::Like => " LIKE ",
        Op::IsNull => {
            q.push_ident(c.column).push(" IS NULL");
            return;
        }
        Op::IsNotNull => {
            q.push_ident(c.column).push(" IS NOT NULL");
            return;
        }
        Op::In | Op::Nin if c.values.is_empty() => {
            // Nothing is in an empty list; everything is outside it.
            q.push(if c.op == Op::In { "1 = 0" } else { "1 = 1" });
            return;
        }
        Op::In | Op::Nin => {
            q.push_ident(c.column)
                .push(if c.op == Op::In { " IN (" } else { " NOT IN (" });
            q.push_list(c.values.iter().cloned(), |q, v| {
                q.push_bind(v);
            });
            q.push(")");
            return;
        }
    };
    q.push_ident(c.column)
        .push(comparison)
        .push_bind(c.values[0].clone());
}

fn parse_operator<'a>(column: &'a Column, op: &str, operand: &Value) -> Result<Condition<'a>> {
    let field = column.name.as_str();
    let ident = Ident::new("field", field)?;
    let condition = |op, values| Condition {
        column: ident,
        op,
        values,
    };
    let unknown = || Error::UnknownOperator {
        field: field.to_owned(),
        operator: op.to_owned(),
    };
    let one = |v: &Value| value::to_sql(field, column.ty, false, v);
    if column.ty == FieldType::Json && op != "$null" && !(op == "$eq" && operand.is_null()) {
        return Err(Error::invalid_param(
            field,
            "JSON fields can only be filtered with $null (or equality with null)",
        ));
    }
    Ok(match op {
        "$eq" | "$ne" if operand.is_null() => condition(
            if op == "$eq" {
                Op::IsNull
            } else {
                Op::IsNotNull
            },
            vec![],
        ),
        "$eq" => condition(Op::Eq, vec![one(operand)?]),
        "$ne" => condition(Op::Ne, vec![one(operand)?]),
        "$gt" => condition(Op::Gt, vec![one(operand)?]),
        "$gte" => condition(Op::Gte, vec![one(operand)?]),
        "$lt" => condition(Op::Lt, vec![one(operand)?]),
        "$lte" => condition(Op::Lte, vec![one(operand)?]),
        "$in" | "$nin" => {
            let items = operand.as_array().ok_or_else(|| {
                Error::invalid_value(field, &format!("an array for {op}"), operand)
            })?;
            let values = items.iter().map(one).collect::<Result<Vec<_>>>()?;
            condition(if op == "$in" { Op::In } else { Op::Nin }, values)
        }
        "$like" => {
            if column.ty != FieldType::String {
                return Err(Error::invalid_param(
                    field,
                    "$like applies to string fields only",
                ));
            }
            condition(Op::Like, vec![one(operand)?])
        }
        "$null" => match operand {
            Value::Bool(true) => condition(Op::IsNull, vec![]),
            Value::Bool(false) => condition(Op::IsNotNull, vec![]),
            other => {
                return Err(Error::invalid_value(
                    field,
                    "true or false for $null",
                    other,
                ))
            }
        },
        _ => return Err(unknown()),
    })
}

/// Checks that `params` only has keys from `allowed`; names the first one that is not.
pub(crate) fn check_keys(
    params: &Map<String, Value>,
    allowed: &[&str],
    context: &str,
) -> Result<()> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(Error::UnknownField {
            context: context.to_owned(),
            field: unknown.clone(),
            expected: allowed.iter().map(|s| (*s).to_owned()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Backend;
    use serde_json::json;

    fn columns() -> Vec<Column> {
        [
            ("id", FieldType::I64, false),
            ("name", FieldType::String, false),
            ("age", FieldType::I32, true),
            ("meta", FieldType::Json, true),
        ]
        .into_iter()
        .map(|(name, ty, nullable)| Column {
            name: name.to_owned(),
            ty,
            nullable,
        })
        .collect()
    }

    fn where_sql(filter: Value) -> Result<(String, usize)> {
        let columns = columns();
        let filter = Filter::parse(&columns, &filter, "filter")?;
        let mut q = QueryBuilder::new(Backend::Postgres);
        filter.push_where(&mut q);
        let q = q.build();
        Ok((q.sql, q.args.len()))
    }

    #[test]
    fn operators_become_bound_comparisons() {
        let (sql, args) = where_sql(json!({"age": {"$gte": 18, "$lt": 65}, "name": "Al"})).unwrap();
        assert_eq!(
            sql,
            " WHERE \"age\" >= $1 AND \"age\" < $2 AND \"name\" = $3"
        );
        assert_eq!(args, 3);
        let (sql, args) =
            where_sql(json!({"id": {"$in": [1, 2]}, "age": {"$null": true}})).unwrap();
        assert_eq!(sql, " WHERE \"id\" IN ($1, $2) AND \"age\" IS NULL");
        assert_eq!(args, 2);
        assert_eq!(
            where_sql(json!({"id": {"$nin": []}})).unwrap().0,
            " WHERE 1 = 1"
        );
        assert_eq!(
            where_sql(json!({"name": null})).unwrap().0,
            " WHERE \"name\" IS NULL"
        );
    }

    #[test]
    fn hostile_values_stay_values() {
        let (sql, args) = where_sql(json!({"name": "x'; DROP TABLE users; --"})).unwrap();
        assert_eq!(sql, " WHERE \"name\" = $1");
        assert_eq!(args, 1);
    }

    #[test]
    fn bad_filters_name_the_problem() {
        let err = where_sql(json!({"nope": 1})).unwrap_err();
        assert!(
            matches!(&err, Error::UnknownField { field, .. } if field == "nope"),
            "{err}"
        );
        let err = where_sql(json!({"age": {"$regex": "x"}})).unwrap_err();
        assert!(
            matches!(&err, Error::UnknownOperator { operator, .. } if operator == "$regex"),
            "{err}"
        );
        let err = where_sql(json!({"age": {"$gt": "old"}})).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidValue { field, .. } if field == "age"),
            "{err}"
        );
        let err = where_sql(json!({"age": {"$in": 3}})).unwrap_err();
        assert!(matches!(&err, Error::InvalidValue { .. }), "{err}");
        let err = where_sql(json!({"age": {"$like": "1%"}})).unwrap_err();
        assert!(matches!(&err, Error::InvalidParameter { .. }), "{err}");
        let err = where_sql(json!(["age"])).unwrap_err();
        assert!(matches!(&err, Error::InvalidValue { .. }), "{err}");
        let err = where_sql(json!({"users; DROP TABLE x": 1})).unwrap_err();
        assert!(matches!(&err, Error::UnknownField { .. }), "{err}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn json_leaf() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                ".{0,12}".prop_map(Value::String),
                Just(json!("x'; DROP TABLE users; --")),
                Just(json!("\" OR 1=1 --")),
            ]
        }

        fn json_value() -> impl Strategy<Value = Value> {
            json_leaf().prop_recursive(2, 8, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(".{0,6}", inner, 0..3)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        fn key() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "id", "name", "age", "meta", "nope", "name; --", "\"id\""
                ])
                .prop_map(str::to_owned),
                ".{0,8}",
            ]
        }

        fn operator() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$like", "$null",
                    "$regex", "eq",
                ])
                .prop_map(str::to_owned),
                ".{0,5}",
            ]
        }

        fn condition() -> impl Strategy<Value = Value> {
            prop_oneof![
                json_value(),
                prop::collection::btree_map(operator(), json_value(), 1..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        }

        fn filter() -> impl Strategy<Value = Value> {
            prop_oneof![
                1 => json_value(),
                4 => prop::collection::btree_map(key(), condition(), 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        }

        /// What is left of the SQL once the known identifiers, placeholders and keywords
        /// are taken out: only spaces and punctuation may remain.
        fn residue(sql: &str) -> String {
            let mut rest = sql.to_owned();
            for column in ["\"id\"", "\"name\"", "\"age\"", "\"meta\""] {
                rest = rest.replace(column, " ");
            }
            for keyword in [
                "WHERE",
                "AND",
                "IS NOT NULL",
                "IS NULL",
                "NOT IN",
                "IN",
                "LIKE",
                "1 = 0",
                "1 = 1",
            ] {
                rest = rest.replace(keyword, " ");
            }
            let mut out = String::new();
            let mut chars = rest.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                } else if !" =<>(),".contains(c) {
                    out.push(c);
                }
            }
            out
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn every_filter_is_rejected_or_fully_parameterised(filter in filter()) {
                let columns = columns();
                let parsed = Filter::parse(&columns, &filter, "filter");
                if let Ok(parsed) = parsed {
                    let mut q = QueryBuilder::new(Backend::Postgres);
                    parsed.push_where(&mut q);
                    let q = q.build();
                    prop_assert_eq!(residue(&q.sql), "", "SQL text beyond identifiers and placeholders: {}", q.sql);
                    prop_assert_eq!(q.sql.matches('$').count(), q.args.len());
                }
            }
        }
    }
}
