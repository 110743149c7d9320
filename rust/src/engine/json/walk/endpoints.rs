//! The walk of an Endpoints object (core/v1); also the parts shared with `EndpointSlice` (ports,
//! target references).

use std::collections::HashSet;

use super::read::{
    check, object, opt_array, opt_enum, opt_list, opt_nonempty, opt_object, opt_port, opt_str, Path,
};
use crate::engine::error::CoreError;
use crate::engine::json::node::Members;
use crate::engine::model::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Interner, ObjectMeta, Protocol,
    TargetRef, Uid,
};
use crate::engine::validate;

/// Everything after `metadata` (`walk_object` reads `kind` and `metadata` first).
pub(crate) fn parse(
    root: &Members<'_>,
    meta: ObjectMeta,
    interner: &mut Interner,
) -> Result<Endpoints, CoreError> {
    let top = Path::Root;
    let subsets = opt_list(root, "subsets", &top, |item, p| {
        let m = object(item, p)?;
        Ok(EndpointSubset {
            addresses: addresses(m, "addresses", p, interner)?.into(),
            not_ready_addresses: addresses(m, "notReadyAddresses", p, interner)?.into(),
            ports: endpoint_ports(m, p, interner, true)?.into(),
        })
    })?;
    Ok(Endpoints {
        meta,
        subsets: subsets.into(),
    })
}

fn addresses(
    m: &Members<'_>,
    key: &str,
    p: &Path<'_>,
    interner: &mut Interner,
) -> Result<Vec<EndpointAddress>, CoreError> {
    opt_list(m, key, p, |item, ap| {
        let a = object(item, ap)?;
        let ip = match opt_nonempty(a, "ip", ap)? {
            Some(s) => validate::ip(s).map_err(|r| ap.field("ip").err(r))?,
            None => {
                return Err(ap
                    .field("ip")
                    .err("required: expected an IPv4 or IPv6 address"))
            }
        };
        Ok(EndpointAddress {
            ip,
            hostname: hostname(a, ap)?,
            node_name: node_name(a, ap, interner)?,
            target_ref: target_ref(a, ap, interner)?,
        })
    })
}

/// Optional `hostname` (an RFC 1123 label).
pub(crate) fn hostname(
    m: &Members<'_>,
    p: &Path<'_>,
) -> Result<Option<crate::engine::model::Str>, CoreError> {
    let Some(h) = opt_nonempty(m, "hostname", p)? else {
        return Ok(None);
    };
    check(&p.field("hostname"), validate::dns1123_label(h))?;
    Ok(Some(h.into()))
}

/// Optional `nodeName` (an RFC 1123 subdomain), interned.
pub(crate) fn node_name(
    m: &Members<'_>,
    p: &Path<'_>,
    interner: &mut Interner,
) -> Result<Option<crate::engine::model::Str>, CoreError> {
    let Some(n) = opt_nonempty(m, "nodeName", p)? else {
        return Ok(None);
    };
    check(&p.field("nodeName"), validate::dns1123_subdomain(n))?;
    Ok(Some(interner.intern(n)))
}

/// Optional `targetRef`: kind and namespace interned, the name and UID kept per address.
pub(crate) fn target_ref(
    m: &Members<'_>,
    p: &Path<'_>,
    interner: &mut Interner,
) -> Result<Option<TargetRef>, CoreError> {
    let Some(r) = opt_object(m, "targetRef", p)? else {
        return Ok(None);
    };
    let rp = p.field("targetRef");
    Ok(Some(TargetRef {
        kind: opt_nonempty(r, "kind", &rp)?.map(|s| interner.intern(s)),
        namespace: opt_nonempty(r, "namespace", &rp)?.map(|s| interner.intern(s)),
        name: opt_nonempty(r, "name", &rp)?.map(Into::into),
        uid: opt_nonempty(r, "uid", &rp)?.map(Uid::parse),
    }))
}

/// `ports` of a subset or slice. In Endpoints (`require_port`) each port needs a number and, when
/// there are several, a name; names are unique RFC 1123 labels.
pub(crate) fn endpoint_ports(
    m: &Members<'_>,
    p: &Path<'_>,
    interner: &mut Interner,
    require_port: bool,
) -> Result<Vec<EndpointPort>, CoreError> {
    let list = p.field("ports");
    let items = opt_array(m, "ports", p)?;
    let mut out = Vec::with_capacity(items.len());
    let mut names = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let pp = list.index(i);
        let e = object(item, &pp)?;
        let name = opt_str(e, "name", &pp)?.unwrap_or("");
        if name.is_empty() {
            if require_port && items.len() > 1 {
                return Err(pp
                    .field("name")
                    .err("required when there is more than one port"));
            }
        } else {
            check(&pp.field("name"), validate::dns1123_label(name))?;
            if !names.insert(name) {
                return Err(pp
                    .field("name")
                    .err(format!("duplicate port name {name:?}")));
            }
        }
        let port = opt_port(e, "port", &pp, false)?;
        if port.is_none() && require_port {
            return Err(pp
                .field("port")
                .err("required: expected a port number 1-65535"));
        }
        out.push(EndpointPort {
            name: interner.intern(name),
            port,
            protocol: opt_enum(e, "protocol", &pp, Protocol::parse, Protocol::VALUES)?
                .unwrap_or(Protocol::Tcp),
            app_protocol: opt_nonempty(e, "appProtocol", &pp)?.map(|s| interner.intern(s)),
        });
    }
    Ok(out)
}
