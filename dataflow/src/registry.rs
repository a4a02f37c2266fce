//! The process-wide node registry: owners, shadowing and qualified names.
//!
//! **Invariant:** nothing outside this file mutates a registry. Reads load an immutable
//! snapshot ([`arc_swap`]), so a lookup never waits for a writer and never takes a lock;
//! writers serialise on a mutex, build the next snapshot and publish it at once. The
//! snapshot is a [`table::Table`], whose shards consecutive snapshots share.

mod table;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use arc_swap::ArcSwap;

use crate::error::{Error, Result};
use crate::node::{Node, NodeKind};

/// The id of a [`DataFlow`](crate::DataFlow) instance, displayed `df_<n>`.
///
/// Ids are unique for the life of the process and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(u64);

impl InstanceId {
    /// A fresh id, never handed out before in this process.
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        InstanceId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The number behind the id.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "df_{}", self.0)
    }
}

impl FromStr for InstanceId {
    type Err = Error;

    /// Parses `df_<n>`.
    fn from_str(s: &str) -> Result<Self> {
        s.strip_prefix("df_")
            .and_then(|n| n.parse().ok())
            .map(InstanceId)
            .ok_or_else(|| {
                Error::invalid_param("instance id", format!("`{s}` is not of the form df_<n>"))
            })
    }
}

/// Who holds a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// Built-in nodes registered at start-up, and nodes that belong to no instance.
    Static,
    /// A [`DataFlow`](crate::DataFlow) instance.
    Instance(InstanceId),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Static => f.write_str("static"),
            Owner::Instance(id) => id.fmt(f),
        }
    }
}

/// What an instance does when it registers a name another live instance holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Collision {
    /// Register anyway; the newest registration is what an unqualified name finds, and
    /// removing it uncovers the previous one. The collision is logged at `warn`.
    #[default]
    Shadow,
    /// Refuse the registration with [`Error::Collision`].
    Error,
}

/// One registration, as [`NodeRegistry::entries`] shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegistryEntry {
    /// The node type name, e.g. `"UserCreateNode"`.
    pub name: String,
    /// Who holds it.
    #[serde(serialize_with = "serialize_display")]
    pub owner: Owner,
    /// The model it was generated from, if any.
    pub model: Option<String>,
    /// What it does.
    pub kind: NodeKind,
    /// The test it belongs to: the name of the thread that created the owning instance
    /// (for static entries, the thread that registered it). libtest runs each test on a
    /// thread named after the test.
    pub registered_by: Option<String>,
}

impl RegistryEntry {
    /// The exact name of this entry: `"{name}@{instance_id}"`, or the plain name for
    /// static entries.
    pub fn qualified_name(&self) -> String {
        match self.owner {
            Owner::Static => self.name.clone(),
            Owner::Instance(id) => format!("{}@{id}", self.name),
        }
    }
}

fn serialize_display<S: serde::Serializer>(owner: &Owner, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(owner)
}

/// A node to register, with what the registry records about it.
pub(crate) struct Registration {
    pub(crate) name: Arc<str>,
    pub(crate) model: Option<Arc<str>>,
    pub(crate) kind: NodeKind,
    pub(crate) node: Arc<dyn Node>,
}

#[derive(Clone)]
struct Slot {
    owner: Owner,
    model: Option<Arc<str>>,
    kind: NodeKind,
    registered_by: Option<Arc<str>>,
    node: Arc<dyn Node>,
}

/// Name -> registrations of that name, oldest first (the last one is visible).
type Table = table::Table<Arc<[Slot]>>;

/// A node found by a lookup, with its owner.
#[derive(Clone)]
pub(crate) struct Resolved {
    pub(crate) owner: Owner,
    pub(crate) node: Arc<dyn Node>,
}

/// Maps node type names to node implementations.
///
/// One registry serves the whole process ([`NodeRegistry::global`]); every registration has
/// an [`Owner`], several owners may hold the same name, and an unqualified lookup finds the
/// newest. Every instance-owned entry is also reachable as `"{name}@df_<n>"`.
///
/// ```
/// use std::sync::Arc;
/// use dataflow::{NodeRegistry, Node, NodeFuture, Owner, Params};
///
/// struct Echo;
/// impl Node for Echo {
///     fn run(&self, params: Params) -> NodeFuture<'_> {
///         Box::pin(async move { Ok(params.into()) })
///     }
/// }
///
/// let registry = NodeRegistry::new();
/// registry.register("EchoNode", Owner::Static, Arc::new(Echo))?;
/// assert!(registry.contains("EchoNode"));
/// assert_eq!(registry.list_nodes(), ["EchoNode"]);
/// assert!(registry.unregister("EchoNode"));
/// assert!(registry.is_empty());
/// # Ok::<(), dataflow::Error>(())
/// ```
pub struct NodeRegistry {
    table: ArcSwap<Table>,
    writer: Mutex<()>,
    observer: OnceLock<Arc<dyn RegistryObserver>>,
}

/// Told of what happens in a registry, on the thread where it happens: the hook the
/// testing toolkit's isolation check traces registry access with.
///
/// Calls come after the change is published; keep them cheap, and do not call back into
/// the registry's writing methods from them.
pub trait RegistryObserver: Send + Sync + 'static {
    /// `owner` registered `name`.
    fn registered(&self, name: &str, owner: Owner);
    /// A lookup of `name` found `owner`'s entry.
    fn resolved(&self, name: &str, owner: Owner);
    /// `owner`'s entry of `name` was removed.
    fn unregistered(&self, name: &str, owner: Owner);
}

impl fmt::Debug for NodeRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeRegistry")
            .field("entries", &self.len())
            .finish()
    }
}

impl Default for NodeRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeRegistry {
    /// An empty registry of your own, e.g. to try a node in isolation.
    ///
    /// [`DataFlow`](crate::DataFlow) instances and workflows always use
    /// [`NodeRegistry::global`].
    pub fn new() -> Self {
        NodeRegistry {
            table: ArcSwap::from_pointee(Table::new()),
            writer: Mutex::new(()),
            observer: OnceLock::new(),
        }
    }

    /// The one process-wide registry, holding the built-in nodes from the start.
    pub fn global() -> &'static NodeRegistry {
        static GLOBAL: OnceLock<NodeRegistry> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let registry = NodeRegistry::new();
            for (name, node) in crate::nodes::builtin::all() {
                registry
                    .register(name, Owner::Static, node)
                    .expect("built-in node names are valid");
            }
            registry
        })
    }

    /// Registers `node` under `name` for `owner`.
    ///
    /// An owner registering a name it already holds replaces its own entry. Another owner's
    /// entry of the same name stays, shadowed by this one.
    pub fn register(&self, name: &str, owner: Owner, node: Arc<dyn Node>) -> Result<()> {
        validate_node_name(name)?;
        self.register_owned(
            owner,
            vec![Registration {
                name: Arc::from(name),
                model: None,
                kind: NodeKind::Custom,
                node,
            }],
            Collision::Shadow,
            None,
        )
    }

    /// The node an unqualified name finds (the newest registration), or the exact entry a
    /// qualified name `"{name}@df_<n>"` names.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Node>> {
        self.resolve(name).map(|r| r.node)
    }

    /// Whether [`get`](Self::get) would find something.
    pub fn contains(&self, name: &str) -> bool {
        self.resolve(name).is_some()
    }

    pub(crate) fn resolve(&self, name: &str) -> Option<Resolved> {
        let table = self.table.load();
        let found = match split_qualified(name) {
            Some((base, id)) => table
                .get(base)?
                .iter()
                .rev()
                .find(|slot| slot.owner == Owner::Instance(id)),
            None => table.get(name)?.last(),
        };
        let found = found.map(|slot| Resolved {
            owner: slot.owner,
            node: Arc::clone(&slot.node),
        });
        if let (Some(observer), Some(found)) = (self.observer.get(), &found) {
            let base = name.split('@').next().unwrap_or(name);
            observer.resolved(base, found.owner);
        }
        found
    }

    /// Installs `observer`, told of every registration, lookup and removal from now on.
    /// There is at most one per registry; returns `false` (and drops `observer`) if one is
    /// installed already.
    pub fn set_observer(&self, observer: Arc<dyn RegistryObserver>) -> bool {
        self.observer.set(observer).is_ok()
    }

    /// Every registered name, sorted, each once.
    pub fn list_nodes(&self) -> Vec<String> {
        let mut names: Vec<String> = self.table.load().keys().map(|k| k.to_string()).collect();
        names.sort_unstable();
        names
    }

    /// Every registration, sorted by name, oldest first within a name.
    pub fn entries(&self) -> Vec<RegistryEntry> {
        let table = self.table.load();
        let mut names: Vec<(&Arc<str>, &Arc<[Slot]>)> = table.iter().collect();
        names.sort_unstable_by(|a, b| a.0.cmp(b.0));
        names
            .into_iter()
            .flat_map(|(name, slots)| {
                slots.iter().map(move |slot| RegistryEntry {
                    name: name.to_string(),
                    owner: slot.owner,
                    model: slot.model.as_deref().map(str::to_owned),
                    kind: slot.kind,
                    registered_by: slot.registered_by.as_deref().map(str::to_owned),
                })
            })
            .collect()
    }

    /// The number of registrations (a shadowed name counts once per owner).
    pub fn len(&self) -> usize {
        self.table.load().values().map(|slots| slots.len()).sum()
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.table.load().is_empty()
    }

    /// Removes every registration of `name`, whoever holds it; a qualified name
    /// (`"UserCreateNode@df_7"`) removes only that entry. Returns whether there was one.
    pub fn unregister(&self, name: &str) -> bool {
        self.unregister_nodes(&[name]) > 0
    }

    /// Removes every registration of each name. Returns how many names were present.
    ///
    /// A qualified name (`"UserCreateNode@df_7"`) removes only that instance's entry.
    pub fn unregister_nodes<S: AsRef<str>>(&self, names: &[S]) -> usize {
        let removed = self.update(|table| {
            names
                .iter()
                .filter_map(|name| match split_qualified(name.as_ref()) {
                    None => table.remove_entry(name.as_ref()),
                    Some((base, id)) => remove_one(table, base, Owner::Instance(id)),
                })
                .collect::<Vec<_>>()
        });
        self.tell_removed(&removed);
        removed.len()
    }

    /// Removes every registration, built-in nodes included.
    pub fn clear(&self) {
        let removed = self.update(|table| table.drain());
        self.tell_removed(&removed);
    }

    fn tell_removed(&self, removed: &[(Arc<str>, Arc<[Slot]>)]) {
        if let Some(observer) = self.observer.get() {
            for (name, slots) in removed {
                for slot in slots.iter() {
                    observer.unregistered(name, slot.owner);
                }
            }
        }
    }

    /// Registers nodes for `owner` as one change: all of them, or (on a refused collision)
    /// none.
    pub(crate) fn register_owned(
        &self,
        owner: Owner,
        registrations: Vec<Registration>,
        collision: Collision,
        registered_by: Option<Arc<str>>,
    ) -> Result<()> {
        let registered_by = registered_by.or_else(current_thread_name);
        self.try_update(|table| {
            let mut shadowed: Vec<(&str, Owner)> = Vec::new();
            for reg in &registrations {
                let holder = table.get(&reg.name).and_then(|slots| {
                    slots
                        .iter()
                        .rev()
                        .find(|s| s.owner != owner)
                        .map(|s| s.owner)
                });
                match (holder, collision, owner) {
                    (
                        Some(Owner::Instance(holder)),
                        Collision::Error,
                        Owner::Instance(instance),
                    ) => {
                        return Err(Error::Collision {
                            name: reg.name.to_string(),
                            instance,
                            holder,
                        })
                    }
                    (Some(holder), _, _) => shadowed.push((&reg.name, holder)),
                    (None, _, _) => {}
                }
            }
            if let Some((first, holder)) = shadowed.first() {
                tracing::warn!(
                    owner = %owner,
                    previous_owner = %holder,
                    node = first,
                    count = shadowed.len(),
                    "node names registered by {owner} shadow names held by {holder}"
                );
            }
            for reg in &registrations {
                let slot = Slot {
                    owner,
                    model: reg.model.clone(),
                    kind: reg.kind,
                    registered_by: registered_by.clone(),
                    node: Arc::clone(&reg.node),
                };
                // The names are shared (a model's are made once per schema): the key is a
                // reference count, and a name nobody else holds is one allocation.
                let slots: Arc<[Slot]> = match table.get(&reg.name) {
                    None => Arc::new([slot]),
                    Some(old) => old
                        .iter()
                        .filter(|s| s.owner != owner)
                        .cloned()
                        .chain(std::iter::once(slot))
                        .collect(),
                };
                table.insert(Arc::clone(&reg.name), slots);
            }
            Ok(())
        })?;
        if let Some(observer) = self.observer.get() {
            for reg in &registrations {
                observer.registered(&reg.name, owner);
            }
        }
        Ok(())
    }

    /// Removes exactly the registrations `owner` holds. Returns how many there were.
    pub(crate) fn unregister_owner(&self, owner: Owner) -> usize {
        let holds = |slots: &Arc<[Slot]>| slots.iter().any(|s| s.owner == owner);
        // An owner that holds nothing (an instance cleaned up already, or one that never
        // registered) changes nothing: no writer lock, no snapshot copied and published.
        // The answer is the snapshot's, as a lookup's would be.
        if !self.table.load().values().any(holds) {
            return 0;
        }
        let observed = self.observer.get().is_some();
        let (count, removed) = self.update(|table| {
            let (mut count, mut removed) = (0, Vec::new());
            table.retain(holds, |name, slots| {
                let held = slots.iter().filter(|s| s.owner == owner).count();
                count += held;
                if observed {
                    removed.push(Arc::clone(name));
                }
                if held == slots.len() {
                    return false;
                }
                *slots = slots.iter().filter(|s| s.owner != owner).cloned().collect();
                true
            });
            (count, removed)
        });
        if let Some(observer) = self.observer.get() {
            for name in &removed {
                observer.unregistered(name, owner);
            }
        }
        count
    }

    /// The names `owner` holds, sorted.
    pub(crate) fn names_owned_by(&self, owner: Owner) -> Vec<String> {
        let table = self.table.load();
        let mut names: Vec<String> = table
            .iter()
            .filter(|(_, slots)| slots.iter().any(|s| s.owner == owner))
            .map(|(name, _)| name.to_string())
            .collect();
        names.sort_unstable();
        names
    }

    /// Registered names closest to `name`, best first, for "did you mean" messages.
    pub(crate) fn suggestions(&self, name: &str) -> Vec<String> {
        let base = split_qualified(name).map_or(name, |(base, _)| base);
        let table = self.table.load();
        let mut scored: Vec<(f64, &str)> = table
            .keys()
            .map(|k| (strsim::jaro_winkler(base, k), k.as_ref()))
            .filter(|(score, _)| *score >= 0.8)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        scored
            .into_iter()
            .take(3)
            .map(|(_, k)| k.to_owned())
            .collect()
    }

    fn update<T>(&self, change: impl FnOnce(&mut Table) -> T) -> T {
        match self.try_update(|table| Ok::<_, std::convert::Infallible>(change(table))) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    fn try_update<T, E>(&self, change: impl FnOnce(&mut Table) -> Result<T, E>) -> Result<T, E> {
        // A writer that panicked left no half-made table behind: the snapshot is only
        // published after `change` returns, so a poisoned lock is safe to take.
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut next: Table = Table::clone(&self.table.load());
        let value = change(&mut next)?;
        let previous = self.table.swap(Arc::new(next));
        reclaim(previous);
        Ok(value)
    }
}

/// Frees a replaced snapshot. A large one (a cleanup of hundreds of nodes frees as many
/// allocations) is freed on a thread of its own, so that the writer returns at once.
fn reclaim(previous: Arc<Table>) {
    const LARGE: usize = 256;
    if previous.len() < LARGE {
        return;
    }
    static RECLAIMER: OnceLock<Mutex<std::sync::mpsc::Sender<Arc<Table>>>> = OnceLock::new();
    let sender = RECLAIMER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Arc<Table>>();
        let spawned = std::thread::Builder::new()
            .name("dataflow-reclaim".to_owned())
            .spawn(move || rx.into_iter().for_each(drop));
        if spawned.is_err() {
            tracing::warn!("no thread for freeing registry snapshots; freeing them inline");
        }
        Mutex::new(tx)
    });
    let sender = sender.lock().unwrap_or_else(|e| e.into_inner());
    // If the thread is gone, the snapshot comes back in the error and is freed here.
    let _ = sender.send(previous);
}

/// Removes `owner`'s entry of `name`; returns it as a one-slot removal.
fn remove_one(table: &mut Table, name: &str, owner: Owner) -> Option<(Arc<str>, Arc<[Slot]>)> {
    let (key, slots) = table.get_key_value(name)?;
    let (key, slots) = (Arc::clone(key), Arc::clone(slots));
    let (gone, kept): (Vec<Slot>, Vec<Slot>) =
        slots.iter().cloned().partition(|s| s.owner == owner);
    if gone.is_empty() {
        return None;
    }
    if kept.is_empty() {
        table.remove(name);
    } else {
        table.insert(Arc::clone(&key), kept.into());
    }
    Some((key, gone.into()))
}

fn current_thread_name() -> Option<Arc<str>> {
    std::thread::current().name().map(Arc::from)
}

/// Splits `"Name@df_7"` into `("Name", df_7)`; `None` for an unqualified name.
fn split_qualified(name: &str) -> Option<(&str, InstanceId)> {
    let (base, id) = name.rsplit_once('@')?;
    Some((base, id.parse().ok()?))
}

fn validate_node_name(name: &str) -> Result<()> {
    crate::model::validate_identifier("node", name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{NodeFuture, Params};
    use serde_json::json;

    struct Tagged(&'static str);

    impl Node for Tagged {
        fn run(&self, _params: Params) -> NodeFuture<'_> {
            let tag = self.0;
            Box::pin(async move { Ok(json!(tag)) })
        }
    }

    fn reg(name: &str, tag: &'static str) -> Registration {
        Registration {
            name: Arc::from(name),
            model: Some(Arc::from("User")),
            kind: NodeKind::Create,
            node: Arc::new(Tagged(tag)),
        }
    }

    fn tag_of(registry: &NodeRegistry, name: &str) -> Option<String> {
        let node = registry.get(name)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        Some(
            rt.block_on(node.run(Params::new()))
                .unwrap()
                .as_str()?
                .to_owned(),
        )
    }

    #[test]
    fn the_newest_registration_shadows_and_removal_uncovers_the_previous() {
        let registry = NodeRegistry::new();
        let (a, b) = (InstanceId(1001), InstanceId(1002));
        registry
            .register_owned(
                Owner::Instance(a),
                vec![reg("UserCreateNode", "a")],
                Collision::Shadow,
                None,
            )
            .unwrap();
        registry
            .register_owned(
                Owner::Instance(b),
                vec![reg("UserCreateNode", "b")],
                Collision::Shadow,
                None,
            )
            .unwrap();
        assert_eq!(tag_of(&registry, "UserCreateNode").as_deref(), Some("b"));
        assert_eq!(
            tag_of(&registry, "UserCreateNode@df_1001").as_deref(),
            Some("a")
        );
        assert_eq!(registry.len(), 2);
        assert_eq!(registry.list_nodes(), ["UserCreateNode"]);

        assert_eq!(registry.unregister_owner(Owner::Instance(b)), 1);
        assert_eq!(tag_of(&registry, "UserCreateNode").as_deref(), Some("a"));
        assert_eq!(registry.get("UserCreateNode@df_1002").map(|_| ()), None);
        // Holding nothing, an owner's cleanup publishes no new snapshot.
        let before = registry.table.load_full();
        assert_eq!(registry.unregister_owner(Owner::Instance(b)), 0);
        assert!(Arc::ptr_eq(&before, &registry.table.load_full()));
    }

    #[test]
    fn collision_error_refuses_the_whole_batch() {
        let registry = NodeRegistry::new();
        let (a, b) = (InstanceId(2001), InstanceId(2002));
        registry
            .register_owned(
                Owner::Instance(a),
                vec![reg("UserReadNode", "a")],
                Collision::Shadow,
                None,
            )
            .unwrap();
        let err = registry
            .register_owned(
                Owner::Instance(b),
                vec![reg("UserCreateNode", "b"), reg("UserReadNode", "b")],
                Collision::Error,
                None,
            )
            .unwrap_err();
        assert!(
            matches!(err, Error::Collision { holder, .. } if holder == a),
            "{err}"
        );
        assert!(
            !registry.contains("UserCreateNode"),
            "nothing of the batch was registered"
        );
    }

    #[test]
    fn an_owner_re_registering_a_name_replaces_its_own_entry() {
        let registry = NodeRegistry::new();
        registry
            .register("EchoNode", Owner::Static, Arc::new(Tagged("1")))
            .unwrap();
        registry
            .register("EchoNode", Owner::Static, Arc::new(Tagged("2")))
            .unwrap();
        assert_eq!(registry.len(), 1);
        assert_eq!(tag_of(&registry, "EchoNode").as_deref(), Some("2"));
    }

    #[test]
    fn unregister_removes_the_name_for_every_owner() {
        let registry = NodeRegistry::new();
        registry
            .register_owned(
                Owner::Instance(InstanceId(3001)),
                vec![reg("X", "a")],
                Collision::Shadow,
                None,
            )
            .unwrap();
        registry
            .register("X", Owner::Static, Arc::new(Tagged("s")))
            .unwrap();
        assert_eq!(registry.unregister_nodes(&["X", "Y"]), 1);
        assert!(registry.is_empty());
        assert!(!registry.unregister("X"));
    }

    #[test]
    fn unregister_of_a_qualified_name_removes_only_that_entry() {
        let registry = NodeRegistry::new();
        for id in [4001, 4002] {
            registry
                .register_owned(
                    Owner::Instance(InstanceId(id)),
                    vec![reg("X", "a")],
                    Collision::Shadow,
                    None,
                )
                .unwrap();
        }
        assert!(registry.unregister("X@df_4002"));
        assert!(!registry.unregister("X@df_4002"));
        assert_eq!(registry.len(), 1);
        assert!(registry.contains("X@df_4001"));
    }

    #[test]
    fn qualified_names_and_bad_names() {
        assert_eq!(split_qualified("A@df_3"), Some(("A", InstanceId(3))));
        assert_eq!(split_qualified("A@nope"), None);
        assert_eq!(split_qualified("A"), None);
        let registry = NodeRegistry::new();
        let err = registry
            .register("Bad@df_1", Owner::Static, Arc::new(Tagged("x")))
            .unwrap_err();
        assert!(matches!(err, Error::InvalidIdentifier { kind: "node", .. }));
    }

    #[test]
    fn suggestions_are_close_names() {
        let registry = NodeRegistry::new();
        registry
            .register("UserCreateNode", Owner::Static, Arc::new(Tagged("x")))
            .unwrap();
        registry
            .register("OrderListNode", Owner::Static, Arc::new(Tagged("x")))
            .unwrap();
        assert_eq!(registry.suggestions("UserCreatNode"), ["UserCreateNode"]);
        assert!(registry.suggestions("Zzz").is_empty());
    }
}
