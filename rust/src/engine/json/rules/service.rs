//! The API server's rules and defaults for a Service (core/v1), in the order both readers apply
//! them: `spec.type`, `clusterIP`/`clusterIPs`, `ipFamilies`, `ipFamilyPolicy`, `ports`,
//! `selector`, `sessionAffinity` and its timeout, `externalIPs`, `loadBalancerSourceRanges`,
//! `externalName`, the traffic policies, `status.loadBalancer.ingress`, `healthCheckNodePort`.
//!
//! Paths in violations are relative to what each rule is given: `spec` for the rules of several
//! spec fields, the field itself for the rules of one value, a port for the port rules.

use std::net::IpAddr;

use super::values::{format, ip};
use super::violation::Violation;
use crate::engine::model::{
    ClusterIp, DualStack, Interner, IpFamily, PortOrName, Protocol, ServicePort, ServiceType,
    SessionAffinity, TrafficPolicy,
};
use crate::engine::validate;

/// The `kind` of a Service.
pub(crate) const KIND: &str = "Service";

/// `sessionAffinityConfig.clientIP.timeoutSeconds` when unset (3 hours).
pub(crate) const DEFAULT_AFFINITY_TIMEOUT: u32 = 10_800;

/// The largest `timeoutSeconds` (1 day).
const MAX_AFFINITY_TIMEOUT: i64 = 86_400;

/// One of `clusterIP`, `clusterIPs[i]`: an address, or `"None"` for a headless Service.
#[allow(clippy::inline_always)] // measured: W2 parse, see `rules/mod.rs`
#[inline(always)]
pub(crate) fn cluster_ip(s: &str) -> Result<ClusterIp, Violation> {
    if s == "None" {
        return Ok(ClusterIp::Headless);
    }
    ip(s).map(ClusterIp::Addr).map_err(|_| {
        Violation::here(format!(
            "expected an IPv4 or IPv6 address or \"None\" (headless), got {s:?}"
        ))
    })
}

/// `clusterIP` and `clusterIPs` (each already read by [`cluster_ip`]), each defaulted from the
/// other as the API server does; relative to `spec`.
#[allow(clippy::inline_always)] // measured: W2 parse, see `rules/mod.rs`
#[inline(always)]
pub(crate) fn cluster_ips(
    one: Option<ClusterIp>,
    many: &[ClusterIp],
    service_type: ServiceType,
) -> Result<(Option<ClusterIp>, DualStack<ClusterIp>), Violation> {
    let many = match (one, many) {
        (Some(ip), []) => DualStack::One([ip]),
        (Some(ip), [first, ..]) if ip != *first => {
            return Err(Violation::here(format!(
                "expected the same address as spec.clusterIP ({ip}), got {first}"
            ))
            .in_index(0)
            .in_field("clusterIPs"));
        }
        (_, []) => DualStack::Empty,
        (_, [ip]) => DualStack::One([*ip]),
        (_, [ClusterIp::Addr(a), ClusterIp::Addr(b)]) if a.is_ipv4() != b.is_ipv4() => {
            DualStack::Two([ClusterIp::Addr(*a), ClusterIp::Addr(*b)])
        }
        _ => {
            return Err(Violation::here(
                "expected at most one IPv4 and one IPv6 address, or \"None\"",
            )
            .in_field("clusterIPs"))
        }
    };
    if service_type == ServiceType::ExternalName && !many.is_empty() {
        return Err(
            Violation::here("must not be set for a Service of type ExternalName")
                .in_field("clusterIP"),
        );
    }
    Ok((many.first().copied(), many))
}

/// One of `ipFamilies`.
#[inline]
pub(crate) fn ip_family(s: &str) -> Result<IpFamily, Violation> {
    IpFamily::parse(s)
        .ok_or_else(|| Violation::here(format!("expected \"IPv4\" or \"IPv6\", got {s:?}")))
}

/// `ipFamilies` (each already read by [`ip_family`]): at most one of each.
#[inline]
pub(crate) fn ip_families(families: &[IpFamily]) -> Result<DualStack<IpFamily>, Violation> {
    match *families {
        [] => Ok(DualStack::Empty),
        [a] => Ok(DualStack::One([a])),
        [a, b] if a != b => Ok(DualStack::Two([a, b])),
        _ => Err(Violation::here(
            "expected at most one IPv4 and one IPv6 family",
        )),
    }
}

/// A port's `name`: empty, or an RFC 1123 label.
#[inline]
pub(crate) fn port_name(name: &str) -> Result<(), Violation> {
    if name.is_empty() {
        Ok(())
    } else {
        format(validate::dns1123_label(name))
    }
}

/// A port's `port` (required).
#[inline]
pub(crate) fn port_number(n: Option<i64>) -> Result<u16, Violation> {
    match n {
        None => Err(Violation::here("required: expected a port number 1-65535")),
        Some(n) => super::values::port(n),
    }
}

/// What `targetPort` amounts to.
pub(crate) enum Target<'s> {
    /// A port number.
    Port(u16),
    /// A named container port.
    Name(&'s str),
}

/// A `targetPort` given as a number: `0` means the same as `port`.
#[inline]
pub(crate) fn target_port_number(n: i64, port: u16) -> Result<u16, Violation> {
    match n {
        0 => Ok(port),
        n => super::values::port(n),
    }
}

/// A `targetPort` given as a string: `""` means the same as `port`, else an IANA service name.
#[inline]
pub(crate) fn target_port_name(s: &str, port: u16) -> Result<Target<'_>, Violation> {
    if s.is_empty() {
        return Ok(Target::Port(port));
    }
    format(validate::iana_svc_name(s))?;
    Ok(Target::Name(s))
}

/// A port from its checked values, with the API server's defaults (protocol TCP) and its strings
/// interned.
#[inline]
pub(crate) fn service_port(
    name: &str,
    protocol: Option<Protocol>,
    port: u16,
    target: Target<'_>,
    node_port: Option<u16>,
    app_protocol: Option<&str>,
    interner: &mut Interner,
) -> ServicePort {
    ServicePort {
        name: interner.intern(name),
        protocol: protocol.unwrap_or(Protocol::Tcp),
        port,
        target_port: match target {
            Target::Port(n) => PortOrName::Port(n),
            Target::Name(s) => PortOrName::Name(interner.intern(s)),
        },
        node_port,
        app_protocol: app_protocol.map(|s| interner.intern(s)),
    }
}

/// A port among the ones before it (`earlier`) in a list of `count`: a name when there are
/// several, unique names, unique number and protocol. Relative to the port.
#[allow(clippy::inline_always)] // measured: W2 parse, see `rules/mod.rs`
#[inline(always)]
pub(crate) fn port_in_list(
    earlier: &[ServicePort],
    port: &ServicePort,
    count: usize,
) -> Result<(), Violation> {
    if port.name.is_empty() && count > 1 {
        return Err(Violation::here("required when there is more than one port").in_field("name"));
    }
    // One pass over the earlier ports; a duplicate name is reported before a duplicate number.
    let mut same_number = false;
    for p in earlier {
        if !port.name.is_empty() && p.name == port.name {
            return Err(
                Violation::here(format!("duplicate port name {:?}", &*port.name)).in_field("name"),
            );
        }
        same_number |= p.port == port.port && p.protocol == port.protocol;
    }
    if same_number {
        return Err(Violation::here(format!(
            "duplicate port {}/{} in one Service",
            port.port,
            port.protocol.as_str()
        )));
    }
    Ok(())
}

/// The timeout when `sessionAffinityConfig` is absent.
#[inline]
pub(crate) fn default_affinity_timeout(affinity: SessionAffinity) -> Option<u32> {
    (affinity == SessionAffinity::ClientIp).then_some(DEFAULT_AFFINITY_TIMEOUT)
}

/// `sessionAffinityConfig` is present: only allowed with `ClientIP` affinity.
#[inline]
pub(crate) fn affinity_config(affinity: SessionAffinity) -> Result<(), Violation> {
    if affinity == SessionAffinity::None {
        Err(Violation::here(
            "must not be set when sessionAffinity is \"None\"",
        ))
    } else {
        Ok(())
    }
}

/// `sessionAffinityConfig.clientIP.timeoutSeconds` (the config being allowed).
#[inline]
pub(crate) fn affinity_timeout(seconds: Option<i64>) -> Result<u32, Violation> {
    match seconds {
        None => Ok(DEFAULT_AFFINITY_TIMEOUT),
        Some(n) if (1..=MAX_AFFINITY_TIMEOUT).contains(&n) => Ok(n as u32),
        Some(n) => Err(Violation::here(format!(
            "expected 1-86400 seconds, got {n}"
        ))),
    }
}

/// One of `externalIPs`.
#[inline]
pub(crate) fn external_ip(s: &str) -> Result<IpAddr, Violation> {
    ip(s)
}

/// One of `loadBalancerSourceRanges` (kept as given).
#[inline]
pub(crate) fn source_range(s: &str) -> Result<(), Violation> {
    format(validate::cidr(s))
}

/// `externalName` (`""` read as absent): a DNS name (a trailing dot allowed), required for an
/// `ExternalName` Service.
#[inline]
pub(crate) fn external_name(
    name: Option<&str>,
    service_type: ServiceType,
) -> Result<(), Violation> {
    match name {
        Some(name) => format(validate::dns1123_subdomain(
            name.strip_suffix('.').unwrap_or(name),
        )),
        None if service_type == ServiceType::ExternalName => Err(Violation::here(
            "required for a Service of type ExternalName",
        )),
        None => Ok(()),
    }
}

/// The API server's default `externalTrafficPolicy`: Cluster where node ports exist, else none.
#[inline]
pub(crate) fn default_external_policy(service_type: ServiceType) -> Option<TrafficPolicy> {
    match service_type {
        ServiceType::NodePort | ServiceType::LoadBalancer => Some(TrafficPolicy::Cluster),
        ServiceType::ClusterIp | ServiceType::ExternalName => None,
    }
}

/// The API server's default `internalTrafficPolicy`: Cluster, except for `ExternalName` services.
#[inline]
pub(crate) fn default_internal_policy(service_type: ServiceType) -> Option<TrafficPolicy> {
    (service_type != ServiceType::ExternalName).then_some(TrafficPolicy::Cluster)
}

/// `status.loadBalancer.ingress[].ip` (`""` read as absent: a hostname-only entry).
#[inline]
pub(crate) fn ingress_ip(s: &str) -> Result<IpAddr, Violation> {
    ip(s)
}
