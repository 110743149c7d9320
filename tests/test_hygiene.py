"""Resource hygiene: no thread, file-descriptor, socket or memory growth across create/close
cycles of configs and sources (measured as ``_hygiene.py`` says). The proxy view, the Rust
transport stopped at each phase and the metrics server are in ``test_hygiene_*.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _hygiene import LINUX_ONLY, WAIT, cycles
from kubeproxy_config import (
    EndpointsConfig,
    EndpointSliceConfig,
    ServiceConfig,
    Snapshot,
)
from kubeproxy_config.sources.files import FileSource
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer

pytestmark = LINUX_ONLY

# -- configs ---------------------------------------------------------------------------------


def svc(name: str, port: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": {"ports": [{"port": port}]}}


def ep(name: str, ip: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns"},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"port": 8080}]}],
    }


def eps(name: str, ip: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip]}],
    }


class Handler:
    """Counts deliveries; implements every Go-named method and on_synced."""

    def __init__(self) -> None:
        self.calls = 0
        self.synced = 0

    def on_service_update(self, snapshot: Snapshot[Any]) -> None:
        self.calls += 1

    on_endpoints_update = on_service_update
    on_endpoint_slices_update = on_service_update

    def on_synced(self) -> None:
        self.synced += 1


def config_cycle(i: int) -> None:
    handler = Handler()
    which = i % 3
    if which == 0:
        with ServiceConfig(name=f"svc-{i}") as services:
            services.register_handler(handler)
            services.register_handler(lambda snap: None).cancel()
            channel = services.channel("a")
            channel.set([svc("a", 80)])
            channel.add([svc("b", 81)])
            channel.send_json("UPDATE", b'{"metadata": {"name": "a", "namespace": "ns"}}')
            other = services.channel("b")
            other.remove(["ns/b"])
            other.mark_synced()
            assert services.flush(WAIT)
    elif which == 1:
        with EndpointsConfig(min_interval=0.001) as endpoints:
            endpoints.register_handler(handler)
            channel = endpoints.channel("a")
            channel.set([ep("a", "10.0.0.1")])
            channel.update([ep("a", "10.0.0.2")])
            channel.apply_watch_events(
                b'{"type":"DELETED","object":{"metadata":{"name":"a","namespace":"ns"}}}\n'
            )
            assert endpoints.flush(WAIT)
    else:
        config = EndpointSliceConfig()
        config.register_handler(handler)
        config.channel("a").set([eps("a", "10.0.0.1")])
        assert config.flush(WAIT)
        config.endpoints_for("ns/a")
        config.close()
        config.close()  # idempotent
    assert handler.calls >= 1 and handler.synced == 1


def test_config_create_close_cycles() -> None:
    cycles(1000, 30, config_cycle, "configs")


def test_unclosed_configs_are_collected() -> None:
    """A config dropped without close() (no handler running) releases its threads too."""

    def cycle(i: int) -> None:
        config = ServiceConfig()
        config.register_handler(Handler())
        config.channel("a").set([svc("a", 80 + i % 10)])
        assert config.flush(WAIT)
        del config

    cycles(200, 10, cycle, "unclosed configs")


# -- sources ---------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[FakeAPIServer]:
    with FakeAPIServer(bookmark_interval=0.1) as server:
        for i in range(3):
            server.create({"kind": "Service", **svc(f"s{i}", 80 + i)})
            server.create({"kind": "Endpoints", **ep(f"s{i}", f"10.0.0.{i + 1}")})
        yield server


def test_kubernetes_source_start_stop_cycles(server: FakeAPIServer) -> None:
    with ServiceConfig() as services, EndpointsConfig() as endpoints:

        def cycle(i: int) -> None:
            api: Any = server.api_client()
            with api:
                source = KubernetesSource(
                    api, services=services, endpoints=endpoints, backoff_initial=0.01
                )
                source.start()
                assert source.wait_synced(WAIT)
                assert server.wait_for_watches(2, WAIT)
                if i % 2:
                    server.create({"kind": "Service", **svc(f"n{i}", 90)})
                assert source.stop(timeout=WAIT)
            deadline = time.monotonic() + WAIT
            while server.active_watches and time.monotonic() < deadline:
                time.sleep(0.005)
            assert server.active_watches == 0

        cycles(200, 5, cycle, "KubernetesSource")


def test_kubernetes_source_owning_its_client(
    server: FakeAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no api_client the source builds one from the kubeconfig and closes it in stop()."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    path = str(server.kubeconfig())
    monkeypatch.setattr("kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", path)
    with ServiceConfig() as services:

        def cycle(i: int) -> None:
            with KubernetesSource(services=services, backoff_initial=0.01) as source:
                assert source.wait_synced(WAIT)
                assert server.wait_for_watches(1, WAIT)

        cycles(30, 3, cycle, "KubernetesSource (own client)")


def test_file_source_start_stop_cycles(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    with ServiceConfig() as services, EndpointsConfig() as endpoints:

        def cycle(i: int) -> None:
            manifest.write_text(
                "kind: Service\napiVersion: v1\n"
                f"metadata: {{name: a, namespace: ns}}\nspec: {{ports: [{{port: {80 + i}}}]}}\n"
            )
            source = FileSource(tmp_path, services=services, endpoints=endpoints)
            with source:
                assert source.running
            assert not source.running

        cycles(50, 3, cycle, "FileSource")
