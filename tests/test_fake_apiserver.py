"""FakeAPIServer against the unchanged official ``kubernetes`` client and raw HTTP."""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from kubeproxy_config.testing import FakeAPIServer, StatusError, load_manifests

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


# -- discovery, get, list ------------------------------------------------------------------------


def test_discovery_documents(fake_api_client: Any) -> None:
    assert client.VersionApi(fake_api_client).get_code().major == "1"
    core = client.CoreV1Api(fake_api_client).get_api_resources()
    assert {"services", "endpoints", "namespaces"} <= {r.name for r in core.resources}
    groups = client.ApisApi(fake_api_client).get_api_versions()
    assert "discovery.k8s.io" in [g.name for g in groups.groups]
    slices = client.DiscoveryV1Api(fake_api_client).get_api_resources()
    assert [r.kind for r in slices.resources] == ["EndpointSlice"]


def test_list_each_resource(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> None:
    fake_apiserver.create(svc("a", "ns1"))
    fake_apiserver.create(svc("b", "ns2"))
    fake_apiserver.create(endpoints("a", "ns1"))
    fake_apiserver.create(endpoint_slice("a-x1", "ns1"))
    core = client.CoreV1Api(fake_api_client)
    services = core.list_service_for_all_namespaces()
    assert [(s.metadata.namespace, s.metadata.name) for s in services.items] == [
        ("ns1", "a"),
        ("ns2", "b"),
    ]
    assert services.metadata.resource_version == str(fake_apiserver.resource_version)
    assert [s.metadata.name for s in core.list_namespaced_service("ns2").items] == ["b"]
    eps = core.list_namespaced_endpoints("ns1").items
    assert eps[0].subsets[0].addresses[0].ip == "10.1.0.1"
    slices = client.DiscoveryV1Api(fake_api_client).list_endpoint_slice_for_all_namespaces()
    assert [s.metadata.name for s in slices.items] == ["a-x1"]
    assert slices.items[0].endpoints[0].addresses == ["10.1.0.2"]
    namespaces = [n.metadata.name for n in core.list_namespace().items]
    assert {"default", "ns1", "ns2"} <= set(namespaces)


def test_list_items_are_raw_api_shape(fake_apiserver: FakeAPIServer) -> None:
    fake_apiserver.create(svc("a"))
    with urllib.request.urlopen(f"{fake_apiserver.url}/api/v1/services", timeout=DEADLINE) as r:
        body = json.load(r)
    assert body["kind"] == "ServiceList" and body["apiVersion"] == "v1"
    assert "kind" not in body["items"][0]  # as from a real API server


# -- writes ----------------------------------------------------------------------------------


def test_writes_through_the_client(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> None:
    core = client.CoreV1Api(fake_api_client)
    rv0 = fake_apiserver.resource_version
    created = core.create_namespaced_service("ns", svc("web"))
    assert created.metadata.uid and created.metadata.creation_timestamp
    assert int(created.metadata.resource_version) == rv0 + 1
    with pytest.raises(client.ApiException) as exc_info:
        core.create_namespaced_service("ns", svc("web"))
    assert status_body(exc_info.value)["reason"] == "AlreadyExists"

    body = svc("web", app="web")
    body["metadata"]["resourceVersion"] = created.metadata.resource_version
    replaced = core.replace_namespaced_service("web", "ns", body)
    assert replaced.metadata.labels == {"app": "web"}
    assert replaced.metadata.uid == created.metadata.uid
    with pytest.raises(client.ApiException) as exc_info:
        core.replace_namespaced_service("web", "ns", body)  # stale resourceVersion
    assert exc_info.value.status == 409
    assert status_body(exc_info.value)["reason"] == "Conflict"

    patched = core.patch_namespaced_service("web", "ns", {"metadata": {"labels": {"app": None}}})
    assert not patched.metadata.labels
    assert int(patched.metadata.resource_version) == fake_apiserver.resource_version

    deleted = core.delete_namespaced_service("web", "ns")
    assert deleted.metadata.name == "web"
    for call in (core.read_namespaced_service, core.delete_namespaced_service):
        with pytest.raises(client.ApiException) as exc_info:
            call("web", "ns")
        assert status_body(exc_info.value)["reason"] == "NotFound"

    dv1 = client.DiscoveryV1Api(fake_api_client)
    dv1.create_namespaced_endpoint_slice("ns", endpoint_slice("web-1"))
    assert fake_apiserver.get("endpointslices", "ns", "web-1") is not None
    dv1.delete_namespaced_endpoint_slice("web-1", "ns")
    assert fake_apiserver.objects("EndpointSlice") == []


def test_merge_and_json_patch_over_http(fake_apiserver: FakeAPIServer) -> None:
    fake_apiserver.create(svc("a", app="x"))
    url = f"{fake_apiserver.url}/api/v1/namespaces/ns/services/a"
    patches = [
        ("application/merge-patch+json", {"spec": {"ports": [{"port": 81}]}}),
        (
            "application/json-patch+json",
            [{"op": "add", "path": "/metadata/labels/b", "value": "y"}],
        ),
    ]
    for content_type, patch in patches:
        request = urllib.request.Request(
            url, json.dumps(patch).encode(), {"Content-Type": content_type}, method="PATCH"
        )
        with urllib.request.urlopen(request, timeout=DEADLINE) as r:
            assert r.status == 200
    obj = fake_apiserver.get("svc", "ns", "a")
    assert obj is not None
    assert obj["spec"]["ports"] == [{"port": 81, "protocol": "TCP", "targetPort": 81}]
    assert obj["metadata"]["labels"] == {"app": "x", "b": "y"}


def test_python_api(fake_apiserver: FakeAPIServer) -> None:
    server = fake_apiserver
    created = server.create(svc("a"))
    rv = server.resource_version
    assert created["metadata"]["resourceVersion"] == str(rv)
    with pytest.raises(StatusError) as exc_info:
        server.create(svc("a"))
    assert (exc_info.value.code, exc_info.value.reason) == (409, "AlreadyExists")

    assert server.replace(created) == created  # no-op: no new version, no event
    assert server.resource_version == rv
    stale = {**svc("a", app="x"), "metadata": {**created["metadata"], "labels": {"k": "v"}}}
    server.replace(stale)
    with pytest.raises(StatusError) as exc_info:
        server.replace(stale)
    assert exc_info.value.reason == "Conflict"

    applied = server.apply(svc("a", app="y"))  # replaces whatever the version
    assert applied["metadata"]["labels"] == {"app": "y"}
    assert applied["metadata"]["uid"] == created["metadata"]["uid"]
    server.apply(svc("b", namespace="other"))
    server.patch("Service", "other", "b", {"spec": {"type": "NodePort"}})
    assert [o["metadata"]["name"] for o in server.objects("services")] == ["a", "b"]
    assert server.objects("svc", "other")[0]["spec"]["type"] == "NodePort"
    assert server.objects("Service", label_selector="app=y")[0]["kind"] == "Service"

    deleted = server.delete("service", "ns", "a")
    assert int(deleted["metadata"]["resourceVersion"]) == server.resource_version
    assert server.get("Service", "ns", "a") is None
    with pytest.raises(StatusError) as exc_info:
        server.delete("Service", "ns", "a")
    assert exc_info.value.code == 404
    with pytest.raises(StatusError):
        server.create({"kind": "Pod", "metadata": {"name": "p"}})
    # Objects of the official client are accepted too.
    model = client.V1Endpoints(metadata=client.V1ObjectMeta(name="m", namespace="ns"))
    assert server.create(model)["kind"] == "Endpoints"


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "b"]),
        ("app==web,tier=front", ["a"]),
        ("app!=web", ["c", "d"]),
        ("tier", ["a", "c"]),
        ("!tier", ["b", "d"]),
        ("app in (web,db)", ["a", "b", "c"]),
        ("app notin (web)", ["c", "d"]),
    ],
)
def test_label_selectors(
    fake_apiserver: FakeAPIServer, fake_api_client: Any, selector: str, expected: list[str]
) -> None:
    fake_apiserver.create(svc("a", app="web", tier="front"))
    fake_apiserver.create(svc("b", app="web"))
    fake_apiserver.create(svc("c", app="db", tier="back"))
    fake_apiserver.create(svc("d"))
    items = client.CoreV1Api(fake_api_client).list_namespaced_service("ns", label_selector=selector)
    assert [s.metadata.name for s in items.items] == expected


def test_field_selectors_and_bad_selectors(
    fake_apiserver: FakeAPIServer, fake_api_client: Any
) -> None:
    for ns in ("x", "y"):
        fake_apiserver.create(svc("a", ns))
        fake_apiserver.create(svc("b", ns))
    core = client.CoreV1Api(fake_api_client)
    found = core.list_service_for_all_namespaces(field_selector="metadata.name=a").items
    assert [(s.metadata.namespace, s.metadata.name) for s in found] == [("x", "a"), ("y", "a")]
    found = core.list_service_for_all_namespaces(
        field_selector="metadata.namespace=y,metadata.name!=a"
    ).items
    assert [(s.metadata.namespace, s.metadata.name) for s in found] == [("y", "b")]
    for kwargs in ({"field_selector": "spec.foo=1"}, {"label_selector": "a in ("}):
        with pytest.raises(client.ApiException) as exc_info:
            core.list_service_for_all_namespaces(**kwargs)
        assert status_body(exc_info.value)["reason"] == "BadRequest"


# -- pagination ------------------------------------------------------------------------------


def test_pagination_is_a_consistent_snapshot(
    fake_apiserver: FakeAPIServer, fake_api_client: Any
) -> None:
    server = fake_apiserver
    originals = {f"s{i:02}": server.create(svc(f"s{i:02}")) for i in range(10)}
    core = client.CoreV1Api(fake_api_client)
    seen: list[Any] = []
    page = core.list_namespaced_service("ns", limit=3)
    list_rv = page.metadata.resource_version
    pages = 1
    while True:
        seen.extend(page.items)
        assert page.metadata.resource_version == list_rv
        if not page.metadata._continue:
            break
        # Writes between pages do not show in later pages.
        server.create(svc(f"new{pages}"))
        server.delete("Service", "ns", f"s{10 - pages:02}")
        server.patch("Service", "ns", f"s{pages + 2:02}", {"metadata": {"labels": {"x": "y"}}})
        page = core.list_namespaced_service("ns", limit=3, _continue=page.metadata._continue)
        pages += 1
    assert pages == 4
    assert [s.metadata.name for s in seen] == sorted(originals)
    assert [s.metadata.resource_version for s in seen] == [
        originals[name]["metadata"]["resourceVersion"] for name in sorted(originals)
    ]
    assert all(not s.metadata.labels for s in seen)
    fresh = core.list_namespaced_service("ns")
    assert len(fresh.items) == 10 and int(fresh.metadata.resource_version) > int(list_rv)


def test_expired_continue_token_is_410(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> None:
    for i in range(4):
        fake_apiserver.create(svc(f"s{i}"))
    core = client.CoreV1Api(fake_api_client)
    first = core.list_namespaced_service("ns", limit=2)
    assert first.metadata.remaining_item_count == 2
    fake_apiserver.create(svc("later"))
    fake_apiserver.compact()
    with pytest.raises(client.ApiException) as exc_info:
        core.list_namespaced_service("ns", limit=2, _continue=first.metadata._continue)
    assert exc_info.value.status == 410
    assert status_body(exc_info.value)["reason"] == "Expired"


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


# -- manifests and the command line ----------------------------------------------------------

MANIFESTS = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Endpoints, metadata: {name: web, namespace: demo}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: ignored}}
"""


def test_load_manifests(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MANIFESTS)
    (tmp_path / "b.json").write_text(json.dumps(endpoint_slice("web-1", "demo")))
    (tmp_path / "notes.txt").write_text("not a manifest")
    kinds = [o["kind"] for o in load_manifests(tmp_path)]
    assert kinds == ["Service", "Endpoints", "EndpointSlice"]


def test_serve_command(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(MANIFESTS)
    kubeconfig = tmp_path / "kubeconfig"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    command = [sys.executable, "-m", "kubeproxy_config.testing", "serve"]
    args = ["--manifests", str(tmp_path), "--kubeconfig-out", str(kubeconfig), "--token", "t"]
    with subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.startswith("serving 2 objects at http://127.0.0.1:"), first
            assert proc.stdout.readline().strip() == f"kubeconfig: {kubeconfig}"
            cfg = client.Configuration()
            config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
            with client.ApiClient(cfg) as api:
                items = client.CoreV1Api(api).list_service_for_all_namespaces().items
            assert [s.metadata.name for s in items] == ["web"]
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=DEADLINE) == 0
