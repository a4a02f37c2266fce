//! The registry's snapshot: a map from node names to values, split into shards that
//! snapshots share.
//!
//! A writer publishes a new snapshot for every change, so the cost of a change is the cost
//! of copying the map. With one `HashMap` that was every entry of the registry for every
//! model registered (20 models meant 20 copies of a growing table, and as many freed);
//! here a copy is [`SHARDS`] reference counts, and only the shards a change touches are
//! copied ([`Arc::make_mut`]). A lookup picks its shard with a few arithmetic operations,
//! then searches one small `HashMap`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// How many shards a map has: enough that registering a model (ten names) copies a small
/// part of a registry of hundreds of models.
const SHARDS: usize = 64;

/// A map from names to `V`, copy-on-write per shard. Cloning it shares every shard.
#[derive(Clone)]
pub(super) struct Table<V> {
    // Inline, not behind another pointer: a lookup follows one pointer less.
    shards: [Arc<Shard<V>>; SHARDS],
}

type Shard<V> = HashMap<Arc<str>, V, BuildHasherDefault<NameHasher>>;

/// The hash of the shards' maps: FxHash's word-at-a-time mix (a few cycles for a node
/// name, where SipHash takes most of a lookup). Its weakness, inputs chosen to collide, does
/// not matter here: names are inserted only by code registering its nodes, never from
/// outside input, and a lookup of any name inserts nothing.
#[derive(Default, Clone, Copy)]
struct NameHasher(u64);

impl NameHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().expect("eight bytes")));
        }
        if !words.remainder().is_empty() {
            self.add(short_word(words.remainder()));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        // The multiplications carry a difference only towards the top bits, and the map
        // indexes with the bottom ones: MurmurHash3's finaliser brings every bit down.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// The shard of `name`: its first eight bytes, mixed by one multiplication. Not a strong
/// hash; the shard's `HashMap` is the real one.
///
/// Only the head, on purpose: generated names are `{Model}{Operation}Node`, so the ten names
/// of a model whose name has eight bytes or more share one shard, and registering the
/// model copies that shard alone (with a shorter model name, the operation's first letters
/// spread them over up to six). Registering was a copy of about nine shards per model when
/// the last bytes were mixed in too. Models still spread by name.
fn shard_of(name: &str) -> usize {
    let bytes = name.as_bytes();
    let head = match bytes.first_chunk::<8>() {
        // A fixed-size read: one load, no call to `memcpy`.
        Some(head) => u64::from_le_bytes(*head),
        None => short_word(bytes) ^ (bytes.len() as u64) << 59,
    };
    (head.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SHARDS
}

/// Up to eight bytes as a little-endian word.
fn short_word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .enumerate()
        .fold(0, |w, (i, &b)| w | u64::from(b) << (8 * i))
}

impl<V: Clone> Table<V> {
    /// An empty map.
    pub(super) fn new() -> Self {
        Table {
            shards: std::array::from_fn(|_| Arc::new(Shard::default())),
        }
    }

    /// The shard of `name`, to change (copied first if a snapshot shares it).
    fn shard_mut(&mut self, name: &str) -> &mut Shard<V> {
        Arc::make_mut(&mut self.shards[shard_of(name)])
    }

    pub(super) fn get(&self, name: &str) -> Option<&V> {
        self.shards[shard_of(name)].get(name)
    }

    pub(super) fn get_key_value(&self, name: &str) -> Option<(&Arc<str>, &V)> {
        self.shards[shard_of(name)].get_key_value(name)
    }

    pub(super) fn insert(&mut self, name: Arc<str>, value: V) {
        self.shard_mut(&name).insert(name, value);
    }

    pub(super) fn remove(&mut self, name: &str) -> Option<V> {
        self.remove_entry(name).map(|(_, v)| v)
    }

    pub(super) fn remove_entry(&mut self, name: &str) -> Option<(Arc<str>, V)> {
        // Looked up first: a name that is not there copies nothing.
        self.get(name)?;
        self.shard_mut(name).remove_entry(name)
    }

    /// Keeps the entries for which `keep` returns true (it may change the value). Only
    /// shards holding an entry that `touched` selects are copied and visited.
    pub(super) fn retain(
        &mut self,
        touched: impl Fn(&V) -> bool,
        mut keep: impl FnMut(&Arc<str>, &mut V) -> bool,
    ) {
        for i in 0..SHARDS {
            if self.shards[i].values().any(&touched) {
                Arc::make_mut(&mut self.shards[i]).retain(|k, v| !touched(v) || keep(k, v));
            }
        }
    }

    /// Removes every entry and returns them.
    pub(super) fn drain(&mut self) -> Vec<(Arc<str>, V)> {
        let all = self
            .iter()
            .map(|(k, v)| (Arc::clone(k), v.clone()))
            .collect();
        *self = Table::new();
        all
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &V)> {
        self.shards.iter().flat_map(|shard| shard.iter())
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &Arc<str>> {
        self.iter().map(|(k, _)| k)
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// The number of names.
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.len()).sum()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.shards.iter().all(|shard| shard.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_shares_the_shards_a_change_does_not_touch() {
        let mut a: Table<u32> = Table::new();
        for i in 0..200 {
            a.insert(Arc::from(format!("Model{i}CreateNode")), i);
        }
        let mut b = a.clone();
        b.insert(Arc::from("OtherNode"), 1);
        let touched = shard_of("OtherNode");
        let shared = (0..SHARDS)
            .filter(|&i| Arc::ptr_eq(&a.shards[i], &b.shards[i]))
            .count();
        assert_eq!(shared, SHARDS - 1);
        assert!(!Arc::ptr_eq(&a.shards[touched], &b.shards[touched]));
        assert_eq!((a.len(), b.len()), (200, 201));
        assert_eq!(a.get("OtherNode"), None);
        assert_eq!(b.get("OtherNode"), Some(&1));
    }

    #[test]
    fn a_models_names_share_a_shard_when_its_name_is_long() {
        let kinds = ["Create", "Read", "Update", "BulkCreate", "BulkUpsert"];
        let long: std::collections::HashSet<usize> = kinds
            .iter()
            .map(|kind| shard_of(&format!("Inventory{kind}Node")))
            .collect();
        assert_eq!(long.len(), 1);
    }

    #[test]
    fn names_spread_over_the_shards() {
        let mut used = std::collections::HashSet::new();
        for model in [
            "User",
            "Order",
            "Model01",
            "Model02",
            "Model17",
            "UserProfile",
        ] {
            for kind in ["Create", "Read", "Update", "Delete", "List", "BulkCreate"] {
                used.insert(shard_of(&format!("{model}{kind}Node")));
            }
        }
        // 36 names, 31 distinct heads (`UserProfile`'s six share one): a hash that ignored
        // the model would use 6 shards at most.
        assert!(used.len() >= 18, "{} shards used", used.len());
        assert_eq!(shard_of(""), shard_of(""));
        assert!(shard_of("a") < SHARDS);
    }

    #[test]
    fn names_that_differ_in_one_byte_hash_apart() {
        use std::hash::BuildHasher;
        let hasher = BuildHasherDefault::<NameHasher>::default();
        let mut low_bits = std::collections::HashSet::new();
        for i in 0..100 {
            let name = format!("Look{i}CreateNode");
            low_bits.insert(hasher.hash_one(name.as_str()) & 0xff);
        }
        // 100 names in 256 buckets: a good hash leaves few of them sharing one.
        assert!(low_bits.len() >= 70, "{} distinct buckets", low_bits.len());
    }

    #[test]
    fn retain_removes_and_changes_only_what_it_is_asked_to() {
        let mut t: Table<u32> = Table::new();
        for i in 0..100 {
            t.insert(Arc::from(format!("N{i}")), i);
        }
        let before = t.clone();
        t.retain(
            |v| v % 10 == 0,
            |_, v| {
                *v += 1000;
                *v % 20 != 0
            },
        );
        assert_eq!(t.len(), 95);
        assert_eq!(t.get("N10"), Some(&1010));
        assert_eq!(t.get("N20"), None);
        assert_eq!(t.get("N3"), Some(&3));
        assert_eq!(before.len(), 100);
        assert_eq!(before.get("N20"), Some(&20));
        assert_eq!(t.remove("N3"), Some(3));
        assert_eq!(t.remove("N3"), None);
        let all = t.drain();
        assert_eq!(all.len(), 94);
        assert!(t.is_empty());
    }
}
