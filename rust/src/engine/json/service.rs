//! Service (core/v1) from and to JSON, with the API server's defaults and validation.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::fast::{FastEvent, Scratch};
use super::node::{Members, Node};

use super::read::{
    check, get, integer, object, opt_array, opt_bool, opt_enum, opt_int, opt_nonempty, opt_object,
    opt_port, opt_str, str_list, str_map, Path,
};
use super::{object_head, parse_meta, put_list, put_map, put_str, root_object, Kind, NameRule};
use crate::engine::error::CoreError;
use crate::engine::model::{
    ClusterIp, DualStack, Interner, IpFamily, IpFamilyPolicy, IpMode, LbIngress, ObjectMeta,
    PortOrName, Protocol, Service, ServicePort, ServiceType, SessionAffinity, TrafficPolicy,
};
use crate::engine::validate;

/// `sessionAffinityConfig.clientIP.timeoutSeconds` when unset (3 hours), and its maximum (1 day).
pub(super) const DEFAULT_AFFINITY_TIMEOUT: u32 = 10_800;
pub(super) const MAX_AFFINITY_TIMEOUT: i64 = 86_400;

impl Kind for Service {
    const KIND: &'static str = "Service";

    fn from_node(v: &Node<'_>, interner: &mut Interner) -> Result<Self, CoreError> {
        let root = root_object(v, Self::KIND)?;
        let meta = parse_meta(root, NameRule::Dns1035Label, interner)?;
        let key = meta.key().to_string();
        parse(root, meta, interner).map_err(|e| e.with_key(Some(&key)))
    }

    fn to_value(&self) -> Value {
        to_value(self)
    }

    fn fast_event<'a>(
        line: &'a [u8],
        interner: &mut Interner,
        scratch: &mut Scratch<'a>,
    ) -> Option<FastEvent<'a, Self>> {
        super::fast::service_event(line, interner, scratch)
    }
}

pub(super) fn cluster_ip(s: &str, p: &Path<'_>) -> Result<ClusterIp, CoreError> {
    if s == "None" {
        return Ok(ClusterIp::Headless);
    }
    validate::ip(s).map(ClusterIp::Addr).map_err(|_| {
        p.err(format!(
            "expected an IPv4 or IPv6 address or \"None\" (headless), got {s:?}"
        ))
    })
}

fn parse(
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
    let ip_families: Vec<IpFamily> = str_list(spec, "ipFamilies", &sp, |s, p| {
        IpFamily::parse(s).ok_or_else(|| p.err(format!("expected \"IPv4\" or \"IPv6\", got {s:?}")))
    })?;
    let Some(ip_families) = DualStack::from_slice(&ip_families).filter(|f| match **f {
        [a, b] => a != b,
        _ => true,
    }) else {
        return Err(sp
            .field("ipFamilies")
            .err("expected at most one IPv4 and one IPv6 family"));
    };
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
        validate::ip(s).map_err(|r| p.err(r))
    })?;
    let load_balancer_source_ranges = str_list(spec, "loadBalancerSourceRanges", &sp, |s, p| {
        check(p, validate::cidr(s)).map(|()| s.into())
    })?;
    let external_name = opt_nonempty(spec, "externalName", &sp)?;
    if let Some(name) = external_name {
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        check(
            &sp.field("externalName"),
            validate::dns1123_subdomain(trimmed),
        )?;
    } else if service_type == ServiceType::ExternalName {
        return Err(sp
            .field("externalName")
            .err("required for a Service of type ExternalName"));
    }
    let policy = |key: &str| opt_enum(spec, key, &sp, TrafficPolicy::parse, TrafficPolicy::VALUES);
    let external_traffic_policy =
        policy("externalTrafficPolicy")?.or(default_external_policy(service_type));
    let internal_traffic_policy =
        policy("internalTrafficPolicy")?.or(default_internal_policy(service_type));
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

/// `clusterIP` and `clusterIPs`, each defaulted from the other as the API server does.
fn cluster_ips(
    spec: &Members<'_>,
    sp: &Path<'_>,
    service_type: ServiceType,
) -> Result<(Option<ClusterIp>, DualStack<ClusterIp>), CoreError> {
    let one = opt_nonempty(spec, "clusterIP", sp)?
        .map(|s| cluster_ip(s, &sp.field("clusterIP")))
        .transpose()?;
    let mut many = str_list(spec, "clusterIPs", sp, cluster_ip)?;
    let many_path = sp.field("clusterIPs");
    match (one, many.first()) {
        (Some(ip), None) => many.push(ip),
        (Some(ip), Some(first)) if ip != *first => {
            return Err(many_path.index(0).err(format!(
                "expected the same address as spec.clusterIP ({ip}), got {first}"
            )));
        }
        _ => {}
    }
    let many = match *many.as_slice() {
        [] => DualStack::Empty,
        [ip] => DualStack::One([ip]),
        [ClusterIp::Addr(a), ClusterIp::Addr(b)] if a.is_ipv4() != b.is_ipv4() => {
            DualStack::Two([ClusterIp::Addr(a), ClusterIp::Addr(b)])
        }
        _ => {
            return Err(many_path.err("expected at most one IPv4 and one IPv6 address, or \"None\""))
        }
    };
    if service_type == ServiceType::ExternalName && !many.is_empty() {
        return Err(sp
            .field("clusterIP")
            .err("must not be set for a Service of type ExternalName"));
    }
    Ok((many.first().copied(), many))
}

fn service_ports(
    spec: &Members<'_>,
    sp: &Path<'_>,
    interner: &mut Interner,
) -> Result<Vec<ServicePort>, CoreError> {
    let items = opt_array(spec, "ports", sp)?;
    let list = sp.field("ports");
    let mut ports = Vec::with_capacity(items.len());
    let mut names = HashSet::new();
    let mut numbers = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let p = list.index(i);
        let port = service_port(item, &p, interner)?;
        if port.name.is_empty() && items.len() > 1 {
            return Err(p
                .field("name")
                .err("required when there is more than one port"));
        }
        if !port.name.is_empty() && !names.insert(port.name.clone()) {
            return Err(p
                .field("name")
                .err(format!("duplicate port name {:?}", &*port.name)));
        }
        if !numbers.insert((port.port, port.protocol)) {
            return Err(p.err(format!(
                "duplicate port {}/{} in one Service",
                port.port,
                port.protocol.as_str()
            )));
        }
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
    if !name.is_empty() {
        check(&p.field("name"), validate::dns1123_label(name))?;
    }
    let protocol = opt_enum(m, "protocol", p, Protocol::parse, Protocol::VALUES)?;
    let Some(port) = opt_port(m, "port", p, false)? else {
        return Err(p
            .field("port")
            .err("required: expected a port number 1-65535"));
    };
    let tp = p.field("targetPort");
    let target_port = match get(m, "targetPort") {
        None => PortOrName::Port(port),
        Some(Node::String(s)) if s.is_empty() => PortOrName::Port(port),
        Some(Node::String(s)) => {
            check(&tp, validate::iana_svc_name(s))?;
            PortOrName::Name(interner.intern(s))
        }
        Some(v @ Node::Number(_)) => match integer(v, &tp)? {
            0 => PortOrName::Port(port),
            n => PortOrName::Port(validate::port(n).map_err(|r| tp.err(r))?),
        },
        Some(other) => {
            return Err(tp.err(format!(
                "expected an integer or a string, got {}",
                super::read::type_name(other)
            )))
        }
    };
    Ok(ServicePort {
        name: interner.intern(name),
        protocol: protocol.unwrap_or(Protocol::Tcp),
        port,
        target_port,
        node_port: opt_port(m, "nodePort", p, true)?,
        app_protocol: opt_nonempty(m, "appProtocol", p)?.map(|s| interner.intern(s)),
    })
}

fn affinity_timeout(
    spec: &Members<'_>,
    sp: &Path<'_>,
    affinity: SessionAffinity,
) -> Result<Option<u32>, CoreError> {
    let Some(config) = opt_object(spec, "sessionAffinityConfig", sp)? else {
        return Ok((affinity == SessionAffinity::ClientIp).then_some(DEFAULT_AFFINITY_TIMEOUT));
    };
    let cp = sp.field("sessionAffinityConfig");
    if affinity == SessionAffinity::None {
        return Err(cp.err("must not be set when sessionAffinity is \"None\""));
    }
    let Some(client) = opt_object(config, "clientIP", &cp)? else {
        return Ok(Some(DEFAULT_AFFINITY_TIMEOUT));
    };
    let clp = cp.field("clientIP");
    match opt_int(client, "timeoutSeconds", &clp)? {
        None => Ok(Some(DEFAULT_AFFINITY_TIMEOUT)),
        Some(n) if (1..=MAX_AFFINITY_TIMEOUT).contains(&n) => Ok(Some(n as u32)),
        Some(n) => Err(clp
            .field("timeoutSeconds")
            .err(format!("expected 1-86400 seconds, got {n}"))),
    }
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
            let ip = validate::ip(ip).map_err(|r| p.field("ip").err(r))?;
            let ip_mode = opt_enum(m, "ipMode", &p, IpMode::parse, IpMode::VALUES)?;
            out.push(LbIngress { ip, ip_mode });
        }
    }
    Ok(out)
}

fn to_value(s: &Service) -> Value {
    let mut spec = Map::new();
    spec.insert("type".into(), Value::from(s.service_type.as_str()));
    if let Some(ip) = s.cluster_ip {
        spec.insert("clusterIP".into(), Value::from(ip.to_string()));
    }
    put_list(
        &mut spec,
        "clusterIPs",
        s.cluster_ips
            .iter()
            .map(|ip| ip.to_string().into())
            .collect(),
    );
    put_list(
        &mut spec,
        "ipFamilies",
        s.ip_families.iter().map(|f| f.as_str().into()).collect(),
    );
    put_str(
        &mut spec,
        "ipFamilyPolicy",
        s.ip_family_policy.map(IpFamilyPolicy::as_str),
    );
    put_list(
        &mut spec,
        "ports",
        s.ports.iter().map(service_port_to_value).collect(),
    );
    put_map(&mut spec, "selector", &s.selector);
    spec.insert(
        "sessionAffinity".into(),
        Value::from(s.session_affinity.as_str()),
    );
    if let Some(timeout) = s.session_affinity_timeout_seconds {
        let client = serde_json::json!({ "clientIP": { "timeoutSeconds": timeout } });
        spec.insert("sessionAffinityConfig".into(), client);
    }
    put_list(
        &mut spec,
        "externalIPs",
        s.external_ips
            .iter()
            .map(|ip| ip.to_string().into())
            .collect(),
    );
    put_list(
        &mut spec,
        "loadBalancerSourceRanges",
        s.load_balancer_source_ranges
            .iter()
            .map(|r| Value::from(&**r))
            .collect(),
    );
    put_str(&mut spec, "externalName", s.external_name.as_deref());
    put_str(
        &mut spec,
        "externalTrafficPolicy",
        s.external_traffic_policy.map(TrafficPolicy::as_str),
    );
    put_str(
        &mut spec,
        "internalTrafficPolicy",
        s.internal_traffic_policy.map(TrafficPolicy::as_str),
    );
    if let Some(port) = s.health_check_node_port {
        spec.insert("healthCheckNodePort".into(), Value::from(port));
    }
    if s.publish_not_ready_addresses {
        spec.insert("publishNotReadyAddresses".into(), Value::Bool(true));
    }
    let mut lb = Map::new();
    put_list(
        &mut lb,
        "ingress",
        s.load_balancer_ingress
            .iter()
            .map(ingress_to_value)
            .collect(),
    );
    let mut m = object_head("v1", Service::KIND, &s.meta);
    m.insert("spec".into(), Value::Object(spec));
    m.insert("status".into(), serde_json::json!({ "loadBalancer": lb }));
    Value::Object(m)
}

/// One `status.loadBalancer.ingress` entry in API shape.
fn ingress_to_value(ingress: &LbIngress) -> Value {
    let mut m = Map::new();
    m.insert("ip".into(), Value::from(ingress.ip.to_string()));
    put_str(&mut m, "ipMode", ingress.ip_mode.map(IpMode::as_str));
    Value::Object(m)
}

/// One `spec.ports` entry in API shape.
pub fn service_port_to_value(p: &ServicePort) -> Value {
    let mut m = Map::new();
    if !p.name.is_empty() {
        m.insert("name".into(), Value::from(&*p.name));
    }
    m.insert("protocol".into(), Value::from(p.protocol.as_str()));
    m.insert("port".into(), Value::from(p.port));
    let target = match &p.target_port {
        PortOrName::Port(n) => Value::from(*n),
        PortOrName::Name(s) => Value::from(&**s),
    };
    m.insert("targetPort".into(), target);
    if let Some(n) = p.node_port {
        m.insert("nodePort".into(), Value::from(n));
    }
    put_str(&mut m, "appProtocol", p.app_protocol.as_deref());
    Value::Object(m)
}

/// The API server's default `externalTrafficPolicy`: Cluster where node ports exist, else none.
pub(super) fn default_external_policy(service_type: ServiceType) -> Option<TrafficPolicy> {
    match service_type {
        ServiceType::NodePort | ServiceType::LoadBalancer => Some(TrafficPolicy::Cluster),
        ServiceType::ClusterIp | ServiceType::ExternalName => None,
    }
}

/// The API server's default `internalTrafficPolicy`: Cluster, except for `ExternalName` services.
pub(super) fn default_internal_policy(service_type: ServiceType) -> Option<TrafficPolicy> {
    (service_type != ServiceType::ExternalName).then_some(TrafficPolicy::Cluster)
}
