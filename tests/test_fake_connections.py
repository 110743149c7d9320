"""FakeAPIServer's TCP connections behave like the API server's."""

from __future__ import annotations

import socket
from typing import Any

import kubernetes
import pytest

from kubeproxy_config.testing import FakeAPIServer

_k8s: Any = kubernetes


@pytest.mark.parametrize("tls", [False, True])
def test_nodelay_is_set_on_accepted_connections(tls: bool) -> None:
    """Nagle off, as the Go API server does: a response is written in pieces (headers, body,
    watch events) and a small last piece must not wait for the client's delayed ACK."""
    with FakeAPIServer(tls=tls) as server, server.api_client() as api:
        _k8s.client.CoreV1Api(api).list_service_for_all_namespaces()  # the connection stays open
        connections = list(server._ctx.connections)
        assert connections
        for sock in connections:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
