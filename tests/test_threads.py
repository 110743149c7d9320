"""Thread-safety stress (SPEC §3 merge rules and §4 delivery under concurrency).

A hang is a deadlock: every test is bounded by ``pytest.mark.timeout`` and every wait by WAIT.
8 producer threads on 4 sources (two per source, each owning half of the keys so that a source's
content is deterministic) send seeded random ADD/UPDATE/REMOVE batches in every accepted form while
3 handlers run: a slow one that checks every snapshot, one that raises now and then, and one that
reads ``state()`` and cancels and re-registers itself from inside its call. Then everything is
flushed and compared with a per-source model merged by the priority rule.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

import pytest

from _helpers import WAIT, apply_changes, as_map, svc, svc_dict
from kubeproxy_config import (
    Operation,
    Registration,
    Service,
    ServiceConfig,
    ServiceUpdate,
    Snapshot,
)

SOURCES = ["s0", "s1", "s2", "s3"]
PRODUCERS = 8
OPS = 2500
KEYS = [(ns, f"n{i}") for ns in ("default", "kube-system") for i in range(10)]
IPS = [f"10.0.0.{i}" for i in range(1, 5)]

Key = tuple[str, str]


def key_str(key: Key) -> str:
    return f"{key[0]}/{key[1]}"


class Checked:
    """Base of the handlers: one call at a time, increasing versions, an exact view."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = 0
        self.problems: list[str] = []
        self.view: dict[str, Service] = {}
        self.versions: list[int] = []

    def enter(self, snapshot: Snapshot[Service]) -> None:
        with self.lock:
            self.inside += 1
            if self.inside > 1:
                self.problems.append("two calls at a time")
        if self.versions and snapshot.version <= self.versions[-1]:
            self.problems.append(f"version {snapshot.version} after {self.versions[-1]}")
        self.versions.append(snapshot.version)
        try:
            apply_changes(self.view, snapshot.changes)
        except AssertionError as e:
            self.problems.append(f"inexact changes at {snapshot.version}: {e}")
            self.view = as_map(snapshot)

    def leave(self) -> None:
        with self.lock:
            self.inside -= 1


class SlowChecker(Checked):
    def __call__(self, snapshot: Snapshot[Service]) -> None:
        self.enter(snapshot)
        try:
            if self.view != as_map(snapshot):
                self.problems.append(f"view differs from snapshot {snapshot.version}")
            keys = [o.key for o in snapshot]
            if keys != sorted(keys, key=lambda k: tuple(k.split("/"))):
                self.problems.append("snapshot not sorted")
            time.sleep(0.002)  # not synchronisation: makes this handler slow, so it coalesces
        finally:
            self.leave()


class SometimesRaising(Checked):
    def __init__(self) -> None:
        super().__init__()
        self.raised = 0

    def on_service_update(self, snapshot: Snapshot[Service]) -> None:
        self.enter(snapshot)
        try:
            if len(self.versions) % 5 == 0:
                self.raised += 1
                raise RuntimeError(f"deliberate failure at version {snapshot.version}")
        finally:
            self.leave()


class Reregistering(Checked):
    """Reads ``state()`` and, every few calls, cancels itself and registers a successor."""

    def __init__(self, config: ServiceConfig, family: Family) -> None:
        super().__init__()
        self.config = config
        self.family = family
        self.registration: Registration | None = None
        self.cancelled = False

    def __call__(self, snapshot: Snapshot[Service]) -> None:
        self.enter(snapshot)
        try:
            if self.cancelled:
                self.family.problems.append("called after cancel() returned")
            state = self.config.state()
            if state.version < snapshot.version:
                self.family.problems.append("state() older than the delivered snapshot")
            if len(self.versions) % 4 == 0:
                with self.family.lock:
                    if not self.family.stopping and self.registration is not None:
                        if not self.registration.cancel():
                            self.family.problems.append("cancel() of a live registration")
                        self.cancelled = True
                        self.family.start(self.config)
        finally:
            self.leave()


class Family:
    """The chain of Reregistering handlers; ``current`` is the live one."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.stopping = False
        self.problems: list[str] = []
        self.members: list[Reregistering] = []

    def start(self, config: ServiceConfig) -> None:
        with self.lock:  # the member reads its registration under this lock
            member = Reregistering(config, self)
            self.members.append(member)
            member.registration = config.register_handler(member)

    @property
    def current(self) -> Reregistering:
        return self.members[-1]


def produce(
    config: ServiceConfig,
    index: int,
    start: threading.Barrier,
    models: list[dict[Key, str]],
    errors: list[BaseException],
) -> None:
    rng = random.Random(1000 + index)
    source = SOURCES[index // 2]
    mine = [k for i, k in enumerate(KEYS) if i % 2 == index % 2]
    model = models[index]
    try:
        start.wait(WAIT)
        ch = config.channel(source)  # created concurrently: priority is config.sources
        for _ in range(OPS):
            op = rng.choice(["add", "update", "remove", "send", "json"])
            batch = rng.sample(mine, rng.randint(1, 3))
            if op == "remove" or (op in ("send", "json") and rng.random() < 0.3):
                forms: list[Any] = []
                for key in batch:
                    model.pop(key, None)
                    form = rng.choice(["key", "object", "dict"])
                    if form == "key":
                        forms.append(key_str(key))
                    elif form == "object":
                        forms.append(svc(key[1], ns=key[0]))
                    else:
                        forms.append(svc_dict(key[1], ns=key[0]))
                if op == "send":
                    ch.send(ServiceUpdate(Operation.REMOVE, forms))
                elif op == "json":
                    objs = [svc_dict(k[1], ns=k[0]) for k in batch]
                    ch.send_json(Operation.REMOVE, json.dumps(objs).encode())
                else:
                    ch.remove(forms)
                continue
            items = {key: rng.choice(IPS) for key in batch}
            model.update(items)
            services = [svc(k[1], ns=k[0], ip=ip) for k, ip in items.items()]
            if op == "add":
                ch.add(services)
            elif op == "update":
                ch.update([svc_dict(k[1], ns=k[0], ip=ip) for k, ip in items.items()])
            elif op == "send":
                ch.send(ServiceUpdate(Operation.UPDATE, services))
            else:
                ch.send_json(Operation.ADD, json.dumps([s.to_dict() for s in services]))
    except BaseException as e:
        errors.append(e)


@pytest.mark.timeout(60)
def test_concurrent_producers_and_handlers() -> None:
    config = ServiceConfig()
    try:
        slow = SlowChecker()
        raising = SometimesRaising()
        family = Family()
        config.register_handler(slow)
        config.register_handler(raising)
        family.start(config)

        start = threading.Barrier(PRODUCERS)
        models: list[dict[Key, str]] = [{} for _ in range(PRODUCERS)]
        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=produce, args=(config, i, start, models, errors))
            for i in range(PRODUCERS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT * 3)
        assert not any(t.is_alive() for t in threads), "a producer hung"
        assert errors == []

        # the last phase: an atomic SET replaces the content of two sources
        for source, parity_models in [("s1", (2, 3)), ("s3", (6, 7))]:
            keep = {k: "10.0.0.9" for k in KEYS[::3]}
            config.channel(source).set([svc(k[1], ns=k[0], ip=ip) for k, ip in keep.items()])
            for i in parity_models:
                models[i] = {}
            models[parity_models[0]] = keep

        with family.lock:
            family.stopping = True
        assert config.flush(WAIT)

        # the per-source model, merged by the priority rule (first-created channel wins)
        assert sorted(config.sources) == SOURCES
        per_source: dict[str, dict[Key, str]] = {s: {} for s in SOURCES}
        for i, model in enumerate(models):
            per_source[SOURCES[i // 2]].update(model)
        expected: dict[str, Service] = {}
        for source in reversed(config.sources):
            for key, ip in per_source[source].items():
                expected[key_str(key)] = svc(key[1], ns=key[0], ip=ip)

        state = config.state()
        assert as_map(state) == expected
        assert [o.key for o in state] == sorted(expected, key=lambda k: tuple(k.split("/")))

        for handler in (slow, raising, family.current):
            assert handler.problems == []
            assert handler.view == expected
            assert handler.versions[-1] == state.version
        assert family.problems == []
        assert all(m.problems == [] for m in family.members)
        assert len(family.members) > 1, "the re-registering handler never re-registered"

        stats = config.stats()
        assert stats["handler_errors"] == raising.raised > 0
        assert stats["handlers"] == 3
        assert stats["conflicts"] > 0
        assert stats["updates"] >= PRODUCERS * OPS
    finally:
        assert config.close(timeout=WAIT)


@pytest.mark.timeout(60)
def test_concurrent_channel_creation_yields_one_channel_per_name() -> None:
    with ServiceConfig() as config:
        start = threading.Barrier(8)
        got: list[Any] = [None] * 8

        def create(i: int) -> None:
            start.wait(WAIT)
            got[i] = config.channel(f"src{i % 2}")

        threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
        assert sorted(config.sources) == ["src0", "src1"]
        assert all(got[i] is got[i % 2] for i in range(8))


@pytest.mark.timeout(60)
def test_flush_and_close_race_with_senders() -> None:
    """Senders keep sending while other threads flush and one closes: nothing hangs, and every
    send either lands or raises ClosedError."""
    from kubeproxy_config import ClosedError

    config = ServiceConfig()
    config.register_handler(lambda snapshot: None)
    start = threading.Barrier(5)
    closed = threading.Event()
    outcomes: list[str] = []
    lock = threading.Lock()

    def send(n: int) -> None:
        ch = config.channel(f"src{n}")
        start.wait(WAIT)
        i = 0
        while True:
            try:
                ch.add([svc(f"s{i % 30}", ns=f"ns{n}", ip=IPS[i % 4])])
            except ClosedError:
                with lock:
                    outcomes.append("closed")
                return
            i += 1

    def flusher() -> None:
        start.wait(WAIT)
        for _ in range(20):
            config.flush(WAIT)
        assert config.close(timeout=WAIT)
        closed.set()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=flusher))
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 3)
    assert not any(t.is_alive() for t in threads)
    assert closed.is_set()
    assert outcomes == ["closed"] * 4
    assert config.closed


def test_closes_racing_from_several_threads_all_return() -> None:
    # One close joining a delivery thread while another waits for it must not deadlock (a
    # lock was once held across the join).
    for _ in range(100):
        config = ServiceConfig(min_interval=0.0)
        for _ in range(3):
            config.register_handler(lambda snapshot: None)
        config.channel("a").set([svc("web")])
        # Only other threads close, so a deadlock fails the test instead of hanging it.
        closers = [threading.Thread(target=config.close, args=(10,), daemon=True) for _ in range(4)]
        for t in closers:
            t.start()
        for t in closers:
            t.join(30)
            assert not t.is_alive(), "a close never returned"
