//! The typed fast path of watch-event ingest: one event line read straight into small structs
//! that borrow from the input (`raw.rs`), then built into the model with the same defaults and
//! validation as the [`Node`](super::Node) walk.
//!
//! It only ever answers "here is the object" or "don't know": any type mismatch, duplicate field,
//! failed check or unusual shape returns `None`, and the caller parses the same bytes again with
//! the walk, which produces the exact error (message, key and path). So errors are the walk's by
//! construction, and only successes must agree — `rust/tests/json_equivalence.rs` checks that
//! every success equals the walk's object.

use std::borrow::Cow;
use std::sync::Arc;

use super::raw::{
    IntOrText, RawEvent, RawMeta, RawPort, RawService, RawSpec, RawStatus, Read, Text,
};
use super::scan::Scan;
use super::service::{
    cluster_ip, default_external_policy, default_internal_policy, DEFAULT_AFFINITY_TIMEOUT,
    MAX_AFFINITY_TIMEOUT,
};
use super::Kind;
use crate::engine::model::{
    ClusterIp, DualStack, Interner, IpFamily, IpFamilyPolicy, IpMode, LbIngress, List, ObjectMeta,
    PortOrName, Protocol, Service, ServicePort, ServiceType, SessionAffinity, TrafficPolicy, Uid,
};
use crate::engine::validate;

/// An ADDED or MODIFIED event read by the fast path.
#[derive(Debug)]
pub struct FastEvent<'a, K> {
    /// The object, identical to what [`Kind::from_node`] gives (built straight into its `Arc`:
    /// a Service is a few hundred bytes, worth not moving again).
    pub object: Arc<K>,
    /// `object.metadata.resourceVersion` as written (empty included), borrowed from the line.
    pub resource_version: Option<Cow<'a, str>>,
}

/// The string, or `None` when absent or empty (the walk's `opt_nonempty`).
fn nonempty<'t>(t: Option<&'t Text<'_>>) -> Option<&'t str> {
    t.map(|t| &*t.0).filter(|s| !s.is_empty())
}

/// An API enum: absent or `""` is `Ok(None)`, an unknown value is `Err(())`.
fn enum_field<E>(t: Option<&Text<'_>>, parse: fn(&str) -> Option<E>) -> Result<Option<E>, ()> {
    match nonempty(t) {
        None => Ok(None),
        Some(s) => parse(s).map(Some).ok_or(()),
    }
}

/// An optional port; with `zero_unset`, `0` is absent.
fn port_field(n: Option<i64>, zero_unset: bool) -> Result<Option<u16>, ()> {
    match n {
        None => Ok(None),
        Some(0) if zero_unset => Ok(None),
        Some(n) => validate::port(n).map(Some).map_err(drop),
    }
}

/// What the fast path reuses from one event line to the next of a chunk: the raw structs with the
/// lists in them, and the lists the model is built from. Reading an event then allocates little
/// more than what the object keeps.
#[derive(Default)]
pub struct Scratch<'a> {
    event: Option<RawEvent<'a>>,
    ports: Vec<ServicePort>,
    ingress: Vec<LbIngress>,
}

/// Parse one watch-event line as an ADDED or MODIFIED Service; `None` means "use the walk".
pub(crate) fn service_event<'a>(
    line: &'a [u8],
    interner: &mut Interner,
    scratch: &mut Scratch<'a>,
) -> Option<FastEvent<'a, Service>> {
    // One UTF-8 check of the whole line is cheaper than one per string (which reading from a
    // byte slice does); the result of reading a valid document is the same either way.
    let text = std::str::from_utf8(line).ok()?;
    let mut scan = Scan::new(text);
    let Scratch {
        event,
        ports,
        ingress,
    } = scratch;
    RawEvent::read_into(&mut scan, event)?;
    scan.end()?;
    let event = event.as_mut()?;
    if !matches!(nonempty(event.kind.as_ref()), Some("ADDED" | "MODIFIED")) {
        return None;
    }
    let raw = event.object.as_mut()?;
    if let Some(kind) = &raw.kind {
        if kind.0 != Service::KIND {
            return None;
        }
    }
    let meta = raw.metadata.as_mut()?;
    let object_meta = service_meta(meta, interner)?;
    let resource_version = meta.resource_version.take().map(|t| t.0);
    let object = Arc::new(service(raw, object_meta, interner, ports, ingress).ok()?);
    Some(FastEvent {
        object,
        resource_version,
    })
}

/// `metadata` of a Service (name rule: RFC 1035 label).
fn service_meta(meta: &mut RawMeta<'_>, interner: &mut Interner) -> Option<ObjectMeta> {
    let name = nonempty(meta.name.as_ref())?;
    let namespace = nonempty(meta.namespace.as_ref()).unwrap_or("default");
    validate::dns1035_label(name).ok()?;
    validate::dns1123_label(namespace).ok()?;
    Some(ObjectMeta {
        namespace: interner.namespace(namespace),
        name: name.into(),
        uid: nonempty(meta.uid.as_ref()).map(Uid::parse),
        resource_version: nonempty(meta.resource_version.as_ref()).map(Into::into),
        labels: meta.labels.take().unwrap_or_default(),
        annotations: meta.annotations.take().unwrap_or_default(),
    })
}

/// The rest of a Service, mirroring `service::parse`.
fn service(
    raw: &RawService<'_>,
    meta: ObjectMeta,
    interner: &mut Interner,
    ports: &mut Vec<ServicePort>,
    ingress: &mut Vec<LbIngress>,
) -> Result<Service, ()> {
    let empty;
    let spec = if let Some(spec) = &raw.spec {
        spec
    } else {
        empty = RawSpec::default();
        &empty
    };
    let service_type = enum_field(spec.service_type.as_ref(), ServiceType::parse)?
        .unwrap_or(ServiceType::ClusterIp);
    let (cluster_ip, cluster_ips) = cluster_ips(spec, service_type)?;
    let ip_families = match spec.ip_families.as_deref().unwrap_or(&[]) {
        [] => DualStack::Empty,
        [a] => DualStack::One([family(a)?]),
        [a, b] => match (family(a)?, family(b)?) {
            (a, b) if a != b => DualStack::Two([a, b]),
            _ => return Err(()),
        },
        _ => return Err(()),
    };
    let ip_family_policy = enum_field(spec.ip_family_policy.as_ref(), IpFamilyPolicy::parse)?;
    service_ports(spec.ports.as_deref().unwrap_or(&[]), interner, ports)?;
    let selector = spec.selector.clone().unwrap_or_default();
    let session_affinity = enum_field(spec.session_affinity.as_ref(), SessionAffinity::parse)?
        .unwrap_or(SessionAffinity::None);
    let session_affinity_timeout_seconds = affinity_timeout(spec, session_affinity)?;
    let external_ips = texts(spec.external_ips.as_deref(), |s| {
        validate::ip(s).map_err(drop)
    })?;
    let load_balancer_source_ranges = texts(spec.load_balancer_source_ranges.as_deref(), |s| {
        validate::cidr(s).map_err(drop).map(|()| s.into())
    })?;
    let external_name = nonempty(spec.external_name.as_ref());
    if let Some(name) = external_name {
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        validate::dns1123_subdomain(trimmed).map_err(drop)?;
    } else if service_type == ServiceType::ExternalName {
        return Err(());
    }
    let policy = |t: &Option<Text<'_>>| enum_field(t.as_ref(), TrafficPolicy::parse);
    let external_traffic_policy =
        policy(&spec.external_traffic_policy)?.or(default_external_policy(service_type));
    let internal_traffic_policy =
        policy(&spec.internal_traffic_policy)?.or(default_internal_policy(service_type));
    Ok(Service {
        meta,
        service_type,
        cluster_ip,
        cluster_ips,
        ip_families,
        ip_family_policy,
        ports: ports.drain(..).collect(),
        selector,
        session_affinity,
        session_affinity_timeout_seconds,
        external_ips,
        load_balancer_ingress: ingress_list(raw.status.as_ref(), ingress)?,
        load_balancer_source_ranges,
        external_name: external_name.map(Into::into),
        external_traffic_policy,
        internal_traffic_policy,
        health_check_node_port: port_field(spec.health_check_node_port, true)?,
        publish_not_ready_addresses: spec.publish_not_ready_addresses.unwrap_or(false),
    })
}

/// A string list, each element converted by `each`; absent is empty. One allocation for the
/// usual single element.
fn texts<T>(
    items: Option<&[Text<'_>]>,
    mut each: impl FnMut(&str) -> Result<T, ()>,
) -> Result<List<T>, ()> {
    match items.unwrap_or(&[]) {
        [] => Ok(List::empty()),
        [one] => Ok(std::iter::once(each(&one.0)?).collect()),
        many => many
            .iter()
            .map(|t| each(&t.0))
            .collect::<Result<Vec<T>, ()>>()
            .map(List::from),
    }
}

fn family(t: &Text<'_>) -> Result<IpFamily, ()> {
    IpFamily::parse(&t.0).ok_or(())
}

/// `clusterIP` and `clusterIPs`, mirroring `service::cluster_ips`.
fn cluster_ips(
    spec: &RawSpec<'_>,
    service_type: ServiceType,
) -> Result<(Option<ClusterIp>, DualStack<ClusterIp>), ()> {
    let parse = |s: &str| cluster_ip(s, &super::read::Path::Root).map_err(drop);
    let one_text = nonempty(spec.cluster_ip.as_ref());
    let one = one_text.map(parse).transpose()?;
    // `clusterIPs[0]` repeats `clusterIP` as written: parsed once.
    let first = |t: &Text<'_>| match one {
        Some(ip) if Some(&*t.0) == one_text => Ok(ip),
        _ => parse(&t.0),
    };
    let many = match (spec.cluster_ips.as_deref().unwrap_or(&[]), one) {
        ([], None) => DualStack::Empty,
        ([], Some(ip)) => DualStack::One([ip]),
        ([a], _) => DualStack::One([first(a)?]),
        ([a, b], _) => match (first(a)?, parse(&b.0)?) {
            (ClusterIp::Addr(a), ClusterIp::Addr(b)) if a.is_ipv4() != b.is_ipv4() => {
                DualStack::Two([ClusterIp::Addr(a), ClusterIp::Addr(b)])
            }
            _ => return Err(()),
        },
        _ => return Err(()),
    };
    if matches!((one, many.first()), (Some(ip), Some(first)) if ip != *first) {
        return Err(());
    }
    if service_type == ServiceType::ExternalName && !many.is_empty() {
        return Err(());
    }
    Ok((many.first().copied(), many))
}

/// `spec.ports` into `ports`, mirroring `service::service_ports` (few ports: duplicates found by
/// scanning).
fn service_ports(
    items: &[RawPort<'_>],
    interner: &mut Interner,
    ports: &mut Vec<ServicePort>,
) -> Result<(), ()> {
    ports.clear();
    for item in items {
        let port = service_port(item, interner)?;
        if port.name.is_empty() && items.len() > 1 {
            return Err(());
        }
        let clash = ports.iter().any(|p| {
            (!port.name.is_empty() && p.name == port.name)
                || (p.port == port.port && p.protocol == port.protocol)
        });
        if clash {
            return Err(());
        }
        ports.push(port);
    }
    Ok(())
}

fn service_port(raw: &RawPort<'_>, interner: &mut Interner) -> Result<ServicePort, ()> {
    let name = raw.name.as_ref().map_or("", |t| &*t.0);
    if !name.is_empty() {
        validate::dns1123_label(name).map_err(drop)?;
    }
    let protocol = enum_field(raw.protocol.as_ref(), Protocol::parse)?;
    let port = port_field(raw.port, false)?.ok_or(())?;
    let target_port = match &raw.target_port {
        // Absent, "" and 0 all mean "the same as port".
        None | Some(IntOrText::Int(0)) => PortOrName::Port(port),
        Some(IntOrText::Text(s)) if s.is_empty() => PortOrName::Port(port),
        Some(IntOrText::Text(s)) => {
            validate::iana_svc_name(s).map_err(drop)?;
            PortOrName::Name(interner.intern(s))
        }
        Some(IntOrText::Int(n)) => PortOrName::Port(validate::port(*n).map_err(drop)?),
    };
    Ok(ServicePort {
        name: interner.intern(name),
        protocol: protocol.unwrap_or(Protocol::Tcp),
        port,
        target_port,
        node_port: port_field(raw.node_port, true)?,
        app_protocol: nonempty(raw.app_protocol.as_ref()).map(|s| interner.intern(s)),
    })
}

/// Mirrors `service::affinity_timeout`.
fn affinity_timeout(spec: &RawSpec<'_>, affinity: SessionAffinity) -> Result<Option<u32>, ()> {
    let Some(config) = &spec.session_affinity_config else {
        return Ok((affinity == SessionAffinity::ClientIp).then_some(DEFAULT_AFFINITY_TIMEOUT));
    };
    if affinity == SessionAffinity::None {
        return Err(());
    }
    match config.client_ip.as_ref().and_then(|c| c.timeout_seconds) {
        None => Ok(Some(DEFAULT_AFFINITY_TIMEOUT)),
        Some(n) if (1..=MAX_AFFINITY_TIMEOUT).contains(&n) => Ok(Some(n as u32)),
        Some(_) => Err(()),
    }
}

/// Mirrors `service::ingress` (`out` is scratch space).
fn ingress_list(
    status: Option<&RawStatus<'_>>,
    out: &mut Vec<LbIngress>,
) -> Result<List<LbIngress>, ()> {
    let ingress = status
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or(&[]);
    out.clear();
    for item in ingress {
        if let Some(ip) = nonempty(item.ip.as_ref()) {
            out.push(LbIngress {
                ip: validate::ip(ip).map_err(drop)?,
                ip_mode: enum_field(item.ip_mode.as_ref(), IpMode::parse)?,
            });
        }
    }
    Ok(List::from(&out[..]))
}
