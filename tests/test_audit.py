"""The consistency audit (SPEC §11): changes lost on the way (``FakeAPIServer.lose_events``)
are found by the periodic list, counted as drift and healed; an audit that finds nothing
changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from _helpers import WAIT, svc_dict, wait_until
from kubeproxy_config import ServiceConfig
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer


def svc(name: str, port: int = 80) -> dict[str, Any]:
    return svc_dict(name, "ns", port=port)


def converged(config: ServiceConfig, server: FakeAPIServer) -> bool:
    config.flush(WAIT)
    mine = {o.key: o.resource_version for o in config.state()}
    theirs = {
        f"ns/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
        for o in server.objects("Service")
    }
    return mine == theirs


@pytest.mark.parametrize("watch_list", [True, False])
def test_lost_events_are_found_and_healed(services: ServiceConfig, watch_list: bool) -> None:
    with FakeAPIServer(bookmark_interval=0.1) as server:
        for i in range(5):
            server.create(svc(f"s{i}"))
        source = KubernetesSource(
            server.api_client(), services=services, audit_period=0.5, watch_list=watch_list
        )
        with source:
            assert source.wait_synced(WAIT) and server.wait_for_watches(1, WAIT)
            server.lose_events(3)
            server.create(svc("new"))  # these three never reach the watch
            server.delete("Service", "ns", "s0")
            server.replace(svc("s1", port=81))
            server.create(svc("seen"))  # this one does
            assert wait_until(lambda: source.stats()["services"]["audit_drift"] >= 3)
            assert wait_until(lambda: converged(services, server))
            stats = source.stats()["services"]
            assert stats["audit_drift"] == 3 and stats["audits"] >= 1
            assert stats["relists"] == 0  # healed by the audit, not by a relist
            s1 = services.state().get("ns/s1")
            assert s1 is not None and s1.ports[0].port == 81


def test_an_audit_that_finds_nothing_changes_nothing(services: ServiceConfig) -> None:
    with FakeAPIServer(bookmark_interval=0.1) as server:
        for i in range(50):
            server.create(svc(f"s{i}"))
        with KubernetesSource(server.api_client(), services=services, audit_period=0.5) as source:
            assert source.wait_synced(WAIT) and services.flush(WAIT)
            version = services.state().version
            assert wait_until(lambda: source.stats()["services"]["audits"] >= 2)
            assert services.flush(WAIT)
            assert services.state().version == version
            assert source.stats()["services"]["audit_drift"] == 0
            server.create(svc("after"))  # the watch still runs after the audits
            assert wait_until(lambda: converged(services, server))


def test_without_an_audit_lost_events_stay_lost(services: ServiceConfig) -> None:
    """The fault is real: without the audit the config stays out of step."""
    with FakeAPIServer(bookmark_interval=0.1) as server:
        server.create(svc("a"))
        with KubernetesSource(server.api_client(), services=services) as source:
            assert source.wait_synced(WAIT) and server.wait_for_watches(1, WAIT)
            server.lose_events(1)
            server.create(svc("lost"))
            server.create(svc("seen"))
            assert wait_until(lambda: "ns/seen" in services.state())
            assert "ns/lost" not in services.state()
            assert source.stats()["services"]["audits"] == 0


def test_audit_period_is_checked(services: ServiceConfig, fake_api_client: Any) -> None:
    with pytest.raises(ValueError, match="audit_period"):
        KubernetesSource(fake_api_client, services=services, audit_period=0)
