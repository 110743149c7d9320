"""What ``kubeproxy-config watch`` shows: rows of service ports with their endpoints, rendered as
a rich table, plain text columns or a JSON document (shape in ``kubeproxy_config.cli``). With a
proxy view (``View.proxy``), the tables are its rows (``_proxy_render``) and the JSON document
has a ``"proxy"`` part."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rich.console import Group
from rich.table import Table
from rich.text import Text

from kubeproxy_config._config import EndpointsConfig, EndpointSliceConfig, ServiceConfig
from kubeproxy_config._core import Endpoint, Endpoints, EndpointSlice, Service, ServicePort
from kubeproxy_config._proxy_render import (
    ProxyView,
    proxy_json,
    proxy_plain_table,
    proxy_rich_table,
)

__all__ = [
    "COLUMNS",
    "Addresses",
    "LabelFilter",
    "View",
    "json_document",
    "label",
    "plain_table",
    "rich_view",
    "status_line",
]

COLUMNS = ("SERVICE", "TYPE", "CLUSTER-IP", "EXTERNAL", "PORT", "READY", "ENDPOINTS")
_DROPPED_WHEN_NARROW = ("EXTERNAL", "CLUSTER-IP", "TYPE")
_ENDPOINTS_WIDTH = 30  # what ENDPOINTS keeps before columns are dropped: "ip:port (not ready)"
_ENDPOINTS_MIN = 16  # below this, endpoints go below their row instead of in a column

READY, NOT_READY, TERMINATING = "ready", "not ready", "terminating"


class LabelFilter(Protocol):
    """Which services to show, by their labels (``-l``)."""

    @property
    def text(self) -> str:
        """The selector as written."""

    def matches_labels(self, labels: Mapping[str, str]) -> bool: ...


_RANK = {READY: 0, TERMINATING: 1, NOT_READY: 2}  # an address in several states shows its best


@dataclass
class Addresses:
    """Endpoint addresses by state: ``ready``, ``not_ready`` (and not terminating) and
    ``terminating`` (EndpointSlices only: legacy Endpoints cannot say so), each sorted."""

    ready: list[str] = field(default_factory=list)
    not_ready: list[str] = field(default_factory=list)
    terminating: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, states: Iterable[tuple[str, str]]) -> Addresses:
        """From (address, state) pairs; an address seen in several states keeps its best."""
        best: dict[str, str] = {}
        for address, state in states:
            if address not in best or _RANK[state] < _RANK[best[address]]:
                best[address] = state
        by_state: dict[str, list[str]] = {READY: [], NOT_READY: [], TERMINATING: []}
        for address, state in best.items():
            by_state[state].append(address)
        return cls(
            *(sorted(by_state[s], key=_address_key) for s in (READY, NOT_READY, TERMINATING))
        )

    def marked(self) -> list[tuple[str, str]]:
        """Every address with its state, in address order."""
        pairs = [
            *((a, READY) for a in self.ready),
            *((a, NOT_READY) for a in self.not_ready),
            *((a, TERMINATING) for a in self.terminating),
        ]
        return sorted(pairs, key=lambda pair: _address_key(pair[0]))

    def __len__(self) -> int:
        return len(self.ready) + len(self.not_ready) + len(self.terminating)

    def to_json(self) -> dict[str, list[str]]:
        """``{"ready": [...], "notReady": [...], "terminating": [...]}``."""
        return {"ready": self.ready, "notReady": self.not_ready, "terminating": self.terminating}


@dataclass
class PortView:
    """One service port and the endpoints behind it (``ip:port`` strings)."""

    port: ServicePort | None  # None: a service without ports (ExternalName, say)
    endpoints: Addresses = field(default_factory=Addresses)


@dataclass
class ServiceView:
    """One service with its ports and endpoint addresses."""

    service: Service
    ports: list[PortView]
    addresses: Addresses  # the IPs, whatever the port
    endpoints_from: str | None  # "EndpointSlices", "Endpoints" or None


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
    selector: str | None = None  # the label selector the services were chosen by

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
        selector: LabelFilter | None = None,
    ) -> View:
        svc_state, ep_state, slice_state = services.state(), endpoints.state(), slices.state()
        slice_ports = _slice_ports(slice_state)
        views = [
            _service_view(svc, ep_state.get(svc.key), slices, slice_ports)
            for svc in svc_state
            if (namespace is None or svc.namespace == namespace)
            and (selector is None or selector.matches_labels(svc.labels))
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
            selector=selector.text if selector is not None else None,
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


def _slice_state(endpoint: Endpoint) -> str:
    if endpoint.ready:
        return READY
    return TERMINATING if endpoint.terminating else NOT_READY


def _service_view(
    svc: Service,
    eps: Endpoints | None,
    slices: EndpointSliceConfig,
    slice_ports: dict[tuple[str, str], dict[str, int | None]],
) -> ServiceView:
    """The service's endpoints as a proxy reads them: from its EndpointSlices when it has any
    (they alone carry terminating endpoints), else from its legacy Endpoints object."""
    names = [p.name if p is not None else "" for p in (svc.ports or [None])]
    per_port: list[list[tuple[str, str]]] = [[] for _ in names]
    ips: list[tuple[str, str]] = []
    source: str | None = None
    if (svc.namespace, svc.name) in slice_ports:
        source = "EndpointSlices"
        numbers = slice_ports[(svc.namespace, svc.name)]
        for endpoint in slices.endpoints_for(svc.key):
            state = _slice_state(endpoint)
            ips.extend((ip, state) for ip in endpoint.addresses)
            for name, pairs in zip(names, per_port, strict=True):
                if name in numbers:
                    pairs.extend((_at(ip, numbers[name]), state) for ip in endpoint.addresses)
    elif eps is not None:
        source = "Endpoints"
        for subset in eps.subsets:
            states = [
                *((a.ip, READY) for a in subset.addresses),
                *((a.ip, NOT_READY) for a in subset.not_ready_addresses),
            ]
            ips.extend(states)
            numbers = {p.name: p.port for p in subset.ports}
            for name, pairs in zip(names, per_port, strict=True):
                if name in numbers:
                    pairs.extend((_at(ip, numbers[name]), state) for ip, state in states)
    ports = [
        PortView(port, Addresses.of(pairs))
        for port, pairs in zip(svc.ports or [None], per_port, strict=True)
    ]
    return ServiceView(svc, ports, Addresses.of(ips), source)


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


def label(address: str, state: str) -> str:
    """``10.0.0.1:8080``, ``10.0.0.2:8080 (not ready)``, ``10.0.0.3:8080 (terminating)``."""
    return address if state == READY else f"{address} ({state})"


# ---- rows -----------------------------------------------------------------------------------


_STYLES = {READY: "green", NOT_READY: "red", TERMINATING: "yellow"}


@dataclass(frozen=True)
class _Row:
    cells: tuple[str, ...]  # as COLUMNS
    endpoints: list[tuple[str, str]]  # (address, state), for the rich table


def _rows(view: View) -> list[_Row]:
    rows: list[_Row] = []
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
            marked = pv.endpoints.marked()
            ready = f"{len(pv.endpoints.ready)}/{len(pv.endpoints)}"
            shown = ", ".join(label(a, state) for a, state in marked) or "-"
            cells = (svc.key, svc.type, cluster_ip, external, port, ready, shown)
            rows.append(_Row(cells, marked))
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
    parts.append(f"namespace: {view.namespace}" if view.namespace else "all namespaces")
    if view.selector is not None:
        parts.append(f"selector: {view.selector}")
    if view.proxy is not None:
        where = [f"node {view.proxy.node}"] if view.proxy.node is not None else []
        where += [f"zone {view.proxy.zone}"] if view.proxy.zone is not None else []
        parts.append(f"proxy view: {', '.join([view.proxy.ip_family, *where])}")
    line = " · ".join(parts)
    if warnings:
        line += f"\nwarning: {warnings[-1]}"
    return line


def plain_table(view: View) -> str:
    """The rows as aligned text columns (for pipes and files), header first. READY is ready
    endpoints / all endpoints; ENDPOINTS lists every one, marked unless ready."""
    if view.proxy is not None:
        return proxy_plain_table(view.proxy)
    rows = [COLUMNS, *(row.cells for row in _rows(view))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def _marked_text(endpoints: list[tuple[str, str]]) -> Text:
    """One endpoint a line, coloured by state, marked unless ready."""
    text = Text()
    for address, state in endpoints:
        if text:
            text.append("\n")
        text.append(address, style=_STYLES[state])
        if state != READY:
            text.append(f" ({state})", style=_STYLES[state])
    return text or Text("-", style="dim")


def rich_view(view: View, warnings: Sequence[str] = (), width: int | None = None) -> Group:
    """The live view: a table of the rows and a status line below it. Endpoints are one a line;
    on a console narrower than ``width`` needs, EXTERNAL, CLUSTER-IP and then TYPE are left out,
    what is still too wide folds, and when even that leaves no room for the addresses they go
    below their row."""
    status = Text(status_line(view, warnings), style="dim")
    if warnings:
        status.stylize("yellow", status.plain.index("\nwarning:"))
    if view.proxy is not None:
        if view.proxy.ports:
            return Group(proxy_rich_table(view.proxy, width), status)
        empty = "no service ports" if view.synced else "waiting for the sources to sync…"
        return Group(proxy_rich_table(view.proxy, width), Text(empty, style="italic"), status)
    rows = _rows(view)
    endpoints_at = COLUMNS.index("ENDPOINTS")
    natural = [
        max(
            [
                len(name),
                *(
                    max((len(label(*e)) for e in row.endpoints), default=1)
                    if i == endpoints_at
                    else len(row.cells[i])
                    for row in rows
                ),
            ]
        )
        for i, name in enumerate(COLUMNS)
    ]
    shown = list(range(len(COLUMNS)))
    for dropped in _DROPPED_WHEN_NARROW:
        needed = sum(min(natural[i], _ENDPOINTS_WIDTH) + 2 for i in shown)
        if width is None or needed <= width + 2:
            break
        shown.remove(COLUMNS.index(dropped))
    others = sum(natural[i] + 2 for i in shown if i != endpoints_at)
    if width is not None and width - others < _ENDPOINTS_MIN:
        body: Table | Group = _stacked(rows, shown)  # no room for a column of addresses
    else:
        table = Table(box=None, header_style="bold", pad_edge=False, expand=False)
        for i in shown:
            name = COLUMNS[i]
            if name == "ENDPOINTS":  # the mark, then the address, wrap onto further lines
                table.add_column(name, overflow="fold")
            else:  # one line each
                justify: Any = "right" if name == "READY" else "left"
                table.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis")
        for row in rows:
            cells = [*(Text(c) for c in row.cells[:endpoints_at]), _marked_text(row.endpoints)]
            table.add_row(*(cells[i] for i in shown))
        body = table
    if not view.services:
        waiting = "waiting for the sources to sync…" if not view.synced else "no services"
        return Group(body, Text(waiting, style="italic"), status)
    return Group(body, status)


def _stacked(rows: list[_Row], shown: list[int]) -> Group:
    """The narrowest layout: each service port on a line, its endpoints indented below it."""
    lines: list[Text] = []
    for row in rows:
        lines.append(Text("  ".join(row.cells[i] for i in shown if COLUMNS[i] != "ENDPOINTS")))
        for endpoint in row.endpoints or [("-", READY)]:
            lines.append(Text("  ").append_text(_marked_text([endpoint])))
    return Group(*lines)


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
                "endpoints": pv.endpoints.to_json(),
            }
            for pv in sv.ports
            if pv.port is not None
        ],
        "endpoints": sv.addresses.to_json(),
        "endpointsFrom": sv.endpoints_from,
    }
