//! Workflows over a database, with a node registry that stays isolated across instances.
//!
//! A [`DataFlow`] instance is one database behind a connection pool (SQLite, PostgreSQL or
//! MySQL/MariaDB). Registering a [`Model`] on it creates the model's table and ten nodes
//! (`UserCreateNode`, `UserReadNode`, ..., `UserBulkUpsertNode`) in the process-wide
//! [`NodeRegistry`]. A [`WorkflowBuilder`] wires nodes into a graph, and a
//! [`LocalRuntime`] runs it.
//!
//! ```
//! use dataflow::{DataFlow, LocalRuntime, Model, WorkflowBuilder};
//! use serde_json::json;
//!
//! #[derive(Model)]
//! struct User {
//!     id: String,
//!     name: String,
//!     age: Option<i32>,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> dataflow::Result<()> {
//! let db = DataFlow::new("sqlite::memory:")?;
//! db.model::<User>()?;
//! assert_eq!(db.nodes().len(), 10);
//!
//! let mut wf = db.workflow();
//! wf.add_node("UserCreateNode", "create", json!({"id": "u1", "name": "Alice", "age": 31}))
//!   .add_node("UserReadNode", "read", json!({}))
//!   .add_connection("create", "id", "read", "id");
//! let (results, _run) = LocalRuntime::new().execute(&wf.build()?).await?;
//! assert_eq!(results["read"]["name"], "Alice");
//!
//! // The nodes belong to this instance: dropping it (or `cleanup_nodes()`) removes them.
//! assert_eq!(db.cleanup_nodes(), 10);
//! assert_eq!(db.cleanup_nodes(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Isolation
//!
//! Two instances may register the same model. Each registration has an [`Owner`]; the
//! newest is what an unqualified name finds, every entry is also reachable as
//! `"UserCreateNode@df_7"`, and a builder from [`DataFlow::workflow`] resolves short names
//! to its own instance's nodes. Cleaning up one instance never removes another's entries.
//!
//! # Runtimes
//!
//! Database work runs on a small runtime owned by the crate, so one instance can be used
//! from synchronous code ([`blocking::LocalRuntime`]), from any tokio runtime, and from
//! several runtimes in turn.
//!
//! # Features
//!
//! Each backend is a feature that compiles its sqlx driver, so a build pays only for the
//! drivers it uses:
//!
//! | feature | what it adds | default |
//! |---|---|---|
//! | `sqlite` | SQLite (libsqlite3 bundled): `sqlite::memory:`, `sqlite://path`, `*.db` | yes |
//! | `postgres` | PostgreSQL: `postgres://`, `postgresql://` | no |
//! | `mysql` | MySQL and MariaDB: `mysql://`, `mariadb://` | no |
//! | `uuid` | `uuid::Uuid` fields | yes |
//! | `decimal` | `rust_decimal::Decimal` fields | yes |
//!
//! At least one backend must be on. A PostgreSQL-only application writes
//! `dataflow = { version = "0.1", default-features = false, features = ["postgres", "uuid"] }`.
//! A URL of a backend that is left out is [`Error::BackendNotEnabled`], naming the feature
//! to enable:
//!
//! ```
//! # #[cfg(not(feature = "mysql"))] {
//! let err = dataflow::DataFlow::new("mysql://root@localhost/app").unwrap_err();
//! assert!(matches!(err, dataflow::Error::BackendNotEnabled { feature: "mysql", .. }));
//! assert!(err.to_string().contains(r#"features = ["mysql"]"#));
//! # }
//! ```
//!
//! [`Backend::is_enabled`] tells at run time which backends a build has.

pub mod blocking;
mod db;
mod error;
mod filter;
mod instance;
mod model;
mod node;
mod nodes;
mod registry;
mod runtime;
mod workflow;

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!(
    "dataflow needs a backend: enable at least one of its features `sqlite` (a default \
     feature), `postgres`, `mysql`"
);

pub use crate::db::Backend;
pub use crate::error::{Error, Result, WorkflowProblem};
pub use crate::instance::{DataFlow, DataFlowBuilder};
pub use crate::model::{
    table_name, validate_identifier, Digits, FieldDef, FieldType, KeyDef, Model, ModelSchema,
};
pub use crate::node::{Node, NodeFuture, NodeKind, Params};
pub use crate::registry::{
    Collision, InstanceId, NodeRegistry, Owner, RegistryEntry, RegistryObserver,
};
pub use crate::runtime::{LocalRuntime, Results, RunId};
pub use crate::workflow::{Workflow, WorkflowBuilder};

#[doc = include_str!("derive_model.md")]
pub use dataflow_macros::Model;

/// Not public API, and not covered by semver. Two users, nobody else:
/// the code `#[derive(Model)]` generates (`OnceLock`), and the sibling crate
/// `dataflow-testing`, which needs a few hooks into an instance that an application must
/// never call (`tables_exist`, `shared_model_schemas`, `redact`, `TRANSACTION_MARKER`). Both crates are released together at the same
/// version, which is what makes this door safe.
#[doc(hidden)]
pub mod __private {
    pub use std::sync::OnceLock;

    /// The URL query parameter that turns transaction mode on (see
    /// `DataFlowBuilder::transaction_mode`).
    pub const TRANSACTION_MARKER: &str = crate::db::url::TRANSACTION_MARKER;

    /// For `dataflow-testing`: the database of `db` was just made from a template holding
    /// the tables of exactly the models registered on `db`, so neither `migrate` nor a
    /// model's first node needs to create them.
    pub fn tables_exist(db: &crate::DataFlow) {
        db.assume_tables_exist();
    }

    /// For `dataflow-testing`: the schemas of the models registered on `db`, in registration
    /// order, shared rather than copied ([`DataFlow::model_schemas`](crate::DataFlow::model_schemas)
    /// copies them): a fixture hands them to its template on every test.
    pub fn shared_model_schemas(db: &crate::DataFlow) -> Vec<std::sync::Arc<crate::ModelSchema>> {
        db.shared_model_schemas()
    }

    /// For `dataflow-testing`: `url` with its password replaced by `***`, the one rule both
    /// crates print URLs by.
    pub fn redact(url: &str) -> String {
        crate::db::url::redact(url)
    }

    /// For the compile-fail doctest of the query builder: SQL text is `&'static str` only.
    pub use crate::db::sql::sql_text_is_static;
}
