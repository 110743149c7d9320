//! One service's `EndpointSlice`s: which service a slice belongs to, an index from services to
//! their slices kept in step with a slice config's changes, and the slices merged into one list.
//!
//! kube-proxy keys its slice cache by (service, slice name) and always recomputes a service from
//! all of its slices, so an endpoint moving between slices is never lost; this is that cache.

use std::collections::HashSet;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use super::model::{Endpoint, EndpointSlice};
use super::object::ObjKey;
use super::snapshot::Items;

/// The `namespace/name` of the Service that owns `slice` (label `kubernetes.io/service-name` in
/// the slice's namespace), or `None` when the label is missing or empty.
pub fn owner(slice: &EndpointSlice) -> Option<ObjKey> {
    match slice.service_name() {
        Some(name) if !name.is_empty() && !slice.meta.name.is_empty() => Some(ObjKey::new(
            slice.meta.namespace.clone(),
            Arc::<str>::from(name),
        )),
        _ => None,
    }
}

/// Slices by owning service, sorted by slice key (so by slice name within a service). A service
/// has few slices (one per 100 endpoints), so a sorted vector beats a tree here.
#[derive(Debug, Default)]
pub struct SliceIndex {
    by_service: HashMap<ObjKey, Vec<ObjKey>>,
}

impl SliceIndex {
    /// Note that `slice` is stored; returns its owner, if it has one.
    pub fn insert(&mut self, slice: &EndpointSlice) -> Option<ObjKey> {
        let service = owner(slice)?;
        let keys = self.by_service.entry(service.clone()).or_default();
        let key = slice.meta.key();
        if let Err(at) = keys.binary_search(&key) {
            keys.insert(at, key);
        }
        Some(service)
    }

    /// Note that `slice` is gone; returns its owner, if it had one.
    pub fn remove(&mut self, slice: &EndpointSlice) -> Option<ObjKey> {
        let service = owner(slice)?;
        if let Some(keys) = self.by_service.get_mut(&service) {
            if let Ok(at) = keys.binary_search(&slice.meta.key()) {
                keys.remove(at);
            }
            if keys.is_empty() {
                self.by_service.remove(&service);
            }
        }
        Some(service)
    }

    /// Keys of the slices of `service`, by slice name.
    pub fn slices_of(&self, service: &ObjKey) -> impl Iterator<Item = &ObjKey> {
        self.by_service.get(service).into_iter().flatten()
    }

    /// Services that have at least one slice.
    pub fn services(&self) -> impl Iterator<Item = &ObjKey> {
        self.by_service.keys()
    }
}

/// The slices of `service` in `items`, by slice name, found without an index (one namespace's
/// range of the sorted map).
pub fn slices_in<'a>(
    items: &'a Items<EndpointSlice>,
    service: &'a ObjKey,
) -> impl Iterator<Item = &'a Arc<EndpointSlice>> + 'a {
    let from = ObjKey::new(service.namespace.clone(), "");
    items
        .range(from..)
        .take_while(move |(k, _)| k.namespace == service.namespace)
        .map(|(_, slice)| slice)
        .filter(move |slice| slice.service_name() == Some(&*service.name))
}

/// Every endpoint of `slices`, de-duplicated by its addresses (the first slice wins).
pub fn merged_endpoints<'a>(
    slices: impl IntoIterator<Item = &'a Arc<EndpointSlice>>,
) -> Vec<&'a Endpoint> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for slice in slices {
        for ep in slice.endpoints.iter() {
            if seen.insert(&ep.addresses) {
                out.push(ep);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::json::Kind;
    use crate::engine::model::Interner;

    fn slice(ns: &str, name: &str, service: Option<&str>, ips: &[&str]) -> Arc<EndpointSlice> {
        let labels = service.map_or(
            serde_json::json!({}),
            |s| serde_json::json!({ "kubernetes.io/service-name": s }),
        );
        let eps: Vec<_> = ips
            .iter()
            .map(|ip| serde_json::json!({ "addresses": [ip] }))
            .collect();
        let v = serde_json::json!({
            "metadata": { "namespace": ns, "name": name, "labels": labels },
            "addressType": "IPv4", "endpoints": eps, "ports": [{ "port": 80 }],
        });
        Arc::new(EndpointSlice::from_value(&v, &mut Interner::default()).expect("a valid slice"))
    }

    #[test]
    fn owner_needs_a_non_empty_label_and_is_in_the_slice_namespace() {
        assert_eq!(
            owner(&slice("ns", "a-1", Some("a"), &[])),
            Some(ObjKey::new("ns", "a"))
        );
        assert_eq!(owner(&slice("ns", "a-1", Some(""), &[])), None);
        assert_eq!(owner(&slice("ns", "a-1", None, &[])), None);
    }

    #[test]
    fn index_follows_inserts_and_removals_and_moves_between_services() {
        let mut index = SliceIndex::default();
        let a1 = slice("ns", "a-1", Some("a"), &[]);
        let a2 = slice("ns", "a-2", Some("a"), &[]);
        index.insert(&a2);
        index.insert(&a1);
        let a = ObjKey::new("ns", "a");
        let names: Vec<_> = index.slices_of(&a).map(|k| k.name.to_string()).collect();
        assert_eq!(names, ["a-1", "a-2"]);
        // The slice is relabelled to service b: removed from a under its old labels.
        let moved = slice("ns", "a-2", Some("b"), &[]);
        assert_eq!(index.remove(&a2), Some(a.clone()));
        assert_eq!(index.insert(&moved), Some(ObjKey::new("ns", "b")));
        assert_eq!(index.slices_of(&a).count(), 1);
        index.remove(&a1);
        assert_eq!(index.slices_of(&a).count(), 0);
        assert_eq!(index.services().count(), 1);
    }

    #[test]
    fn merge_keeps_each_address_once_first_slice_wins_and_skips_other_services() {
        let mut items = Items::new();
        for s in [
            slice("ns", "a-1", Some("a"), &["10.0.0.1", "10.0.0.2"]),
            slice("ns", "a-2", Some("a"), &["10.0.0.2", "10.0.0.3"]),
            slice("ns", "b-1", Some("b"), &["10.0.0.9"]),
            slice("other", "a-1", Some("a"), &["10.0.0.8"]),
        ] {
            items.insert(s.meta.key(), s);
        }
        let a = ObjKey::new("ns", "a");
        let eps = merged_endpoints(slices_in(&items, &a));
        let ips: Vec<String> = eps.iter().map(|e| e.addresses[0].to_string()).collect();
        assert_eq!(ips, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    }
}
