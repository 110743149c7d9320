"""Shared pytest fixtures.

``config`` / ``services`` / ``endpoints``: configs closed afterwards. Fixtures for
``kubeproxy_config.testing.FakeAPIServer``: ``fake_apiserver`` (a running server
on 127.0.0.1, fast bookmarks) and ``fake_api_client`` (an official ``kubernetes`` ApiClient for
it, closed afterwards).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeproxy_config import EndpointsConfig, ServiceConfig
from kubeproxy_config.testing import FakeAPIServer

# Test modules import their shared helpers (`_helpers`, the proxy reference) by name: with
# `--import-mode=importlib` the tests folder is not on the path by itself.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def config() -> Iterator[ServiceConfig]:
    """A ServiceConfig, closed afterwards (waiting for its delivery threads)."""
    cfg = ServiceConfig()
    yield cfg
    cfg.close(timeout=10.0)


@pytest.fixture
def services() -> Iterator[ServiceConfig]:
    """A ServiceConfig for a source to feed, closed afterwards."""
    with ServiceConfig() as cfg:
        yield cfg


@pytest.fixture
def endpoints() -> Iterator[EndpointsConfig]:
    """An EndpointsConfig for a source to feed, closed afterwards."""
    with EndpointsConfig() as cfg:
        yield cfg


@pytest.fixture
def fake_apiserver() -> Iterator[FakeAPIServer]:
    """A running fake API server (plain HTTP, no token, bookmarks every 0.1 s)."""
    with FakeAPIServer(bookmark_interval=0.1) as server:
        yield server


@pytest.fixture
def fake_api_client(fake_apiserver: FakeAPIServer) -> Iterator[Any]:
    """A ``kubernetes.client.ApiClient`` for ``fake_apiserver``."""
    client: Any = fake_apiserver.api_client()  # the client's methods are not fully typed
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An Event a handler blocks on; set at teardown (before the config closes) so nothing hangs."""
    event = threading.Event()
    yield event
    event.set()
