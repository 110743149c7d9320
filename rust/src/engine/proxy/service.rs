//! A Service's ports as one family's proxy sees them (rule book §1): skips, per-family fields and
//! the derived predicates.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::engine::model::{
    ClusterIp, IpFamily, IpMode, List, Service, ServiceType, SessionAffinity, Str, TrafficPolicy,
};

use super::info::{port_key, PortBase};
use super::options::ProxyOptions;

/// Default `sessionAffinityConfig.clientIP.timeoutSeconds` (three hours).
const DEFAULT_AFFINITY_TIMEOUT: u32 = 10_800;

/// The family of an address.
pub fn family_of(ip: IpAddr) -> IpFamily {
    match ip {
        IpAddr::V4(_) => IpFamily::IPv4,
        IpAddr::V6(_) => IpFamily::IPv6,
    }
}

/// The addresses of `ips` in `family`, in order.
fn of_family(ips: impl Iterator<Item = IpAddr>, family: IpFamily) -> List<IpAddr> {
    ips.filter(|ip| family_of(*ip) == family)
        .collect::<Vec<_>>()
        .into()
}

/// The service-level part of each port of `svc` for the view's family, sorted by key; `None`
/// when the Service contributes nothing to this family (§1.2).
pub fn port_bases(svc: &Service, opts: &ProxyOptions) -> Option<Vec<Arc<PortBase>>> {
    if !opts.serves(&svc.meta.labels) || svc.service_type == ServiceType::ExternalName {
        return None;
    }
    let family = opts.family;
    let cluster_ip = cluster_ip_of(svc, family)?;
    let external_ips = of_family(svc.external_ips.iter().copied(), family);
    let load_balancer_vips = of_family(
        svc.load_balancer_ingress
            .iter()
            // Only VIP-mode ingresses (unset means VIP); `Proxy` ones are not short-circuited.
            .filter(|ing| ing.ip_mode != Some(IpMode::Proxy))
            .map(|ing| ing.ip),
        family,
    );
    let load_balancer_source_ranges: List<Str> = svc
        .load_balancer_source_ranges
        .iter()
        .filter_map(|r| parse_cidr_sloppy(r))
        .filter(|(ip, _)| family_of(*ip) == family)
        .map(|(ip, bits)| Str::from(format!("{ip}/{bits}")))
        .collect::<Vec<_>>()
        .into();
    let session_affinity_timeout = match svc.session_affinity {
        SessionAffinity::ClientIp => svc
            .session_affinity_timeout_seconds
            .unwrap_or(DEFAULT_AFFINITY_TIMEOUT),
        SessionAffinity::None => 0,
    };
    // `ExternallyAccessible` of the Service as a whole (any family), as `ExternalPolicyLocal` reads it.
    let service_external = matches!(
        svc.service_type,
        ServiceType::LoadBalancer | ServiceType::NodePort
    ) || (svc.service_type == ServiceType::ClusterIp
        && !svc.external_ips.is_empty());
    let external_policy_local =
        service_external && svc.external_traffic_policy == Some(TrafficPolicy::Local);
    let internal_policy_local = svc.internal_traffic_policy == Some(TrafficPolicy::Local);
    let health_check_node_port =
        if svc.service_type == ServiceType::LoadBalancer && external_policy_local {
            svc.health_check_node_port.unwrap_or(0)
        } else {
            0
        };
    let mut ports: Vec<Arc<PortBase>> = svc
        .ports
        .iter()
        .map(|p| {
            let node_port = p.node_port.unwrap_or(0);
            let externally_accessible =
                node_port != 0 || !load_balancer_vips.is_empty() || !external_ips.is_empty();
            Arc::new(PortBase {
                key: port_key(&svc.meta.namespace, &svc.meta.name, &p.name, p.protocol),
                namespace: svc.meta.namespace.clone(),
                name: svc.meta.name.clone(),
                port_name: p.name.clone(),
                protocol: p.protocol,
                ip_family: family,
                cluster_ip,
                port: p.port,
                node_port,
                external_ips: external_ips.clone(),
                load_balancer_vips: load_balancer_vips.clone(),
                load_balancer_source_ranges: load_balancer_source_ranges.clone(),
                session_affinity_timeout,
                external_policy_local,
                internal_policy_local,
                health_check_node_port,
                externally_accessible,
                uses_cluster_endpoints: !internal_policy_local || externally_accessible,
                uses_local_endpoints: internal_policy_local
                    || (external_policy_local && externally_accessible),
            })
        })
        .collect();
    ports.sort_by(|a, b| a.key.cmp(&b.key));
    Some(ports)
}

/// The cluster IP of `family` (§1.3): with no `ipFamilies`, `clusterIP` when its family matches;
/// otherwise the `clusterIPs` entry at the position of `family` in `ipFamilies`. Headless: none.
fn cluster_ip_of(svc: &Service, family: IpFamily) -> Option<IpAddr> {
    let addr = |c: Option<&ClusterIp>| match c {
        Some(ClusterIp::Addr(ip)) => Some(*ip),
        _ => None,
    };
    // Headless (or no cluster IP at all): skipped in every family.
    addr(svc.cluster_ip.as_ref())?;
    let families = svc.ip_families.as_slice();
    if families.is_empty() {
        return addr(svc.cluster_ip.as_ref()).filter(|ip| family_of(*ip) == family);
    }
    let i = families.iter().position(|f| *f == family)?;
    addr(svc.cluster_ips.as_slice().get(i)).filter(|ip| family_of(*ip) == family)
}

/// A CIDR as kube-proxy reads `loadBalancerSourceRanges`: trimmed, IPv4 octets with leading zeros
/// accepted, the address masked to its network. `None` when it does not parse.
pub fn parse_cidr_sloppy(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = text.trim().split_once('/')?;
    if bits.is_empty() || bits.len() > 3 || !bits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = bits.parse().ok()?;
    let ip = parse_ip_sloppy(ip)?;
    Some(match ip {
        IpAddr::V4(v4) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            (IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask)), bits)
        }
        IpAddr::V6(v6) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            (IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask)), bits)
        }
        _ => return None,
    })
}

/// An IP address, with IPv4 octets that have leading zeros read as decimal (Go's `ParseIPSloppy`).
pub fn parse_ip_sloppy(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    let mut octets = [0u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts
        .next()
        .is_none()
        .then(|| IpAddr::V4(Ipv4Addr::from(octets)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_are_trimmed_masked_and_read_sloppily() {
        let show = |s: &str| parse_cidr_sloppy(s).map(|(ip, b)| format!("{ip}/{b}"));
        assert_eq!(show(" 10.1.2.3/8 ").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(show("010.001.0.0/16").as_deref(), Some("10.1.0.0/16"));
        assert_eq!(show("FD00::1/64").as_deref(), Some("fd00::/64"));
        assert_eq!(show("0.0.0.0/0").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(show("10.0.0.0/33"), None);
        assert_eq!(show("10.0.0.0"), None);
        assert_eq!(show("10.0.0/8"), None);
        assert_eq!(show("10.0.0.256/8"), None);
    }
}
