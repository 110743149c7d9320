"""The proxy view on top of the soak (``test_soak.py``, SPEC §9): two ``ProxyConfig`` follow the
soaked configs (one over EndpointSlices, one over legacy Endpoints), and are checked against the
rule book recomputed from scratch over the server's objects (``proxy_reference.compute``), and
against a fresh ``ProxyConfig`` fed the same final state."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from kubeproxy_config import (
    EndpointsConfig,
    EndpointSliceConfig,
    ProxyConfig,
    ProxySnapshot,
    ServiceConfig,
)
from kubeproxy_config.testing import FakeAPIServer
from proxy_reference import compute
from test_proxy_model import canonical, ports_of

WAIT = 30.0  # seconds a flush may take on a loaded machine: reaching it means a hang

Json = dict[str, Any]


@dataclass(frozen=True)
class ProxySpec:
    """One proxy of the soak: over which endpoints kind, and its options."""

    name: str
    endpoints_kind: str  # "EndpointSlice" or "Endpoints"
    node_name: str = "node-a"
    zone: str = "z1"

    def build(self, services: ServiceConfig, inputs: EndpointSliceConfig | EndpointsConfig) -> Any:
        return ProxyConfig(
            services, inputs, node_name=self.node_name, zone=self.zone, name=self.name
        )


PROXIES = (ProxySpec("proxy-slices", "EndpointSlice"), ProxySpec("proxy-legacy", "Endpoints"))


class ProxyViewHandler:
    """Builds the proxy view from the deliveries' ``changes`` alone, checking them as it goes
    (problems are kept, not raised: a raise would only be logged on the delivery thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.view: dict[str, Any] = {}
        self.deliveries = 0
        self.problems: list[str] = []

    def __call__(self, state: ProxySnapshot) -> None:
        changes = state.changes
        with self.lock:
            self.deliveries += 1
            for info in changes.removed:
                if self.view.pop(info.key, None) != info:
                    self.problems.append(f"removed {info.key} differs from what was seen")
            for old, new in changes.updated:
                if old == new or self.view.get(old.key) != old:
                    self.problems.append(f"updated {old.key}: old differs or equals new")
                self.view[new.key] = new
            for info in changes.added:
                if info.key in self.view:
                    self.problems.append(f"added {info.key} was already seen")
                self.view[info.key] = info

    def ports(self) -> dict[str, Json]:
        with self.lock:
            return {key: info.to_dict() for key, info in self.view.items()}


def reference_mismatch(proxy: Any, spec: ProxySpec, server: FakeAPIServer, zone: str) -> str:
    """Empty when ``proxy.state()`` equals the rule book recomputed over the server's objects
    (the configs must have converged to them) for the node in ``zone``, else what differs."""
    services = server.objects("Service")
    others = server.objects(spec.endpoints_kind)
    opts: dict[str, Any] = {"node_name": spec.node_name, "zone": zone}
    if spec.endpoints_kind == "Endpoints":
        expected = compute(services, endpoints=others, **opts)
    else:
        expected = compute(services, others, **opts)
    state = proxy.state()
    got, want = canonical(ports_of(state)), canonical(expected.ports)
    problems = []
    if got != want:
        wrong = sorted(k for k in got.keys() | want.keys() if got.get(k) != want.get(k))
        problems.append(f"{len(wrong)} ports differ from the reference, e.g. {wrong[:3]}")
        if wrong:
            problems.append(f"got {got.get(wrong[0])}, want {want.get(wrong[0])}")
    if state.health_check_node_ports != expected.health_check_node_ports:
        problems.append("health_check_node_ports differ from the reference")
    if state.local_ready_endpoints != expected.local_ready_endpoints:
        problems.append("local_ready_endpoints differ from the reference")
    return "; ".join(f"{spec.name}: {p}" for p in problems)


def fresh_mismatch(proxy: Any, spec: ProxySpec, server: FakeAPIServer, zone: str) -> str:
    """Empty when a new ``ProxyConfig`` (same options, the node in ``zone``) fed the server's
    objects in one SET each gives exactly ``proxy.state()``, else what differs."""
    inputs: EndpointSliceConfig | EndpointsConfig = (
        EndpointsConfig() if spec.endpoints_kind == "Endpoints" else EndpointSliceConfig()
    )
    with ServiceConfig() as services, inputs:
        fresh = ProxySpec(spec.name, spec.endpoints_kind, spec.node_name, zone)
        with fresh.build(services, inputs) as other:
            services.channel("api").set(server.objects("Service"))
            inputs.channel("api").set(server.objects(spec.endpoints_kind))
            if not other.flush(WAIT):
                return f"{spec.name}: the fresh proxy did not settle"
            want, got = other.state(), proxy.state()
            if [p.to_dict() for p in got] != [p.to_dict() for p in want]:
                return f"{spec.name}: differs from a fresh ProxyConfig fed the final state"
            if (got.health_check_node_ports, got.local_ready_endpoints) != (
                want.health_check_node_ports,
                want.local_ready_endpoints,
            ):
                return f"{spec.name}: health maps differ from a fresh ProxyConfig's"
    return ""
