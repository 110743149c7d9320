//! Objects out in the Kubernetes JSON shape (camelCase), as the API server would return them:
//! defaults written out, empty lists and maps left out.

use serde_json::{Map, Value};

use crate::engine::json::rules;
use crate::engine::model::{
    Endpoint, EndpointAddress, EndpointPort, EndpointSlice, EndpointSubset, Endpoints,
    IpFamilyPolicy, IpMode, LbIngress, ObjectMeta, PortOrName, Service, ServicePort, Str, StrMap,
    TargetRef, TrafficPolicy,
};

/// An Endpoints object in API shape.
pub(crate) fn endpoints_to_value(e: &Endpoints) -> Value {
    let mut m = object_head("v1", "Endpoints", &e.meta);
    put_list(
        &mut m,
        "subsets",
        e.subsets.iter().map(subset_to_value).collect(),
    );
    Value::Object(m)
}

/// An `EndpointSlice` in API shape.
pub(crate) fn slice_to_value(s: &EndpointSlice) -> Value {
    let mut m = object_head("discovery.k8s.io/v1", "EndpointSlice", &s.meta);
    m.insert("addressType".into(), Value::from(s.address_type.as_str()));
    let endpoints = s.endpoints.iter().map(endpoint_to_value).collect();
    m.insert("endpoints".into(), Value::Array(endpoints));
    put_list(
        &mut m,
        "ports",
        s.ports.iter().map(endpoint_port_to_value).collect(),
    );
    Value::Object(m)
}

/// A Service in API shape.
pub(crate) fn service_to_value(s: &Service) -> Value {
    let mut spec = Map::new();
    spec.insert("type".into(), Value::from(s.service_type.as_str()));
    if let Some(ip) = s.cluster_ip {
        spec.insert("clusterIP".into(), Value::from(ip.to_string()));
    }
    put_list(
        &mut spec,
        "clusterIPs",
        s.cluster_ips
            .iter()
            .map(|ip| ip.to_string().into())
            .collect(),
    );
    put_list(
        &mut spec,
        "ipFamilies",
        s.ip_families.iter().map(|f| f.as_str().into()).collect(),
    );
    put_str(
        &mut spec,
        "ipFamilyPolicy",
        s.ip_family_policy.map(IpFamilyPolicy::as_str),
    );
    put_list(
        &mut spec,
        "ports",
        s.ports.iter().map(service_port_to_value).collect(),
    );
    put_map(&mut spec, "selector", &s.selector);
    spec.insert(
        "sessionAffinity".into(),
        Value::from(s.session_affinity.as_str()),
    );
    if let Some(timeout) = s.session_affinity_timeout_seconds {
        let client = serde_json::json!({ "clientIP": { "timeoutSeconds": timeout } });
        spec.insert("sessionAffinityConfig".into(), client);
    }
    put_list(
        &mut spec,
        "externalIPs",
        s.external_ips
            .iter()
            .map(|ip| ip.to_string().into())
            .collect(),
    );
    put_list(
        &mut spec,
        "loadBalancerSourceRanges",
        s.load_balancer_source_ranges
            .iter()
            .map(|r| Value::from(&**r))
            .collect(),
    );
    put_str(&mut spec, "externalName", s.external_name.as_deref());
    put_str(
        &mut spec,
        "externalTrafficPolicy",
        s.external_traffic_policy.map(TrafficPolicy::as_str),
    );
    put_str(
        &mut spec,
        "internalTrafficPolicy",
        s.internal_traffic_policy.map(TrafficPolicy::as_str),
    );
    if let Some(port) = s.health_check_node_port {
        spec.insert("healthCheckNodePort".into(), Value::from(port));
    }
    if s.publish_not_ready_addresses {
        spec.insert("publishNotReadyAddresses".into(), Value::Bool(true));
    }
    let mut lb = Map::new();
    put_list(
        &mut lb,
        "ingress",
        s.load_balancer_ingress
            .iter()
            .map(ingress_to_value)
            .collect(),
    );
    let mut m = object_head("v1", rules::service::KIND, &s.meta);
    m.insert("spec".into(), Value::Object(spec));
    m.insert("status".into(), serde_json::json!({ "loadBalancer": lb }));
    Value::Object(m)
}

/// One `status.loadBalancer.ingress` entry in API shape.
fn ingress_to_value(ingress: &LbIngress) -> Value {
    let mut m = Map::new();
    m.insert("ip".into(), Value::from(ingress.ip.to_string()));
    put_str(&mut m, "ipMode", ingress.ip_mode.map(IpMode::as_str));
    Value::Object(m)
}

/// One `spec.ports` entry in API shape.
pub fn service_port_to_value(p: &ServicePort) -> Value {
    let mut m = Map::new();
    if !p.name.is_empty() {
        m.insert("name".into(), Value::from(&*p.name));
    }
    m.insert("protocol".into(), Value::from(p.protocol.as_str()));
    m.insert("port".into(), Value::from(p.port));
    let target = match &p.target_port {
        PortOrName::Port(n) => Value::from(*n),
        PortOrName::Name(s) => Value::from(&**s),
    };
    m.insert("targetPort".into(), target);
    if let Some(n) = p.node_port {
        m.insert("nodePort".into(), Value::from(n));
    }
    put_str(&mut m, "appProtocol", p.app_protocol.as_deref());
    Value::Object(m)
}

/// One subset in API shape.
pub fn subset_to_value(s: &EndpointSubset) -> Value {
    let mut m = Map::new();
    put_list(
        &mut m,
        "addresses",
        s.addresses.iter().map(address_to_value).collect(),
    );
    put_list(
        &mut m,
        "notReadyAddresses",
        s.not_ready_addresses.iter().map(address_to_value).collect(),
    );
    put_list(
        &mut m,
        "ports",
        s.ports.iter().map(endpoint_port_to_value).collect(),
    );
    Value::Object(m)
}

/// One Endpoints address in API shape.
pub fn address_to_value(a: &EndpointAddress) -> Value {
    let mut m = Map::new();
    m.insert("ip".into(), Value::from(a.ip.to_string()));
    put_str(&mut m, "hostname", a.hostname.as_deref());
    put_str(&mut m, "nodeName", a.node_name.as_deref());
    if let Some(r) = &a.target_ref {
        m.insert("targetRef".into(), target_ref_to_value(r));
    }
    Value::Object(m)
}

/// A `targetRef` in API shape.
fn target_ref_to_value(r: &TargetRef) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "kind", r.kind.as_deref());
    put_str(&mut m, "namespace", r.namespace.as_deref());
    put_str(&mut m, "name", r.name.as_deref());
    if let Some(uid) = &r.uid {
        m.insert("uid".into(), Value::from(uid.to_string()));
    }
    Value::Object(m)
}

/// One Endpoints or `EndpointSlice` port in API shape.
pub fn endpoint_port_to_value(p: &EndpointPort) -> Value {
    let mut m = Map::new();
    if !p.name.is_empty() {
        m.insert("name".into(), Value::from(&*p.name));
    }
    if let Some(port) = p.port {
        m.insert("port".into(), Value::from(port));
    }
    m.insert("protocol".into(), Value::from(p.protocol.as_str()));
    put_str(&mut m, "appProtocol", p.app_protocol.as_deref());
    Value::Object(m)
}
/// One `EndpointSlice` endpoint in API shape.
pub fn endpoint_to_value(e: &Endpoint) -> Value {
    let mut m = Map::new();
    let addresses = e
        .addresses
        .iter()
        .map(|a| Value::from(a.to_string()))
        .collect();
    m.insert("addresses".into(), Value::Array(addresses));
    let mut c = Map::new();
    for (key, value) in [
        ("ready", e.conditions.ready),
        ("serving", e.conditions.serving),
        ("terminating", e.conditions.terminating),
    ] {
        if let Some(b) = value {
            c.insert(key.into(), Value::Bool(b));
        }
    }
    m.insert("conditions".into(), Value::Object(c));
    put_str(&mut m, "hostname", e.hostname.as_deref());
    put_str(&mut m, "nodeName", e.node_name.as_deref());
    put_str(&mut m, "zone", e.zone.as_deref());
    if let Some(r) = &e.target_ref {
        m.insert("targetRef".into(), target_ref_to_value(r));
    }
    let mut hints = Map::new();
    put_list(&mut hints, "forZones", hint_values(&e.hints_for_zones));
    put_list(&mut hints, "forNodes", hint_values(&e.hints_for_nodes));
    if !hints.is_empty() {
        m.insert("hints".into(), Value::Object(hints));
    }
    Value::Object(m)
}

/// A hint list in API shape: `[{"name": …}, …]`.
fn hint_values(names: &[Str]) -> Vec<Value> {
    names
        .iter()
        .map(|n| serde_json::json!({ "name": &**n }))
        .collect()
}

/// `metadata` in API shape.
fn meta_to_value(meta: &ObjectMeta) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::from(&*meta.name));
    m.insert("namespace".into(), Value::from(&*meta.namespace));
    if let Some(uid) = &meta.uid {
        m.insert("uid".into(), Value::from(uid.to_string()));
    }
    if let Some(rv) = &meta.resource_version {
        m.insert("resourceVersion".into(), Value::from(&**rv));
    }
    put_map(&mut m, "labels", &meta.labels);
    put_map(&mut m, "annotations", &meta.annotations);
    Value::Object(m)
}

/// Insert a string map unless empty (the API server omits empty maps).
fn put_map(m: &mut Map<String, Value>, key: &str, map: &StrMap) {
    if !map.is_empty() {
        let obj = map
            .iter()
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect();
        m.insert(key.into(), Value::Object(obj));
    }
}

/// Insert a list unless empty.
fn put_list(m: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    if !items.is_empty() {
        m.insert(key.into(), Value::Array(items));
    }
}

/// Insert an optional string.
fn put_str(m: &mut Map<String, Value>, key: &str, s: Option<&str>) {
    if let Some(s) = s {
        m.insert(key.into(), Value::from(s));
    }
}

/// An object with `apiVersion`, `kind` and `metadata` set.
fn object_head(api_version: &str, kind: &str, meta: &ObjectMeta) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("apiVersion".into(), Value::from(api_version));
    m.insert("kind".into(), Value::from(kind));
    m.insert("metadata".into(), meta_to_value(meta));
    m
}
