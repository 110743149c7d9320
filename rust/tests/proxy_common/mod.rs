//! Endpoint builders shared by the proxy view's rule tests.
#![allow(dead_code)]

use std::net::IpAddr;
use std::sync::Arc;

use _core::engine::model::{IpFamily, List, Str};
use _core::engine::proxy::categorize::categorize;
use _core::engine::proxy::info::{
    EndpointInfo, EndpointMeta, Endpoints, PortBase, ServicePortInfo,
};
use _core::engine::proxy::options::{ProxyOptions, Topology};

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn names(list: &[&str]) -> List<Str> {
    list.iter().map(|s| Str::from(*s)).collect()
}

/// A ready, non-local endpoint `addr:80` without hints.
pub fn ep(addr: &str) -> EndpointInfo {
    EndpointInfo::own(
        ip(addr),
        80,
        (true, true, false, false),
        EndpointMeta::default(),
    )
}

/// A serving, terminating, not ready endpoint `addr:80`.
pub fn serving_terminating(addr: &str) -> EndpointInfo {
    EndpointInfo {
        ready: false,
        terminating: true,
        ..ep(addr)
    }
}

/// Options for `family` without a proxy name, preferring the same node.
pub fn opts(family: IpFamily) -> ProxyOptions {
    ProxyOptions {
        family,
        service_proxy_name: None,
        prefer_same_node: true,
        start: 0.0,
    }
}

pub fn node(name: &str, zone: &str) -> Topology {
    Topology {
        node_name: name.into(),
        zone: zone.into(),
    }
}

/// The node most tests look from.
pub fn here() -> Topology {
    node("node-a", "zone-a")
}

/// Categorise `eps` for `node` (sorted here by identity string, as the view hands them over).
pub fn cat_at(
    base: &Arc<PortBase>,
    eps: Vec<EndpointInfo>,
    node: &Topology,
    gate: bool,
) -> ServicePortInfo {
    let mut eps: Vec<Arc<EndpointInfo>> = eps.into_iter().map(Arc::new).collect();
    eps.sort_by_cached_key(|e| e.address());
    categorize(base, &eps, node, gate)
}

pub fn addrs(list: &Endpoints) -> Vec<String> {
    list.iter().map(|e| e.address()).collect()
}

pub fn cluster(p: &ServicePortInfo) -> Vec<String> {
    addrs(p.cluster.as_ref().expect("the port uses cluster endpoints"))
}
