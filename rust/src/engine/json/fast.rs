//! The typed fast path of watch-event ingest: one event line read by `serde` straight into small
//! structs that borrow from the input, then built into the model with the same defaults and
//! validation as the [`Node`](super::Node) walk.
//!
//! It only ever answers "here is the object" or "don't know": any type mismatch, duplicate field,
//! failed check or unusual shape returns `None`, and the caller parses the same bytes again with
//! the walk, which produces the exact error (message, key and path). So errors are the walk's by
//! construction, and only successes must agree — `rust/tests/json_equivalence.rs` checks that
//! every success equals the walk's object.
//!
//! The reading is done by [`Scan`], which refuses whatever it cannot read exactly as the walk's
//! parser does. On top of it:
//! - `null` reads as absent; a repeated known field is refused unless the earlier value was
//!   `null`, which agrees with the walk's "last one wins".
//! - Integers are read only without sign, fraction or exponent; `80.0` (which the walk accepts)
//!   falls back.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Arc;

use super::scan::Scan;
use super::service::{
    cluster_ip, default_external_policy, default_internal_policy, DEFAULT_AFFINITY_TIMEOUT,
    MAX_AFFINITY_TIMEOUT,
};
use super::Kind;
use crate::engine::model::{
    ClusterIp, DualStack, Interner, IpFamily, IpFamilyPolicy, List, ObjectMeta, PortOrName,
    Protocol, Service, ServicePort, ServiceType, SessionAffinity, StrMap, TrafficPolicy, Uid,
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

/// A value read by the fast path; `None` means "not exactly readable here, use the walk".
trait Read<'a>: Sized {
    fn read(scan: &mut Scan<'a>) -> Option<Self>;

    /// Read into `slot` (objects override this to be built in place: they are large, and moving
    /// them out of every nested call costs more than reading them).
    fn read_into(scan: &mut Scan<'a>, slot: &mut Option<Self>) -> Option<()> {
        *slot = Some(Self::read(scan)?);
        Some(())
    }

    /// Make `slot` read as absent before the next event. Lists and the structs holding them
    /// override this to keep their allocations instead: for them, empty and absent read alike.
    fn reset(slot: &mut Option<Self>) {
        *slot = None;
    }
}

/// A string borrowed from the input unless it has escapes.
struct Text<'a>(Cow<'a, str>);

impl<'a> Read<'a> for Text<'a> {
    fn read(scan: &mut Scan<'a>) -> Option<Self> {
        scan.string().map(Text)
    }
}

impl Read<'_> for i64 {
    fn read(scan: &mut Scan<'_>) -> Option<Self> {
        scan.int()
    }
}

impl Read<'_> for bool {
    fn read(scan: &mut Scan<'_>) -> Option<Self> {
        scan.boolean()
    }
}

/// An array whose elements are all `T` (a `null` element is refused, as a typed read would).
impl<'a, T: Read<'a>> Read<'a> for Vec<T> {
    fn read(scan: &mut Scan<'a>) -> Option<Self> {
        let mut slot = None;
        Self::read_into(scan, &mut slot)?;
        slot
    }

    fn read_into(scan: &mut Scan<'a>, slot: &mut Option<Self>) -> Option<()> {
        let items = slot.get_or_insert_with(Vec::new);
        items.clear();
        scan.array(|scan| {
            items.push(T::read(scan)?);
            Some(())
        })
    }

    fn reset(slot: &mut Option<Self>) {
        if let Some(items) = slot {
            items.clear();
        }
    }
}

/// An integer or a string (`targetPort`).
enum IntOrText<'a> {
    Int(i64),
    Text(Cow<'a, str>),
}

impl<'a> Read<'a> for IntOrText<'a> {
    fn read(scan: &mut Scan<'a>) -> Option<Self> {
        if scan.peek()? == b'"' {
            scan.string().map(IntOrText::Text)
        } else {
            scan.int().map(IntOrText::Int)
        }
    }
}

/// A string map's members in document order (values may be `null`).
struct Pairs<'a>(Vec<(Text<'a>, Option<Text<'a>>)>);

impl<'a> Read<'a> for Pairs<'a> {
    fn read(scan: &mut Scan<'a>) -> Option<Self> {
        let mut members = Vec::new();
        scan.object(|scan, key| {
            let value = if scan.null() {
                None
            } else {
                Some(Text(scan.string()?))
            };
            members.push((Text(key), value));
            Some(())
        })?;
        Some(Pairs(members))
    }
}

/// A string map, assembled as it is read when the members come sorted by key with string values
/// (as the API server writes them); others are read again as [`Pairs`] and built as the walk
/// builds them.
impl Read<'_> for StrMap {
    fn read(scan: &mut Scan<'_>) -> Option<Self> {
        let start = *scan;
        let sorted = StrMap::build_sorted(|entries| {
            scan.object(|scan, key| entries.push(&key, &scan.string()?))
        });
        if sorted.is_some() {
            return sorted;
        }
        *scan = start;
        Pairs::read(scan).map(|pairs| str_map(&pairs))
    }
}

/// A struct of optional fields read from a JSON object: listed keys are typed (`null` = absent),
/// others are skipped, a repeated non-null listed key is refused.
///
/// `kept` structs stay allocated between events (only their fields are reset), so the lists in
/// them keep their capacity; that makes an absent `kept` struct read as an empty one, so only
/// structs whose absence means nothing more than empty may be `kept`.
macro_rules! raw_struct {
    (kept $name:ident<$a:lifetime> { $($field:ident : $ty:ty = $key:literal,)* }) => {
        raw_struct!(@define $name<$a> { $($field: $ty = $key,)* });

        impl<$a> Read<$a> for $name<$a> {
            raw_struct!(@read $name<$a> { $($field: $ty = $key,)* });

            fn reset(slot: &mut Option<Self>) {
                if let Some(out) = slot {
                    $(<$ty as Read<$a>>::reset(&mut out.$field);)*
                }
            }
        }
    };
    ($name:ident<$a:lifetime> { $($field:ident : $ty:ty = $key:literal,)* }) => {
        raw_struct!(@define $name<$a> { $($field: $ty = $key,)* });

        impl<$a> Read<$a> for $name<$a> {
            raw_struct!(@read $name<$a> { $($field: $ty = $key,)* });
        }
    };
    (@define $name:ident<$a:lifetime> { $($field:ident : $ty:ty = $key:literal,)* }) => {
        #[derive(Default)]
        struct $name<$a> {
            $($field: Option<$ty>,)*
            _input: PhantomData<&$a str>,
        }
    };
    (@read $name:ident<$a:lifetime> { $($field:ident : $ty:ty = $key:literal,)* }) => {
        fn read(scan: &mut Scan<$a>) -> Option<Self> {
            let mut slot = None;
            Self::read_into(scan, &mut slot)?;
            slot
        }

        fn read_into(scan: &mut Scan<$a>, slot: &mut Option<Self>) -> Option<()> {
            let out = slot.get_or_insert_with(Self::default);
            $(<$ty as Read<$a>>::reset(&mut out.$field);)*
            // Which listed keys this object had (non-null), to refuse repeats.
            $(let mut $field = false;)*
            scan.object(|scan, key| {
                match &*key {
                    $($key => {
                        if $field {
                            return None;
                        }
                        if !scan.null() {
                            $field = true;
                            <$ty as Read<$a>>::read_into(scan, &mut out.$field)?;
                        }
                    })*
                    _ => scan.skip()?,
                }
                Some(())
            })
        }
    };
}

raw_struct!(kept RawEvent<'a> {
    kind: Text<'a> = "type",
    object: RawService<'a> = "object",
});

raw_struct!(kept RawService<'a> {
    kind: Text<'a> = "kind",
    metadata: RawMeta<'a> = "metadata",
    spec: RawSpec<'a> = "spec",
    status: RawStatus<'a> = "status",
});

raw_struct!(kept RawMeta<'a> {
    name: Text<'a> = "name",
    namespace: Text<'a> = "namespace",
    uid: Text<'a> = "uid",
    resource_version: Text<'a> = "resourceVersion",
    labels: StrMap = "labels",
    annotations: StrMap = "annotations",
});

raw_struct!(kept RawSpec<'a> {
    service_type: Text<'a> = "type",
    cluster_ip: Text<'a> = "clusterIP",
    cluster_ips: Vec<Text<'a>> = "clusterIPs",
    ip_families: Vec<Text<'a>> = "ipFamilies",
    ip_family_policy: Text<'a> = "ipFamilyPolicy",
    ports: Vec<RawPort<'a>> = "ports",
    selector: StrMap = "selector",
    session_affinity: Text<'a> = "sessionAffinity",
    session_affinity_config: RawAffinity<'a> = "sessionAffinityConfig",
    external_ips: Vec<Text<'a>> = "externalIPs",
    load_balancer_source_ranges: Vec<Text<'a>> = "loadBalancerSourceRanges",
    external_name: Text<'a> = "externalName",
    external_traffic_policy: Text<'a> = "externalTrafficPolicy",
    internal_traffic_policy: Text<'a> = "internalTrafficPolicy",
    health_check_node_port: i64 = "healthCheckNodePort",
    publish_not_ready_addresses: bool = "publishNotReadyAddresses",
});

raw_struct!(RawPort<'a> {
    name: Text<'a> = "name",
    protocol: Text<'a> = "protocol",
    port: i64 = "port",
    target_port: IntOrText<'a> = "targetPort",
    node_port: i64 = "nodePort",
    app_protocol: Text<'a> = "appProtocol",
});

raw_struct!(RawAffinity<'a> {
    client_ip: RawClientIp<'a> = "clientIP",
});

raw_struct!(RawClientIp<'a> {
    timeout_seconds: i64 = "timeoutSeconds",
});

raw_struct!(kept RawStatus<'a> {
    load_balancer: RawLoadBalancer<'a> = "loadBalancer",
});

raw_struct!(kept RawLoadBalancer<'a> {
    ingress: Vec<RawIngress<'a>> = "ingress",
});

raw_struct!(RawIngress<'a> {
    ip: Text<'a> = "ip",
});

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

/// A string map as the walk builds it: sorted, the last of repeated keys, `null` values dropped.
fn str_map(Pairs(members): &Pairs<'_>) -> StrMap {
    let usual = members.windows(2).all(|w| w[0].0 .0 < w[1].0 .0)
        && members.iter().all(|(_, v)| v.is_some());
    if usual {
        // The API server writes maps sorted and without nulls.
        return StrMap::from_sorted(
            members
                .iter()
                .map(|(k, v)| (&*k.0, v.as_ref().map_or("", |v| &*v.0))),
        );
    }
    // Stable sort of the reversed list: the first of equal keys is the last in the input, and a
    // `null` there drops the key.
    let mut last: Vec<(&str, Option<&str>)> = members
        .iter()
        .rev()
        .map(|(k, v)| (&*k.0, v.as_ref().map(|v| &*v.0)))
        .collect();
    last.sort_by(|a, b| a.0.cmp(b.0));
    last.dedup_by(|later, first| later.0 == first.0);
    StrMap::from_sorted(last.iter().filter_map(|&(k, v)| Some((k, v?))))
}

/// What the fast path reuses from one event line to the next of a chunk: the raw structs with the
/// lists in them, and the lists the model is built from. Reading an event then allocates little
/// more than what the object keeps.
#[derive(Default)]
pub struct Scratch<'a> {
    event: Option<RawEvent<'a>>,
    ports: Vec<ServicePort>,
    ingress: Vec<IpAddr>,
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
        namespace: interner.intern(namespace),
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
    ingress: &mut Vec<IpAddr>,
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
        load_balancer_ingress_ips: ingress_ips(raw.status.as_ref(), ingress)?,
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

/// Mirrors `service::ingress_ips` (`out` is scratch space).
fn ingress_ips(status: Option<&RawStatus<'_>>, out: &mut Vec<IpAddr>) -> Result<List<IpAddr>, ()> {
    let ingress = status
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or(&[]);
    out.clear();
    for item in ingress {
        if let Some(ip) = nonempty(item.ip.as_ref()) {
            out.push(validate::ip(ip).map_err(drop)?);
        }
    }
    Ok(List::from(&out[..]))
}
