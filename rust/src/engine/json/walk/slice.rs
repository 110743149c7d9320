//! The walk of an `EndpointSlice` (discovery.k8s.io/v1).

use super::endpoints::{endpoint_ports, hostname, node_name, target_ref};
use super::read::{
    check, object, opt_bool, opt_enum, opt_list, opt_nonempty, opt_object, str_list, Path,
};
use crate::engine::error::CoreError;
use crate::engine::json::node::{Members, Node};
use crate::engine::model::{
    AddressType, Conditions, Endpoint, EndpointSlice, Interner, List, ObjectMeta, SliceAddr, Str,
};
use crate::engine::validate;

/// The API server's limit on addresses per endpoint.
const MAX_ADDRESSES: usize = 100;

/// Everything after `metadata` (`walk_object` reads `kind` and `metadata` first).
pub(crate) fn parse(
    root: &Members<'_>,
    meta: ObjectMeta,
    interner: &mut Interner,
) -> Result<EndpointSlice, CoreError> {
    let top = Path::Root;
    let Some(address_type) = opt_enum(
        root,
        "addressType",
        &top,
        AddressType::parse,
        AddressType::VALUES,
    )?
    else {
        return Err(top
            .field("addressType")
            .err("required: expected one of \"IPv4\", \"IPv6\", \"FQDN\""));
    };
    let endpoints = opt_list(root, "endpoints", &top, |item, p| {
        endpoint(item, p, address_type, interner)
    })?;
    Ok(EndpointSlice {
        meta,
        address_type,
        endpoints: endpoints.into(),
        ports: endpoint_ports(root, &top, interner, false)?.into(),
    })
}

fn address(s: &str, p: &Path<'_>, address_type: AddressType) -> Result<SliceAddr, CoreError> {
    match address_type {
        AddressType::Fqdn => {
            check(p, validate::dns1123_subdomain(s))?;
            Ok(SliceAddr::Fqdn(s.into()))
        }
        AddressType::IPv4 | AddressType::IPv6 => {
            let ip = validate::ip(s).map_err(|r| p.err(r))?;
            if ip.is_ipv4() == (address_type == AddressType::IPv4) {
                Ok(SliceAddr::Ip(ip))
            } else {
                Err(p.err(format!(
                    "expected an {} address, got {s:?}",
                    address_type.as_str()
                )))
            }
        }
    }
}

fn endpoint(
    v: &Node<'_>,
    p: &Path<'_>,
    address_type: AddressType,
    interner: &mut Interner,
) -> Result<Endpoint, CoreError> {
    let m = object(v, p)?;
    let addresses = str_list(m, "addresses", p, |s, ap| address(s, ap, address_type))?;
    if addresses.is_empty() || addresses.len() > MAX_ADDRESSES {
        return Err(p.field("addresses").err(format!(
            "expected 1 to {MAX_ADDRESSES} addresses, got {}",
            addresses.len()
        )));
    }
    let conditions = match opt_object(m, "conditions", p)? {
        None => Conditions::default(),
        Some(c) => {
            let cp = p.field("conditions");
            Conditions {
                ready: opt_bool(c, "ready", &cp)?,
                serving: opt_bool(c, "serving", &cp)?,
                terminating: opt_bool(c, "terminating", &cp)?,
            }
        }
    };
    let (hints_for_zones, hints_for_nodes) = hints(m, p, interner)?;
    Ok(Endpoint {
        addresses: addresses.into(),
        conditions,
        hostname: hostname(m, p)?,
        node_name: node_name(m, p, interner)?,
        zone: opt_nonempty(m, "zone", p)?.map(|z| interner.intern(z)),
        target_ref: target_ref(m, p, interner)?,
        hints_for_zones,
        hints_for_nodes,
    })
}

/// `hints.forZones[].name` and `hints.forNodes[].name`.
fn hints(
    m: &Members<'_>,
    p: &Path<'_>,
    interner: &mut Interner,
) -> Result<(List<Str>, List<Str>), CoreError> {
    let Some(hints) = opt_object(m, "hints", p)? else {
        return Ok((List::empty(), List::empty()));
    };
    let hp = p.field("hints");
    let zones = hint_names(hints, "forZones", &hp, "a zone name", interner)?;
    let nodes = hint_names(hints, "forNodes", &hp, "a node name", interner)?;
    Ok((zones.into(), nodes.into()))
}

/// The `name` of each entry of one hint list; every entry needs one.
fn hint_names(
    hints: &Members<'_>,
    key: &str,
    hp: &Path<'_>,
    what: &str,
    interner: &mut Interner,
) -> Result<Vec<Str>, CoreError> {
    opt_list(hints, key, hp, |item, ip| {
        match opt_nonempty(object(item, ip)?, "name", ip)? {
            Some(name) => Ok(interner.intern(name)),
            None => Err(ip.field("name").err(format!("required: expected {what}"))),
        }
    })
}
