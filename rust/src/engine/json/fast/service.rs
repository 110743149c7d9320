//! The fast path for Service events: the raw structs of a line built into a [`Service`] by the
//! rules of `json/rules/service.rs`, called in the walk's order so that the first violation is
//! the walk's too.

use std::sync::Arc;

use super::raw::{
    IntOrText, RawEvent, RawMeta, RawPort, RawService, RawSpec, RawStatus, Read, Text,
};
use super::scan::Scan;
use super::{FastEvent, FastInvalid, FastRead};
use crate::engine::json::rules::meta::{self, namespace_or_default, NameRule};
use crate::engine::json::rules::service::{self as rules, Target};
use crate::engine::json::rules::values::{api_enum, optional_port};
use crate::engine::json::rules::violation::Violation;
use crate::engine::model::{
    ApiEnum, ClusterIp, DualStack, Interner, IpFamily, IpMode, LbIngress, List, ObjectMeta,
    Protocol, Service, ServicePort, ServiceType, SessionAffinity, TrafficPolicy, Uid,
};
use crate::engine::object::ObjKey;

/// The string, or `None` when absent or empty (the walk's `opt_nonempty`).
fn nonempty<'t>(t: Option<&'t Text<'_>>) -> Option<&'t str> {
    t.map(|t| &*t.0).filter(|s| !s.is_empty())
}

/// An API enum: absent or `""` is `Ok(None)`.
fn enum_field<E>(
    t: Option<&Text<'_>>,
    parse: fn(&str) -> Option<E>,
    values: &[&str],
) -> Result<Option<E>, Violation> {
    nonempty(t).map(|s| api_enum(s, parse, values)).transpose()
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

/// Read one watch-event line as an ADDED or MODIFIED Service.
pub(crate) fn service_event<'a>(
    line: &'a [u8],
    interner: &mut Interner,
    scratch: &mut Scratch<'a>,
) -> FastRead<'a, Service> {
    read(line, interner, scratch).unwrap_or(FastRead::Declined)
}

fn read<'a>(
    line: &'a [u8],
    interner: &mut Interner,
    scratch: &mut Scratch<'a>,
) -> Option<FastRead<'a, Service>> {
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
        if kind.0 != rules::KIND {
            return None;
        }
    }
    let meta = raw.metadata.as_mut()?;
    // Without a name there is no key to remove the object under: the walk says what is wrong.
    nonempty(meta.name.as_ref())?;
    let built = service_meta(meta, interner)
        .and_then(|object_meta| service(raw, object_meta, interner, ports, ingress));
    let meta = raw.metadata.as_mut()?;
    let resource_version = meta.resource_version.take().map(|t| t.0);
    Some(match built {
        Ok(object) => FastRead::Object(FastEvent {
            object,
            resource_version,
        }),
        Err(violation) => {
            let name = nonempty(meta.name.as_ref())?;
            let namespace = namespace_or_default(meta.namespace.as_ref().map(|t| &*t.0));
            let error = violation
                .into_error(String::new())
                .with_key(Some(&format!("{namespace}/{name}")));
            FastRead::Invalid(Box::new(FastInvalid {
                key: ObjKey::new(namespace, name),
                error,
                resource_version,
            }))
        }
    })
}

/// `metadata` of a Service (name rule: RFC 1035 label); the name is there.
fn service_meta(meta: &mut RawMeta<'_>, interner: &mut Interner) -> Result<ObjectMeta, Violation> {
    let name = nonempty(meta.name.as_ref()).unwrap_or_default();
    let namespace = namespace_or_default(meta.namespace.as_ref().map(|t| &*t.0));
    meta::name(name, NameRule::Dns1035Label)
        .map_err(|v| v.in_field("name").in_field("metadata"))?;
    meta::namespace(namespace).map_err(|v| v.in_field("namespace").in_field("metadata"))?;
    Ok(ObjectMeta {
        namespace: interner.namespace(namespace),
        name: name.into(),
        uid: nonempty(meta.uid.as_ref()).map(Uid::parse),
        resource_version: nonempty(meta.resource_version.as_ref()).map(Into::into),
        labels: meta.labels.take().unwrap_or_default(),
        annotations: meta.annotations.take().unwrap_or_default(),
    })
}

/// A violation of a rule given the spec field `field`, relative to the object.
fn in_spec(field: &'static str) -> impl Fn(Violation) -> Violation {
    move |v| v.in_field(field).in_field("spec")
}

/// [`enum_field`] for the spec field `field`, violations relative to the object.
#[inline]
fn spec_enum<E: ApiEnum>(
    t: Option<&Text<'_>>,
    field: &'static str,
) -> Result<Option<E>, Violation> {
    enum_field(t, E::parse, E::VALUES).map_err(in_spec(field))
}

/// The rest of a Service, in the walk's order (`walk/service.rs`), built straight into its `Arc`
/// (a Service is a few hundred bytes, worth not moving again).
fn service(
    raw: &RawService<'_>,
    meta: ObjectMeta,
    interner: &mut Interner,
    ports: &mut Vec<ServicePort>,
    ingress: &mut Vec<LbIngress>,
) -> Result<Arc<Service>, Violation> {
    let empty;
    let spec = if let Some(spec) = &raw.spec {
        spec
    } else {
        empty = RawSpec::default();
        &empty
    };
    let service_type =
        spec_enum(spec.service_type.as_ref(), "type")?.unwrap_or(ServiceType::ClusterIp);
    let (cluster_ip, cluster_ips) =
        cluster_ips(spec, service_type).map_err(|v| v.in_field("spec"))?;
    let ip_families =
        ip_families(spec.ip_families.as_deref().unwrap_or(&[])).map_err(in_spec("ipFamilies"))?;
    let ip_family_policy = spec_enum(spec.ip_family_policy.as_ref(), "ipFamilyPolicy")?;
    service_ports(spec.ports.as_deref().unwrap_or(&[]), interner, ports)
        .map_err(in_spec("ports"))?;
    let selector = spec.selector.clone().unwrap_or_default();
    let session_affinity = spec_enum(spec.session_affinity.as_ref(), "sessionAffinity")?
        .unwrap_or(SessionAffinity::None);
    let session_affinity_timeout_seconds =
        affinity_timeout(spec, session_affinity).map_err(in_spec("sessionAffinityConfig"))?;
    let external_ips =
        texts(spec.external_ips.as_deref(), rules::external_ip).map_err(in_spec("externalIPs"))?;
    let load_balancer_source_ranges = texts(spec.load_balancer_source_ranges.as_deref(), |s| {
        rules::source_range(s).map(|()| s.into())
    })
    .map_err(in_spec("loadBalancerSourceRanges"))?;
    let external_name = nonempty(spec.external_name.as_ref());
    rules::external_name(external_name, service_type).map_err(in_spec("externalName"))?;
    let policy = |t: &Option<Text<'_>>, field| spec_enum::<TrafficPolicy>(t.as_ref(), field);
    let external_traffic_policy = policy(&spec.external_traffic_policy, "externalTrafficPolicy")?
        .or(rules::default_external_policy(service_type));
    let internal_traffic_policy = policy(&spec.internal_traffic_policy, "internalTrafficPolicy")?
        .or(rules::default_internal_policy(service_type));
    let load_balancer_ingress = ingress_list(raw.status.as_ref(), ingress)?;
    let health_check_node_port =
        optional_port(spec.health_check_node_port, true).map_err(in_spec("healthCheckNodePort"))?;
    Ok(Arc::new(Service {
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
        load_balancer_ingress,
        load_balancer_source_ranges,
        external_name: external_name.map(Into::into),
        external_traffic_policy,
        internal_traffic_policy,
        health_check_node_port,
        publish_not_ready_addresses: spec.publish_not_ready_addresses.unwrap_or(false),
    }))
}

/// A string list, each element converted by `each` (violations relative to the list); absent is
/// empty. One allocation for the usual single element.
fn texts<T>(
    items: Option<&[Text<'_>]>,
    mut each: impl FnMut(&str) -> Result<T, Violation>,
) -> Result<List<T>, Violation> {
    match items.unwrap_or(&[]) {
        [] => Ok(List::empty()),
        [one] => Ok(std::iter::once(each(&one.0).map_err(|v| v.in_index(0))?).collect()),
        many => many
            .iter()
            .enumerate()
            .map(|(i, t)| each(&t.0).map_err(|v| v.in_index(i)))
            .collect::<Result<Vec<T>, Violation>>()
            .map(List::from),
    }
}

/// `ipFamilies`, relative to the list.
fn ip_families(items: &[Text<'_>]) -> Result<DualStack<IpFamily>, Violation> {
    #[allow(clippy::inline_always)] // measured: W2 parse, see `rules/mod.rs`
    #[inline(always)]
    fn each(i: usize, t: &Text<'_>) -> Result<IpFamily, Violation> {
        rules::ip_family(&t.0).map_err(|v| v.in_index(i))
    }
    match items {
        [] => rules::ip_families(&[]),
        [a] => rules::ip_families(&[each(0, a)?]),
        [a, b] => {
            let a = each(0, a)?;
            rules::ip_families(&[a, each(1, b)?])
        }
        many => {
            let all = many
                .iter()
                .enumerate()
                .map(|(i, t)| each(i, t))
                .collect::<Result<Vec<_>, _>>()?;
            rules::ip_families(&all)
        }
    }
}

/// `clusterIP` and `clusterIPs`, relative to `spec`.
fn cluster_ips(
    spec: &RawSpec<'_>,
    service_type: ServiceType,
) -> Result<(Option<ClusterIp>, DualStack<ClusterIp>), Violation> {
    let one_text = nonempty(spec.cluster_ip.as_ref());
    let one = one_text
        .map(|s| rules::cluster_ip(s).map_err(|v| v.in_field("clusterIP")))
        .transpose()?;
    let each = |i: usize, t: &Text<'_>| {
        rules::cluster_ip(&t.0).map_err(|v| v.in_index(i).in_field("clusterIPs"))
    };
    // `clusterIPs[0]` repeats `clusterIP` as written: parsed once.
    let first = |t: &Text<'_>| match one {
        Some(ip) if Some(&*t.0) == one_text => Ok(ip),
        _ => each(0, t),
    };
    match spec.cluster_ips.as_deref().unwrap_or(&[]) {
        [] => rules::cluster_ips(one, &[], service_type),
        [a] => rules::cluster_ips(one, &[first(a)?], service_type),
        [a, b] => {
            let a = first(a)?;
            rules::cluster_ips(one, &[a, each(1, b)?], service_type)
        }
        [a, more @ ..] => {
            let mut all = vec![first(a)?];
            for (i, t) in more.iter().enumerate() {
                all.push(each(i + 1, t)?);
            }
            rules::cluster_ips(one, &all, service_type)
        }
    }
}

/// `spec.ports` into `ports`, relative to the list.
fn service_ports(
    items: &[RawPort<'_>],
    interner: &mut Interner,
    ports: &mut Vec<ServicePort>,
) -> Result<(), Violation> {
    ports.clear();
    for (i, item) in items.iter().enumerate() {
        let port = service_port(item, interner).map_err(|v| v.in_index(i))?;
        rules::port_in_list(ports, &port, items.len()).map_err(|v| v.in_index(i))?;
        ports.push(port);
    }
    Ok(())
}

/// One port, relative to it.
fn service_port(raw: &RawPort<'_>, interner: &mut Interner) -> Result<ServicePort, Violation> {
    let name = raw.name.as_ref().map_or("", |t| &*t.0);
    rules::port_name(name).map_err(|v| v.in_field("name"))?;
    let protocol = enum_field(raw.protocol.as_ref(), Protocol::parse, Protocol::VALUES)
        .map_err(|v| v.in_field("protocol"))?;
    let port = rules::port_number(raw.port).map_err(|v| v.in_field("port"))?;
    let target = match &raw.target_port {
        None => Ok(Target::Port(port)),
        Some(IntOrText::Int(n)) => rules::target_port_number(*n, port).map(Target::Port),
        Some(IntOrText::Text(s)) => rules::target_port_name(s, port),
    }
    .map_err(|v| v.in_field("targetPort"))?;
    Ok(rules::service_port(
        name,
        protocol,
        port,
        target,
        optional_port(raw.node_port, true).map_err(|v| v.in_field("nodePort"))?,
        nonempty(raw.app_protocol.as_ref()),
        interner,
    ))
}

/// The client-IP affinity timeout, relative to `sessionAffinityConfig`.
#[allow(clippy::inline_always)] // measured: W2 parse, see `rules/mod.rs`
#[inline(always)]
fn affinity_timeout(
    spec: &RawSpec<'_>,
    affinity: SessionAffinity,
) -> Result<Option<u32>, Violation> {
    let Some(config) = &spec.session_affinity_config else {
        return Ok(rules::default_affinity_timeout(affinity));
    };
    rules::affinity_config(affinity)?;
    let seconds = config.client_ip.as_ref().and_then(|c| c.timeout_seconds);
    rules::affinity_timeout(seconds)
        .map(Some)
        .map_err(|v| v.in_field("timeoutSeconds").in_field("clientIP"))
}

/// `status.loadBalancer.ingress` (`out` is scratch space), relative to the object.
fn ingress_list(
    status: Option<&RawStatus<'_>>,
    out: &mut Vec<LbIngress>,
) -> Result<List<LbIngress>, Violation> {
    let ingress = status
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or(&[]);
    out.clear();
    for (i, item) in ingress.iter().enumerate() {
        let at = |v: Violation, field| {
            v.in_field(field)
                .in_index(i)
                .in_field("ingress")
                .in_field("loadBalancer")
                .in_field("status")
        };
        if let Some(ip) = nonempty(item.ip.as_ref()) {
            out.push(LbIngress {
                ip: rules::ingress_ip(ip).map_err(|v| at(v, "ip"))?,
                ip_mode: enum_field(item.ip_mode.as_ref(), IpMode::parse, IpMode::VALUES)
                    .map_err(|v| at(v, "ipMode"))?,
            });
        }
    }
    Ok(List::from(&out[..]))
}
