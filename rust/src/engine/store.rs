//! Per-source stores and the merged state: SET / ADD / UPDATE / REMOVE with the conflict rule.
//!
//! Single-threaded by design: only the merger thread owns a [`Store`]; readers see the
//! [`Snapshot`]s it publishes.

use std::sync::Arc;

// Fx rather than SipHash: keys are names the API server has validated, and hashing them is on the
// per-update path (HashDoS resistance buys nothing here).
use rustc_hash::{FxBuildHasher, FxHashMap as HashMap};
use std::collections::hash_map::Entry;

use super::object::{ObjKey, Object};
use super::snapshot::{same, ChangeSet, Changes, Items, Snapshot};

/// An operation on one source, with already-validated objects.
#[derive(Debug)]
pub enum Op<T> {
    /// Replace everything the source had (an empty SET clears it).
    Set(Vec<Arc<T>>),
    /// Add or replace the given objects (ADD and UPDATE).
    Add(Vec<Arc<T>>),
    /// Delete the given keys; absent ones are ignored.
    Remove(Vec<ObjKey>),
}

impl<T> Op<T> {
    /// Number of objects or keys the operation carries.
    pub fn len(&self) -> usize {
        match self {
            Op::Set(v) | Op::Add(v) => v.len(),
            Op::Remove(v) => v.len(),
        }
    }

    /// True when the operation carries nothing (an empty SET still clears its source).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Counters kept by the store.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StoreCounters {
    /// Objects written into a source while another source held the same key.
    pub conflicts: u64,
    /// Objects or keys carried by applied operations.
    pub objects_merged: u64,
}

/// The per-source maps and the merged persistent map.
///
/// Sources are indexed in channel-creation order; for a key held by several sources the lowest
/// index wins, and when it lets go the next one's object shows.
#[derive(Debug)]
pub struct Store<T> {
    sources: Vec<HashMap<ObjKey, Arc<T>>>,
    merged: Items<T>,
    version: u64,
    pending: ChangeSet<T>,
    counters: StoreCounters,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Self {
            sources: Vec::new(),
            merged: Items::new(),
            version: 0,
            pending: ChangeSet::default(),
            counters: StoreCounters::default(),
        }
    }
}

impl<T: Object> Store<T> {
    /// An empty store with no sources.
    pub fn new() -> Self {
        Self::default()
    }

    /// Current version (bumped only by [`Store::commit`] after a real change).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The merged items as of the last applied operation (committed or not).
    pub fn items(&self) -> &Items<T> {
        &self.merged
    }

    /// Counters so far.
    pub fn counters(&self) -> StoreCounters {
        self.counters
    }

    /// Make sure source `source` exists (sources are created in index order).
    pub fn ensure_source(&mut self, source: usize) {
        if self.sources.len() > source {
            return;
        }
        if self.solo() {
            // A second source: the first gets a map of its own, a copy of the merged state,
            // which it alone has made so far.
            self.sources[0] = self
                .merged
                .iter()
                .map(|(k, v)| (k.clone(), Arc::clone(v)))
                .collect();
        }
        self.sources.resize_with(source + 1, HashMap::default);
    }

    /// True while source 0 is the only source that has sent anything. Its map is then the merged
    /// map itself and `sources[0]` stays empty: a change updates one map, not two (one source is
    /// the common case; at 100k objects the second map cost about a sixth of a change).
    fn solo(&self) -> bool {
        self.sources.len() == 1
    }

    /// Apply one operation of one source. Changes accumulate until [`Store::commit`].
    pub fn apply(&mut self, source: usize, op: Op<T>) {
        self.ensure_source(source);
        self.counters.objects_merged += op.len() as u64;
        match op {
            Op::Add(objs) => {
                for obj in objs {
                    self.put(source, obj);
                }
            }
            Op::Remove(keys) => {
                for key in keys {
                    self.delete(source, &key);
                }
            }
            Op::Set(objs) => {
                let mut incoming: HashMap<ObjKey, Arc<T>> =
                    HashMap::with_capacity_and_hasher(objs.len(), FxBuildHasher);
                for obj in objs {
                    incoming.insert(obj.key(), obj);
                }
                let gone = if self.solo() {
                    absent(self.merged.keys(), &incoming)
                } else {
                    absent(self.sources[source].keys(), &incoming)
                };
                for key in gone {
                    self.delete(source, &key);
                }
                for (_, obj) in incoming {
                    // A SET is mostly a relist: most objects are unchanged.
                    self.put_checked(source, obj);
                }
            }
        }
    }

    /// Publish the accumulated changes as a new version, or `None` if nothing changed.
    pub fn commit(&mut self) -> Option<Snapshot<T>> {
        if self.pending.is_empty() {
            return None;
        }
        let changes = self.pending.take();
        if changes.is_empty() {
            // e.g. added then removed within one batch: no new version.
            return None;
        }
        self.version += 1;
        Some(Snapshot {
            version: self.version,
            items: self.merged.clone(),
            changes: Arc::new(changes),
            notes: Arc::default(),
        })
    }

    /// The committed state as a snapshot whose `changes` are all `added` (for tests and seeding).
    pub fn snapshot_all(&self) -> Snapshot<T> {
        Snapshot {
            version: self.version,
            items: self.merged.clone(),
            changes: Arc::new(Changes::all_added(&self.merged)),
            notes: Arc::default(),
        }
    }

    fn holder_below(&self, source: usize, key: &ObjKey) -> bool {
        self.sources[..source].iter().any(|s| s.contains_key(key))
    }

    /// [`Store::put`] for an object that is likely unchanged: alone, its source looks it up before
    /// writing (an insert into a published map copies its path even when nothing changes).
    fn put_checked(&mut self, source: usize, obj: Arc<T>) {
        if self.solo()
            && self
                .merged
                .get(&obj.key())
                .is_some_and(|held| same(held, &obj))
        {
            return;
        }
        self.put(source, obj);
    }

    fn put(&mut self, source: usize, obj: Arc<T>) {
        let key = obj.key();
        if self.solo() {
            self.set_merged(key, Some(obj));
            return;
        }
        let held_elsewhere = self.sources.len() > 1
            && self
                .sources
                .iter()
                .enumerate()
                .any(|(i, s)| i != source && s.contains_key(&key));
        // One hash and probe of this source's map; an unchanged object is no write (nor conflict).
        match self.sources[source].entry(key.clone()) {
            Entry::Occupied(mut held) => {
                if same(held.get(), &obj) {
                    return;
                }
                held.insert(Arc::clone(&obj));
            }
            Entry::Vacant(slot) => {
                slot.insert(Arc::clone(&obj));
            }
        }
        if held_elsewhere {
            self.counters.conflicts += 1;
        }
        if !self.holder_below(source, &key) {
            self.set_merged(key, Some(obj));
        }
    }

    fn delete(&mut self, source: usize, key: &ObjKey) {
        if self.solo() {
            self.set_merged(key.clone(), None);
            return;
        }
        if self.sources[source].remove(key).is_none() || self.holder_below(source, key) {
            return;
        }
        let next = self.sources[source + 1..]
            .iter()
            .find_map(|s| s.get(key))
            .cloned();
        self.set_merged(key.clone(), next);
    }

    fn set_merged(&mut self, key: ObjKey, value: Option<Arc<T>>) {
        let before = match &value {
            Some(obj) => {
                // Insert first and compare after: one walk down the tree instead of two. An equal
                // object replacing its twin is no change (and no harm: they are equal).
                let before = self.merged.insert(key.clone(), Arc::clone(obj));
                if before.as_ref().is_some_and(|old| same(old, obj)) {
                    return;
                }
                before
            }
            None => match self.merged.remove(&key) {
                Some(old) => Some(old),
                None => return,
            },
        };
        self.pending.record(key, before, value);
    }
}

/// The keys of `held` that `incoming` lacks.
fn absent<'a, T>(
    held: impl Iterator<Item = &'a ObjKey>,
    incoming: &HashMap<ObjKey, Arc<T>>,
) -> Vec<ObjKey> {
    held.filter(|k| !incoming.contains_key(*k))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::test_obj::{key, kv, obj, upd, Obj};
    use super::*;

    fn state(store: &Store<Obj>) -> Vec<String> {
        kv(&store.items().values().cloned().collect::<Vec<_>>())
    }

    #[test]
    fn set_replaces_only_its_own_source() {
        let mut s = Store::new();
        s.apply(0, Op::Add(vec![obj("ns/a", 1), obj("ns/b", 1)]));
        s.apply(1, Op::Add(vec![obj("ns/z", 1)]));
        s.commit();
        s.apply(0, Op::Set(vec![obj("ns/b", 2), obj("ns/c", 1)]));
        let snap = s.commit().expect("a change");
        assert_eq!(kv(&snap.changes.added), ["ns/c=1"]);
        assert_eq!(upd(&snap.changes.updated), ["ns/b:1->2"]);
        assert_eq!(kv(&snap.changes.removed), ["ns/a=1"]);
        assert_eq!(state(&s), ["ns/b=2", "ns/c=1", "ns/z=1"]);
        s.apply(0, Op::Set(vec![]));
        s.commit();
        assert_eq!(state(&s), ["ns/z=1"], "an empty SET clears only its source");
    }

    #[test]
    fn an_equal_object_is_no_change_and_no_version() {
        let mut s = Store::new();
        s.apply(0, Op::Add(vec![obj("ns/a", 1)]));
        assert_eq!(s.commit().map(|c| c.version), Some(1));
        s.apply(0, Op::Add(vec![obj("ns/a", 1)]));
        s.apply(0, Op::Set(vec![obj("ns/a", 1)]));
        assert!(s.pending.is_empty(), "nothing was even recorded");
        assert!(s.commit().is_none());
        assert_eq!(s.version(), 1);
        // Nor is it a conflict when another source holds the key too.
        s.apply(1, Op::Add(vec![obj("ns/a", 2)]));
        assert_eq!(s.counters().conflicts, 1);
        s.apply(1, Op::Add(vec![obj("ns/a", 2)]));
        s.apply(0, Op::Add(vec![obj("ns/a", 1)]));
        assert_eq!(s.counters().conflicts, 1);
        assert!(s.commit().is_none(), "the loser's object never showed");
    }

    #[test]
    fn lowest_source_wins_and_removal_reveals_the_next_source() {
        let mut s = Store::new();
        s.apply(2, Op::Add(vec![obj("ns/a", 3)]));
        s.apply(1, Op::Add(vec![obj("ns/a", 2)]));
        s.apply(0, Op::Add(vec![obj("ns/a", 1)]));
        assert_eq!(state(&s), ["ns/a=1"]);
        assert_eq!(s.counters().conflicts, 2);
        s.commit();
        // A loser's update is invisible but still a conflict.
        s.apply(2, Op::Add(vec![obj("ns/a", 30)]));
        assert!(s.commit().is_none());
        assert_eq!(s.counters().conflicts, 3);
        s.apply(0, Op::Remove(vec![key("ns/a")]));
        let snap = s.commit().expect("source 1 shows");
        assert_eq!(upd(&snap.changes.updated), ["ns/a:1->2"]);
        s.apply(1, Op::Set(vec![]));
        let snap = s.commit().expect("source 2 shows");
        assert_eq!(upd(&snap.changes.updated), ["ns/a:2->30"]);
        s.apply(2, Op::Remove(vec![key("ns/a")]));
        let snap = s.commit().expect("gone");
        assert_eq!(kv(&snap.changes.removed), ["ns/a=30"]);
        assert_eq!(s.counters().conflicts, 3, "removals are no conflicts");
        assert_eq!(s.counters().objects_merged, 6);
    }

    #[test]
    fn a_second_source_finds_the_first_ones_objects_held_by_it() {
        // Source 0 alone keeps its objects in the merged map only; a second source must still
        // see them as source 0's: they win over its own, and leave when source 0 lets go.
        let mut s = Store::new();
        s.apply(0, Op::Set(vec![obj("ns/a", 1), obj("ns/b", 1)]));
        s.apply(0, Op::Remove(vec![key("ns/a")]));
        s.apply(0, Op::Add(vec![obj("ns/c", 1)]));
        s.commit();
        s.apply(1, Op::Add(vec![obj("ns/b", 2), obj("ns/d", 2)]));
        assert_eq!(s.counters().conflicts, 1, "b is held by source 0");
        assert_eq!(state(&s), ["ns/b=1", "ns/c=1", "ns/d=2"]);
        s.commit();
        s.apply(0, Op::Remove(vec![key("ns/b")]));
        let snap = s.commit().expect("source 1's b shows");
        assert_eq!(upd(&snap.changes.updated), ["ns/b:1->2"]);
        s.apply(0, Op::Set(vec![]));
        let snap = s.commit().expect("source 0's c leaves");
        assert_eq!(kv(&snap.changes.removed), ["ns/c=1"]);
        assert_eq!(state(&s), ["ns/b=2", "ns/d=2"]);
    }

    #[test]
    fn removing_absent_keys_is_ignored() {
        let mut s = Store::new();
        s.apply(1, Op::Add(vec![obj("ns/a", 1)]));
        s.commit();
        s.apply(0, Op::Remove(vec![key("ns/a"), key("ns/none")]));
        s.apply(1, Op::Remove(vec![key("ns/none")]));
        assert!(s.commit().is_none());
        assert_eq!(state(&s), ["ns/a=1"]);
    }

    #[test]
    fn changes_within_a_batch_cancel_out() {
        let mut s = Store::new();
        s.apply(0, Op::Add(vec![obj("ns/keep", 1)]));
        s.commit();
        s.apply(0, Op::Add(vec![obj("ns/flash", 1), obj("ns/keep", 2)]));
        s.apply(0, Op::Remove(vec![key("ns/flash")]));
        s.apply(0, Op::Add(vec![obj("ns/keep", 1)]));
        assert!(!s.pending.is_empty(), "keys were touched");
        assert!(s.commit().is_none(), "but nothing changed");
        assert_eq!(s.version(), 1);
        s.apply(0, Op::Add(vec![obj("ns/keep", 2)]));
        let snap = s.commit().expect("a change");
        assert_eq!(snap.version, 2, "versions have no gaps");
        assert_eq!(upd(&snap.changes.updated), ["ns/keep:1->2"]);
    }

    #[test]
    fn commit_with_nothing_applied_is_none() {
        let mut s: Store<Obj> = Store::new();
        assert!(s.commit().is_none());
        s.apply(0, Op::Set(vec![]));
        assert!(s.commit().is_none());
        assert_eq!(s.snapshot_all().version, 0);
    }
}
