//! Service, Endpoints and `EndpointSlice` as plain, immutable, `Arc`-shared structs (SPEC §2).
//!
//! Built for memory: strings are `Arc<str>` (repeated ones shared through an [`Interner`] during
//! one parse batch), string maps are packed into one allocation each ([`StrMap`]), IPs are
//! `IpAddr`, dual-stack fields are inline ([`DualStack`]), empty lists take no allocation
//! ([`List`]), and pod UIDs are kept as 16 bytes ([`Uid`]). Defaults the API server applies are applied by the parser, so two
//! objects compare equal exactly when the API server would return the same JSON for them.

mod dual;
mod strmap;
mod values;

use std::fmt;
use std::net::IpAddr;

use crate::engine::object::{ObjKey, Object};

pub use dual::DualStack;
pub use strmap::StrMap;
pub use values::{Interner, List, Str, Uid};

/// The metadata fields this package keeps (Kubernetes `ObjectMeta`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectMeta {
    /// Namespace; `"default"` when the input had none.
    pub namespace: Str,
    /// Object name.
    pub name: Str,
    /// `metadata.uid`.
    pub uid: Option<Uid>,
    /// `metadata.resourceVersion`.
    pub resource_version: Option<Str>,
    /// `metadata.labels`.
    pub labels: StrMap,
    /// `metadata.annotations`.
    pub annotations: StrMap,
}

impl ObjectMeta {
    /// The `namespace/name` key.
    pub fn key(&self) -> ObjKey {
        ObjKey {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// A closed set of API string values (declared by `api_enum!`), so that a reader can be given the
/// type alone rather than its `parse` and `VALUES`.
pub trait ApiEnum: Sized {
    /// Every accepted value, for error messages.
    const VALUES: &'static [&'static str];

    /// The value named by `s` (case-sensitive, as the API server is).
    fn parse(s: &str) -> Option<Self>;
}

/// Declares a closed set of API string values as an enum with `as_str`/`parse`.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $var:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $var),+
        }

        impl $name {
            /// Every accepted value, for error messages.
            pub const VALUES: &'static [&'static str] = &[$($text),+];

            /// The API string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$var => $text),+
                }
            }

            /// The value named by `s` (case-sensitive, as the API server is).
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$var),)+
                    _ => None,
                }
            }
        }

        impl ApiEnum for $name {
            const VALUES: &'static [&'static str] = Self::VALUES;

            #[inline]
            fn parse(s: &str) -> Option<Self> {
                Self::parse(s)
            }
        }
    };
}

api_enum!(
    /// `spec.type` of a Service.
    ServiceType {
        /// `ClusterIP` (the default).
        ClusterIp = "ClusterIP",
        /// `NodePort`.
        NodePort = "NodePort",
        /// `LoadBalancer`.
        LoadBalancer = "LoadBalancer",
        /// `ExternalName`.
        ExternalName = "ExternalName",
    }
);

api_enum!(
    /// A port protocol.
    Protocol {
        /// `TCP` (the default).
        Tcp = "TCP",
        /// `UDP`.
        Udp = "UDP",
        /// `SCTP`.
        Sctp = "SCTP",
    }
);

api_enum!(
    /// `spec.sessionAffinity` of a Service.
    SessionAffinity {
        /// `None` (the default).
        None = "None",
        /// `ClientIP`.
        ClientIp = "ClientIP",
    }
);

api_enum!(
    /// `spec.externalTrafficPolicy` / `spec.internalTrafficPolicy`.
    TrafficPolicy {
        /// `Cluster`.
        Cluster = "Cluster",
        /// `Local`.
        Local = "Local",
    }
);

api_enum!(
    /// An entry of `spec.ipFamilies`.
    IpFamily {
        /// `IPv4`.
        IPv4 = "IPv4",
        /// `IPv6`.
        IPv6 = "IPv6",
    }
);

api_enum!(
    /// `spec.ipFamilyPolicy` of a Service.
    IpFamilyPolicy {
        /// `SingleStack`.
        SingleStack = "SingleStack",
        /// `PreferDualStack`.
        PreferDualStack = "PreferDualStack",
        /// `RequireDualStack`.
        RequireDualStack = "RequireDualStack",
    }
);

api_enum!(
    /// `addressType` of an `EndpointSlice`.
    AddressType {
        /// `IPv4`.
        IPv4 = "IPv4",
        /// `IPv6`.
        IPv6 = "IPv6",
        /// `FQDN`.
        Fqdn = "FQDN",
    }
);

api_enum!(
    /// `status.loadBalancer.ingress[].ipMode` of a Service.
    IpMode {
        /// `VIP`: the load balancer delivers packets with the ingress IP as destination.
        Vip = "VIP",
        /// `Proxy`: the load balancer delivers packets with its own or the node's IP as
        /// destination, so the proxy must not short-circuit traffic to the ingress IP.
        Proxy = "Proxy",
    }
);

/// One entry of `status.loadBalancer.ingress` that has an `ip` (18 bytes, no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LbIngress {
    /// `ip`.
    pub ip: IpAddr,
    /// `ipMode`; `None` when unset.
    pub ip_mode: Option<IpMode>,
}

/// A cluster IP: an address, or `"None"` for a headless Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterIp {
    /// `"None"`: headless.
    Headless,
    /// An allocated address.
    Addr(IpAddr),
}

impl fmt::Display for ClusterIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Headless => f.write_str("None"),
            Self::Addr(ip) => write!(f, "{ip}"),
        }
    }
}

/// `targetPort`: a number or a named container port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortOrName {
    /// A port number.
    Port(u16),
    /// A container port name (IANA service name).
    Name(Str),
}

/// One entry of a Service's `spec.ports`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServicePort {
    /// Port name; empty when unnamed.
    pub name: Str,
    /// Protocol (default TCP).
    pub protocol: Protocol,
    /// The Service port.
    pub port: u16,
    /// Target port; defaults to `port`.
    pub target_port: PortOrName,
    /// Node port (`NodePort` / `LoadBalancer` Services).
    pub node_port: Option<u16>,
    /// `appProtocol`.
    pub app_protocol: Option<Str>,
}

/// A Kubernetes Service (core/v1), reduced to what a service proxy uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.type` (default `ClusterIP`).
    pub service_type: ServiceType,
    /// `spec.clusterIP`; `None` when unset (e.g. `ExternalName`).
    pub cluster_ip: Option<ClusterIp>,
    /// `spec.clusterIPs`; defaults to `[clusterIP]`.
    pub cluster_ips: DualStack<ClusterIp>,
    /// `spec.ipFamilies`.
    pub ip_families: DualStack<IpFamily>,
    /// `spec.ipFamilyPolicy`.
    pub ip_family_policy: Option<IpFamilyPolicy>,
    /// `spec.ports`.
    pub ports: List<ServicePort>,
    /// `spec.selector`.
    pub selector: StrMap,
    /// `spec.sessionAffinity` (default None).
    pub session_affinity: SessionAffinity,
    /// `spec.sessionAffinityConfig.clientIP.timeoutSeconds` (10800 by default with `ClientIP`).
    pub session_affinity_timeout_seconds: Option<u32>,
    /// `spec.externalIPs`.
    pub external_ips: List<IpAddr>,
    /// `status.loadBalancer.ingress[]`: `ip` and `ipMode` (hostname-only entries are not kept).
    pub load_balancer_ingress: List<LbIngress>,
    /// `spec.loadBalancerSourceRanges` (CIDRs as given).
    pub load_balancer_source_ranges: List<Str>,
    /// `spec.externalName`.
    pub external_name: Option<Str>,
    /// `spec.externalTrafficPolicy` (Cluster by default for `NodePort`/`LoadBalancer`, else unset).
    pub external_traffic_policy: Option<TrafficPolicy>,
    /// `spec.internalTrafficPolicy` (Cluster by default, unset for `ExternalName`).
    pub internal_traffic_policy: Option<TrafficPolicy>,
    /// `spec.healthCheckNodePort`.
    pub health_check_node_port: Option<u16>,
    /// `spec.publishNotReadyAddresses`.
    pub publish_not_ready_addresses: bool,
}

/// The `targetRef` of an endpoint address (an `ObjectReference`, usually to a Pod).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetRef {
    /// `kind`, e.g. `"Pod"`.
    pub kind: Option<Str>,
    /// `namespace`.
    pub namespace: Option<Str>,
    /// `name`.
    pub name: Option<Str>,
    /// `uid`.
    pub uid: Option<Uid>,
}

/// One address of an Endpoints subset. Kept compact: there is one per backend pod.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointAddress {
    /// `ip`.
    pub ip: IpAddr,
    /// `hostname`.
    pub hostname: Option<Str>,
    /// `nodeName`.
    pub node_name: Option<Str>,
    /// `targetRef`.
    pub target_ref: Option<TargetRef>,
}

/// A port of an Endpoints subset or an `EndpointSlice`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointPort {
    /// Port name; empty when unnamed.
    pub name: Str,
    /// Port number; always set in Endpoints, optional in an `EndpointSlice`.
    pub port: Option<u16>,
    /// Protocol (default TCP).
    pub protocol: Protocol,
    /// `appProtocol`.
    pub app_protocol: Option<Str>,
}

/// One entry of `Endpoints.subsets`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointSubset {
    /// Ready addresses.
    pub addresses: List<EndpointAddress>,
    /// Addresses not ready yet.
    pub not_ready_addresses: List<EndpointAddress>,
    /// Ports.
    pub ports: List<EndpointPort>,
}

/// A Kubernetes Endpoints object (core/v1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoints {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `subsets`.
    pub subsets: List<EndpointSubset>,
}

/// One address of an `EndpointSlice` endpoint: an IP, or a name for `addressType: FQDN`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SliceAddr {
    /// An `IPv4` or `IPv6` address.
    Ip(IpAddr),
    /// A fully qualified domain name.
    Fqdn(Str),
}

impl fmt::Display for SliceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Fqdn(name) => f.write_str(name),
        }
    }
}

/// The `conditions` of an `EndpointSlice` endpoint, as given (unset stays unset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Conditions {
    /// `ready`; unset means ready.
    pub ready: Option<bool>,
    /// `serving`; unset means the same as `ready`.
    pub serving: Option<bool>,
    /// `terminating`; unset means false.
    pub terminating: Option<bool>,
}

impl Conditions {
    /// `ready` with the API's default applied.
    pub fn is_ready(self) -> bool {
        self.ready.unwrap_or(true)
    }

    /// `serving` with the API's default applied.
    pub fn is_serving(self) -> bool {
        self.serving.unwrap_or_else(|| self.is_ready())
    }

    /// `terminating` with the API's default applied.
    pub fn is_terminating(self) -> bool {
        self.terminating.unwrap_or(false)
    }
}

/// One endpoint of an `EndpointSlice`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// `addresses` (1 to 100).
    pub addresses: List<SliceAddr>,
    /// `conditions`.
    pub conditions: Conditions,
    /// `hostname`.
    pub hostname: Option<Str>,
    /// `nodeName`.
    pub node_name: Option<Str>,
    /// `zone`.
    pub zone: Option<Str>,
    /// `targetRef`.
    pub target_ref: Option<TargetRef>,
    /// `hints.forZones[].name`.
    pub hints_for_zones: List<Str>,
    /// `hints.forNodes[].name`.
    pub hints_for_nodes: List<Str>,
}

/// A Kubernetes `EndpointSlice` (discovery.k8s.io/v1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointSlice {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `addressType`.
    pub address_type: AddressType,
    /// `endpoints`.
    pub endpoints: List<Endpoint>,
    /// `ports`.
    pub ports: List<EndpointPort>,
}

/// The label naming the Service an `EndpointSlice` belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

impl EndpointSlice {
    /// The owning Service's name (label `kubernetes.io/service-name`), if labelled.
    pub fn service_name(&self) -> Option<&str> {
        self.meta.labels.get(SERVICE_NAME_LABEL)
    }
}

impl Object for Service {
    type Notes = ();
    fn key(&self) -> ObjKey {
        self.meta.key()
    }
}

impl Object for Endpoints {
    type Notes = ();
    fn key(&self) -> ObjKey {
        self.meta.key()
    }
}

impl Object for EndpointSlice {
    type Notes = ();
    fn key(&self) -> ObjKey {
        self.meta.key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_address_is_compact() {
        assert!(std::mem::size_of::<EndpointAddress>() <= 128);
    }
}
