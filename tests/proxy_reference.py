"""The reference proxy view: kube-proxy's service-port and endpoints maps, in plain Python.

Written for clarity, straight from the rule book (``PROXY-SEMANTICS.md``, cited as ``§x.y``) and
SPEC §9, over Kubernetes JSON dicts (camelCase, as the API server returns them). Nothing here is
incremental or fast: ``compute`` rebuilds the whole view from its inputs, so it serves as the
oracle for the incremental implementations (``benches/proxy_baseline.py`` and the package).

Choices where the rule book is silent (each is marked "choice" where it is made):
- An address that does not parse is skipped (the API server never stores one; upstream would
  carry the string ``"<nil>"``).
- Duplicate ``ip:port`` copies within one slice: the earlier copy wins (non-terminating still
  wins first), i.e. the winner is the smallest (terminating, slice name, position).
- A hint name is matched only against a non-empty proxy node name / zone.
- ``local_ready_endpoints`` counts over the endpoints joined to the service's ports in this view.
- Legacy Endpoints: addresses of the other IP family are dropped, and the service-proxy-name and
  headless label filters apply to them as to slices.
- A port with no endpoints (§3.1, "everything nil/empty"): ``cluster_endpoints`` is ``()`` when
  the port uses cluster endpoints, else None; ``local_endpoints`` likewise;
  ``all_reachable_endpoints`` is ``()``.
- IPv4-mapped IPv6 addresses (``::ffff:a.b.c.d``) count as IPv4 and are written as IPv4, as Go's
  ``net.IP`` does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from _proxy_strategies import (  # re-exported for model tests
    ClusterState,
    cluster_ops,
    services_strategy,
    slices_strategy,
)

__all__ = [
    "ClusterState",
    "View",
    "cluster_ops",
    "compute",
    "services_strategy",
    "slices_strategy",
]

Json = dict[str, Any]

PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
HEADLESS_LABEL = "service.kubernetes.io/headless"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_AFFINITY_TIMEOUT = 10800  # the API server's default for sessionAffinityConfig


@dataclass(frozen=True)
class View:
    ports: dict[str, Json]
    health_check_node_ports: dict[str, int]
    local_ready_endpoints: dict[str, int]


# --- addresses (§1.3, §2.3: sloppy parse, then format) -------------------------------------------


def parse_ipv4_sloppy(text: str) -> str | None:
    """Dotted quad with leading zeros allowed (read as decimal), formatted canonically."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p and all(c in "0123456789" for c in p) for p in parts):
        return None
    values = [int(p) for p in parts]
    if any(v > 255 for v in values):
        return None
    return ".".join(str(v) for v in values)


def parse_ip_sloppy(text: str) -> tuple[str, str] | None:
    """``(family, normalised ip)``, or None when ``text`` is not an IP address."""
    if ":" not in text:
        ip4 = parse_ipv4_sloppy(text)
        return None if ip4 is None else ("IPv4", ip4)
    if "%" in text:  # Go's parser takes no zone
        return None
    head, sep, tail = text.rpartition(":")
    if "." in tail:  # an embedded IPv4 tail may have leading zeros too
        tail4 = parse_ipv4_sloppy(tail)
        if tail4 is None:
            return None
        text = head + sep + tail4
    try:
        ip6 = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    if ip6.ipv4_mapped is not None:  # choice: Go sees ::ffff:a.b.c.d as IPv4
        return ("IPv4", str(ip6.ipv4_mapped))
    return ("IPv6", str(ip6))


def parse_cidr_sloppy(text: str) -> tuple[str, str] | None:
    """``(family, masked network)`` of ``"ip/prefix"``, or None; host bits are allowed (§1.3)."""
    ip_text, sep, prefix_text = text.partition("/")
    if not sep or not prefix_text or not all(c in "0123456789" for c in prefix_text):
        return None
    parsed = parse_ip_sloppy(ip_text)
    if parsed is None:
        return None
    family, ip = parsed
    prefix = int(prefix_text)
    if family == "IPv4" and ":" in ip_text:  # a mapped address: the prefix counts 128 bits
        if prefix > 128:
            return None
        if prefix < 96:  # masking breaks the mapping: an IPv6 network
            net6 = ipaddress.IPv6Network(f"::ffff:{ip}/{prefix}", strict=False)
            return ("IPv6", str(net6))
        prefix -= 96
    if prefix > (32 if family == "IPv4" else 128):
        return None
    return (family, str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False)))


def of_family(
    values: Iterable[str], family: str, parse: Callable[[str], tuple[str, str] | None]
) -> tuple[str, ...]:
    """Parse each value, keep those of ``family`` normalised; drop unparseable ones silently."""
    kept = []
    for value in values:
        parsed = parse(value)
        if parsed is not None and parsed[0] == family:
            kept.append(parsed[1])
    return tuple(kept)


# --- filters (§1.2, §2.1) -------------------------------------------------------------------------


def passes_label_filter(obj: Json, service_proxy_name: str | None) -> bool:
    """The informers' label selector (§1.2; SPEC §9 for the alternative proxy name)."""
    labels = obj.get("metadata", {}).get("labels") or {}
    if HEADLESS_LABEL in labels:
        return False
    if service_proxy_name is None:
        return PROXY_NAME_LABEL not in labels
    return labels.get(PROXY_NAME_LABEL) == service_proxy_name


def cluster_ip_of_family(spec: Json, family: str) -> str | None:
    """§1.3 clusterIP, normalised; None when the service has none of this family."""
    cluster_ip = spec.get("clusterIP") or ""
    families = spec.get("ipFamilies") or []
    if not families:  # skew: only clusterIP, if its family matches
        candidate = cluster_ip
    else:
        cluster_ips = spec.get("clusterIPs") or [cluster_ip]
        candidate = ""
        for i, fam in enumerate(families):
            if fam == family and i < len(cluster_ips):
                candidate = cluster_ips[i]
                break
    parsed = parse_ip_sloppy(candidate) if candidate else None
    if parsed is None or parsed[0] != family:
        return None
    return parsed[1]


# --- endpoints (§2) -------------------------------------------------------------------------------


def identity(ip: str, port: int) -> str:
    """JoinHostPort(ip, port) (§2.3)."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def hint_names(hints: Json | None, field: str) -> tuple[str, ...]:
    return tuple(h.get("name", "") for h in ((hints or {}).get(field) or []))


def make_endpoint(raw: Json, ip: str, port: int, node_name: str) -> Json:
    """One endpoint of a slice (§2.3): conditions' defaults, locality, hints."""
    conditions = raw.get("conditions") or {}
    ready, serving = conditions.get("ready"), conditions.get("serving")
    terminating = conditions.get("terminating")
    ep_node = raw.get("nodeName")
    return {
        "ip": ip,
        "port": port,
        "address": identity(ip, port),
        "is_local": ep_node is not None and node_name != "" and ep_node == node_name,
        "ready": True if ready is None else bool(ready),
        "serving": True if serving is None else bool(serving),
        "terminating": False if terminating is None else bool(terminating),
        "node_name": ep_node,
        "zone": raw.get("zone"),
        "hostname": raw.get("hostname"),
        "zone_hints": hint_names(raw.get("hints"), "forZones"),
        "node_hints": hint_names(raw.get("hints"), "forNodes"),
    }


# A candidate copy of an endpoint: (port key, rank, endpoint); the smallest rank wins (§2.3).
Candidate = tuple[str, tuple[bool, str, int], Json]


def slice_candidates(
    slices: Iterable[Json], family: str, spn: str | None, node: str
) -> list[Candidate]:
    out: list[Candidate] = []
    for slc in slices:
        meta = slc.get("metadata") or {}
        ns, name = meta.get("namespace") or "", meta.get("name") or ""
        owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL) or ""
        if not passes_label_filter(slc, spn) or slc.get("addressType") != family:  # §1.2, §2.1
            continue
        if not ns or not name or not owner:  # §2.1
            continue
        position = 0
        for sp in slc.get("ports") or []:
            if sp.get("name") is None or not sp.get("port"):  # §2.2
                continue
            port_key = f"{ns}/{owner}:{sp['name']}/{sp.get('protocol') or 'TCP'}"
            for raw in slc.get("endpoints") or []:
                addresses = raw.get("addresses") or []
                if not addresses:  # §2.3
                    continue
                parsed = parse_ip_sloppy(addresses[0])  # §2.3: only addresses[0]
                if parsed is None:  # choice: unparseable addresses are skipped
                    continue
                ep = make_endpoint(raw, parsed[1], sp["port"], node)
                out.append((port_key, (ep["terminating"], name, position), ep))
                position += 1
    return out


def legacy_candidates(
    endpoints: Iterable[Json], family: str, spn: str | None, node: str
) -> list[Candidate]:
    """SPEC §9: core/v1 Endpoints; ``addresses`` ready+serving, ``notReadyAddresses`` neither."""
    out: list[Candidate] = []
    for obj in endpoints:
        meta = obj.get("metadata") or {}
        ns, name = meta.get("namespace") or "", meta.get("name") or ""
        if not ns or not name or not passes_label_filter(obj, spn):
            continue
        position = 0
        for subset in obj.get("subsets") or []:
            for sp in subset.get("ports") or []:
                if not sp.get("port"):
                    continue
                port_key = f"{ns}/{name}:{sp.get('name') or ''}/{sp.get('protocol') or 'TCP'}"
                for ready, field in ((True, "addresses"), (False, "notReadyAddresses")):
                    for addr in subset.get(field) or []:
                        parsed = parse_ip_sloppy(addr.get("ip") or "")
                        if parsed is None or parsed[0] != family:  # choice: family filter
                            continue
                        raw = {"nodeName": addr.get("nodeName"), "hostname": addr.get("hostname")}
                        raw["conditions"] = {"ready": ready, "serving": ready, "terminating": False}
                        ep = make_endpoint(raw, parsed[1], sp["port"], node)
                        out.append((port_key, (False, name, position), ep))
                        position += 1
    return out


def endpoints_map(candidates: list[Candidate]) -> dict[str, tuple[Json, ...]]:
    """§2.3: one copy per identity (non-terminating first, then smallest slice name), sorted by
    the identity string."""
    best: dict[str, dict[str, tuple[tuple[bool, str, int], Json]]] = {}
    for port_key, rank, ep in candidates:
        per_port = best.setdefault(port_key, {})
        held = per_port.get(ep["address"])
        if held is None or rank < held[0]:
            per_port[ep["address"]] = (rank, ep)
    return {
        key: tuple(ep for _, (_, ep) in sorted(per_port.items())) for key, per_port in best.items()
    }


# --- categorisation (§3) --------------------------------------------------------------------------


def topology_mode(endpoints: tuple[Json, ...], node: str, zone: str, prefer_same_node: bool) -> str:
    """§3.2a: from the ready endpoints only."""
    ready = [ep for ep in endpoints if ep["ready"]]
    if not ready:
        return ""
    if (
        prefer_same_node
        and all(ep["node_hints"] for ep in ready)
        and node != ""  # choice: an empty node name matches no hint
        and any(node in ep["node_hints"] for ep in ready)
    ):
        return "PreferSameNode"
    if (
        all(ep["zone_hints"] for ep in ready)
        and zone != ""  # a node without the zone label never matches
        and any(zone in ep["zone_hints"] for ep in ready)
    ):
        return "PreferSameZone"
    return ""


def passes_mode(ep: Json, mode: str, node: str, zone: str) -> bool:
    """§3.2b: matching is on hint values."""
    if mode == "PreferSameNode":
        return node in ep["node_hints"]
    if mode == "PreferSameZone":
        return zone in ep["zone_hints"]
    return True


def categorize(info: Json, endpoints: tuple[Json, ...], node: str, zone: str, psn: bool) -> None:
    """§3: fill topology_mode, cluster/local/all_reachable endpoints and has_any_endpoints."""
    uses_cluster, uses_local = info["uses_cluster_endpoints"], info["uses_local_endpoints"]
    info.update(topology_mode="", has_any_endpoints=False, all_reachable_endpoints=())
    # §3.1 "everything nil/empty" -- choice: () where the port uses that list, else None
    info["cluster_endpoints"] = () if uses_cluster else None
    info["local_endpoints"] = () if uses_local else None
    if not endpoints:
        return
    mode = ""
    cluster: tuple[Json, ...] = ()
    has_any = False
    if uses_cluster:  # §3.2
        mode = topology_mode(endpoints, node, zone, psn)
        cluster = tuple(ep for ep in endpoints if ep["ready"] and passes_mode(ep, mode, node, zone))
        if not cluster:  # §3.2c: terminating fallback, ignoring topology and locality
            cluster = tuple(ep for ep in endpoints if ep["serving"] and ep["terminating"])
        has_any = bool(cluster)  # §3.2d
        info.update(topology_mode=mode, cluster_endpoints=cluster)
    if not uses_local:  # §3.3
        info.update(has_any_endpoints=has_any, all_reachable_endpoints=cluster)
        return
    has_local_ready = has_local_st = False  # §3.4
    for ep in endpoints:
        if ep["ready"]:
            has_any = True
            has_local_ready = has_local_ready or ep["is_local"]
        elif ep["serving"] and ep["terminating"]:
            has_any = True
            has_local_st = has_local_st or ep["is_local"]
    used_terminating = False
    local: tuple[Json, ...] = ()  # SPEC §9: a tuple, possibly empty, when the port uses it
    if has_local_ready:
        local = tuple(ep for ep in endpoints if ep["is_local"] and ep["ready"])
    elif has_local_st:
        local = tuple(
            ep for ep in endpoints if ep["is_local"] and ep["serving"] and ep["terminating"]
        )
        used_terminating = True
    info.update(has_any_endpoints=has_any, local_endpoints=local)
    if not uses_cluster:  # §3.5
        info["all_reachable_endpoints"] = local
    elif mode == "" and not used_terminating:  # §3.6: cluster is a superset
        info["all_reachable_endpoints"] = cluster
    else:  # §3.6: the union by identity (ordered by the identity string: choice)
        union = {ep["address"]: ep for ep in (*cluster, *local)}
        info["all_reachable_endpoints"] = tuple(union[a] for a in sorted(union))


# --- services (§1) --------------------------------------------------------------------------------


def service_ports(svc: Json, family: str, spn: str | None) -> list[Json]:
    """§1: the per-port, per-family fields of one Service (no endpoints yet)."""
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    svc_type = spec.get("type") or "ClusterIP"
    if not passes_label_filter(svc, spn):  # §1.2 informer selector
        return []
    if spec.get("clusterIP") in (None, "", "None") or svc_type == "ExternalName":  # §1.2
        return []
    cluster_ip = cluster_ip_of_family(spec, family)
    if cluster_ip is None:  # §1.2: no cluster IP of this family
        return []
    ns, name = meta.get("namespace") or "", meta.get("name") or ""
    spec_external_ips = spec.get("externalIPs") or []
    external_ips = of_family(spec_external_ips, family, parse_ip_sloppy)
    ranges = [r.strip() for r in spec.get("loadBalancerSourceRanges") or []]
    vips = of_family(  # §1.3: ingress IPs in VIP mode (ipMode absent or "VIP")
        (
            ing["ip"]
            for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            if ing.get("ip") and ing.get("ipMode") in (None, "VIP")
        ),
        family,
        parse_ip_sloppy,
    )
    affinity_timeout = 0
    if spec.get("sessionAffinity") == "ClientIP":
        client_ip = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        timeout = client_ip.get("timeoutSeconds")
        affinity_timeout = DEFAULT_AFFINITY_TIMEOUT if timeout is None else timeout
    accessible_by_type = svc_type in ("LoadBalancer", "NodePort") or (
        svc_type == "ClusterIP" and bool(spec_external_ips)
    )
    external_local = accessible_by_type and spec.get("externalTrafficPolicy") == "Local"
    internal_local = spec.get("internalTrafficPolicy") == "Local"  # nil counts as Cluster
    hc_port = spec.get("healthCheckNodePort") or 0
    if not (svc_type == "LoadBalancer" and external_local):  # NeedsHealthCheck
        hc_port = 0
    out = []
    for sp in spec.get("ports") or []:
        port_name, protocol = sp.get("name") or "", sp.get("protocol") or "TCP"
        node_port = sp.get("nodePort") or 0
        accessible = node_port != 0 or bool(vips) or bool(external_ips)  # §1.4
        out.append(
            {
                "key": f"{ns}/{name}:{port_name}/{protocol}",
                "service_key": f"{ns}/{name}",
                "namespace": ns,
                "name": name,
                "port_name": port_name,
                "protocol": protocol,
                "ip_family": family,
                "cluster_ip": cluster_ip,
                "port": sp.get("port") or 0,
                "node_port": node_port,
                "external_ips": external_ips,
                "load_balancer_vips": vips,
                "load_balancer_source_ranges": of_family(ranges, family, parse_cidr_sloppy),
                "session_affinity_timeout": affinity_timeout,
                "external_policy_local": external_local,
                "internal_policy_local": internal_local,
                "health_check_node_port": hc_port,
                "externally_accessible": accessible,
                "uses_cluster_endpoints": not internal_local or accessible,
                "uses_local_endpoints": internal_local or (external_local and accessible),
            }
        )
    return out


def object_key(obj: Json) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def compute(
    services: Iterable[Json],
    endpoint_slices: Iterable[Json] = (),
    endpoints: Iterable[Json] | None = None,
    *,
    node_name: str = "",
    zone: str = "",
    ip_family: str = "IPv4",
    service_proxy_name: str | None = None,
    prefer_same_node: bool = True,
) -> View:
    """The whole view of ``ip_family`` from the current Services and EndpointSlices (or legacy
    Endpoints, when ``endpoints`` is not None)."""
    services = {object_key(s): s for s in services}.values()  # one object per key: the last one
    if endpoints is not None:
        endpoints = {object_key(e): e for e in endpoints}.values()
        candidates = legacy_candidates(endpoints, ip_family, service_proxy_name, node_name)
    else:
        endpoint_slices = {object_key(e): e for e in endpoint_slices}.values()
        candidates = slice_candidates(endpoint_slices, ip_family, service_proxy_name, node_name)
    eps_map = endpoints_map(candidates)
    ports: dict[str, Json] = {}
    for svc in services:
        for info in service_ports(svc, ip_family, service_proxy_name):
            eps = eps_map.get(info["key"], ())
            info["endpoints"] = eps
            categorize(info, eps, node_name, zone, prefer_same_node)
            ports[info["key"]] = info  # duplicate port keys: the last one wins
    health: dict[str, int] = {}
    local_ips: dict[str, set[str]] = {}
    for info in ports.values():
        if info["health_check_node_port"]:  # §4.1 HealthCheckNodePorts
            health[info["service_key"]] = info["health_check_node_port"]
        for ep in info["endpoints"]:  # §4.2 LocalReadyEndpoints: distinct IPs, ready only
            if ep["is_local"] and ep["ready"]:
                local_ips.setdefault(info["service_key"], set()).add(ep["ip"])
    return View(
        ports=ports,
        health_check_node_ports=health,
        local_ready_endpoints={key: len(ips) for key, ips in local_ips.items()},
    )
