"""Resource hygiene of the proxy view (SPEC §9): ProxyConfig create/close cycles leave no thread,
fd, socket or memory behind, and no registration on the configs it followed.

Most cycles follow long-lived configs, as a proxy restarted inside one process would; every
fourth one follows configs of its own, closed before or after the proxy; some are dropped
without ``close()``. The CI form runs the full 1,000 cycles (about a second), as does
``python benches/hygiene.py``.
"""

from __future__ import annotations

import gc
from typing import Any

from _helpers import wait_until
from _hygiene import LINUX_ONLY, WAIT, Figures, cycles
from kubeproxy_config import (
    EndpointsConfig,
    EndpointSliceConfig,
    ProxyConfig,
    ProxySnapshot,
    ServiceConfig,
)

pytestmark = LINUX_ONLY

CI_CYCLES = 1000


def service(name: str, port: int) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {
            "clusterIP": f"10.96.0.{port % 200 + 1}",
            "type": "NodePort",
            "externalTrafficPolicy": "Local",
            "ports": [{"name": "http", "port": port, "nodePort": 30000 + port}],
        },
    }


def endpoint_slice(name: str, ip: str, zone: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"{name}-1",
            "namespace": "ns",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": [ip], "nodeName": "node-a", "zone": zone, "hints": {"forZones": []}},
        ],
        "ports": [{"name": "http", "port": 8080}],
    }


def endpoints(name: str, ip: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns"},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "http", "port": 8080}]}],
    }


class Handler:
    """Counts deliveries and the on_synced call."""

    def __init__(self) -> None:
        self.calls = 0
        self.synced = 0

    def on_proxy_update(self, state: ProxySnapshot) -> None:
        self.calls += 1

    def on_synced(self) -> None:
        self.synced += 1


def exercise(proxy: ProxyConfig, services: Any, inputs: Any, i: int) -> None:
    """Register handlers, change both inputs and the zone, and wait for the view."""
    handler = Handler()
    proxy.register_handler(handler)
    proxy.register_handler(lambda state: None).cancel()
    services.channel("api").add([service(f"s{i % 5}", 80 + i % 50)])
    if isinstance(inputs, EndpointsConfig):
        inputs.channel("api").add([endpoints(f"s{i % 5}", f"10.1.0.{i % 250 + 1}")])
    else:
        inputs.channel("api").add([endpoint_slice(f"s{i % 5}", f"10.1.0.{i % 250 + 1}", "z1")])
    proxy.set_zone("z2" if i % 2 else "z1")
    assert proxy.flush(WAIT)
    assert proxy.wait_synced(WAIT)
    assert len(proxy.state()) >= 1
    assert proxy.flush(WAIT)
    assert handler.calls >= 1 and handler.synced == 1


def run(n: int, warmup: int = 30) -> Figures:
    with (
        ServiceConfig() as services,
        EndpointSliceConfig() as slices,
        EndpointsConfig() as legacy,
    ):
        for config in (services, slices, legacy):
            config.channel("api").mark_synced()
        registered = [config.stats()["handlers"] for config in (services, slices, legacy)]

        def cycle(i: int) -> None:
            which = i % 4
            if which in (0, 1):
                inputs: Any = slices if which == 0 else legacy
                with ProxyConfig(services, inputs, node_name="node-a", name=f"p{i}") as proxy:
                    exercise(proxy, services, inputs, i)
                proxy.close()  # idempotent
            elif which == 2:
                proxy = ProxyConfig(services, slices, node_name="node-a", zone="z1")
                exercise(proxy, services, slices, i)
                if i % 8 == 2:
                    proxy.close()
                else:  # dropped without close(): the next change finds it gone
                    del proxy
            else:  # configs of its own, closed before the proxy or after it
                own_services, own_slices = ServiceConfig(), EndpointSliceConfig()
                for config in (own_services, own_slices):
                    config.channel("api").mark_synced()
                proxy = ProxyConfig(own_services, own_slices, node_name="node-a")
                exercise(proxy, own_services, own_slices, i)
                if i % 8 == 3:
                    own_services.close()
                    own_slices.close()
                    proxy.close()
                else:
                    proxy.close()
                    own_services.close()
                    own_slices.close()

        figures = cycles(n, warmup, cycle, "ProxyConfig create/close")
        # Closing a proxy removes its registrations from the configs it followed; a proxy
        # dropped without close() loses them at the next change.
        services.channel("api").add([service("last", 99)])
        slices.channel("api").add([endpoint_slice("last", "10.2.0.1", "z1")])

        def gone() -> bool:
            return [c.stats()["handlers"] for c in (services, slices, legacy)] == registered

        assert wait_until(gone, WAIT), "registrations of closed or dropped proxies remain"
    return figures


def test_proxy_config_create_close_cycles() -> None:
    print("\n" + run(CI_CYCLES).line())


def test_a_proxy_config_dropped_without_close_leaves_its_inputs() -> None:
    """Found by the hygiene cycles: a ProxyConfig dropped without close() stayed registered on
    the configs it followed. Its registrations stopped forwarding at the next change but were
    never removed: still counted, lagging further behind with every version (``/healthz`` of
    those configs turned 503 after ``health_timeout``) and holding their last snapshots."""
    with ServiceConfig() as services, EndpointSliceConfig() as slices:
        for config in (services, slices):
            config.channel("api").mark_synced()
        proxy = ProxyConfig(services, slices, node_name="node-a")
        exercise(proxy, services, slices, 1)
        assert services.stats()["handlers"] == slices.stats()["handlers"] == 1
        del proxy
        gc.collect()
        services.channel("api").add([service("s9", 99)])
        slices.channel("api").add([endpoint_slice("s9", "10.1.0.99", "z1")])
        assert services.flush(WAIT) and slices.flush(WAIT)
        assert wait_until(lambda: services.stats()["handlers"] == slices.stats()["handlers"] == 0)
        # Nothing is left behind to wait for or to report as lagging.
        services.channel("api").add([service("s8", 98)])
        assert services.flush(WAIT)
        assert services._core.handler_stats() == []
