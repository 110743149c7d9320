//! The endpoints of each service port, from a service's `EndpointSlice`s or its legacy
//! `Endpoints` (rule book §2).

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use crate::engine::model::{Endpoint, EndpointSlice, Endpoints, Protocol, SliceAddr, Str};

use super::info::{EndpointInfo, EndpointSource, SortKey};

/// A service port's identity as slices name it: (port name, protocol).
pub type PortId = (Str, Protocol);

/// Each port's endpoints, de-duplicated by `ip:port`, sorted by identity string.
pub type PortEndpoints = HashMap<PortId, Vec<Arc<EndpointInfo>>>;

/// Collects endpoints per port, applying the duplicate rule as they come.
/// Collects endpoints per port; duplicates are resolved once, when sorted.
#[derive(Default)]
struct Collector {
    /// Per port, in arrival order: each endpoint with its identity string.
    ports: Vec<(PortId, Vec<(SortKey, EndpointInfo)>)>,
}

impl Collector {
    fn add(&mut self, id: &PortId, ep: EndpointInfo) {
        let i = if let Some(i) = self.ports.iter().position(|(p, _)| p == id) {
            i
        } else {
            self.ports.push((id.clone(), Vec::new()));
            self.ports.len() - 1
        };
        self.ports[i].1.push((ep.sort_key(), ep));
    }

    fn finish(self) -> PortEndpoints {
        self.ports
            .into_iter()
            .map(|(id, mut list)| {
                // kube-proxy sorts by the identity string, not by address value. The sort is
                // stable, so copies of one `ip:port` stay in arrival order (slices by name).
                list.sort_by_key(|(key, _)| *key);
                let mut out: Vec<Arc<EndpointInfo>> = Vec::with_capacity(list.len());
                let mut last: Option<SortKey> = None;
                for (key, ep) in list {
                    if last == Some(key) {
                        // A copy of the `ip:port` just kept: it replaces it only when that one
                        // is terminating and this one is not (so non-terminating wins, and the
                        // first seen wins between equals).
                        let kept = out.last_mut().expect("a kept endpoint");
                        if kept.terminating && !ep.terminating {
                            *kept = Arc::new(ep);
                        }
                        continue;
                    }
                    last = Some(key);
                    out.push(Arc::new(ep));
                }
                (id, out)
            })
            .collect()
    }
}

fn is_local(node_name: Option<&Str>, this_node: &str) -> bool {
    !this_node.is_empty() && node_name.is_some_and(|n| &**n == this_node)
}

/// The endpoints of `slices` (all of one service and of the view's family, in name order).
pub fn from_slices<'a>(
    slices: impl IntoIterator<Item = &'a Arc<EndpointSlice>>,
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
            for (i, ep) in slice.endpoints.iter().enumerate() {
                if let Some(info) = slice_endpoint(slice, i, ep, number, this_node) {
                    out.add(&id, info);
                }
            }
        }
    }
    out.finish()
}

/// Endpoint `i` of `slice` at `port`; `None` when it has no address (only the first one is used).
fn slice_endpoint(
    slice: &Arc<EndpointSlice>,
    i: usize,
    ep: &Endpoint,
    port: u16,
    this_node: &str,
) -> Option<EndpointInfo> {
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
        source: EndpointSource::Slice(Arc::clone(slice), i as u32),
    })
}

/// The endpoints of a legacy `Endpoints` object of the view's family: `addresses` are ready and
/// serving, `notReadyAddresses` neither; nothing terminates and nothing has hints.
pub fn from_legacy(eps: &Arc<Endpoints>, family_v4: bool, this_node: &str) -> PortEndpoints {
    let mut out = Collector::default();
    for (s, subset) in eps.subsets.iter().enumerate() {
        for port in subset.ports.iter() {
            let Some(number) = port.port.filter(|p| *p != 0) else {
                continue;
            };
            let id = (port.name.clone(), port.protocol);
            let lists = [
                (false, &subset.addresses),
                (true, &subset.not_ready_addresses),
            ];
            for (not_ready, list) in lists {
                for (i, addr) in list.iter().enumerate() {
                    if addr.ip.is_ipv4() == family_v4 {
                        out.add(
                            &id,
                            EndpointInfo {
                                ip: addr.ip,
                                port: number,
                                ready: !not_ready,
                                serving: !not_ready,
                                terminating: false,
                                is_local: is_local(addr.node_name.as_ref(), this_node),
                                source: EndpointSource::Legacy(
                                    Arc::clone(eps),
                                    s as u32,
                                    i as u32,
                                    not_ready,
                                ),
                            },
                        );
                    }
                }
            }
        }
    }
    out.finish()
}
