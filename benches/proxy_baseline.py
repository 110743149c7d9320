"""The W8 baseline (SPEC §7, §9): kube-proxy's proxy view written in plain, idiomatic Python.

What a good Python engineer would write to give a proxy its per-port view: dicts of the raw
Services and EndpointSlices, an index from each service to its slices, and a set of services
touched since the last ``ports()`` call; ``ports()`` recomputes those services only (their ports,
endpoints and categorisation, rule book ``PROXY-SEMANTICS.md`` §1-§3) and returns the live flat map
``{"ns/name:port_name/PROTOCOL": port dict}``. ``set_zone`` touches every service (kube-proxy's full
sync on a topology change). The port and endpoint dicts have the shape of SPEC §9's
``ServicePortInfo`` / ``EndpointInfo``; ``tests/test_proxy_reference.py`` proves this view equal to
the from-scratch reference after every step of random operation sequences.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from typing import Any

Json = dict[str, Any]

_PROXY_NAME = "service.kubernetes.io/service-proxy-name"
_HEADLESS = "service.kubernetes.io/headless"
_OWNER = "kubernetes.io/service-name"
_DIGITS = frozenset("0123456789")


def _key(obj: Json) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def _dotted(text: str) -> str | None:
    """IPv4 with leading zeros allowed (Go's sloppy parser), canonical form."""
    octets = text.split(".")
    if len(octets) != 4:
        return None
    out = []
    for octet in octets:
        if not octet or not _DIGITS.issuperset(octet) or int(octet) > 255:
            return None
        out.append(str(int(octet)))
    return ".".join(out)


@lru_cache(maxsize=65536)
def normalize_ip(text: str) -> tuple[int, str] | None:
    """``(4 or 6, canonical text)`` of a sloppily parsed IP, or None."""
    if ":" not in text:
        v4 = _dotted(text)
        return None if v4 is None else (4, v4)
    if "%" in text:
        return None
    prefix, _, last = text.rpartition(":")
    if "." in last:
        tail = _dotted(last)
        if tail is None:
            return None
        text = f"{prefix}:{tail}"
    try:
        addr = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    mapped = addr.ipv4_mapped
    return (4, str(mapped)) if mapped is not None else (6, str(addr))


def normalize_cidr(text: str) -> tuple[int, str] | None:
    """``(4 or 6, masked network)`` of a sloppily parsed CIDR (already trimmed), or None."""
    addr, slash, bits = text.partition("/")
    if not slash or not bits or not _DIGITS.issuperset(bits):
        return None
    ip = normalize_ip(addr)
    if ip is None:
        return None
    family, canonical = ip
    length = int(bits)
    if family == 4 and ":" in addr:  # an IPv4-mapped IPv6 address: 128-bit prefix
        if length > 128:
            return None
        if length < 96:
            return 6, str(ipaddress.IPv6Network(f"::ffff:{canonical}/{length}", strict=False))
        length -= 96
    if length > (32 if family == 4 else 128):
        return None
    return family, str(ipaddress.ip_network(f"{canonical}/{length}", strict=False))


def _filtered(
    values: list[str], family: int, parse: Callable[[str], tuple[int, str] | None]
) -> tuple[str, ...]:
    parsed = (parse(v) for v in values)
    return tuple(p[1] for p in parsed if p is not None and p[0] == family)


class PurePythonProxyView:
    """Incremental proxy view of one IP family (see the module docstring)."""

    def __init__(
        self,
        *,
        node_name: str = "",
        zone: str = "",
        ip_family: str = "IPv4",
        service_proxy_name: str | None = None,
        prefer_same_node: bool = True,
    ) -> None:
        self.node_name = node_name
        self.zone = zone
        self.ip_family = ip_family
        self._family = 6 if ip_family == "IPv6" else 4
        self.service_proxy_name = service_proxy_name
        self.prefer_same_node = prefer_same_node
        self._services: dict[str, Json] = {}
        self._slices: dict[str, Json] = {}
        self._slice_owner: dict[str, str] = {}  # slice key -> service key, for usable slices
        self._slices_of: defaultdict[str, set[str]] = defaultdict(set)
        self._port_keys: dict[str, list[str]] = {}  # service key -> its keys in _ports
        self._ports: dict[str, Json] = {}
        self._dirty: set[str] = set()

    # -- inputs ---------------------------------------------------------------------------------

    def set_services(self, services: list[Json]) -> None:
        self._dirty.update(self._services)
        self._services = {_key(svc): svc for svc in services}
        self._dirty.update(self._services)

    def upsert_service(self, service: Json) -> None:
        key = _key(service)
        self._services[key] = service
        self._dirty.add(key)

    def delete_service(self, key: str) -> None:
        if self._services.pop(key, None) is not None:
            self._dirty.add(key)

    def set_slices(self, slices: list[Json]) -> None:
        for key in list(self._slices):
            self.delete_slice(key)
        for slc in slices:
            self.upsert_slice(slc)

    def upsert_slice(self, endpoint_slice: Json) -> None:
        key = _key(endpoint_slice)
        self._unlink_slice(key)
        self._slices[key] = endpoint_slice
        owner = self._owner(endpoint_slice)
        if owner is not None:
            self._slice_owner[key] = owner
            self._slices_of[owner].add(key)
            self._dirty.add(owner)

    def delete_slice(self, key: str) -> None:
        self._unlink_slice(key)
        self._slices.pop(key, None)

    def set_zone(self, zone: str) -> None:
        if zone != self.zone:
            self.zone = zone
            self._dirty.update(self._services)

    # -- output ---------------------------------------------------------------------------------

    def ports(self) -> dict[str, Json]:
        """The live map of every service port of this family (do not mutate it)."""
        for service_key in self._dirty:
            for port_key in self._port_keys.pop(service_key, ()):
                del self._ports[port_key]
            service = self._services.get(service_key)
            if service is not None:
                computed = self._compute_service(service_key, service)
                self._ports.update(computed)
                if computed:
                    self._port_keys[service_key] = list(computed)
        self._dirty.clear()
        return self._ports

    # -- internals ------------------------------------------------------------------------------

    def _unlink_slice(self, key: str) -> None:
        owner = self._slice_owner.pop(key, None)
        if owner is not None:
            self._slices_of[owner].discard(key)
            if not self._slices_of[owner]:
                del self._slices_of[owner]
            self._dirty.add(owner)

    def _selected(self, obj: Json) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if _HEADLESS in labels:
            return False
        if self.service_proxy_name is None:
            return _PROXY_NAME not in labels
        return labels.get(_PROXY_NAME) == self.service_proxy_name

    def _owner(self, slc: Json) -> str | None:
        meta = slc.get("metadata") or {}
        namespace, name = meta.get("namespace"), meta.get("name")
        service = (meta.get("labels") or {}).get(_OWNER)
        if not (namespace and name and service) or slc.get("addressType") != self.ip_family:
            return None
        return f"{namespace}/{service}" if self._selected(slc) else None

    def _cluster_ip(self, spec: Json) -> str | None:
        families = spec.get("ipFamilies")
        if families:
            ips = spec.get("clusterIPs") or [spec.get("clusterIP")]
            matches = [i for i, f in enumerate(families) if f == self.ip_family]
            raw = ips[matches[0]] if matches and matches[0] < len(ips) else None
        else:
            raw = spec.get("clusterIP")
        parsed = normalize_ip(raw) if raw else None
        return parsed[1] if parsed is not None and parsed[0] == self._family else None

    def _compute_service(self, key: str, svc: Json) -> dict[str, Json]:
        spec = svc.get("spec") or {}
        kind = spec.get("type") or "ClusterIP"
        if (
            kind == "ExternalName"
            or spec.get("clusterIP") in (None, "", "None")
            or not self._selected(svc)
        ):
            return {}
        cluster_ip = self._cluster_ip(spec)
        if cluster_ip is None:
            return {}
        family = self._family
        namespace, name = key.split("/", 1)
        external_ips_spec = spec.get("externalIPs") or []
        external_ips = _filtered(external_ips_spec, family, normalize_ip)
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        vips = _filtered(
            [i["ip"] for i in ingress if i.get("ip") and i.get("ipMode", "VIP") in (None, "VIP")],
            family,
            normalize_ip,
        )
        ranges = _filtered(
            [r.strip() for r in spec.get("loadBalancerSourceRanges") or []], family, normalize_cidr
        )
        timeout = 0
        if spec.get("sessionAffinity") == "ClientIP":
            config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
            given = config.get("timeoutSeconds")
            timeout = 10800 if given is None else given
        etp_local = spec.get("externalTrafficPolicy") == "Local" and (
            kind in ("NodePort", "LoadBalancer")
            or (kind == "ClusterIP" and bool(external_ips_spec))
        )
        itp_local = spec.get("internalTrafficPolicy") == "Local"
        hc_port = (
            (spec.get("healthCheckNodePort") or 0) if kind == "LoadBalancer" and etp_local else 0
        )

        wanted = {}
        for sp in spec.get("ports") or []:
            wanted[f"{key}:{sp.get('name') or ''}/{sp.get('protocol') or 'TCP'}"] = sp
        endpoints = self._endpoints(key, wanted)

        result: dict[str, Json] = {}
        for port_key, sp in wanted.items():
            node_port = sp.get("nodePort") or 0
            accessible = bool(node_port or vips or external_ips)
            info: Json = {
                "key": port_key,
                "service_key": key,
                "namespace": namespace,
                "name": name,
                "port_name": sp.get("name") or "",
                "protocol": sp.get("protocol") or "TCP",
                "ip_family": self.ip_family,
                "cluster_ip": cluster_ip,
                "port": sp.get("port") or 0,
                "node_port": node_port,
                "external_ips": external_ips,
                "load_balancer_vips": vips,
                "load_balancer_source_ranges": ranges,
                "session_affinity_timeout": timeout,
                "external_policy_local": etp_local,
                "internal_policy_local": itp_local,
                "health_check_node_port": hc_port,
                "externally_accessible": accessible,
                "uses_cluster_endpoints": accessible or not itp_local,
                "uses_local_endpoints": itp_local or (etp_local and accessible),
            }
            eps = endpoints.get(port_key, {})
            info["endpoints"] = tuple(eps[address] for address in sorted(eps))
            self._categorize(info)
            result[port_key] = info
        return result

    def _endpoints(self, key: str, wanted: dict[str, Json]) -> dict[str, dict[str, Json]]:
        """{port key: {address: endpoint}} from the service's slices, in slice-name order; a
        later copy replaces an earlier one only when it is not terminating and that one is."""
        namespace = key.split("/", 1)[0]
        by_port: dict[str, dict[str, Json]] = {}
        for slice_key in sorted(self._slices_of.get(key, ())):
            slc = self._slices[slice_key]
            service = f"{namespace}/{slc['metadata']['labels'][_OWNER]}"
            for sp in slc.get("ports") or []:
                port_name, number = sp.get("name"), sp.get("port")
                port_key = f"{service}:{port_name}/{sp.get('protocol') or 'TCP'}"
                if port_name is None or not number or port_key not in wanted:
                    continue
                current = by_port.setdefault(port_key, {})
                for raw in slc.get("endpoints") or []:
                    addresses = raw.get("addresses")
                    ip = normalize_ip(addresses[0]) if addresses else None
                    if ip is None:
                        continue
                    ep = self._endpoint(raw, ip[1], number)
                    held = current.get(ep["address"])
                    if held is None or (held["terminating"] and not ep["terminating"]):
                        current[ep["address"]] = ep
        return by_port

    def _endpoint(self, raw: Json, ip: str, port: int) -> Json:
        conditions = raw.get("conditions") or {}
        node = raw.get("nodeName")
        hints = raw.get("hints") or {}
        ready = conditions.get("ready")
        serving = conditions.get("serving")
        return {
            "ip": ip,
            "port": port,
            "address": f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}",
            "is_local": bool(self.node_name) and node == self.node_name,
            "ready": ready is None or bool(ready),
            "serving": serving is None or bool(serving),
            "terminating": bool(conditions.get("terminating")),
            "node_name": node,
            "zone": raw.get("zone"),
            "hostname": raw.get("hostname"),
            "zone_hints": tuple(h.get("name", "") for h in hints.get("forZones") or ()),
            "node_hints": tuple(h.get("name", "") for h in hints.get("forNodes") or ()),
        }

    def _mode(self, ready: list[Json]) -> str:
        node, zone = self.node_name, self.zone
        if not ready:
            return ""
        if (
            self.prefer_same_node
            and node
            and all(ep["node_hints"] for ep in ready)
            and any(node in ep["node_hints"] for ep in ready)
        ):
            return "PreferSameNode"
        if (
            zone
            and all(ep["zone_hints"] for ep in ready)
            and any(zone in ep["zone_hints"] for ep in ready)
        ):
            return "PreferSameZone"
        return ""

    def _categorize(self, info: Json) -> None:
        endpoints = info["endpoints"]
        use_cluster, use_local = info["uses_cluster_endpoints"], info["uses_local_endpoints"]
        mode = ""
        cluster: tuple[Json, ...] | None = None
        local: tuple[Json, ...] | None = None
        reachable: tuple[Json, ...] = ()
        has_any = False
        if use_cluster:
            ready = [ep for ep in endpoints if ep["ready"]]
            mode = self._mode(ready)
            if mode == "PreferSameNode":
                ready = [ep for ep in ready if self.node_name in ep["node_hints"]]
            elif mode == "PreferSameZone":
                ready = [ep for ep in ready if self.zone in ep["zone_hints"]]
            cluster = tuple(ready or [e for e in endpoints if e["serving"] and e["terminating"]])
            has_any = bool(cluster)
            reachable = cluster
        if use_local:
            usable = [
                ep for ep in endpoints if ep["ready"] or (ep["serving"] and ep["terminating"])
            ]
            has_any = has_any or bool(usable)
            local_ready = [ep for ep in endpoints if ep["is_local"] and ep["ready"]]
            fallback = not local_ready
            if fallback:
                local_ready = [ep for ep in usable if ep["is_local"] and not ep["ready"]]
            local = tuple(local_ready)
            if not use_cluster:
                reachable = local
            elif mode or (fallback and local):
                merged = {ep["address"]: ep for ep in (*(cluster or ()), *local)}
                reachable = tuple(merged[address] for address in sorted(merged))
        info["topology_mode"] = mode
        info["cluster_endpoints"] = cluster
        info["local_endpoints"] = local
        info["all_reachable_endpoints"] = reachable
        info["has_any_endpoints"] = has_any
