//! Endpoint builders shared by the proxy view's rule tests.
#![allow(dead_code)]

use std::net::IpAddr;

use _core::engine::model::{List, Str};
use _core::engine::proxy::info::EndpointInfo;

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn names(list: &[&str]) -> List<Str> {
    list.iter().map(|s| Str::from(*s)).collect()
}

/// A ready, non-local endpoint `addr:80` without hints.
pub fn ep(addr: &str) -> EndpointInfo {
    EndpointInfo {
        ip: ip(addr),
        port: 80,
        ready: true,
        serving: true,
        terminating: false,
        is_local: false,
        node_name: None,
        zone: None,
        hostname: None,
        zone_hints: List::empty(),
        node_hints: List::empty(),
    }
}
