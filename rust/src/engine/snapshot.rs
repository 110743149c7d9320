//! Immutable merged state at one version, and the exact changes between two versions.

// Fx rather than SipHash: see store.rs.
use rustc_hash::FxHashMap as HashMap;
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
pub struct Snapshot<T> {
    /// Monotonic version; the empty config is version 0.
    pub version: u64,
    /// Merged objects, sorted by key.
    pub items: Items<T>,
    /// What changed from the previous version (all `added` for the first version).
    pub changes: Arc<Changes<T>>,
}

impl<T> Snapshot<T> {
    /// The empty state: version 0, no objects, no changes.
    pub fn empty() -> Self {
        Self {
            version: 0,
            items: OrdMap::new(),
            changes: Arc::new(Changes::default()),
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

/// Keys touched since some base version, each with the object it had at that base.
///
/// Folding more versions in keeps the *first* recorded value per key, so the set stays O(distinct
/// keys changed), never O(updates), and resolving it against the newest items is exact: an object
/// added then removed in between appears nowhere, an update then removal appears as removed with
/// the base object.
#[derive(Debug)]
pub struct ChangeSet<T> {
    base: HashMap<ObjKey, Option<Arc<T>>>,
}

impl<T> Default for ChangeSet<T> {
    fn default() -> Self {
        Self {
            base: HashMap::default(),
        }
    }
}

impl<T: Object> ChangeSet<T> {
    /// Note that `key` changed; `before` is its value before this change.
    pub fn record(&mut self, key: ObjKey, before: Option<Arc<T>>) {
        self.base.entry(key).or_insert(before);
    }

    /// Fold another change set (a later window) into this one.
    pub fn absorb(&mut self, later: &ChangeSet<T>) {
        for (key, before) in &later.base {
            if !self.base.contains_key(key) {
                self.base.insert(key.clone(), before.clone());
            }
        }
    }

    /// Number of keys touched.
    pub fn len(&self) -> usize {
        self.base.len()
    }

    /// True when no key was touched.
    pub fn is_empty(&self) -> bool {
        self.base.is_empty()
    }

    /// The exact changes from the base state to `now`, in O(keys touched · log N).
    pub fn resolve(&self, now: &Items<T>) -> Changes<T> {
        let mut keys: Vec<&ObjKey> = self.base.keys().collect();
        keys.sort_unstable();
        let mut out = Changes::default();
        for key in keys {
            let before = self.base.get(key).and_then(Option::as_ref);
            match (before, now.get(key)) {
                (None, Some(new)) => out.added.push(Arc::clone(new)),
                (Some(old), None) => out.removed.push(Arc::clone(old)),
                (Some(old), Some(new)) if !same(old, new) => {
                    out.updated.push((Arc::clone(old), Arc::clone(new)));
                }
                _ => {}
            }
        }
        out
    }
}

/// Content equality with a pointer shortcut (most unchanged objects are the same `Arc`).
pub fn same<T: PartialEq>(a: &Arc<T>, b: &Arc<T>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}
