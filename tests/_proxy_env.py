"""Builders shared by the ProxyConfig tests: objects in Kubernetes JSON shape, and a view over
fresh input configs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from _helpers import WAIT
from kubeproxy_config import (
    EndpointSliceConfig,
    ProxyConfig,
    ProxySnapshot,
    ServiceConfig,
    ServicePortInfo,
)

Json = dict[str, Any]
TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"


def service(name: str, ns: str = "ns", **spec: Any) -> Json:
    base: Json = {"clusterIP": "10.96.0.1", "ports": [{"name": "http", "port": 80}]}
    base.update(spec)
    labels = base.pop("labels", None)
    meta: Json = {"namespace": ns, "name": name}
    if labels:
        meta["labels"] = labels
    status = base.pop("status", None)
    obj: Json = {"metadata": meta, "spec": base}
    if status:
        obj["status"] = status
    return obj


def endpoint(ip: str, node: str | None = None, **extra: Any) -> Json:
    ep: Json = {"addresses": [ip]}
    if node is not None:
        ep["nodeName"] = node
    ep.update(extra)
    return ep


def slice_of(
    svc: str,
    name: str,
    endpoints: list[Json],
    *,
    ns: str = "ns",
    port: int = 8080,
    port_name: str = "http",
    protocol: str = "TCP",
    address_type: str = "IPv4",
    labels: Json | None = None,
    annotations: Json | None = None,
) -> Json:
    meta: Json = {
        "namespace": ns,
        "name": name,
        "labels": {"kubernetes.io/service-name": svc, **(labels or {})},
    }
    if annotations:
        meta["annotations"] = annotations
    return {
        "metadata": meta,
        "addressType": address_type,
        "endpoints": endpoints,
        "ports": [{"name": port_name, "port": port, "protocol": protocol}],
    }


class Env:
    def __init__(self, **opts: Any) -> None:
        self.services = ServiceConfig()
        self.slices = EndpointSliceConfig()
        self.proxy = ProxyConfig(self.services, self.slices, **opts)
        self.svc = self.services.channel("api")
        self.eps = self.slices.channel("api")

    def set(self, services: list[Json], slices: list[Json]) -> ProxySnapshot:
        self.svc.set(services)
        self.eps.set(slices)
        return self.state()

    def state(self) -> ProxySnapshot:
        assert self.proxy.flush(WAIT)
        return self.proxy.state()

    def close(self) -> None:
        self.proxy.close()
        self.services.close()
        self.slices.close()


@contextmanager
def env(**opts: Any) -> Iterator[Env]:
    e = Env(**opts)
    try:
        yield e
    finally:
        e.close()


def addrs(eps: tuple[Any, ...] | None) -> list[str] | None:
    return None if eps is None else [e.address for e in eps]


def port(state: ProxySnapshot, key: str) -> ServicePortInfo:
    info = state.get(key)
    assert info is not None, f"{key} not in {[p.key for p in state]}"
    return info
