//! Immutable merged state at one version, and the exact changes between two versions.

// Fx rather than SipHash: see store.rs.
use rustc_hash::FxHashMap as HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use imbl::OrdMap;

use super::object::{ObjKey, Object};

/// The merged objects of all sources, sorted by (namespace, name).
///
/// A persistent map: cloning a snapshot or publishing a new version shares structure with the
/// previous one, so both are O(1) in the state size.
pub type Items<T> = OrdMap<ObjKey, Arc<T>>;

/// The merged state at one version, with the changes from the version before it.
#[derive(Debug)]
pub struct Snapshot<T: Object> {
    /// Monotonic version; the empty config is version 0.
    pub version: u64,
    /// Merged objects, sorted by key.
    pub items: Items<T>,
    /// What changed from the previous version (all `added` for the first version).
    pub changes: Arc<Changes<T>>,
    /// What the version says beyond its changes (accumulated like `changes` for a handler).
    pub notes: Arc<T::Notes>,
}

impl<T: Object> Snapshot<T> {
    /// The empty state: version 0, no objects, no changes.
    pub fn empty() -> Self {
        Self {
            version: 0,
            items: OrdMap::new(),
            changes: Arc::new(Changes::default()),
            notes: Arc::default(),
        }
    }

    /// A new handle on the same version (O(1): the persistent map is shared).
    #[must_use]
    pub fn share(&self) -> Self {
        Self {
            version: self.version,
            items: self.items.clone(),
            changes: Arc::clone(&self.changes),
            notes: Arc::clone(&self.notes),
        }
    }
}

/// The exact difference between two versions, each list sorted by key.
#[derive(Debug)]
pub struct Changes<T> {
    /// Objects present now and absent before.
    pub added: Vec<Arc<T>>,
    /// `(old, new)` pairs for objects present in both with different content.
    pub updated: Vec<(Arc<T>, Arc<T>)>,
    /// Objects present before and absent now (the object as it was last seen).
    pub removed: Vec<Arc<T>>,
}

impl<T> Default for Changes<T> {
    fn default() -> Self {
        Self {
            added: Vec::new(),
            updated: Vec::new(),
            removed: Vec::new(),
        }
    }
}

impl<T> Changes<T> {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }

    /// Every object of `items` as added: what a first delivery carries.
    pub fn all_added(items: &Items<T>) -> Self {
        Self {
            added: items.values().cloned().collect(),
            ..Self::default()
        }
    }
}

/// Keys touched since some base version, each with the object it had at that base and the one
/// it has now.
///
/// Folding more changes in keeps the *first* base value and the *last* current value per key, so
/// the set stays O(distinct keys changed), never O(updates), and resolving it needs no lookup in
/// the (possibly large) merged state: an object added then removed in between appears nowhere,
/// an update then removal appears as removed with the base object.
#[derive(Debug)]
pub struct ChangeSet<T> {
    touched: HashMap<ObjKey, BeforeAfter<T>>,
}

/// A key's object at the base version and now (`None`: absent).
type BeforeAfter<T> = (Option<Arc<T>>, Option<Arc<T>>);

impl<T> Default for ChangeSet<T> {
    fn default() -> Self {
        Self {
            touched: HashMap::default(),
        }
    }
}

impl<T: Object> ChangeSet<T> {
    /// Note that `key` went from `before` to `after`.
    pub fn record(&mut self, key: ObjKey, before: Option<Arc<T>>, after: Option<Arc<T>>) {
        match self.touched.entry(key) {
            Entry::Occupied(mut seen) => seen.get_mut().1 = after,
            Entry::Vacant(slot) => {
                slot.insert((before, after));
            }
        }
    }

    /// Fold the changes of a later version in.
    pub fn absorb(&mut self, later: &Changes<T>) {
        for new in &later.added {
            self.record(new.key(), None, Some(Arc::clone(new)));
        }
        for (old, new) in &later.updated {
            self.record(old.key(), Some(Arc::clone(old)), Some(Arc::clone(new)));
        }
        for old in &later.removed {
            self.record(old.key(), Some(Arc::clone(old)), None);
        }
    }

    /// Number of keys touched.
    pub fn len(&self) -> usize {
        self.touched.len()
    }

    /// True when no key was touched.
    pub fn is_empty(&self) -> bool {
        self.touched.is_empty()
    }

    /// The exact changes from the base state to the current one, in O(k log k) for k keys,
    /// leaving the set empty. The objects move out rather than being shared, and the table
    /// keeps its room for the next batch (up to [`KEEP_ROOM`] keys).
    pub fn take(&mut self) -> Changes<T> {
        let mut touched: Vec<_> = self.touched.drain().collect();
        if self.touched.capacity() > KEEP_ROOM {
            self.touched = HashMap::default();
        }
        touched.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut out = Changes::default();
        for (_, change) in touched {
            match change {
                (None, Some(new)) => out.added.push(new),
                (Some(old), None) => out.removed.push(old),
                (Some(old), Some(new)) if !same(&old, &new) => out.updated.push((old, new)),
                _ => {}
            }
        }
        out
    }
}

/// Most keys a drained [`ChangeSet`] keeps room for: a batch of watch events reuses its table,
/// while the one left by a large SET is given back.
const KEEP_ROOM: usize = 4096;

/// Content equality with a pointer shortcut (most unchanged objects are the same `Arc`).
pub fn same<T: PartialEq>(a: &Arc<T>, b: &Arc<T>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

/// A keyed value for the engine's unit tests; `tests/common` includes the same file.
#[cfg(test)]
pub(crate) mod test_obj;

#[cfg(test)]
mod tests {
    use super::test_obj::{key, kv, obj, upd, Obj};
    use super::*;

    fn changes(
        added: Vec<Arc<Obj>>,
        updated: Vec<(Arc<Obj>, Arc<Obj>)>,
        removed: Vec<Arc<Obj>>,
    ) -> Changes<Obj> {
        Changes {
            added,
            updated,
            removed,
        }
    }

    fn added(objs: Vec<Arc<Obj>>) -> Changes<Obj> {
        changes(objs, vec![], vec![])
    }

    fn updated(old: Arc<Obj>, new: Arc<Obj>) -> Changes<Obj> {
        changes(vec![], vec![(old, new)], vec![])
    }

    fn removed(objs: Vec<Arc<Obj>>) -> Changes<Obj> {
        changes(vec![], vec![], objs)
    }

    /// A fresh set after absorbing each of `steps` in order.
    fn absorbed<const N: usize>(steps: [Changes<Obj>; N]) -> ChangeSet<Obj> {
        let mut set = ChangeSet::default();
        for step in &steps {
            set.absorb(step);
        }
        set
    }

    #[test]
    fn folding_keeps_the_first_base_and_the_last_current_value() {
        let mut set = ChangeSet::default();
        set.record(key("ns/a"), Some(obj("ns/a", 1)), Some(obj("ns/a", 2)));
        set.record(key("ns/a"), Some(obj("ns/a", 2)), Some(obj("ns/a", 3)));
        set.absorb(&updated(obj("ns/a", 3), obj("ns/a", 4)));
        assert_eq!(set.len(), 1);
        let out = set.take();
        assert_eq!(upd(&out.updated), ["ns/a:1->4"]);
        assert!(out.added.is_empty() && out.removed.is_empty());
    }

    #[test]
    fn added_then_removed_vanishes() {
        let mut set = absorbed([
            added(vec![obj("ns/a", 1)]),
            updated(obj("ns/a", 1), obj("ns/a", 2)),
            removed(vec![obj("ns/a", 2)]),
        ]);
        assert_eq!(set.len(), 1, "the key is still tracked");
        assert!(set.take().is_empty());
    }

    #[test]
    fn updated_then_removed_is_removed_with_the_base_object() {
        let out = absorbed([
            updated(obj("ns/a", 1), obj("ns/a", 2)),
            removed(vec![obj("ns/a", 2)]),
        ])
        .take();
        assert_eq!(kv(&out.removed), ["ns/a=1"]);
        assert!(out.added.is_empty() && out.updated.is_empty());
    }

    #[test]
    fn removed_then_added_back_equal_is_no_change_and_different_is_an_update() {
        let out = absorbed([
            removed(vec![obj("ns/a", 1), obj("ns/b", 1)]),
            added(vec![obj("ns/a", 1), obj("ns/b", 2)]),
        ])
        .take();
        assert_eq!(upd(&out.updated), ["ns/b:1->2"]);
        assert!(out.added.is_empty() && out.removed.is_empty());
    }

    #[test]
    fn take_sorts_each_list_by_namespace_then_name() {
        let mut set = ChangeSet::default();
        for k in ["b/x", "a-b/a", "a/z", "/top", "a/b"] {
            set.record(key(k), None, Some(obj(k, 1)));
            let gone = format!("{k}-gone");
            set.record(key(&gone), Some(obj(&gone, 1)), None);
        }
        let out = set.take();
        assert_eq!(
            kv(&out.added),
            ["/top=1", "a/b=1", "a/z=1", "a-b/a=1", "b/x=1"]
        );
        let removed: Vec<ObjKey> = out.removed.iter().map(|o| o.key()).collect();
        assert!(removed.windows(2).all(|w| w[0] < w[1]), "{removed:?}");
    }

    #[test]
    fn take_empties_the_set_and_it_starts_over() {
        let mut set = absorbed([
            added(vec![obj("ns/c", 1), obj("ns/a", 1)]),
            updated(obj("ns/b", 1), obj("ns/b", 2)),
            removed(vec![obj("ns/d", 1)]),
            updated(obj("ns/e", 1), obj("ns/e", 1)),
        ]);
        let taken = set.take();
        assert_eq!(kv(&taken.added), ["ns/a=1", "ns/c=1"]);
        assert_eq!(upd(&taken.updated), ["ns/b:1->2"]);
        assert_eq!(kv(&taken.removed), ["ns/d=1"]);
        assert!(set.is_empty() && set.take().is_empty());
        // The drained set starts over: nothing of the first batch is remembered.
        set.absorb(&updated(obj("ns/b", 2), obj("ns/b", 3)));
        assert_eq!(upd(&set.take().updated), ["ns/b:2->3"]);
    }

    #[test]
    fn same_is_pointer_or_content_equality() {
        #[derive(Debug)]
        struct NeverEqual;
        impl PartialEq for NeverEqual {
            fn eq(&self, _: &Self) -> bool {
                false
            }
        }
        let a = Arc::new(NeverEqual);
        assert!(
            same(&a, &Arc::clone(&a)),
            "one allocation is the same object"
        );
        assert!(!same(&a, &Arc::new(NeverEqual)));
        assert!(same(&obj("ns/a", 1), &obj("ns/a", 1)), "equal content");
        assert!(!same(&obj("ns/a", 1), &obj("ns/a", 2)));
    }

    #[test]
    fn snapshots_share_and_start_empty() {
        let empty = Snapshot::<Obj>::empty();
        assert_eq!(empty.version, 0);
        assert!(empty.items.is_empty() && empty.changes.is_empty());
        let mut items = Items::new();
        items.insert(key("ns/a"), obj("ns/a", 1));
        let snap = Snapshot {
            version: 3,
            changes: Arc::new(Changes::all_added(&items)),
            items,
            notes: Arc::default(),
        };
        let shared = snap.share();
        assert_eq!(shared.version, 3);
        assert!(Arc::ptr_eq(&shared.changes, &snap.changes));
        assert_eq!(kv(&shared.changes.added), ["ns/a=1"]);
    }
}
