//! What a proxy programs for one service port of one IP family (kube-proxy's `ServicePort` with
//! its categorised endpoints), and one endpoint of it (kube-proxy's `Endpoint`).

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::sync::Arc;

use crate::engine::model::{IpFamily, List, Protocol, Str};
use crate::engine::object::ObjKey;

/// The separator inside a port's [`ObjKey`] name: below every character a Service or port name
/// may hold, so keys sort by (namespace, service name, port name, protocol).
const SEP: char = '\u{0}';

/// The engine key of a service port: `namespace` and `name NUL port_name NUL PROTOCOL`.
pub fn port_key(namespace: &Str, name: &str, port_name: &str, protocol: Protocol) -> ObjKey {
    ObjKey::new(
        namespace.clone(),
        format!("{name}{SEP}{port_name}{SEP}{}", protocol.as_str()),
    )
}

/// The engine key for the public form `namespace/name:port_name/PROTOCOL`, if well formed.
pub fn parse_port_key(key: &str) -> Option<ObjKey> {
    let (namespace, rest) = key.split_once('/')?;
    let (rest, protocol) = rest.rsplit_once('/')?;
    let (name, port_name) = rest.split_once(':')?;
    let protocol = Protocol::parse(protocol)?;
    Some(port_key(&Str::from(namespace), name, port_name, protocol))
}

/// Which topology filter the cluster endpoints went through (rule book §3.2a).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopologyMode {
    /// Hints not used.
    None,
    /// Endpoints hinted for this node's zone.
    PreferSameZone,
    /// Endpoints hinted for this node.
    PreferSameNode,
}

impl TopologyMode {
    /// `""`, `"PreferSameZone"` or `"PreferSameNode"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::PreferSameZone => "PreferSameZone",
            Self::PreferSameNode => "PreferSameNode",
        }
    }
}

/// One endpoint of a service port, with the view's reading of its conditions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "kube-proxy's endpoint flags, read by name"
)]
pub struct EndpointInfo {
    /// The endpoint's first address, normalised.
    pub ip: IpAddr,
    /// The target port from the slice.
    pub port: u16,
    /// `conditions.ready` (unset: true).
    pub ready: bool,
    /// `conditions.serving` (unset: true).
    pub serving: bool,
    /// `conditions.terminating` (unset: false).
    pub terminating: bool,
    /// On this proxy's node (`nodeName` equal to the node name, compared as strings).
    pub is_local: bool,
    /// `nodeName`.
    pub node_name: Option<Str>,
    /// `zone`.
    pub zone: Option<Str>,
    /// `hostname`.
    pub hostname: Option<Str>,
    /// `hints.forZones[].name`.
    pub zone_hints: List<Str>,
    /// `hints.forNodes[].name`.
    pub node_hints: List<Str>,
}

impl EndpointInfo {
    /// `ip:port`, or `[ip]:port` for IPv6: kube-proxy's identity string, and its sort key.
    pub fn address(&self) -> String {
        let mut s = String::with_capacity(48);
        match self.ip {
            IpAddr::V4(ip) => write!(s, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(s, "[{ip}]:{}", self.port),
        }
        .expect("writing to a String cannot fail");
        s
    }

    /// The identity string's bytes in a stack buffer: sorting by it orders endpoints as
    /// kube-proxy does (by `ip:port` as a string) without a heap string per endpoint.
    pub fn sort_key(&self) -> SortKey {
        let mut key = SortKey {
            bytes: [0; 54],
            len: 0,
        };
        let mut w = KeyWriter(&mut key);
        match self.ip {
            IpAddr::V4(ip) => write!(w, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(w, "[{ip}]:{}", self.port),
        }
        .expect("an address fits the key");
        key
    }

    /// Usable as a fallback when nothing is ready (KEP-1669).
    pub fn serving_terminating(&self) -> bool {
        self.serving && self.terminating
    }
}

/// An endpoint's identity string, inline (the longest, `[` IPv6 `]:65535`, is 54 bytes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    bytes: [u8; 54],
    len: u8,
}

impl SortKey {
    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

struct KeyWriter<'a>(&'a mut SortKey);

impl fmt::Write for KeyWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let at = usize::from(self.0.len);
        let end = at + s.len();
        let room = self.0.bytes.get_mut(at..end).ok_or(fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.0.len = end as u8;
        Ok(())
    }
}

/// The service-level part of a service port: everything but its endpoints (rule book §1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "kube-proxy's service port predicates, read by name"
)]
pub struct PortBase {
    /// Engine key (see [`port_key`]).
    pub key: ObjKey,
    /// Namespace of the Service.
    pub namespace: Str,
    /// Name of the Service.
    pub name: Str,
    /// Port name (`""` for an unnamed port).
    pub port_name: Str,
    /// Protocol.
    pub protocol: Protocol,
    /// The family this port belongs to.
    pub ip_family: IpFamily,
    /// The cluster IP of this family.
    pub cluster_ip: IpAddr,
    /// The service port.
    pub port: u16,
    /// Node port (0: none).
    pub node_port: u16,
    /// `spec.externalIPs` of this family.
    pub external_ips: List<IpAddr>,
    /// Load-balancer ingress IPs of this family in VIP mode.
    pub load_balancer_vips: List<IpAddr>,
    /// `spec.loadBalancerSourceRanges` of this family, as masked networks.
    pub load_balancer_source_ranges: List<Str>,
    /// Session-affinity timeout in seconds (0: no affinity).
    pub session_affinity_timeout: u32,
    /// Externally accessible Service with `externalTrafficPolicy: Local`.
    pub external_policy_local: bool,
    /// `internalTrafficPolicy: Local`.
    pub internal_policy_local: bool,
    /// Health-check node port (0: none).
    pub health_check_node_port: u16,
    /// Node port, VIPs or external IPs of this family exist.
    pub externally_accessible: bool,
    /// Cluster endpoints are needed.
    pub uses_cluster_endpoints: bool,
    /// Local endpoints are needed.
    pub uses_local_endpoints: bool,
}

impl PortBase {
    /// `namespace/name`.
    pub fn service_key(&self) -> ObjKey {
        ObjKey::new(self.namespace.clone(), self.name.clone())
    }
}

/// A list of endpoints of one port, shared between the lists that hold the same ones.
pub type Endpoints = Arc<[Arc<EndpointInfo>]>;

/// One service port of one family with its endpoints categorised (rule book §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServicePortInfo {
    /// Service-level fields (shared by versions while the Service does not change).
    pub base: Arc<PortBase>,
    /// How the cluster endpoints were filtered.
    pub topology_mode: TopologyMode,
    /// Every endpoint of the port, sorted by identity string.
    pub endpoints: Endpoints,
    /// Endpoints for cluster traffic (`None` when the port uses none).
    pub cluster: Option<Endpoints>,
    /// Endpoints for local traffic (`None` when the port uses none).
    pub local: Option<Endpoints>,
    /// Every endpoint some traffic may reach.
    pub all_reachable: Endpoints,
    /// Some endpoint can serve (kube-proxy REJECTs when false, DROPs when only local is empty).
    pub has_any: bool,
}

impl fmt::Display for PortBase {
    /// `namespace/name:port_name/PROTOCOL`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}:{}/{}",
            self.namespace,
            self.name,
            self.port_name,
            self.protocol.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_keys_sort_as_the_tuple_and_parse_back() {
        let ns = Str::from("ns");
        let mut keys = [
            port_key(&ns, "svc-a", "", Protocol::Tcp),
            port_key(&ns, "svc", "web", Protocol::Udp),
            port_key(&ns, "svc", "web", Protocol::Tcp),
            port_key(&ns, "svc", "", Protocol::Tcp),
            port_key(&ns, "svc", "a-b", Protocol::Tcp),
        ];
        keys.sort();
        let expected = [
            port_key(&ns, "svc", "", Protocol::Tcp),
            port_key(&ns, "svc", "a-b", Protocol::Tcp),
            port_key(&ns, "svc", "web", Protocol::Tcp),
            port_key(&ns, "svc", "web", Protocol::Udp),
            port_key(&ns, "svc-a", "", Protocol::Tcp),
        ];
        assert_eq!(keys, expected);
        assert_eq!(parse_port_key("ns/svc:web/UDP"), Some(expected[3].clone()));
        assert_eq!(parse_port_key("ns/svc:/TCP"), Some(expected[0].clone()));
        assert_eq!(parse_port_key("ns/svc/TCP"), None);
        assert_eq!(parse_port_key("ns/svc:x/HTTP"), None);
    }
}
