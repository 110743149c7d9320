//! The proxy view's rules that are not per-field reads (rule book `PROXY-SEMANTICS.md`):
//! categorisation (§3), one test per rule, and the rules that need the tracker: which slices
//! reach a service (§1.2, §2.1), the duplicate tie-break (§2.3), and change tracking through
//! `ProxyTracker` as a `Merger` (versions, notes, trigger times, conntrack).
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::sync::Arc;

use _core::engine::json::Kind;
use _core::engine::merger::Merger;
use _core::engine::model::{EndpointSlice, Interner, IpFamily, Protocol, Service, Str};
use _core::engine::object::{Notes, ObjKey};
use _core::engine::proxy::info::{port_key, EndpointInfo, PortBase, ServicePortInfo, TopologyMode};
use _core::engine::proxy::options::{ProxyOptions, Topology};
use _core::engine::proxy::service::port_bases;
use _core::engine::proxy::tracker::{ProxyInput, ProxyTracker, ENDPOINTS, SERVICES};
use _core::engine::proxy::trigger::parse_rfc3339;
use _core::engine::snapshot::Snapshot;
use _core::engine::store::{Op, Store};
use serde_json::{json, Value};

mod proxy_common;
use proxy_common::{addrs, cat_at, cluster, ep, here, names, node, opts, serving_terminating};

// ---------------------------------------------------------------------------------------------
// Helpers: categorisation

/// The single IPv4 port of a Service `ns/svc` with `spec`.
fn one(spec: Value) -> Arc<PortBase> {
    let v = json!({"metadata": {"namespace": "ns", "name": "svc"}, "spec": spec});
    let svc = Service::from_value(&v, &mut Interner::default()).unwrap();
    let mut ports = port_bases(&svc, &opts(IpFamily::IPv4)).unwrap();
    assert_eq!(ports.len(), 1);
    ports.pop().unwrap()
}

/// A `ClusterIP` port with both traffic policies Cluster (cluster endpoints only).
fn cluster_port() -> Arc<PortBase> {
    one(json!({"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}))
}

/// A `ClusterIP` port with `internalTrafficPolicy: Local` (local endpoints only).
fn itp_local_port() -> Arc<PortBase> {
    one(
        json!({"clusterIP": "10.96.0.1", "internalTrafficPolicy": "Local", "ports": [{"port": 80}]}),
    )
}

/// A `NodePort` port with `externalTrafficPolicy: Local` (cluster and local endpoints).
fn etp_local_port() -> Arc<PortBase> {
    one(json!({
        "type": "NodePort", "clusterIP": "10.96.0.1", "externalTrafficPolicy": "Local",
        "ports": [{"port": 80, "nodePort": 30080}],
    }))
}

fn not_ready(e: EndpointInfo) -> EndpointInfo {
    EndpointInfo { ready: false, ..e }
}

fn not_serving(e: EndpointInfo) -> EndpointInfo {
    EndpointInfo {
        serving: false,
        ..e
    }
}

fn local(e: EndpointInfo) -> EndpointInfo {
    EndpointInfo {
        is_local: true,
        ..e.with_meta(|m| m.node_name = Some(Str::from("node-a")))
    }
}

fn zoned(e: EndpointInfo, zones: &[&str]) -> EndpointInfo {
    e.with_meta(|m| m.zone_hints = names(zones))
}

fn noded(e: EndpointInfo, nodes: &[&str]) -> EndpointInfo {
    e.with_meta(|m| m.node_hints = names(nodes))
}

/// Categorise `eps` for [`here`] with the node-hints gate on.
fn cat(base: &Arc<PortBase>, eps: Vec<EndpointInfo>) -> ServicePortInfo {
    cat_at(base, eps, &here(), true)
}

/// The port's topology mode and cluster endpoints.
fn assert_cluster(info: &ServicePortInfo, mode: TopologyMode, expected: &[&str]) {
    assert_eq!(info.topology_mode, mode);
    assert_eq!(cluster(info), expected);
}

fn local_of(p: &ServicePortInfo) -> Vec<String> {
    addrs(p.local.as_ref().expect("the port uses local endpoints"))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// §3 CategorizeEndpoints

// §3.1: no endpoints → everything nil/empty, hasAny=false.
#[test]
fn no_endpoints_nothing_and_has_any_false() {
    for base in [cluster_port(), itp_local_port(), etp_local_port()] {
        let info = cat(&base, vec![]);
        assert!(info.cluster.as_ref().is_none_or(|c| c.is_empty()));
        assert!(info.local.as_ref().is_none_or(|l| l.is_empty()));
        assert!(info.all_reachable.is_empty());
        assert!(!info.has_any);
        assert_eq!(info.topology_mode, TopologyMode::None);
    }
}

// §3.2: without hints, cluster = every ready endpoint (mode "").
#[test]
fn cluster_without_hints_is_every_ready_endpoint() {
    let eps = vec![
        ep("10.0.0.2"),
        ep("10.0.0.1"),
        not_serving(not_ready(ep("10.0.0.3"))),
        serving_terminating("10.0.0.4"),
    ];
    let info = cat(&cluster_port(), eps);
    assert_cluster(&info, TopologyMode::None, &["10.0.0.1:80", "10.0.0.2:80"]);
    assert!(info.local.is_none());
    assert!(info.has_any);
}

// §3.2a PreferSameNode: gate on, every ready endpoint has node hints, one names this node.
#[test]
fn prefer_same_node() {
    let eps = vec![
        noded(ep("10.0.0.1"), &["node-a"]),
        noded(ep("10.0.0.2"), &["node-b"]),
        noded(ep("10.0.0.3"), &["node-b", "node-a"]),
    ];
    let info = cat(&cluster_port(), eps);
    assert_cluster(
        &info,
        TopologyMode::PreferSameNode,
        &["10.0.0.1:80", "10.0.0.3:80"],
    );
}

// §3.2a: node hints are not used when the PreferSameTrafficDistribution gate is off.
#[test]
fn prefer_same_node_not_used_when_gate_off() {
    let eps = vec![
        noded(ep("10.0.0.1"), &["node-a"]),
        noded(ep("10.0.0.2"), &["node-b"]),
    ];
    let info = cat_at(&cluster_port(), eps.clone(), &here(), false);
    assert_cluster(&info, TopologyMode::None, &["10.0.0.1:80", "10.0.0.2:80"]);
    // With zone hints as well (the controller writes both), the gate-off proxy uses the zone.
    let both = vec![
        zoned(noded(ep("10.0.0.1"), &["node-a"]), &["zone-b"]),
        zoned(noded(ep("10.0.0.2"), &["node-b"]), &["zone-a"]),
    ];
    let info = cat_at(&cluster_port(), both.clone(), &here(), false);
    assert_cluster(&info, TopologyMode::PreferSameZone, &["10.0.0.2:80"]);
    let info = cat(&cluster_port(), both);
    assert_cluster(&info, TopologyMode::PreferSameNode, &["10.0.0.1:80"]);
}

// §3.2a PreferSameZone: every ready endpoint has zone hints and one names this node's zone.
#[test]
fn prefer_same_zone() {
    let eps = vec![
        zoned(ep("10.0.0.1"), &["zone-a"]),
        zoned(ep("10.0.0.2"), &["zone-b"]),
        // Not ready: its missing hints do not matter.
        not_ready(ep("10.0.0.3")),
        // Node hints on some ready endpoints only: the node mode is not used.
        noded(zoned(ep("10.0.0.4"), &["zone-a"]), &["node-z"]),
    ];
    let info = cat(&cluster_port(), eps);
    assert_cluster(
        &info,
        TopologyMode::PreferSameZone,
        &["10.0.0.1:80", "10.0.0.4:80"],
    );
}

// §3.2a: hints are ignored when one ready endpoint has none.
#[test]
fn hints_ignored_when_a_ready_endpoint_has_none() {
    let eps = vec![
        noded(zoned(ep("10.0.0.1"), &["zone-a"]), &["node-a"]),
        noded(zoned(ep("10.0.0.2"), &["zone-b"]), &["node-b"]),
        ep("10.0.0.3"),
    ];
    let info = cat(&cluster_port(), eps);
    assert_cluster(
        &info,
        TopologyMode::None,
        &["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"],
    );
}

// §3.2a: hints are ignored when no ready endpoint is hinted for this node or zone.
#[test]
fn hints_ignored_when_none_matches() {
    let eps = vec![
        noded(zoned(ep("10.0.0.1"), &["zone-b"]), &["node-b"]),
        noded(zoned(ep("10.0.0.2"), &["zone-c"]), &["node-c"]),
    ];
    let info = cat(&cluster_port(), eps);
    assert_cluster(&info, TopologyMode::None, &["10.0.0.1:80", "10.0.0.2:80"]);
}

// §3.2a: a node without the zone label has zone "", which never matches.
#[test]
fn empty_zone_never_matches() {
    let eps = vec![
        zoned(ep("10.0.0.1"), &[""]),
        zoned(ep("10.0.0.2"), &["zone-a"]),
    ];
    let info = cat_at(&cluster_port(), eps, &node("node-a", ""), true);
    assert_cluster(&info, TopologyMode::None, &["10.0.0.1:80", "10.0.0.2:80"]);
}

// §3.2b: matching is on hint values, not on the endpoint's own node or zone.
#[test]
fn matching_on_hint_values_not_own_fields() {
    let own = |e: EndpointInfo, zone: &str, node: &str| {
        e.with_meta(|m| {
            m.zone = Some(Str::from(zone));
            m.node_name = Some(Str::from(node));
        })
    };
    let eps = vec![
        own(zoned(ep("10.0.0.1"), &["zone-b"]), "zone-a", "node-a"),
        own(zoned(ep("10.0.0.2"), &["zone-a"]), "zone-b", "node-b"),
    ];
    let info = cat(&cluster_port(), eps);
    assert_cluster(&info, TopologyMode::PreferSameZone, &["10.0.0.2:80"]);
    let eps = vec![
        own(noded(ep("10.0.0.1"), &["node-b"]), "zone-a", "node-a"),
        own(noded(ep("10.0.0.2"), &["node-a"]), "zone-b", "node-b"),
    ];
    let info = cat(&cluster_port(), eps);
    assert_cluster(&info, TopologyMode::PreferSameNode, &["10.0.0.2:80"]);
}

// §3.2c: no ready endpoint → cluster = serving∧terminating ones, ignoring topology and locality.
#[test]
fn terminating_fallback_ignores_topology_and_locality() {
    let eps = vec![
        noded(
            zoned(serving_terminating("10.0.0.1"), &["zone-b"]),
            &["node-b"],
        ),
        local(zoned(serving_terminating("10.0.0.2"), &["zone-a"])),
        not_serving(serving_terminating("10.0.0.3")),
        not_ready(ep("10.0.0.4")),
    ];
    let info = cat(&cluster_port(), eps);
    assert_cluster(&info, TopologyMode::None, &["10.0.0.1:80", "10.0.0.2:80"]);
    assert!(info.has_any);
}

// §3.2c: a non-empty ready set is never emptied by hints (terminating endpoints hinted for
// this zone do not make a mode that excludes every ready one).
#[test]
fn ready_set_never_emptied_by_hints() {
    let eps = vec![
        zoned(ep("10.0.0.1"), &["zone-b"]),
        zoned(ep("10.0.0.2"), &["zone-c"]),
        zoned(serving_terminating("10.0.0.3"), &["zone-a"]),
    ];
    let info = cat(&cluster_port(), eps);
    assert_cluster(&info, TopologyMode::None, &["10.0.0.1:80", "10.0.0.2:80"]);
}

// §3.4: with ITP Local, local = the local ready endpoints (hints play no part).
#[test]
fn local_ready_with_itp_local() {
    let eps = vec![
        local(zoned(ep("10.0.0.3"), &["zone-z"])),
        local(ep("10.0.0.1")),
        local(serving_terminating("10.0.0.2")),
        ep("10.0.0.4"),
    ];
    let info = cat(&itp_local_port(), eps);
    assert!(info.cluster.is_none());
    assert_eq!(local_of(&info), ["10.0.0.1:80", "10.0.0.3:80"]);
    assert!(info.has_any);
}

// §3.4: no local ready endpoint → local = local serving∧terminating ones.
#[test]
fn local_serving_terminating_fallback() {
    let eps = vec![
        local(serving_terminating("10.0.0.1")),
        local(not_serving(serving_terminating("10.0.0.2"))),
        ep("10.0.0.3"),
    ];
    let info = cat(&itp_local_port(), eps);
    assert_eq!(local_of(&info), ["10.0.0.1:80"]);
    assert!(info.has_any);
}

// §3.4: no local ready nor local serving∧terminating endpoint → local is empty.
#[test]
fn local_none() {
    let eps = vec![ep("10.0.0.1"), local(not_ready(ep("10.0.0.2")))];
    let info = cat(&itp_local_port(), eps);
    assert!(info.local.as_ref().is_none_or(|l| l.is_empty()));
    assert!(info.all_reachable.is_empty());
}

// §3 hasAny: "nothing anywhere" (false: REJECT) vs "nothing usable here under Local" (true: DROP).
#[test]
fn has_any_nothing_anywhere_vs_nothing_local() {
    let dead = |a: &str| not_serving(not_ready(ep(a)));
    for base in [cluster_port(), itp_local_port(), etp_local_port()] {
        let info = cat(&base, vec![dead("10.0.0.1"), local(dead("10.0.0.2"))]);
        assert!(!info.has_any, "{base}");
        assert!(info.all_reachable.is_empty());
    }
    for base in [itp_local_port(), etp_local_port()] {
        let info = cat(&base, vec![ep("10.0.0.1")]);
        assert!(info.has_any);
        assert!(info.local.as_ref().is_none_or(|l| l.is_empty()));
        let info = cat(&base, vec![serving_terminating("10.0.0.1")]);
        assert!(info.has_any);
    }
}

// §3.3: a port not using local endpoints: local nil, allReachable = cluster.
#[test]
fn all_reachable_is_cluster_without_local() {
    let eps = vec![
        zoned(ep("10.0.0.1"), &["zone-a"]),
        zoned(ep("10.0.0.2"), &["zone-b"]),
    ];
    let info = cat(&cluster_port(), eps);
    assert!(info.local.is_none());
    assert_eq!(addrs(&info.all_reachable), cluster(&info));
    assert_eq!(cluster(&info), ["10.0.0.1:80"]);
}

// §3.5: a port not using cluster endpoints: cluster nil, allReachable = local.
#[test]
fn all_reachable_is_local_without_cluster() {
    let eps = vec![local(ep("10.0.0.1")), ep("10.0.0.2")];
    let info = cat(&itp_local_port(), eps);
    assert!(info.cluster.is_none());
    assert_eq!(addrs(&info.all_reachable), ["10.0.0.1:80"]);
}

// §3.6: both used: mode "" without terminating fallback → cluster (a superset); otherwise the
// union of cluster and local by identity.
#[test]
fn all_reachable_cluster_or_union() {
    let base = etp_local_port();
    let info = cat(&base, vec![local(ep("10.0.0.1")), ep("10.0.0.2")]);
    assert_eq!(addrs(&info.all_reachable), ["10.0.0.1:80", "10.0.0.2:80"]);
    assert_eq!(local_of(&info), ["10.0.0.1:80"]);
    // Zone mode: the cluster list excludes the local endpoint hinted elsewhere; union adds it.
    let eps = vec![
        local(zoned(ep("10.0.0.1"), &["zone-b"])),
        zoned(ep("10.0.0.2"), &["zone-a"]),
    ];
    let info = cat(&base, eps);
    assert_cluster(&info, TopologyMode::PreferSameZone, &["10.0.0.2:80"]);
    assert_eq!(local_of(&info), ["10.0.0.1:80"]);
    assert_eq!(
        sorted(addrs(&info.all_reachable)),
        ["10.0.0.1:80", "10.0.0.2:80"]
    );
    // Local serving-terminating fallback: the local terminating one is added to the ready ones.
    let eps = vec![local(serving_terminating("10.0.0.1")), ep("10.0.0.2")];
    let info = cat(&base, eps);
    assert_eq!(cluster(&info), ["10.0.0.2:80"]);
    assert_eq!(local_of(&info), ["10.0.0.1:80"]);
    assert_eq!(
        sorted(addrs(&info.all_reachable)),
        ["10.0.0.1:80", "10.0.0.2:80"]
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers: the tracker

/// A Service `ns/<name>` with `labels` and `spec`.
fn svc_labelled(name: &str, labels: Value, spec: Value) -> Arc<Service> {
    let v = json!({"metadata": {"namespace": "ns", "name": name, "labels": labels}, "spec": spec});
    Arc::new(Service::from_value(&v, &mut Interner::default()).unwrap())
}

/// A `ClusterIP` Service `ns/<name>` at `cluster_ip` with one port `http` of `protocol`.
fn svc(name: &str, cluster_ip: &str, protocol: &str) -> Arc<Service> {
    svc_labelled(
        name,
        json!({}),
        json!({"clusterIP": cluster_ip, "ports": [{"name": "http", "port": 80, "protocol": protocol}]}),
    )
}

/// A slice `ns/<name>` with `metadata` fields merged in, of `address_type`, port `http` 8080.
fn slice_with(
    name: &str,
    metadata: Value,
    address_type: &str,
    endpoints: Value,
) -> Arc<EndpointSlice> {
    let mut meta = json!({"namespace": "ns", "name": name});
    meta.as_object_mut()
        .unwrap()
        .extend(metadata.as_object().unwrap().clone());
    let v = json!({
        "metadata": meta, "addressType": address_type, "endpoints": endpoints,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    });
    Arc::new(EndpointSlice::from_value(&v, &mut Interner::default()).unwrap())
}

/// Metadata of a slice owned by `ns/<service>`.
fn owner(service: &str) -> Value {
    json!({"labels": {"kubernetes.io/service-name": service}})
}

/// One ready endpoint at `ip`.
fn one_ep(ip: &str) -> Value {
    json!([{ "addresses": [ip] }])
}

/// An IPv4 slice `ns/<name>` of service `ns/<service>` with one ready endpoint per address.
fn slice(name: &str, service: &str, ips: &[&str]) -> Arc<EndpointSlice> {
    let eps: Vec<Value> = ips.iter().map(|a| json!({"addresses": [a]})).collect();
    slice_with(name, owner(service), "IPv4", json!(eps))
}

/// [`slice`] with its port `http` on UDP.
fn udp_slice(name: &str, service: &str, ips: &[&str]) -> Arc<EndpointSlice> {
    let mut s = (*slice(name, service, ips)).clone();
    let mut ports = s.ports.to_vec();
    ports[0].protocol = Protocol::Udp;
    s.ports = ports.into();
    Arc::new(s)
}

/// The input stores and the tracker under test.
struct View {
    services: Store<Service>,
    slices: Store<EndpointSlice>,
    tracker: ProxyTracker,
}

impl View {
    fn new(opts: ProxyOptions, node: Topology) -> Self {
        Self {
            services: Store::new(),
            slices: Store::new(),
            tracker: ProxyTracker::new(opts, node),
        }
    }

    fn v4() -> Self {
        Self::new(opts(IpFamily::IPv4), here())
    }

    /// Apply `op` to the Services config and hand its new version (if any) to the tracker.
    fn services(&mut self, op: Op<Service>) -> &mut Self {
        self.services.apply(0, op);
        if let Some(snap) = self.services.commit() {
            self.tracker.apply(SERVICES, ProxyInput::Services(snap));
        }
        self
    }

    /// Apply `op` to the `EndpointSlice` config and hand its new version to the tracker.
    fn slices(&mut self, op: Op<EndpointSlice>) -> &mut Self {
        self.slices.apply(0, op);
        if let Some(snap) = self.slices.commit() {
            self.tracker.apply(ENDPOINTS, ProxyInput::Slices(snap));
        }
        self
    }

    fn topology(&mut self, node: Topology) -> &mut Self {
        self.tracker.apply(SERVICES, ProxyInput::Topology(node));
        self
    }

    fn commit(&mut self) -> Option<Snapshot<ServicePortInfo>> {
        self.tracker.commit()
    }

    fn version(&mut self) -> Snapshot<ServicePortInfo> {
        self.commit().expect("a new version")
    }
}

fn port<'a>(
    snap: &'a Snapshot<ServicePortInfo>,
    service: &str,
    protocol: Protocol,
) -> &'a Arc<ServicePortInfo> {
    let key = port_key(&Str::from("ns"), service, "http", protocol);
    snap.items
        .get(&key)
        .unwrap_or_else(|| panic!("no port {service}/{protocol:?}"))
}

/// Whether `ns/<service>:http/TCP` is the same `Arc` in both versions.
fn kept(a: &Snapshot<ServicePortInfo>, b: &Snapshot<ServicePortInfo>, service: &str) -> bool {
    Arc::ptr_eq(
        port(a, service, Protocol::Tcp),
        port(b, service, Protocol::Tcp),
    )
}

/// The ports a version reports as updated.
fn updated(snap: &Snapshot<ServicePortInfo>) -> Vec<String> {
    let c = &snap.changes;
    c.updated.iter().map(|(_, n)| n.base.to_string()).collect()
}

/// Identity strings of every endpoint of `ns/<service>:http/TCP`.
fn endpoints_of(snap: &Snapshot<ServicePortInfo>, service: &str) -> Vec<String> {
    addrs(&port(snap, service, Protocol::Tcp).endpoints)
}

fn key(s: &str) -> ObjKey {
    ObjKey::parse(s)
}

fn when(s: &str) -> f64 {
    parse_rfc3339(s).unwrap()
}

/// A slice `ns/a-1` of service `ns/a` carrying a trigger time annotation.
fn triggered(at: &str, ips: &[&str]) -> Arc<EndpointSlice> {
    let eps: Vec<Value> = ips.iter().map(|a| json!({"addresses": [a]})).collect();
    slice_with(
        "a-1",
        json!({"labels": {"kubernetes.io/service-name": "a"},
               "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": at}}),
        "IPv4",
        json!(eps),
    )
}

// ---------------------------------------------------------------------------------------------
// §1.2 and §2.1: which slices reach a service

// §1.2: slices labelled service.kubernetes.io/headless or service-proxy-name are dropped.
#[test]
fn skip_headless_and_proxy_name_labelled_slices() {
    let mut view = View::v4();
    view.services(Op::Add(vec![svc("a", "10.96.0.1", "TCP")]));
    let labels = |l: &str| json!({"labels": {"kubernetes.io/service-name": "a", l: "x"}});
    let headless = labels("service.kubernetes.io/headless");
    let claimed = labels("service.kubernetes.io/service-proxy-name");
    view.slices(Op::Add(vec![
        slice_with("a-1", headless, "IPv4", one_ep("10.0.0.1")),
        slice_with("a-2", claimed, "IPv4", one_ep("10.0.0.2")),
    ]));
    let snap = view.version();
    assert!(endpoints_of(&snap, "a").is_empty());
    view.slices(Op::Add(vec![slice("a-3", "a", &["10.0.0.3"])]));
    assert_eq!(endpoints_of(&view.version(), "a"), ["10.0.0.3:8080"]);
}

// §2.1: addressType must equal the view's family; FQDN slices are dropped.
#[test]
fn slices_of_other_address_types_ignored() {
    let dual = svc_labelled(
        "a",
        json!({}),
        json!({"clusterIPs": ["10.96.0.1", "fd00::1"], "ipFamilies": ["IPv4", "IPv6"],
               "ports": [{"name": "http", "port": 80}]}),
    );
    let owner = owner("a");
    let slices = vec![
        slice_with("a-v4", owner.clone(), "IPv4", one_ep("10.0.0.1")),
        slice_with("a-v6", owner.clone(), "IPv6", one_ep("fd00::a")),
        slice_with("a-fqdn", owner, "FQDN", one_ep("pod.example.com")),
    ];
    for (family, expected) in [
        (IpFamily::IPv4, "10.0.0.1:8080"),
        (IpFamily::IPv6, "[fd00::a]:8080"),
    ] {
        let mut view = View::new(opts(family), here());
        view.services(Op::Add(vec![Arc::clone(&dual)]))
            .slices(Op::Add(slices.clone()));
        assert_eq!(endpoints_of(&view.version(), "a"), [expected]);
    }
}

// §2.1: the owner is labels["kubernetes.io/service-name"] in the slice's namespace; a slice
// without the label, or with an empty one, is ignored.
#[test]
fn slices_without_owner_label_ignored() {
    let mut view = View::v4();
    let eps = one_ep("10.0.0.1");
    // No label, an empty one, and the right name in another namespace.
    let other_ns = json!({"namespace": "other", "labels": {"kubernetes.io/service-name": "a"}});
    view.services(Op::Add(vec![svc("a", "10.96.0.1", "TCP")]))
        .slices(Op::Add(vec![
            slice_with("a-1", json!({}), "IPv4", eps.clone()),
            slice_with("a-2", owner(""), "IPv4", eps.clone()),
            slice_with("a-3", other_ns, "IPv4", eps),
        ]));
    assert!(endpoints_of(&view.version(), "a").is_empty());
}

// §2.1: slices of an unknown or skipped service are kept, and used once the service appears.
#[test]
fn slices_kept_before_their_service_and_used_when_it_appears() {
    let mut view = View::v4();
    view.slices(Op::Add(vec![
        slice("a-1", "a", &["10.0.0.1"]),
        slice("a-2", "a", &["10.0.0.2"]),
    ]));
    let first = view.commit();
    assert!(first.is_none_or(|s| s.items.is_empty()));
    // Skipped first (claimed by another proxy), then served.
    let claimed = svc_labelled(
        "a",
        json!({"service.kubernetes.io/service-proxy-name": "other"}),
        json!({"clusterIP": "10.96.0.1", "ports": [{"name": "http", "port": 80}]}),
    );
    view.services(Op::Add(vec![claimed]));
    assert!(view.commit().is_none_or(|s| s.items.is_empty()));
    view.services(Op::Add(vec![svc("a", "10.96.0.1", "TCP")]));
    let snap = view.version();
    assert_eq!(endpoints_of(&snap, "a"), ["10.0.0.1:8080", "10.0.0.2:8080"]);
}

// §2.1: a service's endpoints come from all of its slices, so an endpoint moving between slices
// is never lost.
#[test]
fn endpoints_recomputed_from_all_slices() {
    let mut view = View::v4();
    view.services(Op::Add(vec![svc("a", "10.96.0.1", "TCP")]))
        .slices(Op::Add(vec![
            slice("a-1", "a", &["10.0.0.1", "10.0.0.2"]),
            slice("a-2", "a", &["10.0.0.3"]),
        ]));
    view.version();
    // The move is seen as two writes: the new home first, then the old one without it.
    view.slices(Op::Add(vec![slice("a-2", "a", &["10.0.0.3", "10.0.0.2"])]));
    view.version();
    view.slices(Op::Add(vec![slice("a-1", "a", &["10.0.0.1"])]));
    let snap = view.version();
    assert_eq!(
        endpoints_of(&snap, "a"),
        ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"]
    );
    view.slices(Op::Remove(vec![key("ns/a-2")]));
    assert_eq!(endpoints_of(&view.version(), "a"), ["10.0.0.1:8080"]);
}

// §2.3 duplicates: between two non-terminating (or two terminating) copies of one IP:port, the
// copy from the lexicographically smallest slice name wins, whatever the arrival order.
#[test]
fn duplicate_between_equals_smallest_slice_name_wins() {
    for terminating in [false, true] {
        let copy = |name: &str, node: &str| {
            let conditions = json!({"ready": !terminating, "terminating": terminating});
            let eps =
                json!([{"addresses": ["10.0.0.1"], "nodeName": node, "conditions": conditions}]);
            slice_with(name, owner("a"), "IPv4", eps)
        };
        let mut view = View::v4();
        view.services(Op::Add(vec![svc("a", "10.96.0.1", "TCP")]))
            .slices(Op::Add(vec![copy("a-2", "node-two")]));
        view.version();
        view.slices(Op::Add(vec![copy("a-1", "node-one")]));
        let snap = view.version();
        let eps = &port(&snap, "a", Protocol::Tcp).endpoints;
        assert_eq!(eps.len(), 1);
        assert_eq!(
            eps[0].node_name().map(|s| &**s),
            Some("node-one"),
            "terminating={terminating}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Change tracking (ProxyTracker as a Merger)

// Only the services whose Service or slices changed are recomputed: the others keep the same Arc.
#[test]
fn recompute_only_the_changed_service() {
    let mut view = View::v4();
    view.services(Op::Add(vec![
        svc("a", "10.96.0.1", "TCP"),
        svc("b", "10.96.0.2", "TCP"),
    ]))
    .slices(Op::Add(vec![
        slice("a-1", "a", &["10.0.0.1"]),
        slice("b-1", "b", &["10.0.0.2"]),
    ]));
    let v1 = view.version();
    let spec = json!({"clusterIP": "10.96.0.1", "ports": [{"name": "http", "port": 81}]});
    view.services(Op::Add(vec![svc_labelled("a", json!({}), spec)]));
    let v2 = view.version();
    assert_eq!(v2.version, v1.version + 1);
    assert!(v2.changes.added.is_empty() && v2.changes.removed.is_empty());
    assert_eq!(updated(&v2), ["ns/a:http/TCP"]);
    assert_eq!(port(&v2, "a", Protocol::Tcp).base.port, 81);
    assert!(kept(&v1, &v2, "b"));
    assert_eq!(v2.notes.updated_services(), [key("ns/a")]);
    // A slice change of b leaves a's port the same Arc.
    view.slices(Op::Add(vec![slice("b-1", "b", &["10.0.0.2", "10.0.0.3"])]));
    let v3 = view.version();
    assert!(kept(&v2, &v3, "a"));
    assert_eq!(endpoints_of(&v3, "b"), ["10.0.0.2:8080", "10.0.0.3:8080"]);
    assert_eq!(v3.notes.updated_services(), [key("ns/b")]);
}

// §4.2: any write to a slice puts its service in UpdatedServices, even with equal endpoints.
#[test]
fn slice_write_with_equal_endpoints_updates_the_service_without_port_change() {
    let mut view = View::v4();
    view.services(Op::Add(vec![svc("a", "10.96.0.1", "TCP")]))
        .slices(Op::Add(vec![slice("a-1", "a", &["10.0.0.1"])]));
    let v1 = view.version();
    let rewritten = slice_with(
        "a-1",
        json!({"resourceVersion": "2", "labels": {"kubernetes.io/service-name": "a"}}),
        "IPv4",
        one_ep("10.0.0.1"),
    );
    view.slices(Op::Add(vec![rewritten]));
    let v2 = view.version();
    assert!(v2.changes.is_empty());
    assert_eq!(v2.notes.updated_services(), [key("ns/a")]);
    assert!(kept(&v1, &v2, "a"));
}

// §4.1: a label-only Service edit is no change: no version.
#[test]
fn label_only_service_edit_produces_no_version() {
    let mut view = View::v4();
    view.services(Op::Add(vec![svc("a", "10.96.0.1", "TCP")]))
        .slices(Op::Add(vec![slice("a-1", "a", &["10.0.0.1"])]));
    let v1 = view.version();
    let spec = json!({"clusterIP": "10.96.0.1", "ports": [{"name": "http", "port": 80}]});
    view.services(Op::Add(vec![svc_labelled(
        "a",
        json!({"team": "web"}),
        spec,
    )]));
    assert!(view.commit().is_none());
    assert_eq!(view.tracker.version(), v1.version);
}

// §4.3: a node topology change asks for a full sync and re-categorises every port.
#[test]
fn topology_change_sets_full_sync_and_recategorises() {
    let mut view = View::v4();
    let hinted = slice_with(
        "a-1",
        owner("a"),
        "IPv4",
        json!([{"addresses": ["10.0.0.1"], "hints": {"forZones": [{"name": "zone-a"}]}},
               {"addresses": ["10.0.0.2"], "hints": {"forZones": [{"name": "zone-b"}]}}]),
    );
    view.services(Op::Add(vec![
        svc("a", "10.96.0.1", "TCP"),
        svc("b", "10.96.0.2", "TCP"),
    ]))
    .slices(Op::Add(vec![hinted]));
    let v1 = view.version();
    assert_eq!(cluster(port(&v1, "a", Protocol::Tcp)), ["10.0.0.1:8080"]);
    view.topology(here());
    assert!(view.commit().is_none(), "same topology: nothing to do");
    view.topology(node("node-a", "zone-b"));
    let v2 = view.version();
    assert!(v2.notes.full_sync());
    assert_eq!(v2.notes.updated_services(), [key("ns/a"), key("ns/b")]);
    assert_eq!(cluster(port(&v2, "a", Protocol::Tcp)), ["10.0.0.2:8080"]);
    assert_eq!(updated(&v2), ["ns/a:http/TCP"]);
}

fn started_view(start: &str) -> View {
    let o = ProxyOptions {
        start: when(start),
        ..opts(IpFamily::IPv4)
    };
    let mut view = View::new(o, here());
    view.services(Op::Add(vec![svc("a", "10.96.0.1", "TCP")]));
    view
}

// §4.2: a trigger time later than the tracker's start is recorded for the slice's service.
#[test]
fn trigger_time_later_than_start_recorded() {
    let mut view = started_view("2024-01-01T00:00:00Z");
    let t = "2024-06-01T12:00:00.25+02:00";
    view.slices(Op::Add(vec![triggered(t, &["10.0.0.1"])]));
    let snap = view.version();
    assert_eq!(snap.notes.trigger_times()[&key("ns/a")], [when(t)]);
}

// §4.2: a trigger time that does not parse, or is not later than the start, is ignored.
#[test]
fn trigger_time_unparsable_or_earlier_ignored() {
    for at in ["yesterday", "2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z"] {
        let mut view = started_view("2024-01-01T00:00:00Z");
        view.slices(Op::Add(vec![triggered(at, &["10.0.0.1"])]));
        let snap = view.version();
        assert!(snap.notes.trigger_times().is_empty(), "{at}");
        assert_eq!(snap.notes.updated_services(), [key("ns/a")]);
    }
}

// §4.2: deleting a slice drops the trigger times collected so far for its service.
#[test]
fn slice_deletion_drops_trigger_times() {
    let t = "2024-06-01T10:00:00.25Z";
    // Within one version.
    let mut view = started_view("2024-01-01T00:00:00Z");
    view.slices(Op::Add(vec![triggered(t, &["10.0.0.1"])]))
        .slices(Op::Remove(vec![key("ns/a-1")]));
    let snap = view.version();
    assert!(!snap.notes.trigger_times().contains_key(&key("ns/a")));
    // Across versions a handler receives at once.
    let mut view = started_view("2024-01-01T00:00:00Z");
    view.slices(Op::Add(vec![triggered(t, &["10.0.0.1"])]));
    let v1 = view.version();
    assert_eq!(v1.notes.trigger_times()[&key("ns/a")], [when(t)]);
    view.slices(Op::Remove(vec![key("ns/a-1")]));
    let v2 = view.version();
    let mut folded = (*v1.notes).clone();
    folded.absorb(&v2.notes);
    let resolved = folded.resolve(false);
    assert!(!resolved.trigger_times().contains_key(&key("ns/a")));
}

// §4.2: conntrack cleanup is required when an updated service has a UDP port.
#[test]
fn udp_conntrack_flag() {
    let mut view = View::v4();
    view.services(Op::Add(vec![
        svc("t", "10.96.0.1", "TCP"),
        svc("u", "10.96.0.2", "UDP"),
    ]));
    view.version();
    view.slices(Op::Add(vec![slice("t-1", "t", &["10.0.0.1"])]));
    assert!(!view.version().notes.conntrack_cleanup_required());
    view.slices(Op::Add(vec![udp_slice("u-1", "u", &["10.0.0.2"])]));
    let snap = view.version();
    assert!(snap.notes.conntrack_cleanup_required());
    assert_eq!(
        addrs(&port(&snap, "u", Protocol::Udp).endpoints),
        ["10.0.0.2:8080"]
    );
    // The UDP service deleted: its previous state had a UDP port.
    view.services(Op::Remove(vec![key("ns/u")]));
    let snap = view.version();
    assert_eq!(snap.changes.removed.len(), 1);
    assert!(snap.notes.conntrack_cleanup_required());
}
