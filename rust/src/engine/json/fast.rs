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
//! What keeps the two readers in step:
//! - Unknown fields are read by [`Skip`] through `deserialize_any`, exactly as a `Node` reads them
//!   (same number parsing, same string checks, same recursion limit of 128). `serde`'s
//!   `IgnoredAny` is *not* used: `serde_json` skips it without the depth limit and without
//!   range-checking numbers (`1e400`), so it accepts documents the walk rejects.
//! - Objects are read with `deserialize_map` (a struct read would also accept an array).
//! - `null` reads as absent; a repeated known field is an error (fallback) unless the earlier value
//!   was `null`, which agrees with the walk's "last one wins".
//! - Integers are read as `i64` only; floats such as `80.0` (which the walk accepts) fall back.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::service::{
    cluster_ip, default_external_policy, default_internal_policy, DEFAULT_AFFINITY_TIMEOUT,
    MAX_AFFINITY_TIMEOUT,
};
use super::Kind;
use crate::engine::model::{
    ClusterIp, Interner, IpFamily, IpFamilyPolicy, ObjectMeta, PortOrName, Protocol, Service,
    ServicePort, ServiceType, SessionAffinity, StrMap, TrafficPolicy, Uid,
};
use crate::engine::validate;

/// An ADDED or MODIFIED event read by the fast path.
#[derive(Debug)]
pub struct FastEvent<'a, K> {
    /// The object, identical to what [`Kind::from_node`] gives.
    pub object: K,
    /// `object.metadata.resourceVersion` as written (empty included), borrowed from the line.
    pub resource_version: Option<Cow<'a, str>>,
}

/// A string borrowed from the input unless it has escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(s)))
    }
}

/// Any JSON value, checked exactly as a `Node` would read it and then dropped.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_none<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        Skip::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        // Keys are read as the walk reads them (as strings), values as any value.
        while map.next_key::<Text<'de>>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

/// An integer or a string (`targetPort`).
enum IntOrText<'a> {
    Int(i64),
    Text(Cow<'a, str>),
}

impl<'de> Deserialize<'de> for IntOrText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntOrTextVisitor)
    }
}

struct IntOrTextVisitor;

impl<'de> Visitor<'de> for IntOrTextVisitor {
    type Value = IntOrText<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string")
    }

    fn visit_i64<E>(self, n: i64) -> Result<IntOrText<'de>, E> {
        Ok(IntOrText::Int(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<IntOrText<'de>, E> {
        i64::try_from(n)
            .map(IntOrText::Int)
            .map_err(|_| E::custom("out of range"))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<IntOrText<'de>, E> {
        Ok(IntOrText::Text(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<IntOrText<'de>, E> {
        Ok(IntOrText::Text(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<IntOrText<'de>, E> {
        Ok(IntOrText::Text(Cow::Owned(s)))
    }
}

/// A string map's members in document order (values may be `null`).
struct Pairs<'a>(Vec<(Text<'a>, Option<Text<'a>>)>);

impl<'de> Deserialize<'de> for Pairs<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PairsVisitor)
    }
}

struct PairsVisitor;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = Pairs<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs<'de>, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some(entry) = map.next_entry()? {
            out.push(entry);
        }
        Ok(Pairs(out))
    }
}

/// A struct of optional fields read from a JSON object: listed keys are typed (`null` = absent),
/// others are [`Skip`]ped, a repeated non-null listed key is an error.
macro_rules! raw_struct {
    ($name:ident<$a:lifetime> { $($field:ident : $ty:ty = $key:literal,)* }) => {
        struct $name<$a> {
            $($field: Option<$ty>,)*
            _input: PhantomData<&$a str>,
        }

        impl<$a> Deserialize<$a> for $name<$a> {
            fn deserialize<D: Deserializer<$a>>(d: D) -> Result<Self, D::Error> {
                struct V;

                impl<$a> Visitor<$a> for V {
                    type Value = $name<$a>;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("an object (", stringify!($name), ")"))
                    }

                    fn visit_map<A: MapAccess<$a>>(
                        self,
                        mut map: A,
                    ) -> Result<$name<$a>, A::Error> {
                        let mut out = $name { $($field: None,)* _input: PhantomData };
                        while let Some(key) = map.next_key::<Text<$a>>()? {
                            match &*key.0 {
                                $($key => {
                                    if out.$field.is_some() {
                                        return Err(de::Error::custom("repeated field"));
                                    }
                                    out.$field = map.next_value::<Option<$ty>>()?;
                                })*
                                _ => {
                                    map.next_value::<Skip>()?;
                                }
                            }
                        }
                        Ok(out)
                    }
                }

                d.deserialize_map(V)
            }
        }
    };
}

raw_struct!(RawEvent<'a> {
    kind: Text<'a> = "type",
    // The large parts are boxed: moving them through serde's layers by value costs more.
    object: Box<RawService<'a>> = "object",
});

raw_struct!(RawService<'a> {
    kind: Text<'a> = "kind",
    metadata: Box<RawMeta<'a>> = "metadata",
    spec: Box<RawSpec<'a>> = "spec",
    status: RawStatus<'a> = "status",
});

raw_struct!(RawMeta<'a> {
    name: Text<'a> = "name",
    namespace: Text<'a> = "namespace",
    uid: Text<'a> = "uid",
    resource_version: Text<'a> = "resourceVersion",
    labels: Pairs<'a> = "labels",
    annotations: Pairs<'a> = "annotations",
});

raw_struct!(RawSpec<'a> {
    service_type: Text<'a> = "type",
    cluster_ip: Text<'a> = "clusterIP",
    cluster_ips: Vec<Text<'a>> = "clusterIPs",
    ip_families: Vec<Text<'a>> = "ipFamilies",
    ip_family_policy: Text<'a> = "ipFamilyPolicy",
    ports: Vec<RawPort<'a>> = "ports",
    selector: Pairs<'a> = "selector",
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

raw_struct!(RawStatus<'a> {
    load_balancer: RawLoadBalancer<'a> = "loadBalancer",
});

raw_struct!(RawLoadBalancer<'a> {
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
fn str_map(pairs: Option<&Pairs<'_>>, mut interner: Option<&mut Interner>) -> StrMap {
    let Some(Pairs(members)) = pairs else {
        return StrMap::default();
    };
    let in_order = members.windows(2).all(|w| w[0].0 .0 < w[1].0 .0);
    let mut sorted: Vec<(&str, Option<&str>)> = if in_order {
        // The usual case (the API server writes maps sorted): nothing to sort or drop.
        members
            .iter()
            .map(|(k, v)| (&*k.0, v.as_ref().map(|v| &*v.0)))
            .collect()
    } else {
        members
            .iter()
            .rev()
            .map(|(k, v)| (&*k.0, v.as_ref().map(|v| &*v.0)))
            .collect()
    };
    if !in_order {
        // Stable sort of the reversed list: the first of equal keys is the last in the input.
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        sorted.dedup_by(|later, first| later.0 == first.0);
    }
    let pairs = sorted
        .into_iter()
        .filter_map(|(k, v)| {
            let v = v?;
            Some(match interner.as_deref_mut() {
                Some(i) => (i.intern(k), i.intern(v)),
                None => (k.into(), v.into()),
            })
        })
        .collect();
    StrMap::from_pairs(pairs)
}

/// Parse one watch-event line as an ADDED or MODIFIED Service; `None` means "use the walk".
pub(crate) fn service_event<'a>(
    line: &'a [u8],
    interner: &mut Interner,
) -> Option<FastEvent<'a, Service>> {
    // One UTF-8 check of the whole line is cheaper than one per string (which reading from a
    // byte slice does); the result of reading a valid document is the same either way.
    let text = std::str::from_utf8(line).ok()?;
    let event: RawEvent<'a> = serde_json::from_str(text).ok()?;
    if !matches!(nonempty(event.kind.as_ref()), Some("ADDED" | "MODIFIED")) {
        return None;
    }
    let mut raw = event.object?;
    if let Some(kind) = &raw.kind {
        if kind.0 != Service::KIND {
            return None;
        }
    }
    let meta = raw.metadata.as_mut()?;
    let object_meta = service_meta(meta, interner)?;
    let resource_version = meta.resource_version.take().map(|t| t.0);
    let object = service(&raw, object_meta, interner).ok()?;
    Some(FastEvent {
        object,
        resource_version,
    })
}

/// `metadata` of a Service (name rule: RFC 1035 label).
fn service_meta(meta: &RawMeta<'_>, interner: &mut Interner) -> Option<ObjectMeta> {
    let name = nonempty(meta.name.as_ref())?;
    let namespace = nonempty(meta.namespace.as_ref()).unwrap_or("default");
    validate::dns1035_label(name).ok()?;
    validate::dns1123_label(namespace).ok()?;
    Some(ObjectMeta {
        namespace: interner.intern(namespace),
        name: name.into(),
        uid: nonempty(meta.uid.as_ref()).map(Uid::parse),
        resource_version: nonempty(meta.resource_version.as_ref()).map(Into::into),
        labels: str_map(meta.labels.as_ref(), Some(interner)),
        // Annotations are mostly unique blobs: not worth interning.
        annotations: str_map(meta.annotations.as_ref(), None),
    })
}

/// The rest of a Service, mirroring `service::parse`.
fn service(raw: &RawService<'_>, meta: ObjectMeta, interner: &mut Interner) -> Result<Service, ()> {
    let empty;
    let spec = if let Some(spec) = &raw.spec {
        spec
    } else {
        empty = RawSpec {
            service_type: None,
            cluster_ip: None,
            cluster_ips: None,
            ip_families: None,
            ip_family_policy: None,
            ports: None,
            selector: None,
            session_affinity: None,
            session_affinity_config: None,
            external_ips: None,
            load_balancer_source_ranges: None,
            external_name: None,
            external_traffic_policy: None,
            internal_traffic_policy: None,
            health_check_node_port: None,
            publish_not_ready_addresses: None,
            _input: PhantomData,
        };
        &empty
    };
    let service_type = enum_field(spec.service_type.as_ref(), ServiceType::parse)?
        .unwrap_or(ServiceType::ClusterIp);
    let (cluster_ip, cluster_ips) = cluster_ips(spec, service_type)?;
    let ip_families = texts(spec.ip_families.as_deref(), |s| {
        IpFamily::parse(s).ok_or(())
    })?;
    if ip_families.len() > 2 || (ip_families.len() == 2 && ip_families[0] == ip_families[1]) {
        return Err(());
    }
    let ip_family_policy = enum_field(spec.ip_family_policy.as_ref(), IpFamilyPolicy::parse)?;
    let ports = service_ports(spec.ports.as_deref().unwrap_or(&[]), interner)?;
    let selector = str_map(spec.selector.as_ref(), Some(interner));
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
        cluster_ips: cluster_ips.into(),
        ip_families: ip_families.into(),
        ip_family_policy,
        ports: ports.into(),
        selector,
        session_affinity,
        session_affinity_timeout_seconds,
        external_ips: external_ips.into(),
        load_balancer_ingress_ips: ingress_ips(raw.status.as_ref())?.into(),
        load_balancer_source_ranges: load_balancer_source_ranges.into(),
        external_name: external_name.map(Into::into),
        external_traffic_policy,
        internal_traffic_policy,
        health_check_node_port: port_field(spec.health_check_node_port, true)?,
        publish_not_ready_addresses: spec.publish_not_ready_addresses.unwrap_or(false),
    })
}

/// A string list, each element converted by `each`; absent is empty.
fn texts<T>(
    items: Option<&[Text<'_>]>,
    mut each: impl FnMut(&str) -> Result<T, ()>,
) -> Result<Vec<T>, ()> {
    items.unwrap_or(&[]).iter().map(|t| each(&t.0)).collect()
}

/// `clusterIP` and `clusterIPs`, mirroring `service::cluster_ips`.
fn cluster_ips(
    spec: &RawSpec<'_>,
    service_type: ServiceType,
) -> Result<(Option<ClusterIp>, Vec<ClusterIp>), ()> {
    let one = nonempty(spec.cluster_ip.as_ref())
        .map(|s| cluster_ip(s, &super::read::Path::Root).map_err(drop))
        .transpose()?;
    let mut many = texts(spec.cluster_ips.as_deref(), |s| {
        cluster_ip(s, &super::read::Path::Root).map_err(drop)
    })?;
    match (one, many.first()) {
        (Some(ip), None) => many.push(ip),
        (Some(ip), Some(first)) if ip != *first => return Err(()),
        _ => {}
    }
    match many.as_slice() {
        [] | [_] => {}
        [ClusterIp::Addr(a), ClusterIp::Addr(b)] if a.is_ipv4() != b.is_ipv4() => {}
        _ => return Err(()),
    }
    if service_type == ServiceType::ExternalName && !many.is_empty() {
        return Err(());
    }
    Ok((many.first().copied(), many))
}

/// `spec.ports`, mirroring `service::service_ports` (few ports: duplicates found by scanning).
fn service_ports(items: &[RawPort<'_>], interner: &mut Interner) -> Result<Vec<ServicePort>, ()> {
    let mut ports: Vec<ServicePort> = Vec::with_capacity(items.len());
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
    Ok(ports)
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

/// Mirrors `service::ingress_ips`.
fn ingress_ips(status: Option<&RawStatus<'_>>) -> Result<Vec<IpAddr>, ()> {
    let ingress = status
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or(&[]);
    let mut out = Vec::new();
    for item in ingress {
        if let Some(ip) = nonempty(item.ip.as_ref()) {
            out.push(validate::ip(ip).map_err(drop)?);
        }
    }
    Ok(out)
}
