//! The ten nodes generated for every model, and the built-in nodes.
//!
//! **Invariant:** a generated node holds a weak handle to its instance's database, never
//! the instance itself: registry entries and built workflows never keep an instance alive.

pub(crate) mod builtin;
mod bulk;
mod crud;
mod shape;

use std::sync::{Arc, Weak};

use serde_json::{Map, Value};

use crate::db::sql::{self, Conflict, Dialect, Ident, QueryBuilder, SqlQuery};
use crate::db::value::{self, SqlValue};
use crate::db::{engine, introspect, Backend, Session, Store};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::node::{Node, NodeFuture, NodeKind, Params};
use crate::registry::{InstanceId, Registration};

pub(crate) use self::shape::{shape_of, ModelShape};

/// A model registered on an instance, shared by its ten nodes: the model's shape (shared
/// by every instance that registers the same schema) and what is this instance's own.
#[derive(Debug)]
pub(crate) struct ModelState {
    shape: Arc<ModelShape>,
    auto_migrate: bool,
    table_ready: tokio::sync::OnceCell<()>,
}

/// `model.schema`, `model.columns`: the shape's.
impl std::ops::Deref for ModelState {
    type Target = ModelShape;

    fn deref(&self) -> &ModelShape {
        &self.shape
    }
}

impl ModelState {
    pub(crate) fn new(shape: Arc<ModelShape>, auto_migrate: bool) -> Self {
        ModelState {
            shape,
            auto_migrate,
            table_ready: tokio::sync::OnceCell::new(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.schema.name()
    }

    fn table(&self) -> Ident<'_> {
        self.schema.table_ident()
    }

    /// Creates the table once, before the first node of the model runs (with auto-migrate).
    /// On an instance with migrations, a table that exists is checked against the model
    /// instead (auto-migrate or not).
    pub(crate) async fn ensure_table(&self, store: &Store) -> Result<()> {
        if self.table_ready.initialized() || (!self.auto_migrate && !store.has_migrations()) {
            return Ok(());
        }
        if !self.auto_migrate {
            if let Some(columns) = introspect::table_columns(store, self.schema.table()).await? {
                introspect::check(&self.schema, store.backend(), &columns)?;
                let _ = self.table_ready.set(());
            }
            return Ok(());
        }
        self.create_table(store).await
    }

    /// Creates the table if it does not exist, once per instance; on an instance with
    /// migrations, checks a table that exists against the model instead.
    pub(crate) async fn create_table(&self, store: &Store) -> Result<()> {
        self.table_ready
            .get_or_try_init(|| async {
                if store.has_migrations() {
                    if let Some(columns) =
                        introspect::table_columns(store, self.schema.table()).await?
                    {
                        return introspect::check(&self.schema, store.backend(), &columns);
                    }
                }
                for statement in sql::create_table(store.backend(), &self.schema) {
                    store.execute_ddl(&statement).await?;
                }
                Ok::<(), Error>(())
            })
            .await?;
        Ok(())
    }

    /// Whether the table is known to exist: [`create_table`](Self::create_table) would do
    /// nothing.
    pub(crate) fn table_is_ready(&self) -> bool {
        self.table_ready.initialized()
    }

    /// The table exists already: [`create_table`](Self::create_table) does nothing.
    pub(crate) fn assume_table_exists(&self) {
        // Already set (or being set by `create_table`): the table exists either way.
        let _ = self.table_ready.set(());
    }

    fn field_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name.clone())
            .collect()
    }
}

/// The ten registrations for `model` on the instance `instance`.
pub(crate) fn generate(
    model: &Arc<ModelState>,
    store: &Arc<Store>,
    instance: InstanceId,
) -> Vec<Registration> {
    NodeKind::GENERATED
        .iter()
        .zip(&model.names)
        .map(|(&kind, name)| Registration {
            name: Arc::clone(name),
            model: Some(Arc::clone(&model.model)),
            kind,
            node: Arc::new(ModelNode {
                kind,
                name: Arc::clone(name),
                model: Arc::clone(model),
                store: Arc::downgrade(store),
                instance,
            }),
        })
        .collect()
}

struct ModelNode {
    kind: NodeKind,
    name: Arc<str>,
    model: Arc<ModelState>,
    store: Weak<Store>,
    instance: InstanceId,
}

impl Node for ModelNode {
    fn run(&self, params: Params) -> NodeFuture<'_> {
        Box::pin(async move {
            let op = self.op()?;
            let kind = self.kind;
            engine::run(async move { op.run(kind, &params).await }).await
        })
    }

    fn run_ref<'a>(&'a self, params: &'a Params) -> NodeFuture<'a> {
        if !engine::on_engine() {
            // The work moves to the engine, which needs it owned.
            return self.run(params.clone());
        }
        Box::pin(async move {
            let op = self.op()?;
            op.run(self.kind, params).await
        })
    }
}

impl ModelNode {
    /// What one run needs, owned; fails once the instance is gone.
    fn op(&self) -> Result<Op> {
        let store = self.store.upgrade().ok_or_else(|| Error::InstanceGone {
            node: self.name.to_string(),
            instance: self.instance,
        })?;
        Ok(Op {
            node: self.name.clone(),
            model: Arc::clone(&self.model),
            store,
        })
    }
}

/// One run of a generated node: what it needs, owned, so it can move to the engine.
pub(crate) struct Op {
    node: Arc<str>,
    model: Arc<ModelState>,
    store: Arc<Store>,
}

impl Op {
    async fn run(self, kind: NodeKind, params: &Params) -> Result<Value> {
        self.model.ensure_table(&self.store).await?;
        let result = match kind {
            NodeKind::Create => self.create(params).await,
            NodeKind::Read => self.read(params).await,
            NodeKind::Update => self.update(params).await,
            NodeKind::Delete => self.delete(params).await,
            NodeKind::List => self.list(params).await,
            NodeKind::Upsert => self.upsert(params).await,
            NodeKind::BulkCreate => self.bulk_create(params).await,
            NodeKind::BulkUpdate => self.bulk_update(params).await,
            NodeKind::BulkDelete => self.bulk_delete(params).await,
            NodeKind::BulkUpsert => self.bulk_upsert(params).await,
            NodeKind::Custom => unreachable!("generated nodes are never Custom"),
        };
        result.map_err(|e| self.unique_violation(e))
    }

    /// A database's unique-key error as [`Error::UniqueViolation`], naming the constraint
    /// and its fields; any other error as it is.
    fn unique_violation(&self, err: Error) -> Error {
        let Error::Database(sqlx::Error::Database(db)) = &err else {
            return err;
        };
        if db.kind() != sqlx::error::ErrorKind::UniqueViolation {
            return err;
        }
        let schema = &self.model.schema;
        let message = db.message();
        let (constraint, fields) = if let Some(name) = db.constraint() {
            // PostgreSQL names the constraint.
            (name.to_owned(), schema.constraint_columns(name))
        } else if let Some(columns) = message.strip_prefix("UNIQUE constraint failed: ") {
            // SQLite names the columns: `table.a, table.b`.
            let fields: Vec<String> = columns
                .split(", ")
                .map(|c| c.rsplit('.').next().unwrap_or(c).to_owned())
                .collect();
            let name = schema
                .constraint_named_by_columns(&fields)
                .unwrap_or_else(|| format!("{}_{}_key", schema.table(), fields.join("_")));
            (name, Some(fields))
        } else if let Some(key) = mysql_duplicate_key(message) {
            // MySQL: "Duplicate entry 'x' for key 'name'" (MySQL 8: 'table.name').
            let name = match key {
                "PRIMARY" => format!("{}_pkey", schema.table()),
                key => key.to_owned(),
            };
            // A key a migration declared inline is named after its first column.
            let fields = schema
                .constraint_columns(key)
                .or_else(|| schema.field_def(key).map(|_| vec![key.to_owned()]));
            (name, fields)
        } else {
            return err;
        };
        Error::UniqueViolation {
            model: schema.name().to_owned(),
            constraint,
            fields: fields.unwrap_or_default(),
        }
    }

    fn backend(&self) -> Backend {
        self.store.backend()
    }

    fn dialect(&self) -> Dialect {
        Dialect::of(self.backend())
    }

    fn query(&self) -> QueryBuilder {
        QueryBuilder::new(self.backend())
    }

    fn context(&self, what: &str) -> String {
        format!("{} {what}", self.node)
    }

    /// Checks that the parameters only use `allowed` names.
    fn check_params(&self, params: &Params, allowed: &[&str]) -> Result<()> {
        crate::filter::check_keys(params, allowed, &self.context("parameters"))
    }

    /// The parameter `key` as a JSON object, if present.
    fn object<'p>(&self, params: &'p Params, key: &str) -> Result<Option<&'p Map<String, Value>>> {
        match params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(object)) => Ok(Some(object)),
            Some(other) => Err(Error::invalid_value(key, "a JSON object", other)),
        }
    }

    fn flag(&self, params: &Params, key: &str, default: bool) -> Result<bool> {
        match params.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(Error::invalid_value(key, "true or false", other)),
        }
    }

    fn count(&self, params: &Params, key: &str) -> Result<Option<u64>> {
        match params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| Error::invalid_value(key, "a non-negative integer", v)),
        }
    }

    /// The filter in `params[key]`, checked against the model.
    fn filter(&self, params: &Params, key: &str) -> Result<Filter<'_>> {
        Filter::parse(
            &self.model.columns,
            params.get(key).unwrap_or(&Value::Null),
            &self.context(key),
        )
    }

    /// `id` converted to the primary key's type.
    fn id_value(&self, id: &Value) -> Result<SqlValue> {
        let pk = self
            .model
            .schema
            .primary_key()
            .expect("validated schemas have an id");
        value::to_sql("id", pk.ty, false, id)
    }

    /// The id a node names: `params.id`, or `params.filter.id`.
    fn target_id(&self, params: &Params) -> Result<Value> {
        if let Some(id) = params.get("id") {
            return Ok(id.clone());
        }
        let filter = self.object(params, "filter")?;
        match filter.map(|f| (f.get("id"), f.len())) {
            Some((Some(id), 1)) if !id.is_object() => Ok(id.clone()),
            Some((_, n)) if n > 0 => Err(Error::invalid_param(
                "filter",
                format!("{} addresses one row by `filter: {{\"id\": ..}}`; use the bulk node to match other fields", self.node),
            )),
            _ => Err(Error::MissingField {
                context: self.context("parameters"),
                field: "id".to_owned(),
            }),
        }
    }

    /// Field values for an insert (`for_insert`) or an update, checked against the model.
    /// `context` names where the fields come from; it is only built for an error.
    fn values(
        &self,
        fields: &Map<String, Value>,
        context: impl Fn() -> String,
        for_insert: bool,
    ) -> Result<Vec<(Ident<'_>, SqlValue)>> {
        let mut out = Vec::with_capacity(fields.len() + 2);
        for (name, v) in fields {
            if let Some(value) = self.field_value(name, v, &context, for_insert)? {
                out.push(value);
            }
        }
        if for_insert {
            self.check_required(fields, &context)?;
        }
        Ok(out)
    }

    /// One field of [`values`](Self::values): its column and value, or `None` for an
    /// auto-increment id left to the database.
    fn field_value(
        &self,
        name: &str,
        v: &Value,
        context: impl Fn() -> String,
        for_insert: bool,
    ) -> Result<Option<(Ident<'_>, SqlValue)>> {
        let schema = &self.model.schema;
        let (ident, def) = schema
            .field(name)
            .filter(|_| for_insert || name != "id")
            .ok_or_else(|| Error::UnknownField {
                context: context(),
                field: name.to_owned(),
                expected: self
                    .model
                    .field_names()
                    .into_iter()
                    .filter(|f| for_insert || f != "id")
                    .collect(),
            })?;
        if name == "id" && v.is_null() && schema.primary_key_auto_increments() {
            return Ok(None);
        }
        let mut value = value::to_sql(name, def.ty, def.nullable, v)?;
        if let Some(digits) = schema.digits_of(name) {
            value = value::fit_digits(name, digits, value, v)?;
        }
        Ok(Some((ident, value)))
    }

    /// An insert sets every required field (all but optional ones and an auto-increment id).
    /// Every name in `fields` has been checked to be a field of the model.
    fn check_required(
        &self,
        fields: &Map<String, Value>,
        context: impl Fn() -> String,
    ) -> Result<()> {
        let schema = &self.model.schema;
        if fields.len() == schema.fields().len() {
            // Known names, each once: every field is there (no lookups for a full row).
            return Ok(());
        }
        for def in schema.fields() {
            let auto = def.name == "id" && schema.primary_key_auto_increments();
            if !def.nullable && !auto && !fields.contains_key(&def.name) {
                return Err(Error::MissingField {
                    context: context(),
                    field: def.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// `INSERT INTO table (cols) VALUES (..), (..)` of `rows` rows; `values` holds them one
    /// after another, each following `columns`.
    fn insert_sql(
        &self,
        columns: &[Ident<'_>],
        rows: usize,
        values: Vec<SqlValue>,
        conflict: Conflict,
    ) -> QueryBuilder {
        debug_assert_eq!(rows * columns.len(), values.len());
        let mut q = self.query();
        q.reserve_binds(values.len());
        q.push("INSERT INTO ")
            .push_ident(self.model.table())
            .push(" (");
        q.push_list(columns, |q, &c| {
            q.push_ident(c);
        });
        q.push(") VALUES ");
        let mut values = values.into_iter();
        q.push_list(0..rows, |q, _| {
            q.push("(");
            q.push_list(values.by_ref().take(columns.len()), |q, v| {
                q.push_bind(v);
            });
            q.push(")");
        });
        let updated: Vec<Ident<'_>> = columns
            .iter()
            .copied()
            .filter(|&c| c != Ident::ID && c != Ident::CREATED_AT)
            .collect();
        q.dialect().push_on_conflict(&mut q, conflict, &updated);
        q
    }

    /// Inserts one row and reads it back.
    async fn insert_one(
        &self,
        session: &mut Session<'_>,
        mut values: Vec<(Ident<'_>, SqlValue)>,
    ) -> Result<Map<String, Value>> {
        if self.model.schema.has_timestamps() {
            let now = SqlValue::DateTime(value::now());
            values.push((Ident::CREATED_AT, now.clone()));
            values.push((Ident::UPDATED_AT, now));
        }
        let (columns, row): (Vec<Ident<'_>>, Vec<SqlValue>) = values.into_iter().unzip();
        let explicit_id = columns
            .iter()
            .position(|&c| c == Ident::ID)
            .map(|i| row[i].clone());
        let mut q = self.insert_sql(&columns, 1, row, Conflict::Error);
        if q.dialect().returning() {
            self.push_returning(&mut q);
            return self.fetch_one(session, q.build()).await;
        }
        let done = session.execute(q.build()).await?;
        let id = match explicit_id {
            Some(id) => id,
            None => self.id_value(&Value::from(done.last_insert_id.unwrap_or_default()))?,
        };
        self.select_by_id(session, id).await?.ok_or_else(|| {
            Error::Database(sqlx::Error::Protocol(
                "an inserted row could not be read back".to_owned(),
            ))
        })
    }

    fn push_returning(&self, q: &mut QueryBuilder) {
        q.push(" RETURNING ");
        q.push_list(self.model.schema.column_idents(), |q, c| {
            q.push_ident(c);
        });
    }

    async fn fetch_one(
        &self,
        session: &mut Session<'_>,
        q: SqlQuery,
    ) -> Result<Map<String, Value>> {
        session
            .fetch(q, &self.model.columns)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Database(sqlx::Error::RowNotFound))
    }

    async fn select(
        &self,
        session: &mut Session<'_>,
        filter: &Filter<'_>,
        tail: Option<QueryBuilder>,
    ) -> Result<Vec<Map<String, Value>>> {
        let mut q = self.query();
        sql::push_select(&mut q, &self.model.schema);
        filter.push_where(&mut q);
        if let Some(tail) = tail {
            q.append(tail);
        }
        session.fetch(q.build(), &self.model.columns).await
    }

    async fn select_by_id(
        &self,
        session: &mut Session<'_>,
        id: SqlValue,
    ) -> Result<Option<Map<String, Value>>> {
        let rows = self
            .select(session, &Filter::equal(Ident::ID, id), None)
            .await?;
        Ok(rows.into_iter().next())
    }

    /// `UPDATE table SET fields, updated_at WHERE filter`.
    fn update_sql(
        &self,
        mut values: Vec<(Ident<'_>, SqlValue)>,
        filter: &Filter<'_>,
    ) -> QueryBuilder {
        if self.model.schema.has_timestamps() {
            values.push((Ident::UPDATED_AT, SqlValue::DateTime(value::now())));
        }
        let mut q = self.query();
        q.push("UPDATE ")
            .push_ident(self.model.table())
            .push(" SET ");
        q.push_list(values, |q, (c, v)| {
            q.push_ident(c).push(" = ").push_bind(v);
        });
        filter.push_where(&mut q);
        q
    }

    fn not_found(&self, id: &Value) -> Error {
        Error::NotFound {
            model: self.model.name().to_owned(),
            id: id.to_string(),
        }
    }
}

/// The key named by MySQL's duplicate-entry message, without a `table.` prefix.
fn mysql_duplicate_key(message: &str) -> Option<&str> {
    let (_, key) = message.rsplit_once(" for key '")?;
    let key = key.strip_suffix('\'')?;
    Some(key.rsplit('.').next().unwrap_or(key))
}
