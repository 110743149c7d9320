"""FakeAPIServer's watches (through the official client and raw HTTP), TLS and authentication,
and fault injection."""

from __future__ import annotations

import http.client
import json
import queue
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from _fake_env import (
    DEADLINE,
    Obj,
    client,
    config,
    status_body,
    svc,
    watch,
)
from kubeproxy_config.testing import FakeAPIServer


class RawWatch:
    """A watch over a raw HTTP connection (for fault injection): a thread reads its lines."""

    def __init__(self, server: FakeAPIServer, query: str = "") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.conn.request("GET", f"/api/v1/services?watch=1&{query}")
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200
        assert self.resp.getheader("Transfer-Encoding") == "chunked"
        # Lines as read; b"" at a clean end of the stream, an exception if it was cut.
        self.lines: queue.Queue[bytes | Exception] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        try:
            # read1, not readline: readline hides a cut chunked stream (IncompleteRead).
            while data := self.resp.read1(65536):
                *lines, buffer = (buffer + data).split(b"\n")
                for line in lines:
                    self.lines.put(line + b"\n")
            self.lines.put(b"")
        except Exception as exc:
            self.lines.put(exc)

    def line(self, timeout: float = DEADLINE) -> bytes | Exception:
        return self.lines.get(timeout=timeout)

    def event(self) -> Obj:
        line = self.line()
        assert isinstance(line, bytes) and line, line
        event: Obj = json.loads(line)
        return event

    def quiet_for(self, seconds: float) -> bool:
        """True if nothing arrives within ``seconds``."""
        try:
            self.lines.put(self.lines.get(timeout=seconds))  # (order does not matter here)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        if self.conn.sock is not None:
            try:  # wakes the reader thread, which holds the response's buffer lock
                self.conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.conn.close()


@pytest.fixture
def raw_watch(fake_apiserver: FakeAPIServer) -> Iterator[Callable[[str], RawWatch]]:
    opened: list[RawWatch] = []

    def open_watch(query: str = "") -> RawWatch:
        watch_ = RawWatch(fake_apiserver, query)
        opened.append(watch_)
        return watch_

    yield open_watch
    for w in opened:
        w.close()


def stream_in_thread(
    func: Callable[..., Any], *args: Any, **kwargs: Any
) -> tuple[queue.Queue[Obj], Any]:
    """Run ``Watch().stream`` in a thread; events (or an exception) arrive on a queue."""
    events: queue.Queue[Obj] = queue.Queue()
    w = watch.Watch()

    def run() -> None:
        try:
            for event in w.stream(func, *args, **kwargs):
                events.put(event)
        except Exception as exc:
            events.put({"type": "EXCEPTION", "object": exc})
        events.put({"type": "END", "object": None})

    threading.Thread(target=run, daemon=True).start()
    return events, w


# -- watches ---------------------------------------------------------------------------------


def test_watch_added_modified_deleted(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> None:
    fake_apiserver.create(svc("existing"))
    core = client.CoreV1Api(fake_api_client)
    events, w = stream_in_thread(core.list_namespaced_service, "ns", timeout_seconds=30)
    first = events.get(timeout=DEADLINE)
    assert (first["type"], first["object"].metadata.name) == ("ADDED", "existing")
    assert fake_apiserver.wait_for_watches(1, DEADLINE)
    fake_apiserver.create(svc("new"))
    fake_apiserver.patch("Service", "ns", "new", {"metadata": {"labels": {"a": "b"}}})
    fake_apiserver.delete("Service", "ns", "new")
    got = [events.get(timeout=DEADLINE) for _ in range(3)]
    assert [(e["type"], e["object"].metadata.name) for e in got] == [
        ("ADDED", "new"),
        ("MODIFIED", "new"),
        ("DELETED", "new"),
    ]
    assert got[1]["object"].metadata.labels == {"a": "b"}
    assert int(got[2]["object"].metadata.resource_version) == fake_apiserver.resource_version
    w.stop()


def test_watch_bookmarks(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> None:
    core = client.CoreV1Api(fake_api_client)
    fake_apiserver.create(svc("a"))
    events, w = stream_in_thread(
        core.list_namespaced_service, "ns", allow_watch_bookmarks=True, timeout_seconds=30
    )
    assert events.get(timeout=DEADLINE)["type"] == "ADDED"
    fake_apiserver.create(svc("other", namespace="elsewhere"))  # not seen by this watch
    while (event := events.get(timeout=DEADLINE))["type"] != "BOOKMARK":
        assert event["type"] == "ADDED"
    raw = event["raw_object"]
    assert raw["kind"] == "Service" and raw["apiVersion"] == "v1"
    assert raw["metadata"] == {"resourceVersion": str(fake_apiserver.resource_version)}
    assert w.resource_version == str(fake_apiserver.resource_version)
    w.stop()


def test_bookmark_now() -> None:
    with FakeAPIServer(bookmark_interval=3600) as server, server.api_client() as api:
        events, w = stream_in_thread(
            client.CoreV1Api(api).list_service_for_all_namespaces,
            allow_watch_bookmarks=True,
            timeout_seconds=30,
        )
        assert server.wait_for_watches(1, DEADLINE)
        assert server.bookmark_now() == 1
        assert events.get(timeout=DEADLINE)["type"] == "BOOKMARK"
        w.stop()


def test_watch_replays_from_exact_resource_version(
    fake_apiserver: FakeAPIServer, fake_api_client: Any
) -> None:
    fake_apiserver.create(svc("before"))
    rv = fake_apiserver.resource_version
    fake_apiserver.create(svc("a"))
    fake_apiserver.patch("Service", "ns", "a", {"spec": {"type": "NodePort"}})
    fake_apiserver.delete("Service", "ns", "a")
    w = watch.Watch()
    got = []
    for event in w.stream(
        client.CoreV1Api(fake_api_client).list_namespaced_service,
        "ns",
        resource_version=str(rv),
        timeout_seconds=30,
    ):
        got.append((event["type"], event["object"].metadata.name))
        if len(got) == 3:
            w.stop()
    assert got == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_watch_from_compacted_version_gets_410(
    fake_apiserver: FakeAPIServer, fake_api_client: Any, raw_watch: Callable[[str], RawWatch]
) -> None:
    rv = fake_apiserver.resource_version
    fake_apiserver.create(svc("a"))
    compacted = fake_apiserver.compact()
    raw = raw_watch(f"resourceVersion={rv}")
    event = raw.event()
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    assert event["object"]["message"] == f"too old resource version: {rv} ({compacted})"
    assert raw.line() == b""  # the stream ends cleanly after the error
    with pytest.raises(client.ApiException) as exc_info:
        for _ in watch.Watch().stream(
            client.CoreV1Api(fake_api_client).list_namespaced_service,
            "ns",
            resource_version=str(rv),
            timeout_seconds=30,
        ):
            pass
    assert exc_info.value.status == 410


def test_watch_timeout_ends_the_stream(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> None:
    fake_apiserver.create(svc("a"))
    events = list(
        watch.Watch().stream(
            client.CoreV1Api(fake_api_client).list_service_for_all_namespaces, timeout_seconds=1
        )
    )
    assert [e["type"] for e in events] == ["ADDED"]
    assert fake_apiserver.stats["watch"] == 1


def test_watch_selectors_turn_updates_into_add_and_delete(
    fake_apiserver: FakeAPIServer, raw_watch: Callable[[str], RawWatch]
) -> None:
    fake_apiserver.create(svc("a", app="web"))
    raw = raw_watch("labelSelector=app%3Dweb")
    assert raw.event()["type"] == "ADDED"
    fake_apiserver.create(svc("b", app="db"))  # not selected: no event
    fake_apiserver.patch("Service", "ns", "a", {"metadata": {"labels": {"app": "db"}}})
    fake_apiserver.patch("Service", "ns", "b", {"metadata": {"labels": {"app": "web"}}})
    gone, came = raw.event(), raw.event()
    assert (gone["type"], gone["object"]["metadata"]["name"]) == ("DELETED", "a")
    assert (came["type"], came["object"]["metadata"]["name"]) == ("ADDED", "b")


# -- TLS and authentication ------------------------------------------------------------------


def test_tls_and_token(tmp_path: Path) -> None:
    with FakeAPIServer(tls=True, token="s3cret") as server:
        assert server.url.startswith("https://127.0.0.1:")
        assert server.ca_path is not None and server.ca_path.read_bytes() == server.ca_pem
        server.create(svc("a"))
        with server.api_client() as api:
            items = client.CoreV1Api(api).list_service_for_all_namespaces().items
            assert [s.metadata.name for s in items] == ["a"]

        cfg = client.Configuration()
        config.load_kube_config(
            config_file=str(server.kubeconfig(tmp_path / "kc")), client_configuration=cfg
        )
        with client.ApiClient(cfg) as api:
            assert len(client.CoreV1Api(api).list_namespaced_service("ns").items) == 1

        wrong = server.configuration()
        wrong.api_key = {"authorization": "nope"}
        for cfg_ in (wrong, server.configuration()):
            if cfg_ is not wrong:
                cfg_.api_key = {}
            with client.ApiClient(cfg_) as api, pytest.raises(client.ApiException) as exc_info:
                client.CoreV1Api(api).list_service_for_all_namespaces()
            assert exc_info.value.status == 401
            assert status_body(exc_info.value)["reason"] == "Unauthorized"
        assert server.stats["list"] == 4


# -- fault injection -------------------------------------------------------------------------


def test_drop_watches(fake_apiserver: FakeAPIServer, raw_watch: Callable[[str], RawWatch]) -> None:
    fake_apiserver.create(svc("a"))
    raw = raw_watch("")
    assert raw.event()["type"] == "ADDED"
    assert fake_apiserver.drop_watches() == 1
    assert isinstance(raw.line(), http.client.IncompleteRead)  # cut without the final chunk


def test_send_garbage(fake_apiserver: FakeAPIServer, raw_watch: Callable[[str], RawWatch]) -> None:
    raw = raw_watch("")
    assert fake_apiserver.wait_for_watches(1, DEADLINE)
    assert fake_apiserver.send_garbage() == 1
    garbage = raw.line()
    assert isinstance(garbage, bytes)
    with pytest.raises(ValueError):
        json.loads(garbage)
    fake_apiserver.create(svc("a"))
    assert raw.event()["type"] == "ADDED"  # the stream goes on


def test_fail_next(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> None:
    core = client.CoreV1Api(fake_api_client)
    fake_apiserver.fail_next(2)
    for _ in range(2):
        with pytest.raises(client.ApiException) as exc_info:
            core.list_namespaced_service("ns")
        assert status_body(exc_info.value)["reason"] == "InternalError"
    assert core.list_namespaced_service("ns").items == []
    fake_apiserver.fail_next(1, 503, verbs={"create"})
    assert core.list_namespaced_service("ns").items == []  # not a create: not failed
    with pytest.raises(client.ApiException) as exc_info:
        core.create_namespaced_service("ns", svc("a"))
    assert exc_info.value.status == 503
    core.create_namespaced_service("ns", svc("a"))


def test_stall_watches(fake_apiserver: FakeAPIServer, raw_watch: Callable[[str], RawWatch]) -> None:
    raw = raw_watch("allowWatchBookmarks=true")
    assert raw.event()["type"] == "BOOKMARK"  # every 0.1 s while not stalled
    fake_apiserver.stall_watches()
    fake_apiserver.create(svc("a"))
    while not raw.quiet_for(0.5):  # drain what was sent before the stall took effect
        assert raw.event()["type"] == "BOOKMARK"
    assert fake_apiserver.active_watches == 1  # open, but sends nothing, not even bookmarks
    fake_apiserver.resume_watches()
    while (event := raw.event())["type"] == "BOOKMARK":
        pass
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "a")


def test_delay(fake_apiserver: FakeAPIServer) -> None:
    url = f"{fake_apiserver.url}/api/v1/services"
    fake_apiserver.delay(60)
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        urllib.request.urlopen(url, timeout=0.2)
    fake_apiserver.delay(0)
    with urllib.request.urlopen(url, timeout=DEADLINE) as r:
        assert r.status == 200


def test_stats_and_request_log(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> None:
    core = client.CoreV1Api(fake_api_client)
    core.list_namespaced_service("ns")
    core.create_namespaced_service("ns", svc("a"))
    core.patch_namespaced_service("a", "ns", {"metadata": {"labels": {"x": "y"}}})
    list(watch.Watch().stream(core.list_namespaced_service, "ns", timeout_seconds=0))
    stats = fake_apiserver.stats
    assert (stats["list"], stats["watch"], stats["writes"], stats["create"]) == (1, 1, 2, 1)
    assert fake_apiserver.wait_for_requests("watch", 1, DEADLINE)
    assert [r.verb for r in fake_apiserver.requests] == ["list", "create", "patch", "watch"]
    assert fake_apiserver.requests[1].code == 201
    assert "timeoutSeconds=0" in fake_apiserver.requests[3].query
    fake_apiserver.reset_stats()
    assert fake_apiserver.stats["total"] == 0


def test_stop_ends_open_watches_promptly() -> None:
    with FakeAPIServer() as server:
        raw = RawWatch(server)
        assert server.wait_for_watches(1, DEADLINE)
    try:
        end = raw.line()  # ended or cut, but promptly: it did not hang
        assert end == b"" or isinstance(end, (http.client.IncompleteRead, ConnectionError)), end
    finally:
        raw.close()
