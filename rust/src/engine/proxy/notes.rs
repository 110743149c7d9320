//! What a proxy-view version tells a handler beyond its port changes: which services a partial
//! sync must rewrite, whether to rewrite everything, conntrack cleanup, trigger times (§4.1–§4.2).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use crate::engine::model::Protocol;
use crate::engine::object::{Notes, ObjKey, Object};

use super::info::{PortBase, ServicePortInfo};

/// The service-level state of one service's ports (what kube-proxy's service tracker compares).
pub type ServiceState = Arc<[Arc<PortBase>]>;

/// A service's state at the base of the span and now (`None`: no ports in this view).
type BeforeAfter = (Option<ServiceState>, Option<ServiceState>);

/// Notes of one version, or accumulated over the versions one delivery covers.
#[derive(Debug, Default, Clone)]
pub struct ProxyNotes {
    /// Services whose service-level state changed, with the first base and last state seen, so a
    /// change undone within the span cancels out.
    services: HashMap<ObjKey, BeforeAfter>,
    /// Services one of whose slices (or legacy Endpoints) was written.
    endpoints_written: BTreeSet<ObjKey>,
    /// Services re-categorised by a topology change.
    recategorised: BTreeSet<ObjKey>,
    /// Services that had or have a UDP port among those touched.
    udp: BTreeSet<ObjKey>,
    /// Rewrite everything (first delivery, or a topology change).
    full_sync: bool,
    /// `last-change-trigger-time`s of changed slices, seconds since the epoch, per service.
    trigger_times: BTreeMap<ObjKey, Vec<f64>>,
    /// Services whose trigger times were dropped (a slice was deleted) within this version.
    times_reset: BTreeSet<ObjKey>,
}

fn has_udp(state: Option<&ServiceState>) -> bool {
    state.is_some_and(|s| s.iter().any(|p| p.protocol == Protocol::Udp))
}

impl ProxyNotes {
    /// `key`'s service-level state went from `before` to `after` (both already known unequal or not).
    pub fn service_changed(
        &mut self,
        key: &ObjKey,
        before: Option<ServiceState>,
        after: Option<ServiceState>,
    ) {
        if has_udp(before.as_ref()) || has_udp(after.as_ref()) {
            self.udp.insert(key.clone());
        }
        match self.services.get_mut(key) {
            Some(seen) => seen.1 = after,
            None => {
                self.services.insert(key.clone(), (before, after));
            }
        }
    }

    /// A slice (or the legacy Endpoints) of `key` was written.
    pub fn endpoints_written(&mut self, key: &ObjKey) {
        self.endpoints_written.insert(key.clone());
    }

    /// `key` has a UDP port in this view, before or after this version's change.
    pub fn has_udp(&mut self, key: &ObjKey) {
        self.udp.insert(key.clone());
    }

    /// `key` was re-categorised by a topology change.
    pub fn recategorised(&mut self, key: &ObjKey) {
        self.recategorised.insert(key.clone());
    }

    /// Ask for a full sync.
    pub fn set_full_sync(&mut self) {
        self.full_sync = true;
    }

    /// Record a trigger time of `key`.
    pub fn trigger_time(&mut self, key: &ObjKey, at: f64) {
        self.trigger_times.entry(key.clone()).or_default().push(at);
    }

    /// A slice of `key` was deleted: the times collected for it so far are dropped.
    pub fn reset_trigger_times(&mut self, key: &ObjKey) {
        self.trigger_times.remove(key);
        self.times_reset.insert(key.clone());
    }

    /// Keys of the services a partial sync must rewrite, sorted.
    pub fn updated_services(&self) -> Vec<ObjKey> {
        let mut out: BTreeSet<&ObjKey> = self.endpoints_written.iter().collect();
        out.extend(self.recategorised.iter());
        out.extend(self.services.keys());
        out.into_iter().cloned().collect()
    }

    /// True on a handler's first delivery and after a topology change.
    pub fn full_sync(&self) -> bool {
        self.full_sync
    }

    /// Some updated service has a UDP port, before or after; on a full sync, some service
    /// recomputed in the span has one. (A service deleted before a topology change and added
    /// back unchanged after it is no net change, yet its ports were categorised anew: a UDP
    /// flow to an endpoint it no longer uses must still be cleaned up.)
    pub fn conntrack_cleanup_required(&self) -> bool {
        (self.full_sync && !self.udp.is_empty())
            || self.updated_services().iter().any(|k| self.udp.contains(k))
    }

    /// Trigger times per service.
    pub fn trigger_times(&self) -> &BTreeMap<ObjKey, Vec<f64>> {
        &self.trigger_times
    }
}

/// The proxy view's entries carry these notes.
impl Object for ServicePortInfo {
    type Notes = ProxyNotes;
    fn key(&self) -> ObjKey {
        self.base.key.clone()
    }
}

fn same_state(a: Option<&ServiceState>, b: Option<&ServiceState>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        _ => false,
    }
}

impl Notes for ProxyNotes {
    fn absorb(&mut self, later: &Self) {
        for (key, (before, after)) in &later.services {
            match self.services.get_mut(key) {
                Some(seen) => seen.1.clone_from(after),
                None => {
                    self.services
                        .insert(key.clone(), (before.clone(), after.clone()));
                }
            }
        }
        self.endpoints_written
            .extend(later.endpoints_written.iter().cloned());
        self.recategorised
            .extend(later.recategorised.iter().cloned());
        self.udp.extend(later.udp.iter().cloned());
        self.full_sync |= later.full_sync;
        for key in &later.times_reset {
            self.trigger_times.remove(key);
            self.times_reset.insert(key.clone());
        }
        for (key, times) in &later.trigger_times {
            self.trigger_times
                .entry(key.clone())
                .or_default()
                .extend_from_slice(times);
        }
    }

    fn is_empty(&self) -> bool {
        self.services.is_empty()
            && self.endpoints_written.is_empty()
            && self.recategorised.is_empty()
            && !self.full_sync
            && self.trigger_times.is_empty()
    }

    fn resolve(&self, first: bool) -> Self {
        let mut out = self.clone();
        // A change undone within the span is no change (kube-proxy drops equal pending entries).
        out.services
            .retain(|_, (before, after)| !same_state(before.as_ref(), after.as_ref()));
        out.full_sync |= first;
        out.times_reset.clear();
        out
    }

    fn each_trigger_time(&self, each: &mut dyn FnMut(f64)) {
        self.trigger_times
            .values()
            .flatten()
            .for_each(|&at| each(at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ObjKey {
        ObjKey::parse(s)
    }

    #[test]
    fn a_change_undone_within_the_span_is_not_reported_but_a_slice_write_is() {
        let state: ServiceState = Arc::from(Vec::new());
        let mut first = ProxyNotes::default();
        first.service_changed(&key("ns/a"), None, Some(Arc::clone(&state)));
        first.service_changed(&key("ns/b"), None, Some(Arc::clone(&state)));
        let mut later = ProxyNotes::default();
        later.service_changed(&key("ns/a"), Some(state), None);
        later.endpoints_written(&key("ns/c"));
        first.absorb(&later);
        let resolved = first.resolve(false);
        assert_eq!(resolved.updated_services(), [key("ns/b"), key("ns/c")]);
        assert!(!resolved.full_sync());
        assert!(first.resolve(true).full_sync());
    }

    // Found by fuzzing (proxy_view): a UDP service deleted, the node changed, the service
    // added back as it was: no net change, but its local endpoints are not what the handler
    // saw, and the flag was false.
    #[test]
    fn a_full_sync_over_a_recomputed_udp_service_asks_for_conntrack_cleanup() {
        let state: ServiceState = Arc::from(Vec::new());
        let mut notes = ProxyNotes::default();
        notes.service_changed(&key("ns/c"), Some(Arc::clone(&state)), None);
        notes.has_udp(&key("ns/c"));
        let mut later = ProxyNotes::default();
        later.set_full_sync();
        later.service_changed(&key("ns/c"), None, Some(state));
        later.has_udp(&key("ns/c"));
        notes.absorb(&later);
        let resolved = notes.resolve(false);
        assert!(resolved.updated_services().is_empty());
        assert!(resolved.conntrack_cleanup_required());
        // Without a full sync, only updated services count.
        let mut quiet = ProxyNotes::default();
        quiet.has_udp(&key("ns/c"));
        assert!(!quiet.resolve(false).conntrack_cleanup_required());
    }

    #[test]
    fn a_deleted_slice_drops_the_times_collected_before_it() {
        let mut notes = ProxyNotes::default();
        notes.trigger_time(&key("ns/a"), 1.0);
        notes.trigger_time(&key("ns/b"), 2.0);
        let mut later = ProxyNotes::default();
        later.reset_trigger_times(&key("ns/a"));
        later.trigger_time(&key("ns/a"), 3.0);
        notes.absorb(&later);
        let times = notes.resolve(false);
        assert_eq!(times.trigger_times()[&key("ns/a")], [3.0]);
        assert_eq!(times.trigger_times()[&key("ns/b")], [2.0]);
    }
}
