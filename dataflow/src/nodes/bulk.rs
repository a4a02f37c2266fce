//! BulkCreate, BulkUpdate, BulkDelete and BulkUpsert. Each runs in one transaction: it
//! applies entirely or not at all.

use serde_json::{json, Map, Value};

use super::Op;
use crate::db::sql::{Conflict, Ident};
use crate::db::value::{self, SqlValue};
use crate::db::Session;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::node::Params;

const DEFAULT_BATCH_SIZE: u64 = 1000;

/// Consecutive rows to insert that set the same columns: their values, row after row, in
/// one list (no list per row).
struct Run<'m> {
    columns: Vec<Ident<'m>>,
    values: Vec<SqlValue>,
    rows: usize,
}

impl Op {
    /// Parameters: `data`, `batch_size`, `conflict_resolution`. Result: `{"processed", "inserted"}`.
    pub(super) async fn bulk_create(&self, params: &Params) -> Result<Value> {
        self.check_params(params, &["data", "batch_size", "conflict_resolution"])?;
        let rows = self.rows(params)?;
        let batch_size = self.batch_size(params)?;
        let conflict = match params.get("conflict_resolution") {
            None | Some(Value::Null) => Conflict::Error,
            Some(Value::String(s)) if s == "error" => Conflict::Error,
            Some(Value::String(s)) if s == "skip" => Conflict::Skip,
            Some(Value::String(s)) if s == "update" => Conflict::Update,
            Some(other) => {
                return Err(Error::invalid_value(
                    "conflict_resolution",
                    "\"error\", \"skip\" or \"update\"",
                    other,
                ))
            }
        };
        let converted = self.convert_rows(&rows)?;
        let processed = rows.len();
        let mut session = self.store.begin().await?;
        let result = self
            .insert_batches(&mut session, converted, batch_size, conflict)
            .await;
        let inserted = session.finish(result).await?;
        Ok(json!({ "processed": processed, "inserted": inserted }))
    }

    /// Parameters: `filter`, `fields`, `confirmed`. Result: `{"processed", "updated"}`.
    pub(super) async fn bulk_update(&self, params: &Params) -> Result<Value> {
        self.check_params(params, &["filter", "fields", "confirmed"])?;
        let filter = self.guarded_filter(params)?;
        let fields = self
            .object(params, "fields")?
            .ok_or_else(|| Error::MissingField {
                context: self.context("parameters"),
                field: "fields".to_owned(),
            })?;
        let values = self.values(fields, || self.context("fields"), false)?;
        let q = self.update_sql(values, &filter).build();
        let mut session = self.store.begin().await?;
        let result = session.execute(q).await;
        let done = session.finish(result).await?;
        Ok(json!({ "processed": done.rows_affected, "updated": done.rows_affected }))
    }

    /// Parameters: `filter`, `confirmed`. Result: `{"processed", "deleted"}`.
    pub(super) async fn bulk_delete(&self, params: &Params) -> Result<Value> {
        self.check_params(params, &["filter", "confirmed"])?;
        let filter = self.guarded_filter(params)?;
        let mut q = self.query();
        q.push("DELETE FROM ").push_ident(self.model.table());
        filter.push_where(&mut q);
        let mut session = self.store.begin().await?;
        let result = session.execute(q.build()).await;
        let done = session.finish(result).await?;
        Ok(json!({ "processed": done.rows_affected, "deleted": done.rows_affected }))
    }

    /// Parameters: `data`, `conflict_on` (a field or a list; `"id"` by default).
    /// Result: `{"processed", "inserted", "updated"}`.
    pub(super) async fn bulk_upsert(&self, params: &Params) -> Result<Value> {
        self.check_params(params, &["data", "conflict_on"])?;
        let rows = self.rows(params)?;
        let conflict_on = self.conflict_on(params.get("conflict_on"))?;
        // Check every row before touching the database.
        let mut plans = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let context = self.context(&format!("data[{i}]"));
            let mut filter = Filter::default();
            for column in &conflict_on {
                let v = row.get(column).ok_or_else(|| Error::MissingField {
                    context: context.clone(),
                    field: column.clone(),
                })?;
                let (ident, def) = self
                    .model
                    .schema
                    .field(column)
                    .expect("checked by conflict_on");
                filter.and_equal(ident, value::to_sql(column, def.ty, def.nullable, v)?);
            }
            let update: Map<String, Value> = row
                .iter()
                .filter(|(k, _)| *k != "id" && !conflict_on.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let insert = self.values(row, || context.clone(), true)?;
            let update = self.values(&update, || context.clone(), false)?;
            plans.push((filter, insert, update));
        }
        let processed = plans.len();
        let mut session = self.store.begin().await?;
        let result = async {
            let (mut inserted, mut updated) = (0_u64, 0_u64);
            for (filter, insert, update) in plans {
                let existing = self
                    .select(&mut session, &filter, Some(self.first_by_id()))
                    .await?;
                match existing.into_iter().next() {
                    Some(row) => {
                        let id = self.id_value(&row["id"])?;
                        session
                            .execute(
                                self.update_sql(update, &Filter::equal(Ident::ID, id))
                                    .build(),
                            )
                            .await?;
                        updated += 1;
                    }
                    None => {
                        self.insert_one(&mut session, insert).await?;
                        inserted += 1;
                    }
                }
            }
            Ok((inserted, updated))
        }
        .await;
        let (inserted, updated) = session.finish(result).await?;
        Ok(json!({ "processed": processed, "inserted": inserted, "updated": updated }))
    }

    /// `data`: an array of objects.
    fn rows<'p>(&self, params: &'p Params) -> Result<Vec<&'p Map<String, Value>>> {
        let data = params.get("data").ok_or_else(|| Error::MissingField {
            context: self.context("parameters"),
            field: "data".to_owned(),
        })?;
        let items = data
            .as_array()
            .ok_or_else(|| Error::invalid_value("data", "an array of objects", data))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_object().ok_or_else(|| {
                    Error::invalid_value(&format!("data[{i}]"), "a JSON object", item)
                })
            })
            .collect()
    }

    fn batch_size(&self, params: &Params) -> Result<usize> {
        match self.count(params, "batch_size")? {
            Some(0) => Err(Error::invalid_param("batch_size", "must be at least 1")),
            n => Ok(usize::try_from(n.unwrap_or(DEFAULT_BATCH_SIZE)).unwrap_or(usize::MAX)),
        }
    }

    /// The filter of a bulk update or delete; an empty one needs `confirmed: true`.
    fn guarded_filter(&self, params: &Params) -> Result<Filter<'_>> {
        let filter = self.filter(params, "filter")?;
        if filter.is_empty() && !self.flag(params, "confirmed", false)? {
            return Err(Error::EmptyFilter {
                node: self.node.to_string(),
                table: self.model.schema.table().to_owned(),
            });
        }
        Ok(filter)
    }

    fn conflict_on(&self, conflict_on: Option<&Value>) -> Result<Vec<String>> {
        let names: Vec<&Value> = match conflict_on {
            None | Some(Value::Null) => return Ok(vec!["id".to_owned()]),
            Some(Value::Array(names)) if !names.is_empty() => names.iter().collect(),
            Some(one @ Value::String(_)) => vec![one],
            Some(other) => {
                return Err(Error::invalid_value(
                    "conflict_on",
                    "a field name or a non-empty list of them",
                    other,
                ))
            }
        };
        names
            .into_iter()
            .map(|name| {
                let name = name
                    .as_str()
                    .ok_or_else(|| Error::invalid_value("conflict_on", "a field name", name))?;
                self.model
                    .schema
                    .field_def(name)
                    .ok_or_else(|| Error::UnknownField {
                        context: self.context("conflict_on"),
                        field: name.to_owned(),
                        expected: self.model.field_names(),
                    })?;
                Ok(name.to_owned())
            })
            .collect()
    }

    /// Checks and converts every row. Consecutive rows that set the same columns make one
    /// [`Run`].
    fn convert_rows(&self, rows: &[&Map<String, Value>]) -> Result<Vec<Run<'_>>> {
        let now = value::now_for_rows(self.backend());
        let mut runs: Vec<Run<'_>> = Vec::new();
        let mut columns: Vec<Ident<'_>> = Vec::new();
        let mut row: Vec<SqlValue> = Vec::new();
        for (i, fields) in rows.iter().enumerate() {
            let context = || self.context(&format!("data[{i}]"));
            columns.clear();
            for (name, v) in *fields {
                if let Some((column, value)) = self.field_value(name, v, context, true)? {
                    columns.push(column);
                    row.push(value);
                }
            }
            self.check_required(fields, context)?;
            if self.model.schema.has_timestamps() {
                columns.extend([Ident::CREATED_AT, Ident::UPDATED_AT]);
                row.extend([now.clone(), now.clone()]);
            }
            match runs.last_mut() {
                Some(run) if run.columns == columns => {
                    run.values.append(&mut row);
                    run.rows += 1;
                }
                _ => {
                    let mut values = std::mem::take(&mut row);
                    if runs.is_empty() {
                        // Rows mostly set the same columns: room for all of them at once.
                        values.reserve((rows.len() - i - 1) * values.len());
                    }
                    runs.push(Run {
                        columns: columns.clone(),
                        values,
                        rows: 1,
                    });
                }
            }
        }
        Ok(runs)
    }

    /// Multi-row inserts, as few statements as the bind limit allows. Returns the number of
    /// rows inserted (not skipped or updated).
    async fn insert_batches(
        &self,
        session: &mut Session<'_>,
        runs: Vec<Run<'_>>,
        batch_size: usize,
        conflict: Conflict,
    ) -> Result<u64> {
        // Where the row count cannot tell inserts from the rest (an update, or MySQL's
        // found-rows count of a skip), count the stored ids first.
        let counted = !self.dialect().counts_inserts(conflict);
        let mut inserted = 0;
        for Run {
            columns,
            values,
            rows,
        } in runs
        {
            let width = columns.len();
            let per_statement = batch_size
                .min(self.dialect().max_bind_params() / width.max(1))
                .max(1);
            let mut values = values.into_iter();
            let mut left = rows;
            while left > 0 {
                let size = per_statement.min(left);
                left -= size;
                let batch: Vec<SqlValue> = values.by_ref().take(size * width).collect();
                let existing = match counted {
                    true => self.count_existing(session, &columns, &batch).await?,
                    false => 0,
                };
                let done = session
                    .execute(self.insert_sql(&columns, size, batch, conflict).build())
                    .await?;
                inserted += if counted {
                    size as u64 - existing
                } else {
                    done.rows_affected
                };
            }
        }
        Ok(inserted)
    }

    /// How many rows of `batch` (rows of `columns`, one after another) have an id that is
    /// already stored.
    async fn count_existing(
        &self,
        session: &mut Session<'_>,
        columns: &[Ident<'_>],
        batch: &[SqlValue],
    ) -> Result<u64> {
        let Some(at) = columns.iter().position(|&c| c == Ident::ID) else {
            return Ok(0);
        };
        let mut q = self.query();
        q.push("SELECT COUNT(*) FROM ")
            .push_ident(self.model.table())
            .push(" WHERE ")
            .push_ident(Ident::ID)
            .push(" IN (");
        q.push_list(
            batch.iter().skip(at).step_by(columns.len()).cloned(),
            |q, v| {
                q.push_bind(v);
            },
        );
        q.push(")");
        self.count_rows(session, q.build()).await
    }

    /// The number a `SELECT COUNT(*) ...` returns.
    pub(super) async fn count_rows(
        &self,
        session: &mut Session<'_>,
        q: crate::db::sql::SqlQuery,
    ) -> Result<u64> {
        let count = crate::db::value::Column {
            name: "count".to_owned(),
            ty: crate::model::FieldType::I64,
            nullable: false,
        };
        let rows = session.fetch(q, std::slice::from_ref(&count)).await?;
        Ok(rows.first().and_then(|r| r["count"].as_u64()).unwrap_or(0))
    }
}
