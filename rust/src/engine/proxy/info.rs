//! What a proxy programs for one service port of one IP family (kube-proxy's `ServicePort` with
//! its categorised endpoints), and one endpoint of it (kube-proxy's `Endpoint`).

use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

use crate::engine::model::{
    self as model, Endpoint, EndpointAddress, EndpointSlice, IpFamily, List, Protocol, Str,
};
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
/// Where an endpoint's descriptive fields live: in the slice (or legacy Endpoints) it came from,
/// so an endpoint of the view costs no copies of them, or in a record of its own.
#[derive(Debug, Clone)]
pub enum EndpointSource {
    /// Endpoint `index` of an `EndpointSlice`.
    Slice(Arc<EndpointSlice>, u32),
    /// An address of a legacy `Endpoints`: subset, index, and whether in `notReadyAddresses`.
    Legacy(Arc<model::Endpoints>, u32, u32, bool),
    /// Fields of its own (endpoints built by hand).
    Own(Arc<EndpointMeta>),
}

/// An endpoint's descriptive fields, for endpoints that have no slice behind them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EndpointMeta {
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

/// One endpoint of a service port, with the view's reading of its conditions. Equality and
/// hashing are by content (address, conditions and the descriptive fields), not by source.
#[derive(Debug, Clone)]
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
    /// Where `node_name`, `zone`, `hostname` and the hints are read from.
    pub source: EndpointSource,
}

impl EndpointInfo {
    fn slice_endpoint(&self) -> Option<&Endpoint> {
        match &self.source {
            EndpointSource::Slice(slice, i) => slice.endpoints.get(*i as usize),
            _ => None,
        }
    }

    fn legacy_address(&self) -> Option<&EndpointAddress> {
        match &self.source {
            EndpointSource::Legacy(eps, subset, i, not_ready) => {
                let subset = eps.subsets.get(*subset as usize)?;
                let list = if *not_ready {
                    &subset.not_ready_addresses
                } else {
                    &subset.addresses
                };
                list.get(*i as usize)
            }
            _ => None,
        }
    }

    fn own_meta(&self) -> Option<&EndpointMeta> {
        match &self.source {
            EndpointSource::Own(meta) => Some(meta),
            _ => None,
        }
    }

    /// A field read from the source that backs this endpoint: its slice endpoint, its legacy
    /// address, or its own copy.
    #[inline]
    fn field(
        &self,
        slice: fn(&Endpoint) -> Option<&Str>,
        legacy: fn(&EndpointAddress) -> Option<&Str>,
        own: fn(&EndpointMeta) -> Option<&Str>,
    ) -> Option<&Str> {
        if let Some(ep) = self.slice_endpoint() {
            return slice(ep);
        }
        if let Some(addr) = self.legacy_address() {
            return legacy(addr);
        }
        self.own_meta().and_then(own)
    }

    /// `nodeName`.
    pub fn node_name(&self) -> Option<&Str> {
        self.field(
            |ep| ep.node_name.as_ref(),
            |addr| addr.node_name.as_ref(),
            |m| m.node_name.as_ref(),
        )
    }

    /// `zone` (legacy Endpoints have none).
    pub fn zone(&self) -> Option<&Str> {
        if let Some(ep) = self.slice_endpoint() {
            return ep.zone.as_ref();
        }
        self.own_meta().and_then(|m| m.zone.as_ref())
    }

    /// `hostname`.
    pub fn hostname(&self) -> Option<&Str> {
        self.field(
            |ep| ep.hostname.as_ref(),
            |addr| addr.hostname.as_ref(),
            |m| m.hostname.as_ref(),
        )
    }

    /// `hints.forZones[].name`.
    pub fn zone_hints(&self) -> &[Str] {
        if let Some(ep) = self.slice_endpoint() {
            return &ep.hints_for_zones;
        }
        self.own_meta().map_or(&[], |m| &m.zone_hints)
    }

    /// `hints.forNodes[].name`.
    pub fn node_hints(&self) -> &[Str] {
        if let Some(ep) = self.slice_endpoint() {
            return &ep.hints_for_nodes;
        }
        self.own_meta().map_or(&[], |m| &m.node_hints)
    }

    /// An endpoint with fields of its own (not read from a slice).
    #[allow(
        clippy::fn_params_excessive_bools,
        reason = "the four flags, by name at call sites"
    )]
    pub fn own(
        ip: IpAddr,
        port: u16,
        (ready, serving, terminating, is_local): (bool, bool, bool, bool),
        meta: EndpointMeta,
    ) -> Self {
        Self {
            ip,
            port,
            ready,
            serving,
            terminating,
            is_local,
            source: EndpointSource::Own(Arc::new(meta)),
        }
    }

    /// The descriptive fields as a record of their own.
    pub fn meta(&self) -> EndpointMeta {
        EndpointMeta {
            node_name: self.node_name().cloned(),
            zone: self.zone().cloned(),
            hostname: self.hostname().cloned(),
            zone_hints: self.zone_hints().iter().cloned().collect(),
            node_hints: self.node_hints().iter().cloned().collect(),
        }
    }

    /// The same endpoint with its descriptive fields changed by `edit`.
    #[must_use]
    pub fn with_meta(mut self, edit: impl FnOnce(&mut EndpointMeta)) -> Self {
        let mut meta = self.meta();
        edit(&mut meta);
        self.source = EndpointSource::Own(Arc::new(meta));
        self
    }

    fn content(&self) -> impl PartialEq + Hash + '_ {
        (
            (self.ip, self.port),
            (self.ready, self.serving, self.terminating, self.is_local),
            (self.node_name(), self.zone(), self.hostname()),
            (self.zone_hints(), self.node_hints()),
        )
    }
}

impl PartialEq for EndpointInfo {
    fn eq(&self, other: &Self) -> bool {
        self.content() == other.content()
    }
}

impl Eq for EndpointInfo {}

impl Hash for EndpointInfo {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.content().hash(state);
    }
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
        match self.ip {
            // The common case, written by hand: the formatting machinery costs more than the
            // rest of building an endpoint.
            IpAddr::V4(ip) => {
                for (i, octet) in ip.octets().into_iter().enumerate() {
                    if i > 0 {
                        key.push(b'.');
                    }
                    key.push_decimal(u32::from(octet));
                }
                key.push(b':');
                key.push_decimal(u32::from(self.port));
            }
            IpAddr::V6(ip) => {
                write!(KeyWriter(&mut key), "[{ip}]:{}", self.port)
                    .expect("an address fits the key");
            }
        }
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
    fn push(&mut self, b: u8) {
        self.bytes[usize::from(self.len)] = b;
        self.len += 1;
    }

    fn push_decimal(&mut self, mut n: u32) {
        let mut digits = [0u8; 5];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in digits[..count].iter().rev() {
            self.push(d);
        }
    }

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
    fn the_sort_key_is_the_identity_string() {
        for (ip, port) in [
            ("10.0.0.1", 80),
            ("255.255.255.255", 65535),
            ("0.0.0.0", 0),
            ("10.100.3.42", 8080),
            ("fd00::1", 443),
            ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
        ] {
            let e = EndpointInfo::own(
                ip.parse().expect("an IP"),
                port,
                (true, true, false, false),
                EndpointMeta::default(),
            );
            assert_eq!(e.sort_key().as_bytes(), e.address().as_bytes());
        }
    }

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
