"""What ``kubeproxy-config watch`` shows: rows of service ports with their endpoints, rendered as
a rich table, plain text columns or a JSON document (shape in ``kubeproxy_config.cli``). With a
proxy view (``View.proxy``), the tables are its rows (``_proxy_render``) and the JSON document
has a ``"proxy"`` part."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from kubeproxy_config._config import EndpointsConfig, EndpointSliceConfig, ServiceConfig
from kubeproxy_config._core import Endpoints, EndpointSlice, Service, ServicePort
from kubeproxy_config._proxy_render import (
    ProxyView,
    proxy_json,
    proxy_plain_table,
    proxy_rich_table,
)

__all__ = ["COLUMNS", "View", "json_document", "plain_table", "rich_view", "status_line"]

COLUMNS = (
    "SERVICE",
    "TYPE",
    "CLUSTER-IP",
    "EXTERNAL",
    "PORT",
    "READY",
    "NOT-READY",
    "ENDPOINTS",
)
_SHOWN_ENDPOINTS = 3
_DROPPED_WHEN_NARROW = ("EXTERNAL", "CLUSTER-IP")
_WRAPPED = {"CLUSTER-IP": 15, "EXTERNAL": 12, "ENDPOINTS": 21}  # column → minimum width


@dataclass
class PortView:
    """One service port and the endpoints behind it (``ip:port`` strings)."""

    port: ServicePort | None  # None: a service without ports (ExternalName, say)
    ready: list[str] = field(default_factory=list)
    not_ready: list[str] = field(default_factory=list)


@dataclass
class ServiceView:
    """One service with its ports and endpoint addresses."""

    service: Service
    ports: list[PortView]
    ready_ips: list[str]
    not_ready_ips: list[str]
    endpoints_from: str | None  # "Endpoints", "EndpointSlices" or None


@dataclass
class View:
    """Everything one rendering shows, read from the three configs at one moment."""

    services: list[ServiceView]
    versions: dict[str, int]
    counts: dict[str, int]
    synced: bool
    sources: tuple[str, ...]
    namespace: str | None
    proxy: ProxyView | None = None  # the proxy view, when asked for

    @property
    def revision(self) -> tuple[object, ...]:
        """Changes whenever anything shown changes: the configs' and the proxy views' versions."""
        proxy = self.proxy.versions if self.proxy is not None else None
        return (tuple(self.versions.items()), proxy)

    @classmethod
    def read(
        cls,
        services: ServiceConfig,
        endpoints: EndpointsConfig,
        slices: EndpointSliceConfig,
        namespace: str | None,
        proxy: ProxyView | None = None,
    ) -> View:
        svc_state, ep_state, slice_state = services.state(), endpoints.state(), slices.state()
        slice_ports = _slice_ports(slice_state)
        views = [
            _service_view(svc, ep_state.get(svc.key), slices, slice_ports)
            for svc in svc_state
            if namespace is None or svc.namespace == namespace
        ]
        sources = tuple(
            dict.fromkeys((*services.sources, *endpoints.sources, *slices.sources)).keys()
        )
        return cls(
            services=views,
            versions={
                "services": svc_state.version,
                "endpoints": ep_state.version,
                "endpointSlices": slice_state.version,
            },
            counts={
                "services": len(svc_state),
                "endpoints": len(ep_state),
                "endpointSlices": len(slice_state),
            },
            synced=services.synced and endpoints.synced and slices.synced,
            sources=sources,
            namespace=namespace,
            proxy=proxy,
        )


def _slice_ports(slices: Iterable[EndpointSlice]) -> dict[tuple[str, str], dict[str, int | None]]:
    """(namespace, service) → port name → endpoint port number, from the first slice naming it."""
    out: dict[tuple[str, str], dict[str, int | None]] = {}
    for s in slices:
        if s.service_name is None:
            continue
        ports = out.setdefault((s.namespace, s.service_name), {})
        for p in s.ports:
            ports.setdefault(p.name, p.port)
    return out


def _service_view(
    svc: Service,
    eps: Endpoints | None,
    slices: EndpointSliceConfig,
    slice_ports: dict[tuple[str, str], dict[str, int | None]],
) -> ServiceView:
    ports = [PortView(p) for p in svc.ports] or [PortView(None)]
    ready: list[str] = []
    not_ready: list[str] = []
    source: str | None = None
    if eps is not None:
        source = "Endpoints"
        for subset in eps.subsets:
            ready.extend(a.ip for a in subset.addresses)
            not_ready.extend(a.ip for a in subset.not_ready_addresses)
            numbers = {p.name: p.port for p in subset.ports}
            for view in ports:
                name = view.port.name if view.port is not None else ""
                if name in numbers:
                    view.ready.extend(_at(a.ip, numbers[name]) for a in subset.addresses)
                    view.not_ready.extend(
                        _at(a.ip, numbers[name]) for a in subset.not_ready_addresses
                    )
    elif (svc.namespace, svc.name) in slice_ports:
        source = "EndpointSlices"
        numbers = slice_ports[(svc.namespace, svc.name)]
        for endpoint in slices.endpoints_for(svc.key):
            (ready if endpoint.ready else not_ready).extend(endpoint.addresses)
            for view in ports:
                name = view.port.name if view.port is not None else ""
                if name in numbers:
                    target = view.ready if endpoint.ready else view.not_ready
                    target.extend(_at(ip, numbers[name]) for ip in endpoint.addresses)
    for view in ports:
        view.ready = _sorted_unique(view.ready)
        view.not_ready = _sorted_unique(view.not_ready)
    return ServiceView(svc, ports, _sorted_unique(ready), _sorted_unique(not_ready), source)


def _at(ip: str, port: int | None) -> str:
    if port is None:
        return ip
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _address_key(address: str) -> tuple[int, int, int, str]:
    """Sort IPv4 before IPv6, numerically, then by port: ``ip``, ``ip:port``, ``[ip6]:port``."""
    host, port = address, ""
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = rest[1:]
    elif address.count(":") == 1:
        host, _, port = address.partition(":")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return (9, 0, 0, address)
    return (ip.version, int(ip), int(port) if port.isdigit() else 0, address)


def _sorted_unique(addresses: Iterable[str]) -> list[str]:
    return sorted(set(addresses), key=_address_key)


# ---- rows -----------------------------------------------------------------------------------


def _rows(view: View) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for sv in view.services:
        svc = sv.service
        cluster_ip = ", ".join(svc.cluster_ips) or svc.cluster_ip or "-"
        if svc.type == "ExternalName":
            cluster_ip = "-"
            external = svc.external_name or "-"
        else:
            external = ", ".join((*svc.load_balancer_ingress_ips, *svc.external_ips)) or "-"
        for pv in sv.ports:
            p = pv.port
            if p is None:
                port = "-"
            else:  # kubectl's form: port[:nodePort]/protocol, after the port's name
                node_port = f":{p.node_port}" if p.node_port else ""
                port = f"{p.name + ' ' if p.name else ''}{p.port}{node_port}/{p.protocol}"
            shown = ", ".join(pv.ready[:_SHOWN_ENDPOINTS]) or "-"
            if len(pv.ready) > _SHOWN_ENDPOINTS:
                shown += f" +{len(pv.ready) - _SHOWN_ENDPOINTS} more"
            rows.append(
                (
                    svc.key,
                    svc.type,
                    cluster_ip,
                    external,
                    port,
                    str(len(pv.ready)),
                    str(len(pv.not_ready)),
                    shown,
                )
            )
    return rows


def status_line(view: View, warnings: Sequence[str] = ()) -> str:
    """``sources: file · synced · versions … · objects …`` and the latest warning, if any."""
    versions = " ".join(f"{k}={v}" for k, v in view.versions.items())
    counts = ", ".join(f"{v} {k}" for k, v in view.counts.items())
    parts = [
        f"sources: {', '.join(view.sources) or '-'}",
        "synced" if view.synced else "syncing…",
        f"versions: {versions}",
        f"objects: {counts}",
    ]
    if view.namespace is not None:
        parts.append(f"namespace: {view.namespace}")
    if view.proxy is not None:
        where = [f"node {view.proxy.node}"] if view.proxy.node is not None else []
        where += [f"zone {view.proxy.zone}"] if view.proxy.zone is not None else []
        parts.append(f"proxy view: {', '.join([view.proxy.ip_family, *where])}")
    line = " · ".join(parts)
    if warnings:
        line += f"\nwarning: {warnings[-1]}"
    return line


def plain_table(view: View) -> str:
    """The rows as aligned text columns (for pipes and files), header first."""
    if view.proxy is not None:
        return proxy_plain_table(view.proxy)
    rows = [COLUMNS, *_rows(view)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def rich_view(view: View, warnings: Sequence[str] = (), width: int | None = None) -> Group:
    """The live view: a table of the rows and a status line below it. On a console narrower
    than ``width`` needs, EXTERNAL and then CLUSTER-IP are left out."""
    status = Text(status_line(view, warnings), style="dim")
    if warnings:
        status.stylize("yellow", status.plain.index("\nwarning:"))
    if view.proxy is not None:
        if view.proxy.ports:
            return Group(proxy_rich_table(view.proxy, width), status)
        empty = "no service ports" if view.synced else "waiting for the sources to sync…"
        return Group(proxy_rich_table(view.proxy, width), Text(empty, style="italic"), status)
    rows = _rows(view)
    natural = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(COLUMNS)]
    shown = list(range(len(COLUMNS)))
    for dropped in _DROPPED_WHEN_NARROW:
        needed = sum(min(natural[i], _WRAPPED.get(COLUMNS[i], natural[i])) + 2 for i in shown)
        if width is None or needed <= width:
            break
        shown.remove(COLUMNS.index(dropped))
    table = Table(box=None, header_style="bold", pad_edge=False, expand=False)
    for i in shown:
        name = COLUMNS[i]
        justify: Any = "right" if name in ("READY", "NOT-READY") else "left"
        if name in _WRAPPED:  # these wrap on a narrow terminal; the others keep their width
            table.add_column(name, justify=justify, overflow="ellipsis", min_width=_WRAPPED[name])
        else:
            table.add_column(name, justify=justify, no_wrap=True, min_width=natural[i])
    for row in rows:
        table.add_row(*(Text(row[i]) for i in shown))
    if not view.services:
        waiting = "waiting for the sources to sync…" if not view.synced else "no services"
        return Group(table, Text(waiting, style="italic"), status)
    return Group(table, status)


# ---- JSON -----------------------------------------------------------------------------------


def json_document(view: View) -> dict[str, Any]:
    """One snapshot as the JSON document printed by ``--output json``."""
    document = {
        "version": dict(view.versions),
        "synced": view.synced,
        "sources": list(view.sources),
        "namespace": view.namespace,
        "services": [_service_json(sv) for sv in view.services],
    }
    if view.proxy is not None:
        document["proxy"] = proxy_json(view.proxy)
    return document


def _service_json(sv: ServiceView) -> dict[str, Any]:
    svc = sv.service
    return {
        "namespace": svc.namespace,
        "name": svc.name,
        "type": svc.type,
        "clusterIP": svc.cluster_ip,
        "clusterIPs": list(svc.cluster_ips),
        "externalName": svc.external_name,
        "externalIPs": list(svc.external_ips),
        "loadBalancerIngress": list(svc.load_balancer_ingress_ips),
        "externalTrafficPolicy": svc.external_traffic_policy,
        "healthCheckNodePort": svc.health_check_node_port,
        "ports": [
            {
                "name": pv.port.name,
                "protocol": pv.port.protocol,
                "port": pv.port.port,
                "targetPort": pv.port.target_port,
                "nodePort": pv.port.node_port,
                "endpoints": {"ready": pv.ready, "notReady": pv.not_ready},
            }
            for pv in sv.ports
            if pv.port is not None
        ],
        "endpoints": {"ready": sv.ready_ips, "notReady": sv.not_ready_ips},
        "endpointsFrom": sv.endpoints_from,
    }
