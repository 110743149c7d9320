//! What the merge engine needs of an object kind: a key and value equality.

use std::fmt;
use std::sync::Arc;

/// `namespace/name`, ordered by (namespace, name) as snapshots are sorted.
///
/// Kept as two parts because ordering the joined string would put `a-b/x` before `a/x`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    /// The object's `namespace/name` key.
    fn key(&self) -> ObjKey;
}
