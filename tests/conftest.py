"""Shared pytest fixtures.

``config`` / ``services`` / ``endpoints``: configs closed afterwards. Fixtures for
``kubeproxy_config.testing.FakeAPIServer``: ``fake_apiserver`` (a running server
on 127.0.0.1, fast bookmarks) and ``fake_api_client`` (an official ``kubernetes`` ApiClient for
it, closed afterwards); ``make_source`` / ``start_watching``: KubernetesSources on that client,
stopped afterwards. ``gate``: an Event a handler blocks on, set at teardown.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeproxy_config import EndpointsConfig, ServiceConfig
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer

# Test modules import their shared helpers (`_helpers`, the proxy reference) by name: with
# `--import-mode=importlib` the tests folder is not on the path by itself.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

_DEADLINE = 10.0  # seconds a source may take to sync or stop: reaching it means a hang


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


@pytest.fixture
def make_source(fake_api_client: Any) -> Iterator[Callable[..., KubernetesSource]]:
    """Build sources with fast retries on ``fake_api_client``; all stopped afterwards. They
    list in pages unless told otherwise (streaming lists: ``test_watch_list.py``)."""
    made: list[KubernetesSource] = []

    def make(api_client: Any = None, **options: Any) -> KubernetesSource:
        options.setdefault("watch_list", False)
        options.setdefault("backoff_initial", 0.01)
        options.setdefault("backoff_max", 0.1)
        options.setdefault("stall_timeout", 5.0)
        source = KubernetesSource(api_client or fake_api_client, **options)
        made.append(source)
        return source

    yield make
    for source in made:
        assert source.stop(timeout=_DEADLINE)


@pytest.fixture
def start_watching(
    make_source: Callable[..., KubernetesSource], fake_apiserver: FakeAPIServer
) -> Callable[..., KubernetesSource]:
    """Build a source, start it, and wait until it is synced and watching every resource."""

    def start(**options: Any) -> KubernetesSource:
        source = make_source(**options).start()
        resources = ("services", "endpoints", "endpoint_slices")
        watches = sum(options.get(name) is not None for name in resources)
        assert source.wait_synced(_DEADLINE)
        assert fake_apiserver.wait_for_watches(watches, _DEADLINE)
        return source

    return start
