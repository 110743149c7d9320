"""Streaming lists (KEP-3157, SPEC §11): the fake API server's protocol over raw HTTP, and
KubernetesSource against servers with the WatchList gate on and off, through faults.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from _helpers import WAIT, svc_dict, wait_until
from kubeproxy_config import Service, ServiceConfig, Snapshot
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer

STREAM = "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
END = "k8s.io/initial-events-end"


def svc(name: str) -> dict[str, Any]:
    return svc_dict(name, "ns")


@contextlib.contextmanager
def get(server: FakeAPIServer, query: str) -> Iterator[http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
    try:
        conn.request("GET", f"/api/v1/services?{query}")
        yield conn.getresponse()
    finally:
        conn.close()


def refusal(server: FakeAPIServer, query: str) -> tuple[int, dict[str, Any]]:
    with get(server, query) as resp:
        return resp.status, json.loads(resp.read())


def events_until_end(server: FakeAPIServer, query: str) -> list[dict[str, Any]]:
    """The events of a streaming list up to and including its end bookmark."""
    events = []
    with get(server, query) as resp:
        assert resp.status == 200
        while True:
            event = json.loads(resp.readline())
            events.append(event)
            annotations = event["object"]["metadata"].get("annotations") or {}
            if event["type"] == "BOOKMARK" and annotations.get(END) == "true":
                return events


@pytest.fixture
def server() -> Iterator[FakeAPIServer]:
    with FakeAPIServer(bookmark_interval=0.1) as srv:
        yield srv


# -- the protocol ------------------------------------------------------------------------------


def test_a_streaming_list_is_added_events_then_the_end_bookmark(server: FakeAPIServer) -> None:
    for name in ("b", "a"):
        server.create(svc(name))
    events = events_until_end(server, STREAM + "&resourceVersion=")
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
        ("BOOKMARK", None),
    ]
    assert events[-1]["object"]["metadata"]["resourceVersion"] == str(server.resource_version)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("sendInitialEvents=true&limit=5", "forbidden for list"),
        ("watch=1&sendInitialEvents=true&allowWatchBookmarks=true", "NotOlderThan"),
        ("watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan", "allowWatchBookmarks"),
        ("watch=1&resourceVersionMatch=NotOlderThan", "unless sendInitialEvents"),
    ],
)
def test_invalid_combinations_are_422(server: FakeAPIServer, query: str, named: str) -> None:
    status, body = refusal(server, query)
    assert (status, body["code"], body["reason"]) == (422, 422, "Invalid")
    assert named in body["message"]


def test_a_server_with_the_gate_off_refuses_streaming_lists() -> None:
    with FakeAPIServer(watch_list=False) as server:
        status, body = refusal(server, STREAM)
        assert status == 422 and "WatchList feature gate" in body["message"]
        with get(server, "watch=1&timeoutSeconds=1") as resp:
            assert resp.status == 200  # plain watches work


# -- KubernetesSource --------------------------------------------------------------------------


def source_for(server: FakeAPIServer, services: ServiceConfig, **options: Any) -> KubernetesSource:
    options.setdefault("backoff_initial", 0.01)
    options.setdefault("backoff_max", 0.05)
    return KubernetesSource(server.api_client(), services=services, **options)


def server_keys(server: FakeAPIServer) -> dict[str, str]:
    return {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
        for o in server.objects("Service")
    }


def converged(config: ServiceConfig, server: FakeAPIServer) -> bool:
    config.flush(WAIT)
    return {o.key: o.resource_version for o in config.state()} == server_keys(server)


def test_a_source_streams_its_list_and_keeps_the_stream_as_its_watch(
    server: FakeAPIServer, services: ServiceConfig
) -> None:
    server.create(svc("a"))
    with source_for(server, services) as source:
        assert source.wait_synced(WAIT)
        server.create(svc("b"))
        assert wait_until(lambda: converged(services, server))
        stats = source.stats()["services"]
        assert stats["watch_lists"] == 1 and stats["lists"] == 1 and stats["pages"] == 0
        assert stats["watches"] == 1  # the list's own stream carried the later event
    assert server.stats.get("list", 0) == 0


def test_a_refusing_server_gets_paginated_lists_for_good(services: ServiceConfig) -> None:
    with FakeAPIServer(watch_list=False, bookmark_interval=0.1) as server:
        server.create(svc("a"))
        with source_for(server, services) as source:
            assert source.wait_synced(WAIT)
            assert server.wait_for_watches(1, WAIT)
            server.create(svc("b"))
            server.compact()
            server.drop_watches()  # the resume is too old: a relist, in pages again
            assert wait_until(lambda: source.stats()["services"]["relists"] == 1)
            assert wait_until(lambda: converged(services, server))
            stats = source.stats()["services"]
            assert stats["watch_list_fallbacks"] == 1 and stats["watch_lists"] == 0
        refused = [r for r in server.requests if r.code == 422]
        assert len(refused) == 1 and server.stats["list"] == 2


def test_watch_list_true_never_falls_back(services: ServiceConfig) -> None:
    with FakeAPIServer(watch_list=False) as server:
        with source_for(server, services, watch_list=True) as source:
            assert server.wait_for_requests("watch", 3, WAIT)
            assert not source.synced
        assert server.stats.get("list", 0) == 0


def test_watch_list_false_lists_in_pages(server: FakeAPIServer, services: ServiceConfig) -> None:
    server.create(svc("a"))
    with source_for(server, services, watch_list=False) as source:
        assert source.wait_synced(WAIT)
        assert source.stats()["services"]["watch_lists"] == 0
    assert server.stats["list"] == 1


@pytest.mark.parametrize("fault", ["500", "stall", "drop"])
def test_faults_during_the_initial_stream(
    server: FakeAPIServer, services: ServiceConfig, fault: str
) -> None:
    for i in range(20):
        server.create(svc(f"s{i}"))
    if fault == "500":
        server.fail_next(2, 500, verbs={"watch"})
    else:
        server.stall_watches()  # the initial events wait in the server
    with source_for(server, services, stall_timeout=0.5) as source:
        if fault == "drop":
            assert server.wait_for_watches(1, WAIT)
            server.drop_watches()
            assert server.wait_for_requests("watch", 2, WAIT)
        elif fault == "stall":
            assert wait_until(lambda: source.stats()["services"]["errors"] >= 1)
        server.resume_watches()
        assert source.wait_synced(WAIT)
        server.create(svc("later"))
        assert wait_until(lambda: converged(services, server))
        assert source.stats()["services"]["lists"] == 1
    assert server.stats.get("list", 0) == 0


def test_handlers_never_see_a_partial_list(services: ServiceConfig) -> None:
    """2,000 Services arrive as one SET: every snapshot delivered holds 0 or 2,000."""
    sizes: list[int] = []
    lock = threading.Lock()

    def record(snapshot: Snapshot[Service]) -> None:
        with lock:
            sizes.append(len(snapshot))

    services.register_handler(record)
    with FakeAPIServer() as server:
        server.load(svc(f"s{i:04}") for i in range(2000))
        with source_for(server, services) as source:
            assert source.wait_synced(WAIT)
            assert services.flush(WAIT)
            assert source.stats()["services"]["watch_lists"] == 1
    with lock:
        assert sizes and set(sizes) <= {0, 2000} and sizes[-1] == 2000
