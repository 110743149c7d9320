//! Endpoint builders shared by the proxy view's rule tests.
#![allow(dead_code)]

use std::net::IpAddr;

use _core::engine::model::{List, Str};
use _core::engine::proxy::info::{EndpointInfo, EndpointMeta};
use _core::engine::proxy::options::Topology;

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
