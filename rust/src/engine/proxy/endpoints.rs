//! The endpoints of each service port, from a service's `EndpointSlice`s or its legacy
//! `Endpoints` (rule book §2).

use std::net::IpAddr;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use crate::engine::model::{
    Endpoint, EndpointAddress, EndpointSlice, Endpoints, List, Protocol, SliceAddr, Str,
};

use super::info::EndpointInfo;

/// A service port's identity as slices name it: (port name, protocol).
pub type PortId = (Str, Protocol);

/// Each port's endpoints, de-duplicated by `ip:port`, sorted by identity string.
pub type PortEndpoints = HashMap<PortId, Vec<Arc<EndpointInfo>>>;

/// Collects endpoints per port, applying the duplicate rule as they come.
/// One port's endpoints so far, and where each `ip:port` is in the list.
type Collected = (Vec<Arc<EndpointInfo>>, HashMap<(IpAddr, u16), usize>);

#[derive(Default)]
struct Collector {
    ports: HashMap<PortId, Collected>,
}

impl Collector {
    /// Add `ep` to port `id`. A copy of an `ip:port` already seen replaces it only when the
    /// earlier one is terminating and this one is not; otherwise the first seen stays (callers
    /// feed slices by name, so the smallest slice name wins between equals).
    fn add(&mut self, id: &PortId, ep: EndpointInfo) {
        let (list, seen) = self.ports.entry(id.clone()).or_default();
        if let Some(&i) = seen.get(&(ep.ip, ep.port)) {
            if list[i].terminating && !ep.terminating {
                list[i] = Arc::new(ep);
            }
        } else {
            seen.insert((ep.ip, ep.port), list.len());
            list.push(Arc::new(ep));
        }
    }

    fn finish(self) -> PortEndpoints {
        self.ports
            .into_iter()
            .map(|(id, (mut list, _))| {
                // kube-proxy sorts by the identity string, not by address value.
                list.sort_by_cached_key(|e| e.address());
                (id, list)
            })
            .collect()
    }
}

fn is_local(node_name: Option<&Str>, this_node: &str) -> bool {
    !this_node.is_empty() && node_name.is_some_and(|n| &**n == this_node)
}

/// The endpoints of `slices` (all of one service and of the view's family, in name order).
pub fn from_slices<'a>(
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
    this_node: &str,
) -> PortEndpoints {
    let mut out = Collector::default();
    for slice in slices {
        for port in slice.ports.iter() {
            // A port without a number joins nothing.
            let Some(number) = port.port.filter(|p| *p != 0) else {
                continue;
            };
            let id = (port.name.clone(), port.protocol);
            for ep in slice.endpoints.iter() {
                if let Some(info) = slice_endpoint(ep, number, this_node) {
                    out.add(&id, info);
                }
            }
        }
    }
    out.finish()
}

/// One slice endpoint at `port`; `None` when it has no address (only the first one is used).
fn slice_endpoint(ep: &Endpoint, port: u16, this_node: &str) -> Option<EndpointInfo> {
    let SliceAddr::Ip(ip) = ep.addresses.first()? else {
        return None;
    };
    let c = ep.conditions;
    Some(EndpointInfo {
        ip: *ip,
        port,
        // The view reads unset conditions as kube-proxy does: ready and serving true,
        // terminating false (not the API's "serving defaults to ready").
        ready: c.ready.unwrap_or(true),
        serving: c.serving.unwrap_or(true),
        terminating: c.terminating.unwrap_or(false),
        is_local: is_local(ep.node_name.as_ref(), this_node),
        node_name: ep.node_name.clone(),
        zone: ep.zone.clone(),
        hostname: ep.hostname.clone(),
        zone_hints: ep.hints_for_zones.clone(),
        node_hints: ep.hints_for_nodes.clone(),
    })
}

/// The endpoints of a legacy `Endpoints` object of the view's family: `addresses` are ready and
/// serving, `notReadyAddresses` neither; nothing terminates and nothing has hints.
pub fn from_legacy(eps: &Endpoints, family_v4: bool, this_node: &str) -> PortEndpoints {
    let mut out = Collector::default();
    for subset in eps.subsets.iter() {
        for port in subset.ports.iter() {
            let Some(number) = port.port.filter(|p| *p != 0) else {
                continue;
            };
            let id = (port.name.clone(), port.protocol);
            let all = subset
                .addresses
                .iter()
                .map(|a| (a, true))
                .chain(subset.not_ready_addresses.iter().map(|a| (a, false)));
            for (addr, ready) in all {
                if addr.ip.is_ipv4() == family_v4 {
                    out.add(&id, legacy_endpoint(addr, ready, number, this_node));
                }
            }
        }
    }
    out.finish()
}

fn legacy_endpoint(
    addr: &EndpointAddress,
    ready: bool,
    port: u16,
    this_node: &str,
) -> EndpointInfo {
    EndpointInfo {
        ip: addr.ip,
        port,
        ready,
        serving: ready,
        terminating: false,
        is_local: is_local(addr.node_name.as_ref(), this_node),
        node_name: addr.node_name.clone(),
        zone: None,
        hostname: addr.hostname.clone(),
        zone_hints: List::empty(),
        node_hints: List::empty(),
    }
}
