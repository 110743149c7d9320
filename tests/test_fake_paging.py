"""FakeAPIServer list pages under concurrent writes, against the API server's rules.

A paginated list is one consistent snapshot at the first page's resourceVersion: every page
carries that version; objects created, changed or deleted after it show as they were then (created
ones not at all, deleted ones still, changed ones at their old version); ``remainingItemCount``
counts the snapshot (and is absent when a label or field selector makes it unknown); a continue
token whose version was compacted away is 410 Expired. Each page reads only what it returns.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import kubernetes
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeproxy_config.testing import FakeAPIServer
from kubeproxy_config.testing._selectors import LabelSelector

_k8s: Any = kubernetes
client = _k8s.client
Obj = dict[str, Any]
Key = tuple[str, str]
DEADLINE = 10.0  # seconds any single wait may take
NAMESPACES = ("a", "a-b", "ab", "b")  # "a" is a prefix of the others: namespace ranges must hold


def svc(namespace: str, name: str, rev: int = 0) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": {"rev": str(rev)}},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}]},
    }


class Model:
    """What the test itself knows of the store: every write's resourceVersion and result."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.writes: list[tuple[int, Key, str | None]] = []  # (rv, key, rv of the object | None)

    def record(self, key: Key, stored: Obj, deleted: bool = False) -> None:
        rv = int(stored["metadata"]["resourceVersion"])
        with self.lock:
            self.writes.append((rv, key, None if deleted else str(rv)))
            self.lock.notify_all()

    def wait_for_more(self, count: int) -> None:
        """Block until more than ``count`` writes are recorded (a write happens meanwhile)."""
        with self.lock:
            assert self.lock.wait_for(lambda: len(self.writes) > count, timeout=DEADLINE)

    def at(self, rv: int, namespace: str | None = None) -> list[tuple[Key, str]]:
        """(key, object resourceVersion) of every object at ``rv``, in key order."""
        state: dict[Key, str | None] = {}
        with self.lock:
            for write_rv, key, version in sorted(self.writes):
                if write_rv <= rv:
                    state[key] = version
        return sorted(
            (k, v) for k, v in state.items() if v is not None and namespace in (None, k[0])
        )


class Writer:
    """Random creates, changes and deletes on a thread, recorded in a ``Model``."""

    def __init__(self, server: FakeAPIServer, model: Model, seed: int) -> None:
        self.server, self.model, self.rng = server, model, random.Random(seed)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rev = 0
        # Paced, not synchronising: unpaced, a loaded machine piles up millions of writes
        # that every page listed at a past version must then walk back through.
        while not self.stop.wait(0.0005):
            rev += 1
            key = (self.rng.choice(NAMESPACES), f"s{self.rng.randrange(60):02}")
            if self.server.get("Service", *key) is None:
                self.model.record(key, self.server.create(svc(*key, rev)))
            elif self.rng.random() < 0.5:
                self.model.record(key, self.server.delete("Service", *key), deleted=True)
            else:
                patch = {"metadata": {"labels": {"rev": str(rev)}}}
                self.model.record(key, self.server.patch("Service", *key, patch))

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


@pytest.fixture
def seeded() -> Iterator[tuple[FakeAPIServer, Model]]:
    """A server holding 120 Services over NAMESPACES, and the model of its writes."""
    model = Model()
    with FakeAPIServer() as server:
        rng = random.Random(7)
        for i in range(120):
            key = (rng.choice(NAMESPACES), f"s{i:03}")
            model.record(key, server.create(svc(*key)))
        yield server, model


def pages(list_call: Any, limit: int, between: Any = None, **kwargs: Any) -> list[Any]:
    """Every page of a list (official client), calling ``between()`` before each later page."""
    out = [list_call(limit=limit, **kwargs)]
    while out[-1].metadata._continue:
        if between is not None:
            between()
        out.append(list_call(limit=limit, _continue=out[-1].metadata._continue, **kwargs))
    return out


def raw_keys(items: list[Obj]) -> list[tuple[Key, str]]:
    return [
        ((i["metadata"]["namespace"], i["metadata"]["name"]), i["metadata"]["resourceVersion"])
        for i in items
    ]


def listed(page_list: list[Any]) -> list[tuple[Key, str]]:
    return [
        ((s.metadata.namespace, s.metadata.name), s.metadata.resource_version)
        for page in page_list
        for s in page.items
    ]


@pytest.mark.parametrize("namespace", [None, "a"])
def test_paged_list_is_the_snapshot_at_its_first_version_under_concurrent_writes(
    seeded: tuple[FakeAPIServer, Model], namespace: str | None
) -> None:
    server, model = seeded
    with server.api_client() as api:
        core = client.CoreV1Api(api)
        if namespace is None:
            call, kwargs = core.list_service_for_all_namespaces, {}
        else:
            call, kwargs = core.list_namespaced_service, {"namespace": namespace}
        for seed in range(3):
            with Writer(server, model, seed):
                # Racing writes, and at least one between any two pages.
                got = pages(call, 7, lambda: model.wait_for_more(len(model.writes)), **kwargs)
            rv = int(got[0].metadata.resource_version)
            assert {p.metadata.resource_version for p in got} == {str(rv)}
            assert listed(got) == model.at(rv, namespace)
            seen = 0
            for page in got:
                seen += len(page.items)
                remaining = page.metadata.remaining_item_count
                if page.metadata._continue:
                    assert remaining == len(model.at(rv, namespace)) - seen
                else:
                    assert remaining is None


def test_writes_between_pages_follow_the_snapshot_rules(
    seeded: tuple[FakeAPIServer, Model],
) -> None:
    server, model = seeded
    with server.api_client() as api:
        core = client.CoreV1Api(api)
        first = core.list_namespaced_service("b", limit=5)
        rv = int(first.metadata.resource_version)
        before = model.at(rv, "b")
        returned = {k for k, _ in listed([first])}
        later = [k for k, _ in before if k not in returned]
        # After the first page: delete an object not yet returned, change another, re-create a
        # third under the same name, create new names after and before the cursor.
        model.record(later[0], server.delete("Service", *later[0]), deleted=True)
        changed = {"metadata": {"labels": {"rev": "changed"}}}
        model.record(later[1], server.patch("Service", *later[1], changed))
        model.record(later[2], server.delete("Service", *later[2]), deleted=True)
        model.record(later[2], server.create(svc(*later[2], rev=9)))
        for name in ("r0", "s999"):  # before and after the cursor
            model.record(("b", name), server.create(svc("b", name)))
        rest = pages(core.list_namespaced_service, 5, namespace="b")
        token = first.metadata._continue
        tail = [core.list_namespaced_service("b", limit=100, _continue=token)]
    assert listed([first, *tail]) == before  # deleted still there, old versions, no new names
    assert listed(rest) == model.at(server.resource_version, "b")  # a fresh list sees it all
    assert tail[0].metadata.resource_version == str(rv)


def test_remaining_count_is_absent_with_selectors(seeded: tuple[FakeAPIServer, Model]) -> None:
    server, _ = seeded
    with server.api_client() as api:
        core = client.CoreV1Api(api)
        by_label = core.list_service_for_all_namespaces(limit=3, label_selector="rev=0")
        by_field = core.list_service_for_all_namespaces(
            limit=3, field_selector="metadata.namespace=a"
        )
        plain = core.list_namespaced_service("a", limit=3)
    for page in (by_label, by_field):
        assert page.metadata._continue and page.metadata.remaining_item_count is None
    assert plain.metadata.remaining_item_count == len(server.objects("Service", "a")) - 3


def test_a_page_reads_only_what_it_returns(
    seeded: tuple[FakeAPIServer, Model], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = seeded
    for i in range(2000):
        server.create(svc("big", f"x{i:05}"))
    read: list[int] = []
    matches = LabelSelector.matches

    def counting(self: LabelSelector, obj: Obj) -> bool:
        read.append(1)
        return matches(self, obj)

    monkeypatch.setattr(LabelSelector, "matches", counting)
    with server.api_client() as api:
        core = client.CoreV1Api(api)
        first = core.list_service_for_all_namespaces(limit=10)
        server.create(svc("big", "x00005a"))  # a write between pages: read from the history
        second = core.list_service_for_all_namespaces(limit=10, _continue=first.metadata._continue)
    assert len(first.items) == len(second.items) == 10
    assert len(read) <= 2 * 11  # each page reads its items and one more (is there a next page?)


# -- property: any interleaving of writes, pages and compactions ------------------------------

OPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "delete", "patch", "page", "compact"]),
        st.sampled_from(NAMESPACES),
        st.integers(0, 12),
    ),
    max_size=40,
)


class Raw:
    """A raw keep-alive HTTP client for list pages (the protocol, with no client in between)."""

    def __init__(self, server: FakeAPIServer) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

    def get(self, path: str) -> tuple[int, Obj]:
        self.conn.request("GET", path)
        resp = self.conn.getresponse()
        body: Obj = json.loads(resp.read())
        return resp.status, body

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([None, "a"]), st.integers(1, 4), OPS)
def test_any_interleaving_of_writes_and_pages_follows_the_snapshot(
    namespace: str | None, limit: int, ops: list[tuple[str, str, int]]
) -> None:
    model = Model()
    with FakeAPIServer() as server, Raw(server) as raw:
        for i in range(10):
            key = (NAMESPACES[i % len(NAMESPACES)], f"s{i:02}")
            model.record(key, server.create(svc(*key)))
        base = "/api/v1/" + ("" if namespace is None else f"namespaces/{namespace}/") + "services"
        status, page = raw.get(f"{base}?limit={limit}")
        assert status == 200
        rv = int(page["metadata"]["resourceVersion"])
        got = raw_keys(page["items"])
        token = page["metadata"].get("continue")
        compacted = False

        def next_page() -> tuple[int, Obj]:
            nonlocal got, token
            status, page = raw.get(f"{base}?limit={limit}&continue={quote(token or '')}")
            if status == 200:
                assert page["metadata"]["resourceVersion"] == str(rv)
                got += raw_keys(page["items"])
                token = page["metadata"].get("continue")
                if token:
                    expected = len(model.at(rv, namespace)) - len(got)
                    assert page["metadata"]["remainingItemCount"] == expected
            return status, page

        for op, ns, i in ops:
            key = (ns, f"s{i:02}")
            exists = server.get("Service", *key) is not None
            if op == "create" and not exists:
                model.record(key, server.create(svc(*key)))
            elif op == "delete" and exists:
                model.record(key, server.delete("Service", *key), deleted=True)
            elif op == "patch" and exists:
                patch = {"metadata": {"labels": {"rev": str(len(model.writes))}}}
                model.record(key, server.patch("Service", *key, patch))
            elif op == "compact":
                compacted = server.compact() > rv or compacted
            elif op == "page" and token:
                if compacted:
                    break
                assert next_page()[0] == 200
        if compacted and token:
            status, page = next_page()
            assert status == 410 and page["reason"] == "Expired"
            return
        while token:
            assert next_page()[0] == 200
        assert got == model.at(rv, namespace)
