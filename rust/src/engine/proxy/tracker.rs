//! The proxy view as a [`Merger`]: follows the Service and endpoint configs' versions and exact
//! changes, and recomputes only the services whose Service or slices changed.

use std::mem;
use std::sync::Arc;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::engine::merger::Merger;
use crate::engine::model::{EndpointSlice, Endpoints, IpFamily, Protocol, Service, StrMap};
use crate::engine::object::{Notes, ObjKey, Object};
use crate::engine::slices::SliceIndex;
use crate::engine::snapshot::{same, Changes, Items, Snapshot};
use crate::engine::store::StoreCounters;

use super::categorize::categorize;
use super::endpoints::{from_legacy, from_slices, PortEndpoints};
use super::info::ServicePortInfo;
use super::notes::{ProxyNotes, ServiceState};
use super::options::{ProxyOptions, Topology};
use super::service::port_bases;
use super::trigger::{parse_rfc3339, TRIGGER_TIME_ANNOTATION};

/// Source index of the Services input.
pub const SERVICES: usize = 0;
/// Source index of the endpoints input (`EndpointSlice`s or legacy `Endpoints`).
pub const ENDPOINTS: usize = 1;

/// What the view's merger thread receives.
#[derive(Debug)]
pub enum ProxyInput {
    /// A version of the Services config, with its changes since the previous one sent.
    Services(Snapshot<Service>),
    /// A version of the `EndpointSlice` config.
    Slices(Snapshot<EndpointSlice>),
    /// A version of the legacy `Endpoints` config.
    Endpoints(Snapshot<Endpoints>),
    /// The node's name or zone changed: re-categorise everything.
    Topology(Topology),
}

/// The view's state, owned by its merger thread.
pub struct ProxyTracker {
    opts: ProxyOptions,
    node: Topology,
    services: Items<Service>,
    slices: Items<EndpointSlice>,
    legacy: Items<Endpoints>,
    index: SliceIndex,
    /// The published view.
    items: Items<ServicePortInfo>,
    /// Service-level state of each service that has ports in the view.
    states: HashMap<ObjKey, ServiceState>,
    /// Services to recompute at the next commit.
    dirty: HashSet<ObjKey>,
    /// Services whose endpoints input was written since the last commit.
    written: HashSet<ObjKey>,
    notes: ProxyNotes,
    version: u64,
    counters: StoreCounters,
}

impl ProxyTracker {
    /// An empty view for `node`.
    pub fn new(opts: ProxyOptions, node: Topology) -> Self {
        Self {
            opts,
            node,
            services: Items::new(),
            slices: Items::new(),
            legacy: Items::new(),
            index: SliceIndex::default(),
            items: Items::new(),
            states: HashMap::default(),
            dirty: HashSet::default(),
            written: HashSet::default(),
            notes: ProxyNotes::default(),
            version: 0,
            counters: StoreCounters::default(),
        }
    }

    fn count<T>(&mut self, changes: &Changes<T>) {
        let n = changes.added.len() + changes.updated.len() + changes.removed.len();
        self.counters.objects_merged += n as u64;
    }

    fn apply_services(&mut self, snap: Snapshot<Service>) {
        self.count(&snap.changes);
        let c = &snap.changes;
        let keys = c.added.iter().chain(c.removed.iter()).map(|s| s.key());
        let keys = keys.chain(c.updated.iter().map(|(_, s)| s.key()));
        self.dirty.extend(keys);
        self.services = snap.items;
    }

    /// Whether a slice reaches this view: the informers' label selector and the family.
    fn serves_slice(&self, slice: &EndpointSlice) -> bool {
        self.opts.serves(&slice.meta.labels)
            && slice.address_type.as_str() == self.opts.family.as_str()
    }

    fn written(&mut self, service: ObjKey, labels_after: Option<&StrMap>) {
        if let Some(at) = labels_after.and_then(|l| self.trigger_time(l)) {
            self.notes.trigger_time(&service, at);
        }
        self.dirty.insert(service.clone());
        self.written.insert(service);
    }

    fn deleted(&mut self, service: ObjKey) {
        self.notes.reset_trigger_times(&service);
        self.dirty.insert(service.clone());
        self.written.insert(service);
    }

    /// A trigger time worth reporting: it parses and is later than the view's start.
    fn trigger_time(&self, annotations: &StrMap) -> Option<f64> {
        let at = parse_rfc3339(annotations.get(TRIGGER_TIME_ANNOTATION)?)?;
        (at > self.opts.start).then_some(at)
    }

    fn apply_slices(&mut self, snap: Snapshot<EndpointSlice>) {
        self.count(&snap.changes);
        let c = Arc::clone(&snap.changes);
        for (before, after) in transitions(&c) {
            let before = before.filter(|s| self.serves_slice(s));
            let after = after.filter(|s| self.serves_slice(s));
            if let Some(old) = before {
                if let Some(service) = self.index.remove(old) {
                    if after.is_some() {
                        self.written(service, None);
                    } else {
                        self.deleted(service);
                    }
                }
            }
            if let Some(new) = after {
                if let Some(service) = self.index.insert(new) {
                    self.written(service, Some(&new.meta.annotations));
                }
            }
        }
        self.slices = snap.items;
    }

    fn apply_legacy(&mut self, snap: Snapshot<Endpoints>) {
        self.count(&snap.changes);
        let c = Arc::clone(&snap.changes);
        for (before, after) in transitions(&c) {
            let before = before.filter(|e| self.opts.serves(&e.meta.labels));
            let after = after.filter(|e| self.opts.serves(&e.meta.labels));
            match (before, after) {
                (_, Some(new)) => self.written(new.key(), Some(&new.meta.annotations)),
                (Some(old), None) => self.deleted(old.key()),
                (None, None) => {}
            }
        }
        self.legacy = snap.items;
    }

    fn apply_topology(&mut self, node: Topology) {
        if node == self.node {
            return;
        }
        self.node = node;
        self.notes.set_full_sync();
        let keys: Vec<ObjKey> = self.states.keys().cloned().collect();
        for key in keys {
            self.notes.recategorised(&key);
            self.dirty.insert(key);
        }
    }

    /// Each port's endpoints of `service`, from its slices or its legacy Endpoints.
    fn endpoints_of(&self, service: &ObjKey) -> PortEndpoints {
        let node = &self.node.node_name;
        if let Some(eps) = self.legacy.get(service) {
            if self.opts.serves(&eps.meta.labels) {
                return from_legacy(eps, self.opts.family == IpFamily::IPv4, node);
            }
        }
        let slices = self
            .index
            .slices_of(service)
            .filter_map(|k| self.slices.get(k));
        from_slices(slices, node)
    }

    /// The service's ports now, reusing `old` when the service-level state is unchanged.
    fn compute(
        &self,
        service: &ObjKey,
        old: Option<&ServiceState>,
    ) -> (Option<ServiceState>, Vec<ServicePortInfo>) {
        let Some(bases) = self
            .services
            .get(service)
            .and_then(|svc| port_bases(svc, &self.opts))
            .filter(|b| !b.is_empty())
        else {
            return (None, Vec::new());
        };
        let state: ServiceState = match old {
            Some(old) if old[..] == bases[..] => Arc::clone(old),
            _ => bases.into(),
        };
        let endpoints = self.endpoints_of(service);
        let ports = state
            .iter()
            .map(|base| {
                let list = endpoints
                    .get(&(base.port_name.clone(), base.protocol))
                    .map_or(&[][..], Vec::as_slice);
                categorize(base, list, &self.node, self.opts.prefer_same_node)
            })
            .collect();
        (Some(state), ports)
    }

    /// Recompute `service` into the view, recording changes and notes.
    fn refresh(&mut self, service: &ObjKey, changes: &mut Changes<ServicePortInfo>) {
        let old = self.states.get(service).cloned();
        let (state, ports) = self.compute(service, old.as_ref());
        for gone in old.iter().flat_map(|s| s.iter()) {
            if !ports.iter().any(|p| p.base.key == gone.key) {
                if let Some(before) = self.items.remove(&gone.key) {
                    changes.removed.push(before);
                }
            }
        }
        for port in ports {
            let key = port.base.key.clone();
            let port = Arc::new(port);
            match self.items.get(&key) {
                Some(before) if same(before, &port) => {}
                Some(before) => {
                    changes
                        .updated
                        .push((Arc::clone(before), Arc::clone(&port)));
                    self.items.insert(key, port);
                }
                None => {
                    changes.added.push(Arc::clone(&port));
                    self.items.insert(key, port);
                }
            }
        }
        let udp = |s: Option<&ServiceState>| {
            s.is_some_and(|s| s.iter().any(|p| p.protocol == Protocol::Udp))
        };
        if udp(old.as_ref()) || udp(state.as_ref()) {
            self.notes.has_udp(service);
        }
        if self.written.contains(service) {
            self.notes.endpoints_written(service);
        }
        let unchanged = match (&old, &state) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if !unchanged {
            self.notes.service_changed(service, old, state.clone());
        }
        match state {
            Some(state) => self.states.insert(service.clone(), state),
            None => self.states.remove(service),
        };
    }
}

/// Each changed object as (before, after): removals, then additions, then updates.
fn transitions<T>(c: &Changes<T>) -> impl Iterator<Item = (Option<&Arc<T>>, Option<&Arc<T>>)> {
    let befores = c.removed.iter().map(|o| (Some(o), None));
    let afters = c.added.iter().map(|o| (None, Some(o)));
    let both = c.updated.iter().map(|(old, new)| (Some(old), Some(new)));
    befores.chain(afters).chain(both)
}

impl Merger<ServicePortInfo> for ProxyTracker {
    type Input = ProxyInput;

    fn apply(&mut self, _source: usize, input: ProxyInput) {
        match input {
            ProxyInput::Services(snap) => self.apply_services(snap),
            ProxyInput::Slices(snap) => self.apply_slices(snap),
            ProxyInput::Endpoints(snap) => self.apply_legacy(snap),
            ProxyInput::Topology(node) => self.apply_topology(node),
        }
    }

    fn syncs(_input: &ProxyInput) -> bool {
        // Inputs are synced by their configs' `on_synced`, forwarded as `mark_synced`.
        false
    }

    fn commit(&mut self) -> Option<Snapshot<ServicePortInfo>> {
        let dirty = mem::take(&mut self.dirty);
        let mut changes = Changes::default();
        for service in &dirty {
            self.refresh(service, &mut changes);
        }
        self.written.clear();
        let notes = mem::take(&mut self.notes);
        if changes.is_empty() && Notes::is_empty(&notes) {
            return None;
        }
        changes.added.sort_by(|a, b| a.base.key.cmp(&b.base.key));
        changes.removed.sort_by(|a, b| a.base.key.cmp(&b.base.key));
        changes
            .updated
            .sort_by(|a, b| a.0.base.key.cmp(&b.0.base.key));
        self.version += 1;
        Some(Snapshot {
            version: self.version,
            items: self.items.clone(),
            changes: Arc::new(changes),
            notes: Arc::new(notes),
        })
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn counters(&self) -> StoreCounters {
        self.counters
    }
}
