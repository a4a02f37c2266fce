//! Registry snapshots with stable labels, for insta.

use std::collections::BTreeMap;

use dataflow::{DataFlow, InstanceId, NodeKind, NodeRegistry, Owner};
use serde::Serialize;

use crate::guard::TestDataFlow;

/// What a snapshot covers.
#[derive(Debug, Clone)]
pub enum SnapshotScope {
    /// The entries of these instances, labelled `instance_1`, `instance_2`, ... in the order
    /// given.
    Instances(Vec<InstanceId>),
    /// Every entry of the registry, built-in nodes included; instances labelled in the order
    /// of their ids. Other tests running at the same time show up too: take it in tests that
    /// hold the registry exclusively.
    Registry,
}

impl From<&DataFlow> for SnapshotScope {
    fn from(db: &DataFlow) -> Self {
        SnapshotScope::Instances(vec![db.instance_id()])
    }
}

impl From<&TestDataFlow> for SnapshotScope {
    fn from(db: &TestDataFlow) -> Self {
        SnapshotScope::Instances(vec![db.instance_id()])
    }
}

impl From<&[&DataFlow]> for SnapshotScope {
    fn from(dbs: &[&DataFlow]) -> Self {
        SnapshotScope::Instances(dbs.iter().map(|db| db.instance_id()).collect())
    }
}

impl<const N: usize> From<&[&DataFlow; N]> for SnapshotScope {
    fn from(dbs: &[&DataFlow; N]) -> Self {
        SnapshotScope::from(&dbs[..])
    }
}

impl From<&NodeRegistry> for SnapshotScope {
    fn from(_: &NodeRegistry) -> Self {
        SnapshotScope::Registry
    }
}

/// A serializable view of registry contents in which instance ids are replaced by stable
/// labels, so a snapshot does not change with test order or parallelism.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrySnapshot {
    /// The entries, sorted by name, then owner label.
    pub entries: Vec<SnapshotEntry>,
}

/// One entry of a [`RegistrySnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotEntry {
    /// The node type name.
    pub name: String,
    /// `static`, or the instance's label (`instance_1`, ...).
    pub owner: String,
    /// The model it was generated from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// What it does.
    pub kind: NodeKind,
    /// Whether this is the newest registration of its name among the snapshot's owners
    /// (what an unqualified lookup finds, when nothing outside the snapshot shadows it).
    pub visible: bool,
}

/// A snapshot of `scope`: one instance (`&db`), several (`&[&a, &b]`), or the whole
/// registry (`NodeRegistry::global()`).
///
/// ```
/// use dataflow::DataFlow;
/// use dataflow_testing::registry_snapshot;
///
/// #[derive(dataflow::Model)]
/// struct Tag { id: String }
///
/// let db = DataFlow::new("sqlite::memory:")?;
/// db.model::<Tag>()?;
/// let snapshot = registry_snapshot(&db);
/// assert_eq!(snapshot.entries.len(), 10);
/// assert!(snapshot.entries.iter().all(|e| e.owner == "instance_1"));
/// # Ok::<(), dataflow::Error>(())
/// ```
pub fn registry_snapshot(scope: impl Into<SnapshotScope>) -> RegistrySnapshot {
    let scope = scope.into();
    let entries = NodeRegistry::global().entries();
    let mut labels: BTreeMap<Owner, String> = BTreeMap::new();
    let wanted: Vec<InstanceId> = match &scope {
        SnapshotScope::Instances(ids) => ids.clone(),
        SnapshotScope::Registry => {
            let mut ids: Vec<InstanceId> = entries
                .iter()
                .filter_map(|e| match e.owner {
                    Owner::Instance(id) => Some(id),
                    Owner::Static => None,
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        }
    };
    for (i, id) in wanted.iter().enumerate() {
        labels.insert(Owner::Instance(*id), format!("instance_{}", i + 1));
    }
    labels.insert(Owner::Static, "static".to_owned());
    let include_static = matches!(scope, SnapshotScope::Registry);
    let in_scope: Vec<&dataflow::RegistryEntry> = entries
        .iter()
        .filter(|e| labels.contains_key(&e.owner) && (include_static || e.owner != Owner::Static))
        .collect();
    // Within the scope, the visible entry of a name is its newest registration. (Entries of
    // other tests, outside the scope, never change a snapshot.)
    let mut last_of: BTreeMap<&str, Owner> = BTreeMap::new();
    for entry in &in_scope {
        last_of.insert(&entry.name, entry.owner);
    }
    let mut out: Vec<SnapshotEntry> = in_scope
        .iter()
        .map(|e| SnapshotEntry {
            name: e.name.clone(),
            owner: labels[&e.owner].clone(),
            model: e.model.clone(),
            kind: e.kind,
            visible: last_of.get(e.name.as_str()) == Some(&e.owner),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.owner.cmp(&b.owner)));
    RegistrySnapshot { entries: out }
}

/// insta settings for snapshots of node results: what changes from run to run is redacted.
///
/// - `created_at` and `updated_at`, at any depth, become `"[timestamp]"`;
/// - an `id` (at any depth) that is a number, a generated auto-increment id, becomes
///   `"[id]"` (in transaction mode, or on a database other tests share, sequences are not
///   rolled back, so the numbers change); string ids, which the caller chose, stay.
///
/// Bind them around insta's assertions; add your own redactions to the settings first if
/// your models hold other volatile fields. Review new or changed snapshots with
/// `cargo insta review` (cargo-insta), or set `INSTA_UPDATE=always` to write them.
///
/// ```
/// use dataflow_testing::snapshot_settings;
/// use serde_json::json;
///
/// let created = json!({"id": 41, "name": "Ada", "created_at": "2024-05-01T10:00:00Z"});
/// snapshot_settings().bind(|| {
///     insta::assert_json_snapshot!(created, @r#"
///     {
///       "id": "[id]",
///       "name": "Ada",
///       "created_at": "[timestamp]"
///     }
///     "#);
/// });
/// ```
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_redaction(".**.created_at", "[timestamp]");
    settings.add_redaction(".**.updated_at", "[timestamp]");
    settings.add_dynamic_redaction(".**.id", |value, _path| {
        if value.as_i64().is_some() || value.as_u64().is_some() {
            insta::internals::Content::from("[id]")
        } else {
            value
        }
    });
    settings
}

/// Asserts an insta snapshot of [`registry_snapshot`]`(scope)`, with an optional snapshot
/// name first, as insta's own macros take it.
///
/// ```no_run
/// # use dataflow::DataFlow;
/// # let db = DataFlow::new("sqlite::memory:").unwrap();
/// dataflow_testing::assert_registry_snapshot!(&db);
/// dataflow_testing::assert_registry_snapshot!("after_cleanup", &db);
/// ```
#[macro_export]
macro_rules! assert_registry_snapshot {
    ($scope:expr $(,)?) => {{
        let registry_snapshot = $crate::registry_snapshot($scope);
        $crate::__private::insta::assert_json_snapshot!(registry_snapshot)
    }};
    ($name:expr, $scope:expr $(,)?) => {{
        let registry_snapshot = $crate::registry_snapshot($scope);
        $crate::__private::insta::assert_json_snapshot!($name, registry_snapshot)
    }};
}
