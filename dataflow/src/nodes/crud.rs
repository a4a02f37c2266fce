//! Create, Read, Update, Delete, List and Upsert.

use serde_json::{json, Map, Value};

use super::Op;
use crate::db::sql::{Ident, QueryBuilder};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::node::Params;

impl Op {
    /// Parameters: the model's fields. Result: the stored row.
    pub(super) async fn create(&self, params: &Params) -> Result<Value> {
        let values = self.values(params, || self.context("parameters"), true)?;
        let mut session = if self.dialect().returning() {
            self.store.session().await?
        } else {
            self.store.begin().await?
        };
        let result = self.insert_one(&mut session, values).await;
        session.finish(result).await.map(Value::Object)
    }

    /// Parameters: `id`, `raise_on_not_found`. Result: the row, or `{"found": false}`.
    pub(super) async fn read(&self, params: &Params) -> Result<Value> {
        self.check_params(params, &["id", "filter", "raise_on_not_found"])?;
        let raise = self.flag(params, "raise_on_not_found", true)?;
        let id_json = self.target_id(params)?;
        let id = self.id_value(&id_json)?;
        let mut session = self.store.session().await?;
        let row = self.select_by_id(&mut session, id).await;
        match session.finish(row).await? {
            Some(row) => Ok(Value::Object(row)),
            None if raise => Err(self.not_found(&id_json)),
            None => Ok(json!({ "found": false })),
        }
    }

    /// Parameters: `filter: {"id": ..}` (or `id`), `fields`. Result: the updated row.
    pub(super) async fn update(&self, params: &Params) -> Result<Value> {
        self.check_params(params, &["id", "filter", "fields"])?;
        let id_json = self.target_id(params)?;
        let id = self.id_value(&id_json)?;
        let fields = self
            .object(params, "fields")?
            .ok_or_else(|| Error::MissingField {
                context: self.context("parameters"),
                field: "fields".to_owned(),
            })?;
        let values = self.values(fields, || self.context("fields"), false)?;
        let filter = Filter::equal(Ident::ID, id.clone());
        let mut q = self.update_sql(values, &filter);
        if self.dialect().returning() {
            self.push_returning(&mut q);
            let mut session = self.store.session().await?;
            let rows = session.fetch(q.build(), &self.model.columns).await;
            return session
                .finish(rows)
                .await?
                .into_iter()
                .next()
                .map(Value::Object)
                .ok_or_else(|| self.not_found(&id_json));
        }
        let mut session = self.store.begin().await?;
        let result = async {
            let done = session.execute(q.build()).await?;
            if done.rows_affected == 0 {
                return Err(self.not_found(&id_json));
            }
            let row = self.select_by_id(&mut session, id).await?;
            row.ok_or_else(|| self.not_found(&id_json))
        }
        .await;
        session.finish(result).await.map(Value::Object)
    }

    /// Parameters: `id` (or `filter: {"id": ..}`). Result: `{"id", "deleted"}`.
    pub(super) async fn delete(&self, params: &Params) -> Result<Value> {
        self.check_params(params, &["id", "filter"])?;
        let id_json = self.target_id(params)?;
        let id = self.id_value(&id_json)?;
        let mut q = self.query();
        q.push("DELETE FROM ").push_ident(self.model.table());
        Filter::equal(Ident::ID, id).push_where(&mut q);
        let mut session = self.store.session().await?;
        let done = session.execute(q.build()).await;
        let done = session.finish(done).await?;
        Ok(json!({ "id": id_json, "deleted": done.rows_affected > 0 }))
    }

    /// Parameters: `filter`, `limit`, `offset`, `order_by`, `include_total`.
    /// Result: `{"records", "count", "limit", "offset"}`; `count` is the number of records;
    /// with `include_total: true` also `total`, the rows matching the filter.
    pub(super) async fn list(&self, params: &Params) -> Result<Value> {
        self.check_params(
            params,
            &["filter", "limit", "offset", "order_by", "include_total"],
        )?;
        let include_total = self.flag(params, "include_total", false)?;
        let filter = self.filter(params, "filter")?;
        let limit = self.count(params, "limit")?;
        let offset = self.count(params, "offset")?.unwrap_or(0);
        let order = self.order_by(params.get("order_by"))?;

        let mut q = self.query();
        crate::db::sql::push_select(&mut q, &self.model.schema);
        filter.push_where(&mut q);
        q.push(" ORDER BY ");
        let dialect = q.dialect();
        q.push_list(&order, |q, &(column, descending)| {
            q.push_ident(column).push(dialect.order(descending));
        });
        dialect.push_limit_offset(&mut q, limit.map(clamp), clamp(offset));
        let total = include_total.then(|| {
            let mut q = self.query();
            q.push("SELECT COUNT(*) FROM ")
                .push_ident(self.model.table());
            filter.push_where(&mut q);
            q.build()
        });
        // One transaction, so that `total` and the records agree.
        let mut session = match total.is_some() {
            true => self.store.begin().await?,
            false => self.store.session().await?,
        };
        let result = async {
            let records = session.fetch(q.build(), &self.model.columns).await?;
            let total = match total {
                Some(count) => Some(self.count_rows(&mut session, count).await?),
                None => None,
            };
            Ok((records, total))
        }
        .await;
        let (records, total) = session.finish(result).await?;
        let mut out = json!({
            "count": records.len(),
            "records": records,
            "limit": limit,
            "offset": offset,
        });
        if let Some(total) = total {
            out["total"] = json!(total);
        }
        Ok(out)
    }

    /// `order_by`: `"name"`, `"-name"`, or a list of them; by `id` when absent.
    fn order_by(&self, order_by: Option<&Value>) -> Result<Vec<(Ident<'_>, bool)>> {
        let keys: Vec<&Value> = match order_by {
            None | Some(Value::Null) => return Ok(vec![(Ident::ID, false)]),
            Some(Value::Array(keys)) => keys.iter().collect(),
            Some(one) => vec![one],
        };
        keys.into_iter()
            .map(|key| {
                let text = key.as_str().ok_or_else(|| {
                    Error::invalid_value(
                        "order_by",
                        "a field name, optionally prefixed with `-`",
                        key,
                    )
                })?;
                let (name, descending) = match text.strip_prefix('-') {
                    Some(name) => (name, true),
                    None => (text, false),
                };
                let column =
                    self.model
                        .schema
                        .column_ident(name)
                        .ok_or_else(|| Error::UnknownField {
                            context: self.context("order_by"),
                            field: name.to_owned(),
                            expected: self.model.columns.iter().map(|c| c.name.clone()).collect(),
                        })?;
                Ok((column, descending))
            })
            .collect()
    }

    /// Parameters: `where`, `create`, `update`. Result: `{"action", "record"}`.
    pub(super) async fn upsert(&self, params: &Params) -> Result<Value> {
        self.check_params(params, &["where", "create", "update"])?;
        let filter = self.filter(params, "where")?;
        if filter.is_empty() {
            return Err(Error::MissingField {
                context: self.context("parameters"),
                field: "where".to_owned(),
            });
        }
        let empty = Map::new();
        let create = self.object(params, "create")?.unwrap_or(&empty);
        let update = self.object(params, "update")?.unwrap_or(&empty);
        let update_values = self.values(update, || self.context("update"), false)?;

        // Plain equalities of `where` are part of the row an upsert creates.
        let mut create_fields = create.clone();
        for (column, value) in self.object(params, "where")?.into_iter().flatten() {
            if !value.is_object() && self.model.schema.field_def(column).is_some() {
                create_fields
                    .entry(column.clone())
                    .or_insert_with(|| value.clone());
            }
        }
        let mut session = self.store.begin().await?;
        let result = async {
            let existing = self
                .select(&mut session, &filter, Some(self.first_by_id()))
                .await?;
            if let Some(row) = existing.into_iter().next() {
                let id = self.id_value(&row["id"])?;
                if update_values.is_empty() {
                    return Ok(json!({ "action": "updated", "record": row }));
                }
                session
                    .execute(
                        self.update_sql(update_values, &Filter::equal(Ident::ID, id.clone()))
                            .build(),
                    )
                    .await?;
                let row = self.select_by_id(&mut session, id).await?;
                return Ok(json!({ "action": "updated", "record": row }));
            }
            let values = self.values(&create_fields, || self.context("create"), true)?;
            let record = self.insert_one(&mut session, values).await?;
            Ok(json!({ "action": "created", "record": record }))
        }
        .await;
        session.finish(result).await
    }

    /// ` ORDER BY id LIMIT 1`.
    pub(super) fn first_by_id(&self) -> QueryBuilder {
        let mut q = self.query();
        q.push(" ORDER BY ").push_ident(Ident::ID).push(" LIMIT 1");
        q
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
