//! The error type of the crate.

use std::fmt;

use crate::registry::InstanceId;

/// Every error this crate returns.
///
/// Each message names the thing that is wrong and, where there is one, what would be right.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A database URL that is malformed or names an unsupported backend.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given, with any password hidden.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A URL of a backend whose driver this build leaves out: its crate feature is off.
    #[error(
        "`{url}` is a {backend:?} URL, but dataflow was built without the `{feature}` feature: \
         enable it in Cargo.toml (`dataflow = {{ version = \"0.1\", features = [\"{feature}\"] }}`)"
    )]
    BackendNotEnabled {
        /// The URL as given, with any password hidden.
        url: String,
        /// The backend the URL names.
        backend: crate::Backend,
        /// The feature that compiles its driver: `"sqlite"`, `"postgres"` or `"mysql"`.
        feature: &'static str,
    },

    /// The database server could not be reached within the connect timeout.
    #[error("cannot connect to the database at {host}: {reason}")]
    Connect {
        /// `host:port` (or the file path) that was tried.
        host: String,
        /// What the driver said.
        reason: String,
    },

    /// An error reported by the database itself.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// A model, table, field or node name that is not a plain identifier.
    #[error("invalid {kind} name `{name}`: use letters, digits and `_`, starting with a letter or `_` (at most 63 characters)")]
    InvalidIdentifier {
        /// What the name is for: "model", "table", "field" or "node".
        kind: &'static str,
        /// The name as given.
        name: String,
    },

    /// A model schema that cannot be registered (no `id`, a duplicate field, ...).
    #[error("invalid model `{model}`: {reason}")]
    InvalidModel {
        /// The model name.
        model: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The same model name registered twice on one instance.
    #[error("model `{model}` is already registered on instance {instance}")]
    DuplicateModel {
        /// The model name.
        model: String,
        /// The instance that holds it.
        instance: InstanceId,
    },

    /// A registration refused by `Collision::Error`: another live instance holds the name.
    #[error("node `{name}` is already registered by instance {holder}; instance {instance} uses Collision::Error")]
    Collision {
        /// The node type name.
        name: String,
        /// The instance that tried to register it.
        instance: InstanceId,
        /// The instance that holds it.
        holder: InstanceId,
    },

    /// A parameter, filter or field name the model does not have.
    #[error("unknown field `{field}` in {context}{}", expected_list(.expected))]
    UnknownField {
        /// Where the name was found, e.g. "UserCreateNode parameters" or "filter".
        context: String,
        /// The unknown name.
        field: String,
        /// The names that would be accepted there.
        expected: Vec<String>,
    },

    /// A required field or parameter that was not given.
    #[error("missing required field `{field}` in {context}")]
    MissingField {
        /// Where it was expected.
        context: String,
        /// The field's name.
        field: String,
    },

    /// A value of the wrong type or out of range.
    #[error("invalid value for `{field}`: expected {expected}, found {found}")]
    InvalidValue {
        /// The field or parameter.
        field: String,
        /// What would be accepted.
        expected: String,
        /// What was given (a short rendering).
        found: String,
    },

    /// A filter operator that does not exist.
    #[error("unknown filter operator `{operator}` on field `{field}`; expected one of $eq $ne $gt $gte $lt $lte $in $nin $like $null")]
    UnknownOperator {
        /// The field it was applied to.
        field: String,
        /// The operator as given.
        operator: String,
    },

    /// A bulk update or delete with an empty filter, without `confirmed: true`.
    #[error("{node} with an empty filter would touch every row of `{table}`; pass `confirmed: true` to allow it")]
    EmptyFilter {
        /// The node type.
        node: String,
        /// The table it would affect.
        table: String,
    },

    /// A row that does not exist.
    #[error("{model} with id {id} not found")]
    NotFound {
        /// The model name.
        model: String,
        /// The id that was looked up, as JSON.
        id: String,
    },

    /// A node whose `DataFlow` instance has been dropped.
    #[error("node `{node}` belongs to instance {instance}, which has been dropped")]
    InstanceGone {
        /// The node type.
        node: String,
        /// The instance it belonged to.
        instance: InstanceId,
    },

    /// A node type no registration answers to.
    #[error("unknown node type `{name}`{}", suggestion_list(.suggestions))]
    UnknownNodeType {
        /// The name as given.
        name: String,
        /// Registered names that are close to it.
        suggestions: Vec<String>,
    },

    /// A workflow that failed validation; every problem found is listed.
    #[error("invalid workflow: {}", problem_list(.0))]
    InvalidWorkflow(Vec<WorkflowProblem>),

    /// A node that failed while a workflow ran.
    #[error("node `{node_id}` ({node_type}) failed: {source}")]
    NodeFailed {
        /// The node's id in the workflow.
        node_id: String,
        /// The node's type.
        node_type: String,
        /// Why it failed.
        source: Box<Error>,
    },

    /// A write that would give two rows the same value of a unique key (the primary key or
    /// a `#[dataflow(unique)]` constraint). The write changed nothing.
    #[error("{model}: another row already has this {} (unique constraint `{constraint}`)", field_list(.fields))]
    UniqueViolation {
        /// The model name.
        model: String,
        /// The constraint's name, e.g. `users_email_key` or `users_pkey`.
        constraint: String,
        /// The fields of the constraint, in order.
        fields: Vec<String>,
    },

    /// Raw SQL given a different number of parameters than it has placeholders.
    #[error("SQL statement `{sql}` has {expected} parameter placeholder(s) but {given} parameter(s) were given")]
    SqlParameters {
        /// The statement (cut to a readable length).
        sql: String,
        /// How many placeholders the statement has.
        expected: usize,
        /// How many parameters were given.
        given: usize,
    },

    /// Raw SQL that the database refused (a syntax error, an unknown table, ...), or a
    /// result column whose type raw SQL cannot turn into JSON.
    #[error("SQL statement `{sql}` failed: {reason}")]
    Sql {
        /// The statement (cut to a readable length).
        sql: String,
        /// What the database (or the decoder) said.
        reason: String,
        /// The driver's error, when there is one.
        #[source]
        source: Option<sqlx::Error>,
    },

    /// A migrations directory that cannot be read: missing, unreadable, or holding a `.sql`
    /// file not named `<version>_<name>.sql`.
    #[error("migrations directory `{dir}`: {reason}")]
    MigrationSource {
        /// The directory as given.
        dir: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A migration that was applied to the database and has changed since (its checksum
    /// differs), as sqlx reports it.
    #[error("migration {version} (`{file}`) was applied to this database and has been changed since; restore it, or add a new migration instead of editing an applied one")]
    MigrationChanged {
        /// The migration's file name.
        file: String,
        /// Its version.
        version: i64,
    },

    /// A migration whose SQL failed; the database is left as it was before the run (on
    /// PostgreSQL and SQLite, where DDL is transactional).
    #[error("migration `{file}` failed{}: {reason}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    MigrationFailed {
        /// The migration's file name.
        file: String,
        /// The line of the file the database points at, when it does.
        line: Option<usize>,
        /// What the database said.
        reason: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// Migrations that cannot run for another reason (a migration applied to the database
    /// whose file is gone, a partly applied one, ...).
    #[error("migrations in `{dir}`: {reason}")]
    Migration {
        /// The migrations directory.
        dir: String,
        /// What is wrong.
        reason: String,
    },

    /// A model whose table exists (made by a migration) and disagrees with it.
    #[error("model {model} does not match its table `{table}`: column `{column}` should be {expected}, found {found}")]
    SchemaMismatch {
        /// The model name.
        model: String,
        /// The table.
        table: String,
        /// The column that disagrees.
        column: String,
        /// What the model needs, e.g. `BIGINT`.
        expected: String,
        /// What the table has, e.g. `text`, or `no such column`.
        found: String,
    },

    /// Any other invalid parameter.
    #[error("invalid parameter `{param}`: {reason}")]
    InvalidParameter {
        /// The parameter.
        param: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// One problem found by [`WorkflowBuilder::build`](crate::WorkflowBuilder::build).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkflowProblem {
    /// Two nodes with the same id.
    DuplicateNodeId(String),
    /// A connection that names a node id that was never added.
    UnknownNodeId(String),
    /// A connection from a node to itself.
    SelfLoop(String),
    /// Connections that form a cycle; the ids on it, in order.
    Cycle(Vec<String>),
    /// Node parameters that are not a JSON object.
    ParamsNotObject(String),
    /// A node type nothing is registered under.
    UnknownNodeType {
        /// The node id.
        node_id: String,
        /// The type name.
        name: String,
        /// Registered names close to it.
        suggestions: Vec<String>,
    },
}

impl fmt::Display for WorkflowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateNodeId(id) => write!(f, "duplicate node id `{id}`"),
            Self::UnknownNodeId(id) => write!(f, "connection names unknown node id `{id}`"),
            Self::SelfLoop(id) => write!(f, "node `{id}` is connected to itself"),
            Self::Cycle(ids) => write!(f, "cycle {}", ids.join(" -> ")),
            Self::ParamsNotObject(id) => {
                write!(f, "parameters of node `{id}` are not a JSON object")
            }
            Self::UnknownNodeType {
                node_id,
                name,
                suggestions,
            } => write!(
                f,
                "node `{node_id}` has unknown type `{name}`{}",
                suggestion_list(suggestions)
            ),
        }
    }
}

fn expected_list(expected: &[String]) -> String {
    if expected.is_empty() {
        String::new()
    } else {
        format!("; expected one of: {}", expected.join(", "))
    }
}

fn field_list(fields: &[String]) -> String {
    match fields {
        [] => "value".to_owned(),
        [one] => format!("`{one}`"),
        many => format!(
            "combination of {}",
            many.iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn suggestion_list(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean `{one}`?)"),
        many => format!(
            " (did you mean one of: {}?)",
            many.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn problem_list(problems: &[WorkflowProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// The error behind any [`Error::NodeFailed`] wrappers.
    pub fn root(&self) -> &Error {
        match self {
            Error::NodeFailed { source, .. } => source.root(),
            other => other,
        }
    }

    pub(crate) fn invalid_value(field: &str, expected: &str, found: &serde_json::Value) -> Self {
        Error::InvalidValue {
            field: field.to_owned(),
            expected: expected.to_owned(),
            found: short_json(found),
        }
    }

    pub(crate) fn invalid_param(param: &str, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            param: param.to_owned(),
            reason: reason.into(),
        }
    }
}

/// SQL text for an error message: one line, cut to a readable length.
pub(crate) fn short_sql(sql: &str) -> String {
    let line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() <= 120 {
        return line;
    }
    let cut = (0..=117)
        .rev()
        .find(|i| line.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}...", &line[..cut])
}

/// A JSON value rendered for an error message, cut to a readable length.
pub(crate) fn short_json(value: &serde_json::Value) -> String {
    let kind = match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    };
    let mut text = value.to_string();
    if text.len() > 60 {
        let cut = (0..=57)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push_str("...");
    }
    if value.is_null() {
        kind.to_owned()
    } else {
        format!("{kind} {text}")
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
