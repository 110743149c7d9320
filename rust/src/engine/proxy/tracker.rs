//! The proxy view as a [`Merger`]: follows the Service and endpoint configs' versions and exact
//! changes, and recomputes only the services whose Service or slices changed.

use std::mem;
use std::sync::Arc;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::engine::merger::Merger;
use crate::engine::model::{EndpointSlice, Endpoints, IpFamily, Protocol, Service, StrMap};
use crate::engine::object::{Notes, ObjKey, Object};
use crate::engine::parallel;
use crate::engine::slices::SliceIndex;
use crate::engine::snapshot::{same, Changes, Items, Snapshot};
use crate::engine::store::StoreCounters;

use super::categorize::categorize;
use super::endpoints::{from_legacy, from_slices};
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

    /// What recomputing `service` reads, gathered so the work can run on other threads.
    fn job(&self, service: &ObjKey) -> Job {
        let legacy = self
            .legacy
            .get(service)
            .filter(|eps| self.opts.serves(&eps.meta.labels))
            .cloned();
        let slices = if legacy.is_some() {
            Vec::new()
        } else {
            self.index
                .slices_of(service)
                .filter_map(|k| self.slices.get(k).cloned())
                .collect()
        };
        Job {
            service: service.clone(),
            svc: self.services.get(service).cloned(),
            slices,
            legacy,
            old: self.states.get(service).cloned(),
        }
    }

    /// Recompute `service` into the view, recording changes and notes.
    fn refresh(
        &mut self,
        service: &ObjKey,
        (state, ports): Computed,
        changes: &mut Changes<ServicePortInfo>,
    ) {
        let old = self.states.get(service).cloned();
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

/// The inputs of one service's recomputation.
struct Job {
    service: ObjKey,
    svc: Option<Arc<Service>>,
    slices: Vec<Arc<EndpointSlice>>,
    legacy: Option<Arc<Endpoints>>,
    old: Option<ServiceState>,
}

/// A service's service-level state and ports, as computed.
type Computed = (Option<ServiceState>, Vec<ServicePortInfo>);

/// Below this many services a commit computes them on the merger thread alone.
const PARALLEL_MIN: usize = 512;
/// Pieces per worker when computing in parallel (claimed one at a time, as for parsing).
const PIECES_PER_WORKER: usize = 3;

/// Recompute every job, on the parse pool's threads too when there are many (a full build, a
/// relist, a topology change); results are in job order.
fn compute_all(jobs: Vec<Job>, opts: &ProxyOptions, node: &Topology) -> Vec<Computed> {
    let workers = parallel::workers();
    if jobs.len() < PARALLEL_MIN || workers < 2 {
        return jobs.iter().map(|j| compute(j, opts, node)).collect();
    }
    let per_piece = jobs.len().div_ceil(workers * PIECES_PER_WORKER);
    let mut pieces: Vec<Vec<Job>> = Vec::new();
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        pieces.push(jobs.by_ref().take(per_piece).collect());
    }
    let shared = Arc::new((pieces, opts.clone(), node.clone()));
    let count = shared.0.len();
    parallel::run_claimed(count, move |i| {
        let (pieces, opts, node) = &*shared;
        pieces[i]
            .iter()
            .map(|j| compute(j, opts, node))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// One service's ports now, reusing its old state when the service-level part is unchanged.
fn compute(job: &Job, opts: &ProxyOptions, node: &Topology) -> Computed {
    let Some(bases) = job
        .svc
        .as_ref()
        .and_then(|svc| port_bases(svc, opts))
        .filter(|b| !b.is_empty())
    else {
        return (None, Vec::new());
    };
    let state: ServiceState = match &job.old {
        Some(old) if old[..] == bases[..] => Arc::clone(old),
        _ => bases.into(),
    };
    let endpoints = match &job.legacy {
        Some(eps) => from_legacy(eps, opts.family == IpFamily::IPv4, &node.node_name),
        None => from_slices(&job.slices, &node.node_name),
    };
    let ports = state
        .iter()
        .map(|base| {
            let list = endpoints
                .get(&(base.port_name.clone(), base.protocol))
                .map_or(&[][..], Vec::as_slice);
            categorize(base, list, node, opts.prefer_same_node)
        })
        .collect();
    (Some(state), ports)
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
        let jobs: Vec<Job> = mem::take(&mut self.dirty)
            .iter()
            .map(|service| self.job(service))
            .collect();
        let keys: Vec<ObjKey> = jobs.iter().map(|j| j.service.clone()).collect();
        let computed = compute_all(jobs, &self.opts, &self.node);
        let mut changes = Changes::default();
        for (service, result) in keys.iter().zip(computed) {
            self.refresh(service, result, &mut changes);
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
