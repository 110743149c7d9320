//! The proxy view kept incrementally: Services and `EndpointSlice`s (or legacy `Endpoints`)
//! added, changed and deleted in a sequence picked by the fuzz bytes, delivered to the view's
//! tracker in versions of varying size (as coalescing input configs deliver them), with node
//! changes and commits in between.
//!
//! Invariants: no panic; every version's changes are exact (the previous view plus its changes
//! is the new view); a handler that takes only some versions is told, in the notes accumulated
//! over the versions it skipped, every service whose ports differ from what it last saw (a
//! partial sync would miss the others) and a conntrack cleanup when a UDP port differs; and the
//! view kept incrementally equals the view computed from scratch by a fresh tracker given the
//! final inputs at once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::thread::LocalKey;

use _core::engine::json::Kind;
use _core::engine::merger::Merger;
use _core::engine::model::{EndpointSlice, Endpoints, Interner, IpFamily, Protocol, Service};
use _core::engine::object::{Notes, ObjKey};
use _core::engine::proxy::info::ServicePortInfo;
use _core::engine::proxy::notes::ProxyNotes;
use _core::engine::proxy::options::{ProxyOptions, Topology};
use _core::engine::proxy::tracker::{ProxyInput, ProxyTracker, ENDPOINTS, SERVICES};
use _core::engine::snapshot::{Items, Snapshot};
use _core::engine::store::{Op, Store};
use serde_json::{json, Value};

use crate::input::Input;

/// Most operations read from one input.
const MAX_OPS: usize = 96;
const SERVICES_NAMES: [&str; 3] = ["a", "b", "c"];
const NODES: [(&str, &str); 3] = [("node-a", "z1"), ("node-b", "z2"), ("", "")];

/// `data[0]`: the view's options (legacy `Endpoints` or slices, family, proxy name, node
/// hints gate) and its node; then operations until the bytes run out.
pub fn proxy_view(data: &[u8]) {
    let (incremental, scratch) = views(data);
    assert!(
        incremental == scratch,
        "incremental view differs from the view from scratch:\n{:#?}\nvs\n{:#?}",
        keys(&incremental),
        keys(&scratch)
    );
}

/// The view kept incrementally and the view from scratch, after the operations of `data`.
fn views(data: &[u8]) -> (Items<ServicePortInfo>, Items<ServicePortInfo>) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let legacy = flags & 1 != 0;
    let opts = ProxyOptions {
        family: if flags & 2 == 0 {
            IpFamily::IPv4
        } else {
            IpFamily::IPv6
        },
        service_proxy_name: (flags & 4 != 0).then(|| "alt".to_owned()),
        prefer_same_node: flags & 8 != 0,
        start: 0.0,
    };
    let mut node = topology(usize::from(flags >> 4));
    let mut view = View {
        tracker: ProxyTracker::new(opts.clone(), node.clone()),
        services: Store::new(),
        slices: Store::new(),
        legacy: Store::new(),
        current: Items::new(),
        handler: Handler::default(),
    };
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        match input.below(10) {
            0 | 1 => {
                if let Some(svc) = object(&SERVICE_CACHE, &mut input, service) {
                    view.services.apply(0, Op::Add(vec![svc]));
                }
            }
            2 => {
                let name = SERVICES_NAMES[input.below(3)];
                let key = ObjKey::new("ns", name);
                view.services.apply(0, Op::Remove(vec![key]));
            }
            3 | 4 if legacy => {
                if let Some(eps) = object(&ENDPOINTS_CACHE, &mut input, endpoints) {
                    view.legacy.apply(0, Op::Add(vec![eps]));
                }
            }
            3 | 4 => {
                if let Some(slice) = object(&SLICE_CACHE, &mut input, slice) {
                    view.slices.apply(0, Op::Add(vec![slice]));
                }
            }
            5 if legacy => {
                let key = ObjKey::new("ns", SERVICES_NAMES[input.below(3)]);
                view.legacy.apply(0, Op::Remove(vec![key]));
            }
            5 => {
                let key = ObjKey::new("ns", slice_name(&mut input).0);
                view.slices.apply(0, Op::Remove(vec![key]));
            }
            6 => view.deliver_services(),
            7 => view.deliver_endpoints(legacy),
            8 => {
                node = topology(input.below(3));
                view.tracker
                    .apply(SERVICES, ProxyInput::Topology(node.clone()));
            }
            _ => view.commit(),
        }
    }
    view.deliver_services();
    view.deliver_endpoints(legacy);
    view.commit();
    view.deliver();
    // From scratch: a fresh tracker given the final inputs, all added, at once.
    let mut fresh = ProxyTracker::new(opts, node);
    fresh.apply(SERVICES, ProxyInput::Services(view.services.snapshot_all()));
    if legacy {
        fresh.apply(ENDPOINTS, ProxyInput::Endpoints(view.legacy.snapshot_all()));
    } else {
        fresh.apply(ENDPOINTS, ProxyInput::Slices(view.slices.snapshot_all()));
    }
    let scratch = fresh.commit().map_or_else(Items::new, |s| s.items);
    (view.current, scratch)
}

fn keys(items: &Items<ServicePortInfo>) -> Vec<String> {
    items.iter().map(|(_, v)| format!("{v:?}")).collect()
}

fn topology(i: usize) -> Topology {
    let (node_name, zone) = NODES[i % NODES.len()];
    Topology {
        node_name: node_name.to_owned(),
        zone: zone.to_owned(),
    }
}

/// The inputs (as the input configs' stores) and the view as kept incrementally.
struct View {
    tracker: ProxyTracker,
    services: Store<Service>,
    slices: Store<EndpointSlice>,
    legacy: Store<Endpoints>,
    current: Items<ServicePortInfo>,
    /// A handler that takes every third version: what it saw last, and the notes since.
    handler: Handler,
}

/// What a slow handler last received, and the notes of the versions it has not taken yet.
#[derive(Default)]
struct Handler {
    seen: Items<ServicePortInfo>,
    notes: ProxyNotes,
    deliveries: usize,
}

impl View {
    fn deliver_services(&mut self) {
        if let Some(snap) = self.services.commit() {
            self.tracker.apply(SERVICES, ProxyInput::Services(snap));
        }
    }

    fn deliver_endpoints(&mut self, legacy: bool) {
        if legacy {
            if let Some(snap) = self.legacy.commit() {
                self.tracker.apply(ENDPOINTS, ProxyInput::Endpoints(snap));
            }
        } else if let Some(snap) = self.slices.commit() {
            self.tracker.apply(ENDPOINTS, ProxyInput::Slices(snap));
        }
    }

    /// A commit of the view; its changes must take the previous view exactly to the new one.
    fn commit(&mut self) {
        let Some(snap) = self.tracker.commit() else {
            return;
        };
        check_changes(&self.current, &snap);
        self.handler.notes.absorb(&snap.notes);
        self.current = snap.items;
        if snap.version % 3 == 0 {
            self.deliver();
        }
    }

    /// The slow handler takes the current view: every port that differs from what it saw must
    /// be in a service a partial sync rewrites, and a differing UDP port asks for a conntrack
    /// cleanup.
    fn deliver(&mut self) {
        let notes = self.handler.notes.resolve(self.handler.deliveries == 0);
        let updated = notes.updated_services();
        let seen = &self.handler.seen;
        let now = &self.current;
        let before = seen.iter().filter(|(k, v)| now.get(*k) != Some(*v));
        let after = now.iter().filter(|(k, v)| seen.get(*k) != Some(*v));
        for (_, port) in before.chain(after) {
            let service = port.base.service_key();
            assert!(
                notes.full_sync() || updated.contains(&service),
                "{service:?} changed but is not in updated_services {updated:?}"
            );
            if port.base.protocol == Protocol::Udp {
                assert!(
                    notes.conntrack_cleanup_required(),
                    "a UDP port of {service:?} changed without conntrack cleanup"
                );
            }
        }
        self.handler.seen = now.clone();
        self.handler.notes = ProxyNotes::default();
        self.handler.deliveries += 1;
    }
}

fn check_changes(before: &Items<ServicePortInfo>, snap: &Snapshot<ServicePortInfo>) {
    let mut expected = before.clone();
    let c = &snap.changes;
    for gone in &c.removed {
        let old = expected.remove(&gone.base.key);
        assert!(old.is_some_and(|o| o == *gone), "removed: not as it was");
    }
    for (old, new) in &c.updated {
        assert_eq!(old.base.key, new.base.key, "an update changes the key");
        assert_ne!(old, new, "an update that changes nothing");
        let was = expected.insert(new.base.key.clone(), Arc::clone(new));
        assert!(was.is_some_and(|w| w == *old), "updated: old not as it was");
    }
    for added in &c.added {
        let was = expected.insert(added.base.key.clone(), Arc::clone(added));
        assert!(was.is_none(), "added: already there");
    }
    assert!(
        expected == snap.items,
        "the changes do not lead to the new view"
    );
}

/// Bytes that describe one object (past the input's end: zeros).
const RECIPE: usize = 24;

/// Objects built from recipes, by recipe: a mutated input mostly repeats its objects, and
/// building them (JSON, then parsing) would otherwise cost most of an execution.
type Cache<K> = RefCell<HashMap<[u8; RECIPE], Option<Arc<K>>>>;

thread_local! {
    static SERVICE_CACHE: Cache<Service> = RefCell::default();
    static SLICE_CACHE: Cache<EndpointSlice> = RefCell::default();
    static ENDPOINTS_CACHE: Cache<Endpoints> = RefCell::default();
}

/// Most objects a cache keeps before it starts over.
const CACHE_SIZE: usize = 20_000;

/// The object of the next recipe (`None`: it does not validate, as happens to some).
fn object<K: Kind>(
    cache: &'static LocalKey<Cache<K>>,
    input: &mut Input<'_>,
    describe: fn(&mut Input<'_>) -> Value,
) -> Option<Arc<K>> {
    let mut recipe = [0; RECIPE];
    let bytes = input.take(RECIPE);
    recipe[..bytes.len()].copy_from_slice(bytes);
    cache.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(hit) = cache.get(&recipe) {
            return hit.clone();
        }
        if cache.len() >= CACHE_SIZE {
            cache.clear();
        }
        let value = describe(&mut Input::new(&recipe));
        let built = K::from_value(&value, &mut Interner::new())
            .ok()
            .map(Arc::new);
        cache.insert(recipe, built.clone());
        built
    })
}

fn labels(input: &mut Input<'_>, mut base: serde_json::Map<String, Value>) -> Value {
    match input.below(12) {
        0 => {
            base.insert(
                "service.kubernetes.io/service-proxy-name".into(),
                "alt".into(),
            );
        }
        1 => {
            base.insert("service.kubernetes.io/headless".into(), "".into());
        }
        _ => {}
    }
    Value::Object(base)
}

fn service(input: &mut Input<'_>) -> Value {
    let name = SERVICES_NAMES[input.below(3)];
    // Mostly Services a proxy serves; some it skips (ExternalName, headless).
    let kind = [
        "ClusterIP",
        "ClusterIP",
        "ClusterIP",
        "NodePort",
        "NodePort",
        "LoadBalancer",
        "LoadBalancer",
        "ExternalName",
    ][input.below(8)];
    let ips: &[&str] = [
        &["10.96.0.1"][..],
        &["None"],
        &["fd00::1"],
        &["10.96.0.2", "fd00::2"],
        &["fd00::3", "10.96.0.3"],
        &["010.096.000.004"],
        &["10.96.0.5"],
    ][input.below(7)];
    let pool = [
        json!({"port": 80, "protocol": "TCP", "targetPort": 8080}),
        json!({"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080}),
        json!({"name": "dns", "port": 53, "protocol": "UDP"}),
        json!({"name": "sctp", "port": 9, "protocol": "SCTP", "nodePort": 30009}),
    ];
    // One port (named or not), or two named ones.
    let first = input.below(4);
    let mut ports = vec![pool[first].clone()];
    if first > 0 && input.bool() {
        ports.push(pool[1 + (first + input.below(2)) % 3].clone());
    }
    let mut spec = json!({"type": kind, "ports": ports});
    if kind != "ExternalName" {
        spec["clusterIP"] = ips[0].into();
        spec["clusterIPs"] = json!(ips);
    }
    let flags = input.byte();
    let set = |spec: &mut Value, k: &str, v: Value| {
        spec.as_object_mut().map(|o| o.insert(k.to_owned(), v));
    };
    if flags & 1 != 0 {
        set(&mut spec, "externalTrafficPolicy", "Local".into());
        set(&mut spec, "healthCheckNodePort", 31000.into());
    }
    if flags & 2 != 0 {
        set(&mut spec, "internalTrafficPolicy", "Local".into());
    }
    if flags & 4 != 0 {
        set(&mut spec, "sessionAffinity", "ClientIP".into());
        set(
            &mut spec,
            "sessionAffinityConfig",
            json!({"clientIP": {"timeoutSeconds": 600}}),
        );
    }
    if flags & 8 != 0 {
        set(
            &mut spec,
            "externalIPs",
            json!(["192.0.2.1", "2001:db8::1"]),
        );
    }
    if flags & 16 != 0 {
        set(
            &mut spec,
            "loadBalancerSourceRanges",
            json!([" 203.0.113.0/24 ", "2001:db8::/32"]),
        );
    }
    if flags & 32 != 0 {
        set(
            &mut spec,
            "trafficDistribution",
            ["PreferClose", "PreferSameZone", "PreferSameNode"][input.below(3)].into(),
        );
    }
    if kind == "ExternalName" {
        set(&mut spec, "externalName", "example.com".into());
    }
    let ingress = match input.below(3) {
        0 => json!([]),
        1 => json!([{"ip": "198.51.100.1"}]),
        _ => json!([{"ip": "198.51.100.2", "ipMode": "Proxy"}, {"hostname": "lb.example"}]),
    };
    let version = input.byte();
    json!({
        "metadata": {
            "namespace": "ns",
            "name": name,
            "resourceVersion": version.to_string(),
            "labels": labels(input, serde_json::Map::new()),
        },
        "spec": spec,
        "status": {"loadBalancer": {"ingress": ingress}},
    })
}

/// A slice's name and its service.
fn slice_name(input: &mut Input<'_>) -> (&'static str, &'static str) {
    [
        ("a-1", "a"),
        ("a-2", "a"),
        ("b-1", "b"),
        ("c-1", "c"),
        ("x-1", "a"),
    ][input.below(5)]
}

/// One to three addresses of the family (`IPv4`, `IPv6` or `FQDN`); repeats on purpose.
fn endpoint_ips(input: &mut Input<'_>, family: &str) -> Vec<&'static str> {
    let pool: &[&str] = match family {
        "IPv4" => &["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"],
        "IPv6" => &["fd00::a", "fd00::b", "fd00::c", "fd00::a"],
        _ => &["a.example", "b.example", "a.example", "c.example"],
    };
    (0..=input.below(3)).map(|_| pool[input.below(4)]).collect()
}

fn condition(input: &mut Input<'_>) -> Value {
    match input.below(3) {
        0 => Value::Null,
        1 => true.into(),
        _ => false.into(),
    }
}

fn slice(input: &mut Input<'_>) -> Value {
    let (name, service) = slice_name(input);
    let family = ["IPv4", "IPv4", "IPv6", "FQDN"][input.below(4)];
    let mut endpoints = Vec::new();
    for _ in 0..input.below(4) {
        let mut conditions = serde_json::Map::new();
        for field in ["ready", "serving", "terminating"] {
            let v = condition(input);
            if !v.is_null() {
                conditions.insert(field.to_owned(), v);
            }
        }
        let (node, zone) = NODES[input.below(3)];
        let mut ep = json!({"addresses": endpoint_ips(input, family), "conditions": conditions});
        let o = ep.as_object_mut().expect("an object");
        if !node.is_empty() {
            o.insert("nodeName".into(), node.into());
            o.insert("zone".into(), zone.into());
        }
        match input.below(4) {
            0 => {
                o.insert("hints".into(), json!({"forZones": [{"name": "z1"}]}));
            }
            1 => {
                o.insert(
                    "hints".into(),
                    json!({"forZones": [{"name": "z2"}], "forNodes": [{"name": "node-b"}]}),
                );
            }
            _ => {}
        }
        endpoints.push(ep);
    }
    let ports = match input.below(4) {
        0 => json!([{"port": 8080, "protocol": "TCP"}]),
        1 => json!([{"name": "http", "port": 8080}]),
        2 => {
            json!([{"name": "dns", "port": 5353, "protocol": "UDP"}, {"name": "http", "port": 8081}])
        }
        _ => json!([]),
    };
    let mut base = serde_json::Map::new();
    base.insert("kubernetes.io/service-name".into(), service.into());
    let mut annotations = serde_json::Map::new();
    if input.bool() {
        annotations.insert(
            "endpoints.kubernetes.io/last-change-trigger-time".into(),
            "2024-01-02T03:04:05Z".into(),
        );
    }
    json!({
        "metadata": {
            "namespace": "ns",
            "name": name,
            "resourceVersion": input.byte().to_string(),
            "labels": labels(input, base),
            "annotations": annotations,
        },
        "addressType": family,
        "endpoints": endpoints,
        "ports": ports,
    })
}

fn endpoints(input: &mut Input<'_>) -> Value {
    let name = SERVICES_NAMES[input.below(3)];
    let family = if input.below(4) == 0 { "IPv6" } else { "IPv4" };
    let mut subsets = Vec::new();
    for _ in 0..input.below(3) {
        let address = |input: &mut Input<'_>| -> Vec<Value> {
            endpoint_ips(input, family)
                .into_iter()
                .map(|ip| {
                    let (node, _) = NODES[input.below(3)];
                    if node.is_empty() {
                        json!({"ip": ip})
                    } else {
                        json!({"ip": ip, "nodeName": node})
                    }
                })
                .collect()
        };
        let ready = if input.bool() {
            address(input)
        } else {
            Vec::new()
        };
        let not_ready = if input.bool() {
            address(input)
        } else {
            Vec::new()
        };
        let ports = match input.below(3) {
            0 => json!([{"port": 8080, "protocol": "TCP"}]),
            1 => json!([{"name": "http", "port": 8080}]),
            _ => json!([{"name": "dns", "port": 5353, "protocol": "UDP"}]),
        };
        subsets.push(json!({"addresses": ready, "notReadyAddresses": not_ready, "ports": ports}));
    }
    json!({
        "metadata": {
            "namespace": "ns",
            "name": name,
            "resourceVersion": input.byte().to_string(),
            "labels": labels(input, serde_json::Map::new()),
        },
        "subsets": subsets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus;

    #[test]
    fn the_corpus_builds_views() {
        let files = corpus("proxy_view").expect("corpus readable");
        let biggest = files.iter().map(|(_, d)| views(d).0.len()).max();
        assert!(biggest.unwrap_or(0) >= 2, "no corpus input builds a view");
    }
}
