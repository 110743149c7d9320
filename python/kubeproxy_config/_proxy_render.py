"""The proxy view as ``kubeproxy-config watch`` shows it (SPEC §6, §9): its options, how it is
read, and its renderings. One row per ``ServicePortInfo`` with every endpoint and its state
marked and, for a node (``--node`` / ``--zone``), the endpoints that node uses for cluster and for
local traffic.

Nothing is categorised here: the rows are the ``ProxySnapshot`` of a ``ProxyConfig`` over the
EndpointSlices, as kube-proxy reads them. A service with no EndpointSlice but an ``Endpoints``
object (hand-written manifests often have only those) takes its row from a second
``ProxyConfig`` over the ``Endpoints`` instead.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text

from kubeproxy_config._config import EndpointsConfig, EndpointSliceConfig, ServiceConfig
from kubeproxy_config._core import EndpointInfo, EndpointSlice, ServicePortInfo
from kubeproxy_config._proxy import ProxyConfig

__all__ = [
    "COLUMNS",
    "NODE_COLUMNS",
    "ProxyView",
    "add_arguments",
    "endpoint_label",
    "endpoint_list",
    "follow",
    "proxy_json",
    "proxy_plain_table",
    "proxy_rich_table",
]

COLUMNS = ("SERVICE", "PORT", "CLUSTER-IP", "ENDPOINTS")
NODE_COLUMNS = (*COLUMNS, "POLICY", "CLUSTER", "LOCAL")
_ENDPOINT_COLUMNS = ("ENDPOINTS", "CLUSTER", "LOCAL")
_DROPPED_WHEN_NARROW = ("POLICY", "CLUSTER-IP")
_FLUSH_TIMEOUT = 5.0
_STYLES = {"not ready": "red", "terminating": "yellow", "terminating, not serving": "yellow"}


@dataclass(frozen=True)
class PortRow:
    """One service port of the proxy view, and which kind of object its endpoints came from
    ("EndpointSlices", "Endpoints", or None when the service has neither)."""

    info: ServicePortInfo
    endpoints_from: str | None


@dataclass(frozen=True)
class ProxyView:
    """The service ports a proxy on ``node`` (in ``zone``) programs for one IP family."""

    ports: tuple[PortRow, ...]
    ip_family: str
    node: str | None
    zone: str | None
    versions: tuple[int, int]  # of the views over EndpointSlices and over Endpoints

    @property
    def per_node(self) -> bool:
        """Whether the cluster and local endpoints mean something: a node or a zone is given."""
        return self.node is not None or self.zone is not None

    @classmethod
    def read(
        cls,
        by_slices: ProxyConfig,
        by_endpoints: ProxyConfig,
        namespace: str | None,
        *,
        ip_family: str,
        node: str | None,
        zone: str | None,
        selector: Callable[[Mapping[str, str]], bool] | None = None,
    ) -> ProxyView:
        """Read both views once everything sent to their inputs so far is in them.
        ``by_slices`` follows an ``EndpointSliceConfig``, ``by_endpoints`` an ``EndpointsConfig``
        (over the same ``ServiceConfig``); ``selector`` chooses services by their labels."""
        by_slices.flush(_FLUSH_TIMEOUT)
        by_endpoints.flush(_FLUSH_TIMEOUT)
        from_slices, from_endpoints = by_slices.state(), by_endpoints.state()
        sliced = {
            f"{s.namespace}/{s.service_name}"
            for s in by_slices.endpoints.state()
            if isinstance(s, EndpointSlice) and s.service_name
        }
        legacy = by_endpoints.endpoints.state()
        services = by_slices.services.state()
        rows: list[PortRow] = []
        for info in from_slices:
            if namespace is not None and info.namespace != namespace:
                continue
            if selector is not None:
                service = services.get(info.service_key)
                if service is None or not selector(service.labels):
                    continue
            key = info.service_key
            other = from_endpoints.get(info.key)
            if key not in sliced and other is not None and legacy.get(key) is not None:
                rows.append(PortRow(other, "Endpoints"))
            else:
                rows.append(PortRow(info, "EndpointSlices" if key in sliced else None))
        return cls(
            ports=tuple(rows),
            ip_family=ip_family,
            node=node,
            zone=zone,
            versions=(from_slices.version, from_endpoints.version),
        )


def add_arguments(watch: argparse.ArgumentParser) -> None:
    """The options of ``watch`` that ask for the proxy view."""
    group = watch.add_argument_group("proxy view (what a service proxy on a node programs)")
    group.add_argument(
        "--node",
        metavar="NAME",
        help="the node: show the endpoints it uses for cluster and for local traffic",
    )
    group.add_argument("--zone", metavar="ZONE", help="the node's zone (for topology hints)")
    group.add_argument(
        "--ip-family",
        metavar="IPv4|IPv6",
        type=_ip_family,
        help="the IP family of the service ports shown (default IPv4)",
    )


def _ip_family(value: str) -> str:
    for family in ("IPv4", "IPv6"):
        if value.lower() == family.lower():
            return family
    raise argparse.ArgumentTypeError(f"invalid IP family {value!r} (choose IPv4 or IPv6)")


def follow(
    args: argparse.Namespace,
    services: ServiceConfig,
    endpoints: EndpointsConfig,
    slices: EndpointSliceConfig,
    stack: contextlib.ExitStack,
    selector: Callable[[Mapping[str, str]], bool] | None = None,
) -> Callable[[], ProxyView] | None:
    """How to read the proxy view where ``watch`` shows it: in JSON, and in the table once
    --node, --zone or --ip-family is given (None: not shown). The two ``ProxyConfig`` it reads
    from follow the configs until ``stack`` closes them; ``selector`` chooses services by
    their labels (``-l``)."""
    if args.output != "json" and (args.node, args.zone, args.ip_family) == (None, None, None):
        return None
    node: str | None = args.node
    zone: str | None = args.zone
    family: str = args.ip_family or "IPv4"
    namespace: str | None = args.namespace

    def proxy(endpoints: EndpointSliceConfig | EndpointsConfig) -> ProxyConfig:
        return ProxyConfig(
            services, endpoints, node_name=node or "", zone=zone or "", ip_family=family
        )

    by_slices = stack.enter_context(proxy(slices))
    by_endpoints = stack.enter_context(proxy(endpoints))

    def read() -> ProxyView:
        return ProxyView.read(
            by_slices,
            by_endpoints,
            namespace,
            ip_family=family,
            node=node,
            zone=zone,
            selector=selector,
        )

    return read


# ---- cells ----------------------------------------------------------------------------------


def _state(endpoint: EndpointInfo) -> str:
    """What keeps an endpoint from being ready ("" when it is)."""
    if endpoint.ready:
        return ""
    if endpoint.terminating:
        return "terminating" if endpoint.serving else "terminating, not serving"
    return "not ready"


def endpoint_label(endpoint: EndpointInfo) -> str:
    """``10.0.0.1:8080``, ``10.0.0.2:8080 (not ready)``, ``10.0.0.3:8080 (terminating)``."""
    state = _state(endpoint)
    return f"{endpoint.address} ({state})" if state else endpoint.address


def endpoint_list(endpoints: Iterable[EndpointInfo] | None) -> str:
    """The endpoints' labels joined by ", "; None (not used) is "-", an empty tuple "none"."""
    if endpoints is None:
        return "-"
    return ", ".join(endpoint_label(e) for e in endpoints) or "none"


def _policy(info: ServicePortInfo) -> str:
    parts = []
    if info.external_policy_local:
        parts.append("external=Local")
    if info.internal_policy_local:
        parts.append("internal=Local")
    if info.topology_mode:
        parts.append(info.topology_mode)
    return ", ".join(parts) or "-"


def _port(info: ServicePortInfo) -> str:
    """kubectl's form: ``name port[:nodePort]/protocol``."""
    node_port = f":{info.node_port}" if info.node_port else ""
    name = f"{info.port_name} " if info.port_name else ""
    return f"{name}{info.port}{node_port}/{info.protocol}"


def _columns(view: ProxyView) -> tuple[str, ...]:
    return NODE_COLUMNS if view.per_node else COLUMNS


def _rows(view: ProxyView) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for row in view.ports:
        info = row.info
        cells = [info.service_key, _port(info), info.cluster_ip, endpoint_list(info.endpoints)]
        if view.per_node:
            cells += [
                _policy(info),
                endpoint_list(info.cluster_endpoints),
                endpoint_list(info.local_endpoints),
            ]
        rows.append(tuple(cells))
    return rows


# ---- renderings -----------------------------------------------------------------------------


def proxy_plain_table(view: ProxyView) -> str:
    """One line per service port, aligned columns, header first (for pipes and files)."""
    columns = _columns(view)
    rows = [columns, *_rows(view)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _rich_endpoints(endpoints: Iterable[EndpointInfo] | None) -> Text:
    """One endpoint a line, a not-ready one in red and a terminating one in yellow."""
    if endpoints is None:
        return Text("-", style="dim")
    text = Text()
    for endpoint in endpoints:
        if text:
            text.append("\n")
        state = _state(endpoint)
        text.append(endpoint.address, style=_STYLES.get(state, "green"))
        if state:
            text.append(f" ({state})", style=_STYLES[state])
    return text or Text("none", style="dim")


def proxy_rich_table(view: ProxyView, width: int | None = None) -> Table:
    """The live view's table: the plain table's columns, endpoints one a line and coloured. On a
    console narrower than ``width`` needs, POLICY, CLUSTER-IP and (with a node) ENDPOINTS are
    left out in turn, and an endpoint's mark may wrap below its address."""
    columns = _columns(view)
    rows = _rows(view)
    natural = [
        max([len(name), *(len(line) for cells in rows for line in cells[i].split(", "))])
        for i, name in enumerate(columns)
    ]
    shown = list(range(len(columns)))
    # With a node, the full list goes last: CLUSTER and LOCAL say what the node does with it.
    for dropped in (*_DROPPED_WHEN_NARROW, *(("ENDPOINTS",) if view.per_node else ())):
        if width is None or sum(natural[i] + 2 for i in shown) <= width + 2:
            break
        if dropped in columns:
            shown.remove(columns.index(dropped))
    table = Table(box=None, header_style="bold", pad_edge=False, expand=False)
    for i in shown:
        if columns[i] in _ENDPOINT_COLUMNS:
            addresses = [len(e.address) for r in view.ports for e in r.info.endpoints]
            table.add_column(columns[i], overflow="fold", min_width=max([8, *addresses]))
        else:
            table.add_column(columns[i], no_wrap=True, min_width=natural[i])
    for row, cells in zip(view.ports, rows, strict=True):
        info = row.info
        rich_cells = [
            Text(cells[0]),
            Text(cells[1]),
            Text(cells[2]),
            _rich_endpoints(info.endpoints),
        ]
        if view.per_node:
            rich_cells += [
                Text(cells[4]),
                _rich_endpoints(info.cluster_endpoints),
                _rich_endpoints(info.local_endpoints),
            ]
        table.add_row(*(rich_cells[i] for i in shown))
    return table


def proxy_json(view: ProxyView) -> dict[str, Any]:
    """The ``"proxy"`` part of the ``--output json`` document."""
    return {
        "ipFamily": view.ip_family,
        "node": view.node,
        "zone": view.zone,
        "version": {"endpointSlices": view.versions[0], "endpoints": view.versions[1]},
        "servicePorts": [
            {**row.info.to_dict(), "endpoints_from": row.endpoints_from} for row in view.ports
        ],
    }
