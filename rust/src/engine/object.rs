//! What the merge engine needs of an object kind: a key and value equality.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// `namespace/name`, ordered by (namespace, name) as snapshots are sorted.
///
/// Kept as two parts because ordering the joined string would put `a-b/x` before `a/x`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ObjKey {
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: Arc<str>,
    /// Object name.
    pub name: Arc<str>,
}

impl ObjKey {
    /// A key from its two parts.
    pub fn new(namespace: impl Into<Arc<str>>, name: impl Into<Arc<str>>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Parse `namespace/name`; a string without `/` is a name in the empty namespace.
    pub fn parse(key: &str) -> Self {
        match key.split_once('/') {
            Some((ns, name)) => Self::new(ns, name),
            None => Self::new("", key),
        }
    }
}

impl Ord for ObjKey {
    fn cmp(&self, other: &Self) -> Ordering {
        // Parsed objects share one string per namespace (`Interner::namespace`): equal by
        // pointer, with no bytes compared.
        let namespace = if Arc::ptr_eq(&self.namespace, &other.namespace) {
            Ordering::Equal
        } else {
            self.namespace.cmp(&other.namespace)
        };
        namespace.then_with(|| self.name.cmp(&other.name))
    }
}

impl PartialOrd for ObjKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ObjKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl fmt::Debug for ObjKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// An object kind the engine can store and merge (Service, Endpoints, `EndpointSlice`).
///
/// Equality is by content: an update equal to the stored object is not a change.
pub trait Object: PartialEq + Send + Sync + 'static {
    /// What a version of a config of this kind says beyond its object changes: `()` for the
    /// input kinds, the sync hints of the proxy view for its service ports.
    type Notes: Notes;
    /// The object's `namespace/name` key.
    fn key(&self) -> ObjKey;
}

/// Per-version notes that a handler receives accumulated over every version it was given at once.
pub trait Notes: Default + Send + Sync + 'static {
    /// Fold the notes of a later version into these.
    fn absorb(&mut self, later: &Self);
    /// True when there is nothing to tell a handler (no delivery is due for empty notes alone).
    fn is_empty(&self) -> bool;
    /// Turn accumulated notes into what one delivery carries; `first` marks a handler's first call.
    #[must_use]
    fn resolve(&self, first: bool) -> Self;
    /// Call `each` with every change-trigger time (seconds since the epoch) these notes carry:
    /// a handler returning from a call with them has programmed those changes.
    fn each_trigger_time(&self, each: &mut dyn FnMut(f64)) {
        let _ = each;
    }
}

impl Notes for () {
    fn absorb(&mut self, (): &Self) {}
    fn is_empty(&self) -> bool {
        true
    }
    fn resolve(&self, _first: bool) -> Self {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_by_namespace_then_name_whether_or_not_strings_are_shared() {
        let shared: Arc<str> = Arc::from("a");
        let parts = [
            ("", "z"),
            ("a", "b"),
            ("a", "x"),
            ("a-b", "a"),
            ("a/", "a"),
            ("b", ""),
        ];
        // Each namespace both as the shared string and as a copy of its own.
        let keys: Vec<ObjKey> = parts
            .iter()
            .flat_map(|&(ns, name)| {
                let own = ObjKey::new(ns, name);
                let with_shared = if ns == "a" {
                    ObjKey::new(Arc::clone(&shared), name)
                } else {
                    own.clone()
                };
                [own, with_shared]
            })
            .collect();
        for a in &keys {
            for b in &keys {
                let expected = (&*a.namespace, &*a.name).cmp(&(&*b.namespace, &*b.name));
                assert_eq!(a.cmp(b), expected, "{a} vs {b}");
                assert_eq!(a.partial_cmp(b), Some(expected));
                assert_eq!(a == b, expected == Ordering::Equal);
            }
        }
    }
}
