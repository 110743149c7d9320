"""What the FakeAPIServer tests share: the official client (untyped), a bound for waits, and
object builders (those of the source tests)."""

from __future__ import annotations

import json
from typing import Any

import kubernetes

from _kube_env import eps as endpoints
from _kube_env import eps_slice, svc

__all__ = [
    "DEADLINE",
    "Obj",
    "client",
    "config",
    "endpoint_slice",
    "endpoints",
    "status_body",
    "svc",
    "watch",
]

# The official client is only partly typed (untyped functions, strict model argument types
# that accept dicts at run time): use it untyped here.
_k8s: Any = kubernetes
client, config, watch = _k8s.client, _k8s.config, _k8s.watch
Obj = dict[str, Any]
DEADLINE = 10.0  # seconds any single wait in these tests may take


def endpoint_slice(name: str, namespace: str = "ns") -> Obj:
    """A slice of the service its name starts with (``web-1``: ``web``)."""
    return eps_slice(name, name.rsplit("-", 1)[0], namespace)


def status_body(exc: Any) -> Obj:
    body: Obj = json.loads(exc.body)
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == exc.status
    return body
