"""Server-side printing: ``meta.k8s.io/v1`` Tables, which ``kubectl get`` asks for."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from kubeproxy_config.testing._resources import ENDPOINT_SLICES, ENDPOINTS, SERVICES, Resource
from kubeproxy_config.testing._store import Obj

Column = tuple[str, str, Callable[[Obj], Any]]  # (name, type, cell)


def wants_table(accept: str | None) -> bool:
    """Whether an Accept header asks for a ``meta.k8s.io/v1`` Table."""
    for media in (accept or "").split(","):
        params = {p.strip() for p in media.split(";")[1:]}
        if {"as=Table", "g=meta.k8s.io", "v=v1"} <= params:
            return True
    return False


def _age(obj: Obj) -> str:
    text = obj["metadata"].get("creationTimestamp")
    if not text:
        return "<unknown>"
    created = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size or (unit == "m" and seconds >= size):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _join(values: list[str], limit: int = 3) -> str:
    if not values:
        return "<none>"
    more = f" + {len(values) - limit} more..." if len(values) > limit else ""
    return ",".join(values[:limit]) + more


def _service_ports(obj: Obj) -> str:
    ports = []
    for port in (obj.get("spec") or {}).get("ports") or []:
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        ports.append(f"{port.get('port')}{node}/{port.get('protocol', 'TCP')}")
    return ",".join(ports) or "<none>"


def _external_ips(obj: Obj) -> str:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("type") == "ExternalName":
        return str(spec.get("externalName") or "<none>")
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    ips = [i.get("ip") or i.get("hostname") or "" for i in ingress] + list(
        spec.get("externalIPs") or []
    )
    if not ips and spec.get("type") == "LoadBalancer":
        return "<pending>"
    return ",".join(ips) or "<none>"


def _endpoints(obj: Obj) -> str:
    addresses = []
    for subset in obj.get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for address in subset.get("addresses") or []:
            for port in ports:
                addresses.append(address["ip"] + ("" if port is None else f":{port}"))
    return _join(addresses)


def _slice_ports(obj: Obj) -> str:
    return _join([str(p.get("port")) for p in obj.get("ports") or []])


def _slice_endpoints(obj: Obj) -> str:
    return _join([a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []])


_COLUMNS: dict[Resource, list[Column]] = {
    SERVICES: [
        ("Type", "string", lambda o: (o.get("spec") or {}).get("type", "ClusterIP")),
        ("Cluster-IP", "string", lambda o: (o.get("spec") or {}).get("clusterIP") or "<none>"),
        ("External-IP", "string", _external_ips),
        ("Port(s)", "string", _service_ports),
    ],
    ENDPOINTS: [("Endpoints", "string", _endpoints)],
    ENDPOINT_SLICES: [
        ("AddressType", "string", lambda o: o.get("addressType", "")),
        ("Ports", "string", _slice_ports),
        ("Endpoints", "string", _slice_endpoints),
    ],
}


def _columns(res: Resource) -> list[Column]:
    return [
        ("Name", "string", lambda o: o["metadata"]["name"]),
        *_COLUMNS.get(res, []),
        ("Age", "string", _age),
    ]


def _row(res: Resource, obj: Obj) -> dict[str, Any]:
    partial = {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }
    return {"cells": [cell(obj) for _, _, cell in _columns(res)], "object": partial}


def table(res: Resource, objs: list[Obj], metadata: dict[str, Any] | None = None) -> Obj:
    """A Table of objects (the rows carry each object's metadata)."""
    definitions = [
        {
            "name": name,
            "type": kind,
            "format": "name" if name == "Name" else "",
            "description": "",
            "priority": 0,
        }
        for name, kind, _ in _columns(res)
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata or {},
        "columnDefinitions": definitions,
        "rows": [_row(res, obj) for obj in objs],
    }
