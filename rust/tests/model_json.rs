//! Objects from and to JSON: API-server defaults, validation errors with key and path, batches.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use _core::engine::error::CoreError;
use _core::engine::json::Scratch;
use _core::engine::json::{parse_batch, parse_value_batch, Kind};
use _core::engine::model::{
    ClusterIp, EndpointSlice, Endpoints, Interner, IpMode, LbIngress, PortOrName, Protocol,
    Service, ServiceType, SessionAffinity, TrafficPolicy,
};
use _core::engine::object::{ObjKey, Object};
use serde_json::{json, Value};

fn parse<K: Kind>(v: &Value) -> Result<K, CoreError> {
    K::from_value(v, &mut Interner::new())
}

/// (key, path, reason) of an invalid-object error.
fn invalid<K: Kind>(v: &Value) -> (Option<String>, String, String) {
    match parse::<K>(v) {
        Err(CoreError::InvalidObject { key, path, reason }) => (key, path, reason),
        other => panic!("expected an invalid object, got {other:?}"),
    }
}

fn assert_round_trip<K: Kind + PartialEq>(obj: &K) {
    let again: K = parse(&obj.to_value()).unwrap();
    assert_eq!(&again, obj);
}

fn svc(spec: &Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "prod"}, "spec": spec})
}

#[test]
fn service_defaults_are_the_api_servers() {
    let s: Service = parse(&svc(
        &json!({"clusterIP": "10.0.0.1", "ports": [{"port": 80}]}),
    ))
    .unwrap();
    assert_eq!(s.key(), ObjKey::new("prod", "web"));
    assert_eq!(s.service_type, ServiceType::ClusterIp);
    assert_eq!(
        s.cluster_ips.as_slice(),
        &[ClusterIp::Addr("10.0.0.1".parse().unwrap())]
    );
    assert_eq!(s.ports[0].protocol, Protocol::Tcp);
    assert_eq!(s.ports[0].target_port, PortOrName::Port(80));
    assert_eq!(s.session_affinity, SessionAffinity::None);
    assert_eq!(s.session_affinity_timeout_seconds, None);
    assert_eq!(s.internal_traffic_policy, Some(TrafficPolicy::Cluster));
    assert_eq!(s.external_traffic_policy, None);
    assert_round_trip(&s);
    let out = s.to_value();
    assert_eq!(out["spec"]["sessionAffinity"], "None");
    assert_eq!(out["status"], json!({"loadBalancer": {}}));
}

#[test]
fn namespace_defaults_to_default() {
    let s: Service = parse(&json!({"metadata": {"name": "web"}})).unwrap();
    assert_eq!(&*s.meta.namespace, "default");
}

#[test]
fn node_port_and_client_ip_defaults() {
    let s: Service = parse(&svc(&json!({
        "type": "NodePort", "sessionAffinity": "ClientIP",
        "ports": [{"port": 80, "targetPort": "http", "nodePort": 30080}]
    })))
    .unwrap();
    assert_eq!(s.external_traffic_policy, Some(TrafficPolicy::Cluster));
    assert_eq!(s.session_affinity_timeout_seconds, Some(10_800));
    assert_eq!(s.ports[0].target_port, PortOrName::Name("http".into()));
    assert_eq!(s.ports[0].node_port, Some(30080));
    assert_round_trip(&s);
}

#[test]
fn external_name_and_headless() {
    let s: Service = parse(&svc(
        &json!({"type": "ExternalName", "externalName": "db.example.com."}),
    ))
    .unwrap();
    assert_eq!(s.cluster_ip, None);
    assert_eq!(s.internal_traffic_policy, None);
    assert_round_trip(&s);
    let (_, path, _) = invalid::<Service>(&svc(&json!({"type": "ExternalName"})));
    assert_eq!(path, "spec.externalName");

    let h: Service = parse(&svc(&json!({"clusterIP": "None"}))).unwrap();
    assert_eq!(h.cluster_ip, Some(ClusterIp::Headless));
    assert_eq!(h.to_value()["spec"]["clusterIP"], "None");
}

#[test]
fn dual_stack() {
    let s: Service = parse(&svc(&json!({
        "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1", "fd00::1"],
        "ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "RequireDualStack"
    })))
    .unwrap();
    assert_eq!(s.cluster_ips.len(), 2);
    assert_round_trip(&s);
    let (_, path, _) = invalid::<Service>(&svc(
        &json!({"clusterIP": "10.0.0.2", "clusterIPs": ["10.0.0.1"]}),
    ));
    assert_eq!(path, "spec.clusterIPs[0]");
}

#[test]
fn service_validation_paths() {
    let cases: &[(Value, &str, &str)] = &[
        (
            json!({"ports": [{"port": "80"}]}),
            "spec.ports[0].port",
            "expected an integer, got a string",
        ),
        (
            json!({"ports": [{"port": 0}]}),
            "spec.ports[0].port",
            "1-65535",
        ),
        (
            json!({"ports": [{"port": 80, "nodePort": 70000}]}),
            "spec.ports[0].nodePort",
            "1-65535",
        ),
        (
            json!({"ports": [{"port": 80, "protocol": "HTTP"}]}),
            "spec.ports[0].protocol",
            "\"TCP\"",
        ),
        (
            json!({"ports": [{"port": 80, "targetPort": "no_name"}]}),
            "spec.ports[0].targetPort",
            "IANA",
        ),
        (
            json!({"ports": [{"port": 80}, {"port": 81}]}),
            "spec.ports[0].name",
            "required",
        ),
        (
            json!({"ports": [{"name": "a", "port": 80}, {"name": "a", "port": 81}]}),
            "spec.ports[1].name",
            "duplicate",
        ),
        (
            json!({"clusterIP": "10.0.0.300"}),
            "spec.clusterIP",
            "address",
        ),
        (json!({"type": "Internal"}), "spec.type", "ClusterIP"),
        (
            json!({"sessionAffinity": "Sticky"}),
            "spec.sessionAffinity",
            "ClientIP",
        ),
        (
            json!({"externalTrafficPolicy": "Global"}),
            "spec.externalTrafficPolicy",
            "Local",
        ),
        (
            json!({"externalIPs": ["x"]}),
            "spec.externalIPs[0]",
            "address",
        ),
        (
            json!({"loadBalancerSourceRanges": ["10.0.0.0/40"]}),
            "spec.loadBalancerSourceRanges[0]",
            "CIDR",
        ),
        (
            json!({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}}),
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
            "86400",
        ),
        (
            json!({"ports": {"port": 80}}),
            "spec.ports",
            "expected an array, got an object",
        ),
        (
            json!({"selector": {"app": 1}}),
            "spec.selector.app",
            "expected a string",
        ),
        (
            json!({"publishNotReadyAddresses": "yes"}),
            "spec.publishNotReadyAddresses",
            "boolean",
        ),
    ];
    for (spec, want_path, want_reason) in cases {
        let (key, path, reason) = invalid::<Service>(&svc(spec));
        assert_eq!(key.as_deref(), Some("prod/web"), "{spec}");
        assert_eq!(path, *want_path, "{spec}");
        assert!(reason.contains(want_reason), "{spec}: {reason}");
    }
}

#[test]
fn metadata_validation() {
    let (key, path, _) = invalid::<Service>(&json!({"metadata": {}}));
    assert_eq!((key, path.as_str()), (None, "metadata.name"));
    let (key, path, _) = invalid::<Service>(&json!({"metadata": {"name": "Web"}}));
    assert_eq!(
        (key.as_deref(), path.as_str()),
        (Some("default/Web"), "metadata.name")
    );
    // Service names are RFC 1035 labels, Endpoints names RFC 1123 subdomains.
    assert!(parse::<Service>(&json!({"metadata": {"name": "a.b"}})).is_err());
    assert!(parse::<Endpoints>(&json!({"metadata": {"name": "a.b"}})).is_ok());
    let (_, path, _) =
        invalid::<Service>(&json!({"metadata": {"name": "web", "namespace": "a.b"}}));
    assert_eq!(path, "metadata.namespace");
    let (key, path, _) =
        invalid::<Service>(&json!({"kind": "Endpoints", "metadata": {"name": "web"}}));
    assert_eq!(
        (key.as_deref(), path.as_str()),
        (Some("default/web"), "kind")
    );
    let (_, path, reason) = invalid::<Service>(&json!([1]));
    assert_eq!(
        (path.as_str(), reason.as_str()),
        ("", "expected an object, got an array")
    );
}

fn endpoints() -> Value {
    json!({
        "kind": "Endpoints", "metadata": {"name": "web", "namespace": "prod", "resourceVersion": "42"},
        "subsets": [{
            "addresses": [
                {"ip": "10.1.0.1", "nodeName": "node-1", "targetRef": {"kind": "Pod", "namespace": "prod", "name": "web-1", "uid": "0f8e7c4a-1b2c-4d5e-8f90-a1b2c3d4e5f6"}},
                {"ip": "10.1.0.2", "nodeName": "node-1", "hostname": "web-2"}
            ],
            "notReadyAddresses": [{"ip": "10.1.0.3"}],
            "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090, "protocol": "TCP"}]
        }]
    })
}

#[test]
fn endpoints_parse_share_and_round_trip() {
    let e: Endpoints = parse(&endpoints()).unwrap();
    let subset = &e.subsets[0];
    assert_eq!(subset.addresses.len(), 2);
    assert_eq!(subset.not_ready_addresses.len(), 1);
    let a = subset.addresses[0].node_name.as_ref().unwrap();
    let b = subset.addresses[1].node_name.as_ref().unwrap();
    assert!(Arc::ptr_eq(a, b), "node names of one parse are shared");
    assert_round_trip(&e);
    assert_eq!(
        e.to_value(),
        endpoints()
            .as_object()
            .map(|m| {
                let mut m = m.clone();
                m.insert("apiVersion".into(), json!("v1"));
                m["subsets"][0]["ports"][0]["protocol"] = json!("TCP");
                Value::Object(m)
            })
            .unwrap()
    );
}

#[test]
fn endpoints_validation_paths() {
    let mut v = endpoints();
    v["subsets"][0]["addresses"][1]["ip"] = json!("10.1.0");
    let (key, path, _) = invalid::<Endpoints>(&v);
    assert_eq!(
        (key.as_deref(), path.as_str()),
        (Some("prod/web"), "subsets[0].addresses[1].ip")
    );
    let mut v = endpoints();
    v["subsets"][0]["ports"][1] = json!({"name": "m"});
    assert_eq!(invalid::<Endpoints>(&v).1, "subsets[0].ports[1].port");
    let mut v = endpoints();
    v["subsets"][0]["addresses"][0]["hostname"] = json!("Web_1");
    assert_eq!(
        invalid::<Endpoints>(&v).1,
        "subsets[0].addresses[0].hostname"
    );
}

fn slice() -> Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abc12", "namespace": "prod", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["10.1.0.1"], "conditions": {"ready": true}, "nodeName": "node-1", "zone": "z1",
             "hints": {"forZones": [{"name": "z1"}]}},
            {"addresses": ["10.1.0.2"], "conditions": {"ready": false, "serving": true, "terminating": true}},
            {"addresses": ["10.1.0.3"], "conditions": {}}
        ],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]
    })
}

#[test]
fn slice_node_hints_are_kept() {
    let mut v = slice();
    v["endpoints"][0]["hints"]["forNodes"] = json!([{"name": "node-1"}, {"name": "node-2"}]);
    v["endpoints"][1]["hints"] = json!({"forNodes": [{"name": "node-3"}]});
    let s: EndpointSlice = parse(&v).unwrap();
    let hints: Vec<(Vec<&str>, Vec<&str>)> = s
        .endpoints
        .iter()
        .map(|e| {
            (
                e.hints_for_zones.iter().map(|z| &**z).collect(),
                e.hints_for_nodes.iter().map(|n| &**n).collect(),
            )
        })
        .collect();
    assert_eq!(
        hints,
        [
            (vec!["z1"], vec!["node-1", "node-2"]),
            (vec![], vec!["node-3"]),
            (vec![], vec![])
        ]
    );
    assert_eq!(s.to_value(), v);
    assert_round_trip(&s);
    assert_ne!(s, parse::<EndpointSlice>(&slice()).unwrap());
    v["endpoints"][1]["hints"]["forNodes"][0] = json!({});
    assert_eq!(
        invalid::<EndpointSlice>(&v).1,
        "endpoints[1].hints.forNodes[0].name"
    );
}

#[test]
fn load_balancer_ingress_keeps_ip_mode() {
    let mut v = svc(&json!({"type": "LoadBalancer", "ports": [{"port": 80}]}));
    v["status"] = json!({"loadBalancer": {"ingress": [
        {"ip": "198.51.100.7", "ipMode": "VIP"},
        {"hostname": "lb.example.com"},
        {"ip": "198.51.100.8", "ipMode": "Proxy"},
        {"ip": "2001:db8::7", "ipMode": ""}
    ]}});
    let s: Service = parse(&v).unwrap();
    let ingress = |ip: &str, ip_mode| LbIngress {
        ip: ip.parse().unwrap(),
        ip_mode,
    };
    assert_eq!(
        &*s.load_balancer_ingress,
        [
            ingress("198.51.100.7", Some(IpMode::Vip)),
            ingress("198.51.100.8", Some(IpMode::Proxy)),
            ingress("2001:db8::7", None)
        ]
    );
    assert_eq!(
        s.to_value()["status"],
        json!({"loadBalancer": {"ingress": [
            {"ip": "198.51.100.7", "ipMode": "VIP"},
            {"ip": "198.51.100.8", "ipMode": "Proxy"},
            {"ip": "2001:db8::7"}
        ]}})
    );
    assert_round_trip(&s);
    // The watch fast path reads the same.
    let line = serde_json::to_vec(&json!({"type": "ADDED", "object": v})).unwrap();
    let fast = Service::fast_event(&line, &mut Interner::new(), &mut Scratch::default()).unwrap();
    assert_eq!(*fast.object, s);
    // An unknown mode is refused, as the API server does.
    v["status"]["loadBalancer"]["ingress"][2]["ipMode"] = json!("Direct");
    let (_, path, reason) = invalid::<Service>(&v);
    assert_eq!(path, "status.loadBalancer.ingress[2].ipMode");
    assert!(reason.contains("\"VIP\", \"Proxy\""), "{reason}");
    let line = serde_json::to_vec(&json!({"type": "ADDED", "object": v})).unwrap();
    assert!(Service::fast_event(&line, &mut Interner::new(), &mut Scratch::default()).is_none());
}

#[test]
fn slice_conditions_and_round_trip() {
    let s: EndpointSlice = parse(&slice()).unwrap();
    assert_eq!(s.service_name(), Some("web"));
    let c: Vec<_> = s
        .endpoints
        .iter()
        .map(|e| {
            (
                e.conditions.is_ready(),
                e.conditions.is_serving(),
                e.conditions.is_terminating(),
            )
        })
        .collect();
    assert_eq!(
        c,
        [
            (true, true, false),
            (false, true, true),
            (true, true, false)
        ]
    );
    assert_eq!(s.to_value(), slice());
    assert_round_trip(&s);
}

#[test]
fn slice_validation_paths() {
    let mut v = slice();
    v["endpoints"][1]["addresses"][0] = json!("fd00::1");
    assert_eq!(invalid::<EndpointSlice>(&v).1, "endpoints[1].addresses[0]");
    let mut v = slice();
    v["endpoints"][0]["addresses"] = json!([]);
    assert_eq!(invalid::<EndpointSlice>(&v).1, "endpoints[0].addresses");
    let mut v = slice();
    v.as_object_mut().unwrap().remove("addressType");
    assert_eq!(invalid::<EndpointSlice>(&v).1, "addressType");
    let mut v = slice();
    v["endpoints"][2]["conditions"]["ready"] = json!("true");
    assert_eq!(
        invalid::<EndpointSlice>(&v).1,
        "endpoints[2].conditions.ready"
    );
    // Slice ports may be unnamed and without a number.
    let mut v = slice();
    v["ports"] = json!([{}]);
    assert_eq!(parse::<EndpointSlice>(&v).unwrap().ports[0].port, None);
    let mut v = slice();
    v["addressType"] = json!("FQDN");
    v["endpoints"] = json!([{"addresses": ["db.example.com"]}]);
    assert!(parse::<EndpointSlice>(&v).is_ok());
}

#[test]
fn batches_lists_and_arrays() {
    let list = json!({"kind": "ServiceList", "apiVersion": "v1", "metadata": {"resourceVersion": "9"},
        "items": [svc(&json!({})), {"metadata": {"name": "b"}}]});
    assert_eq!(parse_value_batch::<Service>(&list).unwrap().len(), 2);
    let bytes = serde_json::to_vec(&json!([svc(&json!({})), {"metadata": {"name": "b"}}])).unwrap();
    assert_eq!(parse_batch::<Service>(&bytes).unwrap().len(), 2);
    assert_eq!(
        parse_batch::<Service>(br#"{"metadata": {"name": "one"}}"#)
            .unwrap()
            .len(),
        1
    );

    let bad = json!({"kind": "ServiceList", "items": [svc(&json!({})), svc(&json!({"ports": [{"port": -1}]}))]});
    match parse_value_batch::<Service>(&bad) {
        Err(CoreError::InvalidObject { key, path, .. }) => {
            assert_eq!(key.as_deref(), Some("prod/web"));
            assert_eq!(path, "items[1].spec.ports[0].port");
        }
        other => panic!("{other:?}"),
    }
    let bad = serde_json::to_vec(&json!([{"metadata": {"name": "a"}}, {"metadata": {}}])).unwrap();
    match parse_batch::<Service>(&bad) {
        Err(CoreError::InvalidObject { path, .. }) => assert_eq!(path, "[1].metadata.name"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn broken_and_hostile_json_is_an_error_not_a_crash() {
    match parse_batch::<Service>(b"{\"metadata\": {\"name\": \"a\"},\n  oops}") {
        Err(CoreError::InvalidObject { path, reason, .. }) => {
            assert_eq!(path, "");
            assert!(reason.contains("line 2 column"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let deep = "[".repeat(100_000);
    assert!(parse_batch::<Service>(deep.as_bytes()).is_err());
    assert!(parse_batch::<Service>(b"").is_err());
    assert!(parse_batch::<Service>(b"\xff\xfe").is_err());
    let huge_port = json!({"metadata": {"name": "a"}, "spec": {"ports": [{"port": 1e300}]}});
    assert!(parse::<Service>(&huge_port).is_err());
}

#[test]
fn fast_path_reports_rule_violations_itself() {
    use _core::engine::json::FastRead;
    let mut v = svc(&json!({"ports": [{"name": "a", "port": 80}, {"name": "a", "port": 81}]}));
    v["metadata"]["resourceVersion"] = json!("7");
    let walk = parse::<Service>(&v).unwrap_err();
    let line = serde_json::to_vec(&json!({"type": "MODIFIED", "object": v})).unwrap();
    let read = Service::fast_read(&line, &mut Interner::new(), &mut Scratch::default());
    let FastRead::Invalid(invalid) = read else {
        panic!("expected the fast path to report the violation, got {read:?}");
    };
    assert_eq!(invalid.error, walk);
    assert_eq!(invalid.key, ObjKey::new("prod", "web"));
    assert_eq!(invalid.resource_version.as_deref(), Some("7"));
    let CoreError::InvalidObject { path, .. } = walk else {
        panic!()
    };
    assert_eq!(path, "spec.ports[1].name");
    // A shape it does not read (a port as text) is left to the walk.
    let v = svc(&json!({"ports": [{"port": "80"}]}));
    let line = serde_json::to_vec(&json!({"type": "MODIFIED", "object": v})).unwrap();
    let read = Service::fast_read(&line, &mut Interner::new(), &mut Scratch::default());
    assert!(matches!(read, FastRead::Declined), "{read:?}");
}
