"""What the FakeAPIServer tests share: the official client (untyped), a bound for waits, and
object builders."""

from __future__ import annotations

import json
from typing import Any

import kubernetes

# The official client is only partly typed (untyped functions, strict model argument types
# that accept dicts at run time): use it untyped here.
_k8s: Any = kubernetes
client, config, watch = _k8s.client, _k8s.config, _k8s.watch
Obj = dict[str, Any]
DEADLINE = 10.0  # seconds any single wait in these tests may take


def svc(name: str, namespace: str = "ns", **labels: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}]},
    }


def endpoints(name: str, namespace: str = "ns") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": namespace},
        "subsets": [{"addresses": [{"ip": "10.1.0.1"}], "ports": [{"port": 8080}]}],
    }


def endpoint_slice(name: str, namespace: str = "ns") -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": name.rsplit("-", 1)[0]},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.1.0.2"], "conditions": {"ready": True}}],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }


def status_body(exc: Any) -> Obj:
    body: Obj = json.loads(exc.body)
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == exc.status
    return body
