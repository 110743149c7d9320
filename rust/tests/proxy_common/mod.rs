//! Endpoint builders shared by the proxy view's rule tests.
#![allow(dead_code)]

use std::net::IpAddr;

use _core::engine::model::{List, Str};
use _core::engine::proxy::info::{EndpointInfo, EndpointMeta};

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
