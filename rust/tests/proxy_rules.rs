//! The proxy view's rules, one test per rule of the rule book (`PROXY-SEMANTICS.md`) §1–§2:
//! service ports per family and endpoints from slices. Categorisation (§3) and the rules that
//! need the tracker (which slices reach a service, change tracking) are in `proxy_view.rs`.
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::net::IpAddr;
use std::sync::Arc;

use _core::engine::json::Kind;
use _core::engine::model::{
    EndpointSlice, Interner, IpFamily, List, Protocol, Service, ServiceType, SliceAddr, Str,
};
use _core::engine::proxy::endpoints::{from_slices, PortEndpoints};
use _core::engine::proxy::info::{EndpointInfo, PortBase};
use _core::engine::proxy::options::{ProxyOptions, SERVICE_PROXY_NAME_LABEL};
use _core::engine::proxy::service::port_bases;
use serde_json::{json, Value};

mod proxy_common;
use proxy_common::{addrs, cat_at, cluster, ep, here, ip, names, node, opts, serving_terminating};

// ---------------------------------------------------------------------------------------------
// Helpers

fn ips(list: &[IpAddr]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

/// A Service `ns/svc` with `labels`, `spec` and `status`.
fn service_full(labels: Value, spec: Value, status: Value) -> Service {
    let v = json!({
        "metadata": {"namespace": "ns", "name": "svc", "labels": labels},
        "spec": spec, "status": status,
    });
    Service::from_value(&v, &mut Interner::default()).unwrap()
}

fn service(spec: Value) -> Service {
    service_full(json!({}), spec, json!({}))
}

fn bases(svc: &Service, family: IpFamily) -> Option<Vec<Arc<PortBase>>> {
    port_bases(svc, &opts(family))
}

/// The first port of dual-stack `svc` in the IPv4 view and in the IPv6 view.
fn first_ports(svc: &Service) -> (Arc<PortBase>, Arc<PortBase>) {
    let first = |family| Arc::clone(&bases(svc, family).unwrap()[0]);
    (first(IpFamily::IPv4), first(IpFamily::IPv6))
}

/// The single port of `svc` in the IPv4 view.
fn one(svc: &Service) -> Arc<PortBase> {
    let mut ports = bases(svc, IpFamily::IPv4).expect("the service has IPv4 ports");
    assert_eq!(ports.len(), 1);
    ports.pop().unwrap()
}

/// A slice `ns/<name>` of service `svc` with address type IPv4.
fn slice(name: &str, ports: Value, endpoints: Value) -> EndpointSlice {
    let v = json!({
        "metadata": {"namespace": "ns", "name": name,
                     "labels": {"kubernetes.io/service-name": "svc"}},
        "addressType": "IPv4", "ports": ports, "endpoints": endpoints,
    });
    EndpointSlice::from_value(&v, &mut Interner::default()).unwrap()
}

/// A slice `ns/<name>` of service `svc` with the one port `http` (8080/TCP).
fn http_slice(name: &str, endpoints: Value) -> EndpointSlice {
    slice(
        name,
        json!([{"name": "http", "port": 8080, "protocol": "TCP"}]),
        endpoints,
    )
}

/// The identity strings of port `name`/`protocol` in `map` (`None`: no entry).
fn port_list(map: &PortEndpoints, name: &str, protocol: Protocol) -> Option<Vec<String>> {
    map.get(&(Str::from(name), protocol))
        .map(|l| l.iter().map(|e| e.address()).collect())
}

/// Port `name`/`protocol` of `map` has an entry, with these identity strings.
fn assert_port(map: &PortEndpoints, name: &str, protocol: Protocol, expected: &[&str]) {
    assert_eq!(port_list(map, name, protocol).unwrap(), expected);
}

/// The endpoints of each port of the one slice `s`, seen from no node.
fn ports_of(s: EndpointSlice) -> PortEndpoints {
    from_slices([&Arc::new(s)], "")
}

/// `s` with the addresses of its first endpoint replaced by `addresses`.
fn with_first_addresses(mut s: EndpointSlice, addresses: List<SliceAddr>) -> EndpointSlice {
    let mut eps = s.endpoints.to_vec();
    eps[0].addresses = addresses;
    s.endpoints = eps.into();
    s
}

/// The one endpoint of port `http/TCP`.
fn only_http(map: &PortEndpoints) -> Arc<EndpointInfo> {
    let list = &map[&(Str::from("http"), Protocol::Tcp)];
    assert_eq!(list.len(), 1, "{list:?}");
    Arc::clone(&list[0])
}

/// A `ClusterIP` port with both traffic policies Cluster (cluster endpoints only).
fn cluster_port() -> Arc<PortBase> {
    one(&service(
        json!({"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}),
    ))
}

/// A `ClusterIP` port with `internalTrafficPolicy: Local` (local endpoints only).
fn itp_local_port() -> Arc<PortBase> {
    one(&service(json!({
        "clusterIP": "10.96.0.1", "internalTrafficPolicy": "Local", "ports": [{"port": 80}],
    })))
}

/// A `NodePort` port with `externalTrafficPolicy: Local` (cluster and local endpoints).
fn etp_local_port() -> Arc<PortBase> {
    one(&service(json!({
        "type": "NodePort", "clusterIP": "10.96.0.1", "externalTrafficPolicy": "Local",
        "ports": [{"port": 80, "nodePort": 30080}],
    })))
}

// ---------------------------------------------------------------------------------------------
// §1.1 Identity

// §1.1: one ServicePort per spec.ports[i] per IP family, keyed by (ns, name, port name, protocol).
#[test]
fn identity_one_port_per_spec_port_per_family() {
    let svc = service(json!({
        "clusterIPs": ["10.96.0.1", "fd00::1"], "ipFamilies": ["IPv4", "IPv6"],
        "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                  {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
    }));
    for family in [IpFamily::IPv4, IpFamily::IPv6] {
        let ports = bases(&svc, family).unwrap();
        let shown: Vec<String> = ports.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["ns/svc:dns/UDP", "ns/svc:dns-tcp/TCP"]);
        assert!(ports.iter().all(|p| p.ip_family == family));
        assert_ne!(ports[0].key, ports[1].key);
    }
}

// ---------------------------------------------------------------------------------------------
// §1.2 Skips

fn labelled(value: &str) -> Service {
    service_full(
        json!({SERVICE_PROXY_NAME_LABEL: value}),
        json!({"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}),
        json!({}),
    )
}

// §1.2: with no proxy name, a Service labelled service-proxy-name (any value) is skipped.
#[test]
fn skip_service_proxy_name_label_without_proxy_name() {
    let plain = service(json!({"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}));
    let o = opts(IpFamily::IPv4);
    assert_eq!(port_bases(&plain, &o).unwrap().len(), 1);
    assert!(port_bases(&labelled("other-proxy"), &o).is_none());
    assert!(port_bases(&labelled(""), &o).is_none());
}

// §1.2: a proxy with a name serves only the Services labelled with that name.
#[test]
fn skip_service_proxy_name_label_with_proxy_name() {
    let o = ProxyOptions {
        service_proxy_name: Some("mine".into()),
        ..opts(IpFamily::IPv4)
    };
    let plain = service(json!({"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}));
    assert_eq!(port_bases(&labelled("mine"), &o).unwrap().len(), 1);
    assert!(port_bases(&labelled("other-proxy"), &o).is_none());
    assert!(port_bases(&plain, &o).is_none());
}

// §1.2: the Service informer's selector is `!service-proxy-name,!headless`: a Service labelled
// service.kubernetes.io/headless never reaches the proxy, even with a cluster IP.
#[test]
fn skip_service_with_headless_label() {
    let svc = service_full(
        json!({"service.kubernetes.io/headless": ""}),
        json!({"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}),
        json!({}),
    );
    assert!(bases(&svc, IpFamily::IPv4).is_none());
}

// §1.2: spec.clusterIP "" or "None" (headless) → the Service contributes nothing.
#[test]
fn skip_headless_cluster_ip_empty_and_none() {
    for cluster_ip in ["", "None"] {
        let svc = service(json!({"clusterIP": cluster_ip, "ports": [{"port": 80}]}));
        for family in [IpFamily::IPv4, IpFamily::IPv6] {
            assert!(bases(&svc, family).is_none(), "{cluster_ip:?} {family:?}");
        }
    }
}

// §1.2: type ExternalName is skipped even if a cluster IP is set.
#[test]
fn skip_external_name_even_with_cluster_ip() {
    // The parser rejects this combination, as the API server does; build it by hand.
    let mut svc = service(json!({"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}));
    svc.service_type = ServiceType::ExternalName;
    svc.external_name = Some(Str::from("db.example.com"));
    assert!(svc.cluster_ip.is_some());
    assert!(bases(&svc, IpFamily::IPv4).is_none());
}

// §1.2: no cluster IP of this tracker's family → absent from that family's map.
#[test]
fn skip_no_cluster_ip_of_this_family() {
    let v4 =
        service(json!({"clusterIP": "10.96.0.1", "ipFamilies": ["IPv4"], "ports": [{"port": 80}]}));
    let v6 =
        service(json!({"clusterIP": "fd00::1", "ipFamilies": ["IPv6"], "ports": [{"port": 80}]}));
    assert!(bases(&v4, IpFamily::IPv4).is_some());
    assert!(bases(&v4, IpFamily::IPv6).is_none());
    assert!(bases(&v6, IpFamily::IPv6).is_some());
    assert!(bases(&v6, IpFamily::IPv4).is_none());
}

// §1.2: no protocol filter: TCP, UDP and SCTP all pass.
#[test]
fn protocols_tcp_udp_sctp_all_pass() {
    let svc = service(json!({"clusterIP": "10.96.0.1", "ports": [
        {"name": "a", "port": 80, "protocol": "TCP"},
        {"name": "b", "port": 53, "protocol": "UDP"},
        {"name": "c", "port": 9999, "protocol": "SCTP"},
    ]}));
    let protocols: Vec<Protocol> = bases(&svc, IpFamily::IPv4)
        .unwrap()
        .iter()
        .map(|p| p.protocol)
        .collect();
    assert_eq!(protocols, [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]);
}

// ---------------------------------------------------------------------------------------------
// §1.3 Per-family fields

// §1.3 clusterIP: with no ipFamilies, spec.clusterIP only when its family matches.
#[test]
fn cluster_ip_without_ip_families_by_address_family() {
    let svc = service(json!({"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}));
    assert!(svc.ip_families.as_slice().is_empty());
    assert_eq!(one(&svc).cluster_ip, ip("10.96.0.1"));
    assert!(bases(&svc, IpFamily::IPv6).is_none());
    let svc6 = service(json!({"clusterIP": "fd00::1", "ports": [{"port": 80}]}));
    assert_eq!(
        bases(&svc6, IpFamily::IPv6).unwrap()[0].cluster_ip,
        ip("fd00::1")
    );
    assert!(bases(&svc6, IpFamily::IPv4).is_none());
}

// §1.3 clusterIP: with ipFamilies, the clusterIPs[i] whose ipFamilies[i] is this family.
#[test]
fn cluster_ip_with_ip_families_by_position() {
    let svc = service(json!({
        "clusterIPs": ["fd00::10", "10.96.0.10"], "ipFamilies": ["IPv6", "IPv4"],
        "ports": [{"port": 80}],
    }));
    assert_eq!(
        bases(&svc, IpFamily::IPv4).unwrap()[0].cluster_ip,
        ip("10.96.0.10")
    );
    assert_eq!(
        bases(&svc, IpFamily::IPv6).unwrap()[0].cluster_ip,
        ip("fd00::10")
    );
}

// §1.3 port, protocol, nodePort: copied; nodePort 0 means none; same nodePort in both families.
#[test]
fn port_protocol_node_port_copied_in_both_families() {
    let svc = service(json!({
        "type": "NodePort", "clusterIPs": ["10.96.0.1", "fd00::1"], "ipFamilies": ["IPv4", "IPv6"],
        "ports": [{"name": "a", "port": 53, "protocol": "UDP", "nodePort": 30053},
                  {"name": "b", "port": 80, "nodePort": 0}],
    }));
    for family in [IpFamily::IPv4, IpFamily::IPv6] {
        let ports = bases(&svc, family).unwrap();
        assert_eq!(
            (ports[0].port, ports[0].protocol, ports[0].node_port),
            (53, Protocol::Udp, 30053)
        );
        assert_eq!(
            (ports[1].port, ports[1].protocol, ports[1].node_port),
            (80, Protocol::Tcp, 0)
        );
    }
}

// §1.3 externalIPs: parsed sloppily, kept when of this family.
#[test]
fn external_ips_filtered_by_family() {
    let svc = service(json!({
        "clusterIPs": ["10.96.0.1", "fd00::1"], "ipFamilies": ["IPv4", "IPv6"],
        "externalIPs": ["192.0.2.1", "2001:db8::1", "010.001.002.003"], "ports": [{"port": 80}],
    }));
    let (v4, v6) = first_ports(&svc);
    assert_eq!(ips(&v4.external_ips), ["192.0.2.1", "10.1.2.3"]);
    assert_eq!(ips(&v6.external_ips), ["2001:db8::1"]);
}

// §1.3 loadBalancerSourceRanges: trimmed, parsed as CIDR (masked), of this family, bad ones dropped.
#[test]
fn load_balancer_source_ranges_trimmed_masked_filtered() {
    let mut svc = service(json!({
        "type": "LoadBalancer", "clusterIPs": ["10.96.0.1", "fd00::1"],
        "ipFamilies": ["IPv4", "IPv6"], "ports": [{"port": 80, "nodePort": 30080}],
    }));
    // Entries the API server would reject still must not break the view: build them by hand.
    svc.load_balancer_source_ranges = names(&[
        " 10.1.2.3/8 ",
        "FD00::1/64",
        "not-a-cidr",
        "10.0.0.0/33",
        "192.168.1.1",
        "192.168.0.0/16",
    ]);
    let (v4, v6) = first_ports(&svc);
    let show = |l: &List<Str>| l.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(
        show(&v4.load_balancer_source_ranges),
        ["10.0.0.0/8", "192.168.0.0/16"]
    );
    assert_eq!(show(&v6.load_balancer_source_ranges), ["fd00::/64"]);
}

// §1.3 loadBalancerVIPs: ingress IPs of this family with ipMode unset or VIP; Proxy and
// hostname-only ingresses excluded.
#[test]
fn load_balancer_vips_in_vip_mode_of_this_family() {
    let svc = service_full(
        json!({}),
        json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.1", "fd00::1"],
               "ipFamilies": ["IPv4", "IPv6"], "ports": [{"port": 80, "nodePort": 30080}]}),
        json!({"loadBalancer": {"ingress": [
            {"ip": "192.0.2.1"},
            {"ip": "192.0.2.2", "ipMode": "VIP"},
            {"ip": "192.0.2.3", "ipMode": "Proxy"},
            {"ip": "2001:db8::1"},
            {"hostname": "lb.example.com"},
        ]}}),
    );
    let (v4, v6) = first_ports(&svc);
    assert_eq!(ips(&v4.load_balancer_vips), ["192.0.2.1", "192.0.2.2"]);
    assert_eq!(ips(&v6.load_balancer_vips), ["2001:db8::1"]);
}

// §1.3 sessionAffinity: ClientIP timeout (default 10800); 0 without ClientIP.
#[test]
fn session_affinity_timeout_default_and_zero_without_client_ip() {
    let spec = |extra: Value| {
        let mut s = json!({"clusterIP": "10.96.0.1", "ports": [{"port": 80}]});
        s.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        service(s)
    };
    let default = spec(json!({"sessionAffinity": "ClientIP"}));
    assert_eq!(one(&default).session_affinity_timeout, 10_800);
    let mut unset = default.clone();
    unset.session_affinity_timeout_seconds = None;
    assert_eq!(one(&unset).session_affinity_timeout, 10_800);
    let set = spec(json!({"sessionAffinity": "ClientIP",
                          "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}));
    assert_eq!(one(&set).session_affinity_timeout, 60);
    assert_eq!(one(&spec(json!({}))).session_affinity_timeout, 0);
    let mut none_with_timeout = spec(json!({}));
    none_with_timeout.session_affinity_timeout_seconds = Some(60);
    assert_eq!(one(&none_with_timeout).session_affinity_timeout, 0);
}

// §1.3 externalPolicyLocal: externally accessible Service (LB, NodePort, ClusterIP with
// externalIPs) AND externalTrafficPolicy Local.
#[test]
fn external_policy_local_only_for_externally_accessible_services() {
    let with = |spec: Value| one(&service(spec)).external_policy_local;
    let lb = json!({"type": "LoadBalancer", "clusterIP": "10.96.0.1", "externalTrafficPolicy": "Local",
                    "ports": [{"port": 80, "nodePort": 30080}]});
    let np = json!({"type": "NodePort", "clusterIP": "10.96.0.1", "externalTrafficPolicy": "Local",
                    "ports": [{"port": 80, "nodePort": 30080}]});
    let cip_ext = json!({"clusterIP": "10.96.0.1", "externalTrafficPolicy": "Local",
                         "externalIPs": ["192.0.2.1"], "ports": [{"port": 80}]});
    let cip = json!({"clusterIP": "10.96.0.1", "externalTrafficPolicy": "Local", "ports": [{"port": 80}]});
    let lb_cluster = json!({"type": "LoadBalancer", "clusterIP": "10.96.0.1",
                            "externalTrafficPolicy": "Cluster", "ports": [{"port": 80, "nodePort": 30080}]});
    assert!(with(lb));
    assert!(with(np));
    assert!(with(cip_ext));
    assert!(!with(cip));
    assert!(!with(lb_cluster));
}

// §1.3 internalPolicyLocal: internalTrafficPolicy == Local; nil counts as Cluster.
#[test]
fn internal_policy_local_nil_is_cluster() {
    assert!(itp_local_port().internal_policy_local);
    let mut svc = service(json!({"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}));
    assert!(!one(&svc).internal_policy_local);
    svc.internal_traffic_policy = None;
    let p = one(&svc);
    assert!(!p.internal_policy_local);
    assert!(p.uses_cluster_endpoints);
    assert!(!p.uses_local_endpoints);
}

// §1.3 healthCheckNodePort: only for type LoadBalancer with externalPolicyLocal.
#[test]
fn health_check_node_port_only_for_load_balancer_with_etp_local() {
    let hc = |ty: &str, etp: &str| {
        let mut svc = service(json!({
            "type": ty, "clusterIP": "10.96.0.1", "externalTrafficPolicy": etp,
            "ports": [{"port": 80, "nodePort": 30080}],
        }));
        svc.health_check_node_port = Some(32000);
        one(&svc).health_check_node_port
    };
    assert_eq!(hc("LoadBalancer", "Local"), 32000);
    assert_eq!(hc("LoadBalancer", "Cluster"), 0);
    assert_eq!(hc("NodePort", "Local"), 0);
    let mut zero = service(json!({
        "type": "LoadBalancer", "clusterIP": "10.96.0.1", "externalTrafficPolicy": "Local",
        "ports": [{"port": 80, "nodePort": 30080}], "healthCheckNodePort": 0,
    }));
    assert_eq!(one(&zero).health_check_node_port, 0);
    zero.health_check_node_port = None;
    assert_eq!(one(&zero).health_check_node_port, 0);
}

// ---------------------------------------------------------------------------------------------
// §1.4 Derived predicates

// §1.4 ExternallyAccessible: nodePort ≠ 0 OR VIPs of this family OR externalIPs of this family.
#[test]
fn externally_accessible_uses_family_filtered_values() {
    let dual = |extra: Value, status: Value| {
        let mut s = json!({"clusterIPs": ["10.96.0.1", "fd00::1"], "ipFamilies": ["IPv4", "IPv6"]});
        s.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let svc = service_full(json!({}), s, status);
        let v4 = bases(&svc, IpFamily::IPv4).unwrap()[0].externally_accessible;
        let v6 = bases(&svc, IpFamily::IPv6).unwrap()[0].externally_accessible;
        (v4, v6)
    };
    let none = json!({});
    assert_eq!(
        dual(json!({"ports": [{"port": 80}]}), none.clone()),
        (false, false)
    );
    assert_eq!(
        dual(
            json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}),
            none.clone()
        ),
        (true, true)
    );
    assert_eq!(
        dual(
            json!({"externalIPs": ["2001:db8::1"], "ports": [{"port": 80}]}),
            none
        ),
        (false, true)
    );
    assert_eq!(
        dual(
            json!({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false, "ports": [{"port": 80}]}),
            json!({"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}})
        ),
        (true, false)
    );
}

// §1.4 UsesClusterEndpoints = !ITP Local || ExternallyAccessible;
// UsesLocalEndpoints = ITP Local || (externalPolicyLocal && ExternallyAccessible).
#[test]
fn uses_cluster_and_local_endpoints_predicates() {
    let c = cluster_port();
    assert_eq!(
        (c.uses_cluster_endpoints, c.uses_local_endpoints),
        (true, false)
    );
    let i = itp_local_port();
    assert_eq!(
        (i.uses_cluster_endpoints, i.uses_local_endpoints),
        (false, true)
    );
    let e = etp_local_port();
    assert_eq!(
        (e.uses_cluster_endpoints, e.uses_local_endpoints),
        (true, true)
    );
    // ITP Local on an externally accessible port still needs cluster endpoints.
    let both = one(&service(json!({
        "type": "NodePort", "clusterIP": "10.96.0.1", "internalTrafficPolicy": "Local",
        "ports": [{"port": 80, "nodePort": 30080}],
    })));
    assert_eq!(
        (both.uses_cluster_endpoints, both.uses_local_endpoints),
        (true, true)
    );
}

// §1.4 trap: an LB with no node port and no ingress (or only other-family / Proxy ingresses) is
// not externally accessible for the family, so ETP=Local has no effect there.
#[test]
fn trap_load_balancer_without_node_port_or_ingress_ignores_etp_local() {
    let spec = json!({
        "type": "LoadBalancer", "clusterIP": "10.96.0.1", "ipFamilies": ["IPv4"],
        "allocateLoadBalancerNodePorts": false, "externalTrafficPolicy": "Local",
        "ports": [{"port": 80}],
    });
    for ingress in [
        json!([]),
        json!([{"ip": "2001:db8::1"}]),
        json!([{"ip": "192.0.2.1", "ipMode": "Proxy"}]),
        json!([{"hostname": "lb.example.com"}]),
    ] {
        let svc = service_full(
            json!({}),
            spec.clone(),
            json!({"loadBalancer": {"ingress": ingress}}),
        );
        let p = one(&svc);
        assert!(p.external_policy_local, "{ingress}");
        assert!(!p.externally_accessible, "{ingress}");
        assert!(p.uses_cluster_endpoints, "{ingress}");
        assert!(!p.uses_local_endpoints, "{ingress}");
        // So its endpoints are categorised as for a Cluster policy.
        let info = cat_at(&p, vec![ep("10.0.0.1")], &node("node-b", ""), true);
        assert!(info.local.is_none());
        assert_eq!(addrs(&info.all_reachable), ["10.0.0.1:80"]);
    }
}

// ---------------------------------------------------------------------------------------------
// §2.2 Port mapping

// §2.2: endpoints join a service port only when both name and protocol match; the number is the
// slice's target port.
#[test]
fn port_mapping_by_name_and_protocol() {
    let s = slice(
        "svc-1",
        json!([{"name": "http", "port": 8080, "protocol": "TCP"},
               {"name": "http-udp", "port": 8081, "protocol": "UDP"},
               {"name": "dns", "port": 5353, "protocol": "UDP"},
               {"name": "dns-tcp", "port": 5354, "protocol": "TCP"}]),
        json!([{"addresses": ["10.0.0.1"]}]),
    );
    let map = ports_of(s);
    assert_port(&map, "http", Protocol::Tcp, &["10.0.0.1:8080"]);
    assert_eq!(port_list(&map, "http", Protocol::Udp), None);
    assert_port(&map, "dns", Protocol::Udp, &["10.0.0.1:5353"]);
    assert_eq!(port_list(&map, "dns", Protocol::Tcp), None);
    // An unnamed slice port is the API default name "" and joins the unnamed service port.
    let unnamed = slice(
        "svc-2",
        json!([{"port": 9090}]),
        json!([{"addresses": ["10.0.0.1"]}]),
    );
    let map = ports_of(unnamed);
    assert_port(&map, "", Protocol::Tcp, &["10.0.0.1:9090"]);
}

// §2.2: a slice port with a nil or 0 number is skipped.
#[test]
fn port_with_nil_or_zero_number_skipped() {
    let mut s = slice(
        "svc-1",
        json!([{"name": "a", "port": 1000}, {"name": "b", "port": 1001}, {"name": "c", "port": 1002}]),
        json!([{"addresses": ["10.0.0.1"]}]),
    );
    let mut ports = s.ports.to_vec();
    ports[0].port = None;
    ports[1].port = Some(0);
    s.ports = ports.into();
    let map = ports_of(s);
    assert_eq!(port_list(&map, "a", Protocol::Tcp), None);
    assert_eq!(port_list(&map, "b", Protocol::Tcp), None);
    assert_port(&map, "c", Protocol::Tcp, &["10.0.0.1:1002"]);
}

// §2.2: different slices may carry different numbers for one port name; both pairs are kept.
#[test]
fn same_port_name_different_numbers_across_slices_both_kept() {
    let a = slice(
        "svc-a",
        json!([{"name": "http", "port": 8080}]),
        json!([{"addresses": ["10.0.0.1"]}]),
    );
    let b = slice(
        "svc-b",
        json!([{"name": "http", "port": 8081}]),
        json!([{"addresses": ["10.0.0.1"]}]),
    );
    let map = from_slices([&Arc::new(a.clone()), &Arc::new(b.clone())], "");
    assert_port(
        &map,
        "http",
        Protocol::Tcp,
        &["10.0.0.1:8080", "10.0.0.1:8081"],
    );
}

// ---------------------------------------------------------------------------------------------
// §2.3 Per endpoint

// §2.3: an endpoint with no addresses is skipped.
#[test]
fn endpoint_without_addresses_skipped() {
    let s = with_first_addresses(
        http_slice(
            "svc-1",
            json!([{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}]),
        ),
        List::empty(),
    );
    let map = ports_of(s);
    assert_port(&map, "http", Protocol::Tcp, &["10.0.0.2:8080"]);
    // A port whose endpoints are all skipped has no entry.
    let empty = with_first_addresses(
        http_slice("svc-2", json!([{"addresses": ["10.0.0.1"]}])),
        List::empty(),
    );
    assert!(ports_of(empty).is_empty());
}

// §2.3: only addresses[0] is used, normalised (IPv4 leading zeros dropped, IPv6 compressed).
#[test]
fn only_first_address_used_and_normalised() {
    let s = http_slice(
        "svc-1",
        json!([{"addresses": ["010.000.000.001", "10.0.0.2"]}]),
    );
    let map = ports_of(s);
    assert_port(&map, "http", Protocol::Tcp, &["10.0.0.1:8080"]);
    let s6 = with_first_addresses(
        http_slice("svc-2", json!([{"addresses": ["10.0.0.1"]}])),
        vec![
            SliceAddr::Ip(ip("FD00:0:0:0::A")),
            SliceAddr::Ip(ip("fd00::b")),
        ]
        .into(),
    );
    let map = ports_of(s6);
    assert_eq!(
        port_list(&map, "http", Protocol::Tcp).unwrap(),
        ["[fd00::a]:8080"]
    );
}

// §2.3 conditions: ready nil→true, serving nil→true, terminating nil→false.
#[test]
fn condition_defaults() {
    let read = |conditions: Value| {
        let s = http_slice(
            "svc-1",
            json!([{"addresses": ["10.0.0.1"], "conditions": conditions}]),
        );
        let e = only_http(&ports_of(s));
        (e.ready, e.serving, e.terminating)
    };
    assert_eq!(read(json!({})), (true, true, false));
    // serving defaults to true even when ready is false (not the API's "serving = ready").
    assert_eq!(read(json!({"ready": false})), (false, true, false));
    assert_eq!(
        read(json!({"ready": false, "serving": false, "terminating": true})),
        (false, false, true)
    );
}

// §2.3: ready=true with terminating=true counts as ready.
#[test]
fn ready_and_terminating_counts_as_ready() {
    let s = http_slice(
        "svc-1",
        json!([{"addresses": ["10.0.0.1"], "conditions": {"ready": true, "terminating": true}}]),
    );
    let e = only_http(&ports_of(s));
    assert!(e.ready && e.terminating);
    let info = cat_at(
        &cluster_port(),
        vec![(*e).clone(), serving_terminating("10.0.0.9")],
        &here(),
        true,
    );
    assert_eq!(cluster(&info), ["10.0.0.1:8080"]);
}

// §2.3 isLocal: nodeName set, this node's name non-empty, equal as strings; hostname and zone
// play no part.
#[test]
fn is_local_rules() {
    let s = http_slice(
        "svc-1",
        json!([
            {"addresses": ["10.0.0.1"], "nodeName": "node-a"},
            {"addresses": ["10.0.0.2"], "nodeName": "node-b", "hostname": "node-a", "zone": "node-a"},
            {"addresses": ["10.0.0.3"], "hostname": "node-a"},
        ]),
    );
    let local_ips = |node: &str| -> Vec<String> {
        from_slices([&Arc::new(s.clone())], node)[&(Str::from("http"), Protocol::Tcp)]
            .iter()
            .filter(|e| e.is_local)
            .map(|e| e.address())
            .collect()
    };
    assert_eq!(local_ips("node-a"), ["10.0.0.1:8080"]);
    assert!(local_ips("").is_empty());
    assert!(local_ips("node-c").is_empty());
    // Exact string comparison: case matters.
    assert!(local_ips("Node-A").is_empty());
}

// §2.3: zone hints from hints.forZones and node hints from hints.forNodes; an empty list is no hint.
#[test]
fn zone_and_node_hints_read() {
    let s = http_slice(
        "svc-1",
        json!([{"addresses": ["10.0.0.1"], "zone": "zone-x",
                "hints": {"forZones": [{"name": "zone-a"}, {"name": "zone-b"}],
                          "forNodes": [{"name": "node-a"}]}},
               {"addresses": ["10.0.0.2"], "hints": {"forZones": []}}]),
    );
    let map = ports_of(s);
    let list = &map[&(Str::from("http"), Protocol::Tcp)];
    assert_eq!(list[0].zone_hints(), &names(&["zone-a", "zone-b"])[..]);
    assert_eq!(list[0].node_hints(), &names(&["node-a"])[..]);
    assert_eq!(list[0].zone().map(|s| &**s), Some("zone-x"));
    assert!(list[1].zone_hints().is_empty() && list[1].node_hints().is_empty());
}

// §2.3 duplicates: the same IP:port in two slices: a non-terminating copy wins over a
// terminating one, whichever slice comes first.
#[test]
fn duplicate_non_terminating_wins() {
    let term = http_slice(
        "svc-a",
        json!([{"addresses": ["10.0.0.1"], "nodeName": "node-t",
                "conditions": {"ready": false, "serving": true, "terminating": true}}]),
    );
    let live = http_slice(
        "svc-b",
        json!([{"addresses": ["10.0.0.1"], "nodeName": "node-l"}]),
    );
    let (term, live) = (Arc::new(term), Arc::new(live));
    for order in [[&term, &live], [&live, &term]] {
        let e = only_http(&from_slices(order, ""));
        assert!(!e.terminating && e.ready);
        assert_eq!(e.node_name().map(|s| &**s), Some("node-l"));
    }
}

// §2.3: each port's list is sorted by the identity string ("10.0.0.10:80" < "10.0.0.2:80", and
// "10.0.0.10:80" < "10.0.0.1:80" since '0' < ':').
#[test]
fn endpoints_sorted_by_identity_string() {
    let s = slice(
        "svc-1",
        json!([{"name": "http", "port": 80}]),
        json!([{"addresses": ["10.0.0.2"]}, {"addresses": ["10.0.0.10"]}, {"addresses": ["10.0.0.1"]},
               {"addresses": ["9.0.0.1"]}]),
    );
    let map = ports_of(s);
    assert_port(
        &map,
        "http",
        Protocol::Tcp,
        &["10.0.0.10:80", "10.0.0.1:80", "10.0.0.2:80", "9.0.0.1:80"],
    );
}
