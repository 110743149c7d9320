//! Which endpoints of a service port this node uses for cluster and for local traffic
//! (rule book §3, kube-proxy's `CategorizeEndpoints`).

use std::sync::Arc;

use super::info::{EndpointInfo, Endpoints, PortBase, ServicePortInfo, TopologyMode};
use super::options::Topology;

/// Categorise `endpoints` (sorted by identity string) of the port `base` for `node`.
pub fn categorize(
    base: &Arc<PortBase>,
    endpoints: &[Arc<EndpointInfo>],
    node: &Topology,
    prefer_same_node: bool,
) -> ServicePortInfo {
    let all: Endpoints = endpoints.into();
    let mut mode = TopologyMode::None;
    let mut has_any = false;
    let mut cluster = None;
    if base.uses_cluster_endpoints {
        mode = topology_mode(endpoints, node, prefer_same_node);
        let mut picked: Vec<_> = endpoints
            .iter()
            .filter(|e| e.ready && passes(e, mode, node))
            .cloned()
            .collect();
        if picked.is_empty() {
            // No ready endpoint means no topology: the fallback ignores hints and locality.
            picked = endpoints
                .iter()
                .filter(|e| e.serving_terminating())
                .cloned()
                .collect();
        }
        has_any = !picked.is_empty();
        cluster = Some(shared(&all, picked));
    }
    let all_reachable;
    let mut local = None;
    if base.uses_local_endpoints {
        let (mut local_ready, mut local_st) = (false, false);
        for e in endpoints {
            if e.ready {
                has_any = true;
                local_ready |= e.is_local;
            } else if e.serving_terminating() {
                has_any = true;
                local_st |= e.is_local;
            }
        }
        let used_terminating = !local_ready && local_st;
        let picked: Vec<_> = if local_ready {
            endpoints
                .iter()
                .filter(|e| e.is_local && e.ready)
                .cloned()
                .collect()
        } else if local_st {
            endpoints
                .iter()
                .filter(|e| e.is_local && e.serving_terminating())
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let local_list = shared(&all, picked);
        all_reachable = match &cluster {
            None => Arc::clone(&local_list),
            Some(c) if mode == TopologyMode::None && !used_terminating => Arc::clone(c),
            Some(c) => union(c, &local_list),
        };
        local = Some(local_list);
    } else {
        all_reachable = cluster.clone().unwrap_or_else(|| Arc::from(Vec::new()));
    }
    ServicePortInfo {
        base: Arc::clone(base),
        topology_mode: mode,
        endpoints: all,
        cluster,
        local,
        all_reachable,
        has_any,
    }
}

/// The topology mode from the ready endpoints' hints (§3.2a): hints count only when every ready
/// endpoint has some, and one of them names this node (or its zone).
fn topology_mode(
    endpoints: &[Arc<EndpointInfo>],
    node: &Topology,
    prefer_same_node: bool,
) -> TopologyMode {
    let mut ready = endpoints.iter().filter(|e| e.ready).peekable();
    if ready.peek().is_none() {
        return TopologyMode::None;
    }
    let ready: Vec<_> = ready.collect();
    if prefer_same_node
        && !node.node_name.is_empty()
        && ready.iter().all(|e| !e.node_hints().is_empty())
        && ready.iter().any(|e| names(e.node_hints(), &node.node_name))
    {
        return TopologyMode::PreferSameNode;
    }
    if !node.zone.is_empty()
        && ready.iter().all(|e| !e.zone_hints().is_empty())
        && ready.iter().any(|e| names(e.zone_hints(), &node.zone))
    {
        return TopologyMode::PreferSameZone;
    }
    TopologyMode::None
}

fn names(hints: &[crate::engine::model::Str], name: &str) -> bool {
    hints.iter().any(|h| &**h == name)
}

/// Whether a ready endpoint passes the mode's filter (on hint values, not on its own fields).
fn passes(e: &EndpointInfo, mode: TopologyMode, node: &Topology) -> bool {
    match mode {
        TopologyMode::None => true,
        TopologyMode::PreferSameZone => names(e.zone_hints(), &node.zone),
        TopologyMode::PreferSameNode => names(e.node_hints(), &node.node_name),
    }
}

/// `picked` as a list, sharing `all` when it is every endpoint.
fn shared(all: &Endpoints, picked: Vec<Arc<EndpointInfo>>) -> Endpoints {
    if picked.len() == all.len() {
        Arc::clone(all)
    } else {
        picked.into()
    }
}

/// Cluster and local endpoints together, each identity once, sorted by identity string.
fn union(cluster: &Endpoints, local: &Endpoints) -> Endpoints {
    let mut out: Vec<Arc<EndpointInfo>> = cluster.to_vec();
    for e in local.iter() {
        if !cluster.iter().any(|c| c.ip == e.ip && c.port == e.port) {
            out.push(Arc::clone(e));
        }
    }
    out.sort_by_cached_key(|e| e.sort_key());
    out.into()
}
