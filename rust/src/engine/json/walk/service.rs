//! The walk of a Service (core/v1): each field read with its JSON path, then checked by the
//! rules of `json/rules/service.rs` in their order.

use super::read::{
    get, integer, object, opt_array, opt_bool, opt_enum, opt_int, opt_nonempty, opt_object,
    opt_port, opt_str, str_list, str_map, type_name, Path,
};
use crate::engine::error::CoreError;
use crate::engine::json::node::{Members, Node};
use crate::engine::json::rules::service::{self as rules, Target};
use crate::engine::model::{
    ClusterIp, DualStack, Interner, IpFamilyPolicy, IpMode, LbIngress, ObjectMeta, Protocol,
    Service, ServicePort, ServiceType, SessionAffinity, TrafficPolicy,
};

/// Everything after `metadata` (`walk_object` reads `kind` and `metadata` first).
pub(crate) fn parse(
    root: &Members<'_>,
    meta: ObjectMeta,
    interner: &mut Interner,
) -> Result<Service, CoreError> {
    let top = Path::Root;
    let sp = top.field("spec");
    let empty = Members::default();
    let spec = opt_object(root, "spec", &top)?.unwrap_or(&empty);

    let service_type = opt_enum(spec, "type", &sp, ServiceType::parse, ServiceType::VALUES)?
        .unwrap_or(ServiceType::ClusterIp);
    let (cluster_ip, cluster_ips) = cluster_ips(spec, &sp, service_type)?;
    let ip_families = str_list(spec, "ipFamilies", &sp, |s, p| {
        rules::ip_family(s).map_err(|v| p.violation(v))
    })?;
    let ip_families =
        rules::ip_families(&ip_families).map_err(|v| sp.field("ipFamilies").violation(v))?;
    let ip_family_policy = opt_enum(
        spec,
        "ipFamilyPolicy",
        &sp,
        IpFamilyPolicy::parse,
        IpFamilyPolicy::VALUES,
    )?;
    let ports = service_ports(spec, &sp, interner)?;
    let selector = str_map(spec, "selector", &sp)?;
    let session_affinity = opt_enum(
        spec,
        "sessionAffinity",
        &sp,
        SessionAffinity::parse,
        SessionAffinity::VALUES,
    )?
    .unwrap_or(SessionAffinity::None);
    let session_affinity_timeout_seconds = affinity_timeout(spec, &sp, session_affinity)?;
    let external_ips = str_list(spec, "externalIPs", &sp, |s, p| {
        rules::external_ip(s).map_err(|v| p.violation(v))
    })?;
    let load_balancer_source_ranges = str_list(spec, "loadBalancerSourceRanges", &sp, |s, p| {
        rules::source_range(s)
            .map(|()| s.into())
            .map_err(|v| p.violation(v))
    })?;
    let external_name = opt_nonempty(spec, "externalName", &sp)?;
    rules::external_name(external_name, service_type)
        .map_err(|v| sp.field("externalName").violation(v))?;
    let policy = |key: &str| opt_enum(spec, key, &sp, TrafficPolicy::parse, TrafficPolicy::VALUES);
    let external_traffic_policy =
        policy("externalTrafficPolicy")?.or(rules::default_external_policy(service_type));
    let internal_traffic_policy =
        policy("internalTrafficPolicy")?.or(rules::default_internal_policy(service_type));
    Ok(Service {
        meta,
        service_type,
        cluster_ip,
        cluster_ips,
        ip_families,
        ip_family_policy,
        ports: ports.into(),
        selector,
        session_affinity,
        session_affinity_timeout_seconds,
        external_ips: external_ips.into(),
        load_balancer_ingress: ingress(root)?.into(),
        load_balancer_source_ranges: load_balancer_source_ranges.into(),
        external_name: external_name.map(Into::into),
        external_traffic_policy,
        internal_traffic_policy,
        health_check_node_port: opt_port(spec, "healthCheckNodePort", &sp, true)?,
        publish_not_ready_addresses: opt_bool(spec, "publishNotReadyAddresses", &sp)?
            .unwrap_or(false),
    })
}

/// `clusterIP` and `clusterIPs`.
fn cluster_ips(
    spec: &Members<'_>,
    sp: &Path<'_>,
    service_type: ServiceType,
) -> Result<(Option<ClusterIp>, DualStack<ClusterIp>), CoreError> {
    let one = opt_nonempty(spec, "clusterIP", sp)?
        .map(|s| rules::cluster_ip(s).map_err(|v| sp.field("clusterIP").violation(v)))
        .transpose()?;
    let many = str_list(spec, "clusterIPs", sp, |s, p| {
        rules::cluster_ip(s).map_err(|v| p.violation(v))
    })?;
    rules::cluster_ips(one, &many, service_type).map_err(|v| sp.violation(v))
}

fn service_ports(
    spec: &Members<'_>,
    sp: &Path<'_>,
    interner: &mut Interner,
) -> Result<Vec<ServicePort>, CoreError> {
    let items = opt_array(spec, "ports", sp)?;
    let list = sp.field("ports");
    let mut ports = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = list.index(i);
        let port = service_port(item, &p, interner)?;
        rules::port_in_list(&ports, &port, items.len()).map_err(|v| p.violation(v))?;
        ports.push(port);
    }
    Ok(ports)
}

fn service_port(
    v: &Node<'_>,
    p: &Path<'_>,
    interner: &mut Interner,
) -> Result<ServicePort, CoreError> {
    let m = object(v, p)?;
    let name = opt_str(m, "name", p)?.unwrap_or("");
    rules::port_name(name).map_err(|v| p.field("name").violation(v))?;
    let protocol = opt_enum(m, "protocol", p, Protocol::parse, Protocol::VALUES)?;
    let port =
        rules::port_number(opt_int(m, "port", p)?).map_err(|v| p.field("port").violation(v))?;
    let tp = p.field("targetPort");
    let target = match get(m, "targetPort") {
        None => Target::Port(port),
        Some(Node::String(s)) => rules::target_port_name(s, port).map_err(|v| tp.violation(v))?,
        Some(v @ Node::Number(_)) => Target::Port(
            rules::target_port_number(integer(v, &tp)?, port).map_err(|v| tp.violation(v))?,
        ),
        Some(other) => {
            return Err(tp.err(format!(
                "expected an integer or a string, got {}",
                type_name(other)
            )))
        }
    };
    Ok(rules::service_port(
        name,
        protocol,
        port,
        target,
        opt_port(m, "nodePort", p, true)?,
        opt_nonempty(m, "appProtocol", p)?,
        interner,
    ))
}

fn affinity_timeout(
    spec: &Members<'_>,
    sp: &Path<'_>,
    affinity: SessionAffinity,
) -> Result<Option<u32>, CoreError> {
    let Some(config) = opt_object(spec, "sessionAffinityConfig", sp)? else {
        return Ok(rules::default_affinity_timeout(affinity));
    };
    let cp = sp.field("sessionAffinityConfig");
    rules::affinity_config(affinity).map_err(|v| cp.violation(v))?;
    let seconds = match opt_object(config, "clientIP", &cp)? {
        None => None,
        Some(client) => opt_int(client, "timeoutSeconds", &cp.field("clientIP"))?,
    };
    rules::affinity_timeout(seconds)
        .map(Some)
        .map_err(|v| cp.field("clientIP").field("timeoutSeconds").violation(v))
}

/// `status.loadBalancer.ingress[]` `ip` and `ipMode`, skipping hostname-only entries.
fn ingress(root: &Members<'_>) -> Result<Vec<LbIngress>, CoreError> {
    let top = Path::Root;
    let Some(status) = opt_object(root, "status", &top)? else {
        return Ok(Vec::new());
    };
    let sp = top.field("status");
    let Some(lb) = opt_object(status, "loadBalancer", &sp)? else {
        return Ok(Vec::new());
    };
    let lbp = sp.field("loadBalancer");
    let list = lbp.field("ingress");
    let mut out = Vec::new();
    for (i, item) in opt_array(lb, "ingress", &lbp)?.iter().enumerate() {
        let p = list.index(i);
        let m = object(item, &p)?;
        if let Some(ip) = opt_nonempty(m, "ip", &p)? {
            let ip = rules::ingress_ip(ip).map_err(|v| p.field("ip").violation(v))?;
            let ip_mode = opt_enum(m, "ipMode", &p, IpMode::parse, IpMode::VALUES)?;
            out.push(LbIngress { ip, ip_mode });
        }
    }
    Ok(out)
}
