"""What the KubernetesSource tests share: object builders, and waits that compare a config's
state with the server's objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from _helpers import wait_until
from kubeproxy_config import EndpointsConfig, EndpointSliceConfig, ServiceConfig
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer

Obj = dict[str, Any]
Config = ServiceConfig | EndpointsConfig | EndpointSliceConfig
MakeSource = Callable[..., KubernetesSource]
DEADLINE = 10.0  # seconds any single wait may take


# -- objects ---------------------------------------------------------------------------------


def svc(name: str, namespace: str = "ns", port: int = 80, **labels: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"ports": [{"port": port, "protocol": "TCP"}]},
    }


def eps(name: str, namespace: str = "ns", ip: str = "10.1.0.1") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": namespace},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"port": 8080}]}],
    }


def eps_slice(name: str, service: str, namespace: str = "ns", ip: str = "10.1.0.2") -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }


# -- waiting and comparing -------------------------------------------------------------------


def state_view(config: Config) -> dict[str, str | None]:
    return {obj.key: obj.resource_version for obj in config.state()}


def server_view(
    server: FakeAPIServer,
    kind: str,
    namespace: str | None = None,
    label_selector: str | None = None,
) -> dict[str, str | None]:
    return {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
        for o in server.objects(kind, namespace, label_selector=label_selector)
    }


def assert_converges(
    config: Config,
    server: FakeAPIServer,
    kind: str,
    namespace: str | None = None,
    label_selector: str | None = None,
) -> None:
    """The config ends up holding exactly the server's objects, at their resourceVersions."""

    def equal() -> bool:
        config.flush(DEADLINE)
        return state_view(config) == server_view(server, kind, namespace, label_selector)

    wait_until(equal)
    assert state_view(config) == server_view(server, kind, namespace, label_selector)


def query_of(record: Any) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(record.query).items()}


def requests_of(server: FakeAPIServer, verb: str, resource: str = "services") -> list[Any]:
    return [r for r in server.requests if r.verb == verb and r.resource == resource]
