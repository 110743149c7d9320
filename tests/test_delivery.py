"""SPEC §4: delivery to handlers, one test (or a few) per numbered rule, plus flush and close.

Synchronisation is by ``flush()``, Events and Conditions with generous timeouts, never by sleeping;
the only time measured is a lower bound for ``min_interval``.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable

import pytest

from _helpers import WAIT, Recorder, as_map, keys, svc
from kubeproxy_config import (
    Service,
    ServiceConfig,
    Snapshot,
)

pytestmark = pytest.mark.timeout(30)


class FirstCallBlocks:
    """A handler that records every snapshot and, in its first call, sets ``entered`` and
    blocks until ``gate`` is set: a busy handler for which versions pile up."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate
        self.entered = threading.Event()
        self.calls: list[Snapshot[Service]] = []

    def __call__(self, snapshot: Snapshot[Service]) -> None:
        self.calls.append(snapshot)
        if len(self.calls) == 1:
            self.entered.set()
            self.gate.wait(WAIT)


class SyncRecorder:
    """A handler object (Go-named method and ``on_synced``) recording the order of its calls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, int]] = []
        self.synced = threading.Event()

    def on_service_update(self, snapshot: Snapshot[Service]) -> None:
        with self.lock:
            self.events.append(("update", snapshot.version))

    def on_synced(self) -> None:
        with self.lock:
            self.events.append(("synced", -1))
        self.synced.set()

    @property
    def synced_calls(self) -> int:
        with self.lock:
            return sum(1 for kind, _ in self.events if kind == "synced")


# ---- rule 1: a config thread, one call at a time, increasing versions --------------------------


def test_calls_happen_on_a_config_thread_never_the_senders(config: ServiceConfig) -> None:
    rec = Recorder()
    config.register_handler(rec)
    ch = config.channel("api")
    ch.add([svc("a")])
    assert config.flush(WAIT)
    senders: list[int] = []

    def send() -> None:
        senders.append(threading.get_ident())
        ch.add([svc("b")])
        assert config.flush(WAIT)

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(WAIT)
    assert rec.versions == [1, 2]
    assert threading.get_ident() not in rec.threads
    assert senders[0] not in rec.threads


def test_sending_never_waits_for_a_handler(config: ServiceConfig, gate: threading.Event) -> None:
    entered = threading.Event()

    def stuck(snapshot: Snapshot[Service]) -> None:
        entered.set()
        gate.wait(WAIT)

    config.register_handler(stuck)
    ch = config.channel("api")
    ch.add([svc("a")])
    assert entered.wait(WAIT)
    done = threading.Event()

    def send_many() -> None:
        for i in range(50):
            ch.add([svc(f"s{i}")])
        ch.set([svc("z")])
        ch.send_json("ADD", json.dumps(svc("y").to_dict()))
        done.set()

    threading.Thread(target=send_many, daemon=True).start()
    assert done.wait(WAIT), "a send waited for the handler"
    gate.set()
    assert config.flush(WAIT)
    assert keys(config.state()) == ["default/y", "default/z"]


def test_one_handler_is_never_called_concurrently(config: ServiceConfig) -> None:
    lock = threading.Lock()
    inside = 0
    overlaps = 0
    rec = Recorder()

    def handler(snapshot: Snapshot[Service]) -> None:
        nonlocal inside, overlaps
        with lock:
            inside += 1
            if inside > 1:
                overlaps += 1
        rec(snapshot)
        time.sleep(0.0005)  # not synchronisation: widens the window an overlap would show in
        with lock:
            inside -= 1

    config.register_handler(handler)
    start = threading.Barrier(4)

    def produce(n: int) -> None:
        ch = config.channel(f"src{n}")
        start.wait(WAIT)
        for i in range(150):
            ch.add([svc(f"s{i % 20}", ns=f"ns{n}", ip=f"10.0.{n}.{i % 250}")])

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert config.flush(WAIT)
    assert overlaps == 0
    versions = rec.versions
    assert all(a < b for a, b in itertools.pairwise(versions))
    state = config.state()
    assert versions[-1] == state.version  # no final state lost
    assert rec.view == as_map(state)
    assert len(state) == 80


def test_versions_strictly_increase_for_every_handler(config: ServiceConfig) -> None:
    recorders = [Recorder() for _ in range(3)]
    for rec in recorders:
        config.register_handler(rec)
    ch = config.channel("api")
    for i in range(100):
        ch.add([svc(f"s{i % 7}", ip=f"10.0.0.{i % 3 + 1}")])
        if i % 10 == 0:
            ch.remove([f"default/s{i % 7}"])
    assert config.flush(WAIT)
    for rec in recorders:
        versions = rec.versions
        assert versions == sorted(set(versions))
        assert versions[-1] == config.state().version


# ---- rule 2: coalescing --------------------------------------------------------------------


def test_a_busy_handler_gets_only_the_newest_with_all_changes(
    config: ServiceConfig, gate: threading.Event
) -> None:
    ch = config.channel("api")
    ch.set([svc("x"), svc("y"), svc("keep")])
    assert config.flush(WAIT)
    slow = FirstCallBlocks(gate)
    calls = slow.calls
    config.register_handler(slow)
    probe = Recorder()  # tells when each version exists (the slow handler does not delay it)
    config.register_handler(probe)
    assert slow.entered.wait(WAIT)
    assert calls[0].version == 1
    coalesced_before = config.stats()["coalesced_deliveries"]
    version = 1
    sends: list[Callable[[], None]] = [
        lambda: ch.add([svc("z")]),  # added, then removed: appears nowhere
        lambda: ch.remove(["default/z"]),
        lambda: ch.update([svc("x", ip="10.0.0.2")]),  # updated, then removed: removed, as seen
        lambda: ch.remove(["default/x"]),
        lambda: ch.update([svc("y", ip="10.0.0.2")]),  # updated twice: one (old, newest) pair
        lambda: ch.update([svc("y", ip="10.0.0.3")]),
        lambda: ch.add([svc("w")]),  # added, then updated: added as newest
        lambda: ch.update([svc("w", ip="10.0.0.3")]),
        lambda: ch.update([svc("keep", ip="10.0.0.2")]),  # changed and back: appears nowhere
        lambda: ch.update([svc("keep")]),
    ]
    for send in sends:
        send()
        version += 1
        assert probe.wait_version(version)
    assert len(calls) == 1
    gate.set()
    assert config.flush(WAIT)
    state = config.state()
    assert state.version == version
    assert [s.version for s in calls] == [1, version]
    newest = calls[1]
    assert list(newest) == list(state)
    assert newest.changes.added == (svc("w", ip="10.0.0.3"),)
    assert newest.changes.removed == (svc("x"),)
    assert newest.changes.updated == ((svc("y"), svc("y", ip="10.0.0.3")),)
    assert config.stats()["coalesced_deliveries"] > coalesced_before


def test_coalesced_changes_are_relative_to_what_this_handler_saw(
    config: ServiceConfig, gate: threading.Event
) -> None:
    """Two handlers at different points get different ``changes`` for the same version."""
    ch = config.channel("api")
    slow = FirstCallBlocks(gate)
    fast = Recorder()
    config.register_handler(slow)
    config.register_handler(fast)
    ch.add([svc("a")])
    assert slow.entered.wait(WAIT)
    ch.add([svc("b")])
    assert fast.wait_version(2)
    ch.add([svc("c")])
    assert fast.wait_version(3)
    assert fast.snapshots[-1].changes.added == (svc("c"),)
    gate.set()
    assert config.flush(WAIT)
    assert [s.version for s in slow.calls] == [1, 3]
    assert set(slow.calls[1].changes.added) == {svc("b"), svc("c")}


# ---- rule 3: min_interval ------------------------------------------------------------------


def test_min_interval_spaces_calls_and_delivers_the_last_change() -> None:
    interval = 0.3
    with ServiceConfig(min_interval=interval) as config:
        times: list[float] = []
        rec = Recorder()

        def handler(snapshot: Snapshot[Service]) -> None:
            times.append(time.monotonic())
            rec(snapshot)

        config.register_handler(handler)
        ch = config.channel("api")
        ch.add([svc("a")])
        assert rec.wait_calls(1)
        for i in range(5):
            ch.add([svc(f"b{i}")])
        # no flush and no later send: the end of the interval alone delivers the last change
        assert rec.wait_keys(["default/a"] + [f"default/b{i}" for i in range(5)])
        assert config.flush(WAIT)
        assert len(times) >= 2
        # lower bounds only (a little slack for the clock read after the engine's own)
        assert all(b - a >= interval - 0.1 for a, b in itertools.pairwise(times))
        assert rec.versions[-1] == config.state().version
        assert rec.view == as_map(config.state())
        assert len(config.state()) == 6


# ---- rule 4: errors and isolation ------------------------------------------------------------


def test_a_raising_handler_is_logged_counted_and_isolated(
    config: ServiceConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="kubeproxy_config")
    calls: list[int] = []

    def bad(snapshot: Snapshot[Service]) -> None:
        calls.append(snapshot.version)
        if len(calls) == 1:
            raise ValueError("boom-in-handler")

    good = Recorder()
    config.register_handler(bad)
    config.register_handler(good)
    ch = config.channel("api")
    ch.add([svc("a")])
    assert config.flush(WAIT)
    assert config.stats()["handler_errors"] == 1
    ch.add([svc("b")])
    assert config.flush(WAIT)
    assert calls == [1, 2]  # later deliveries go on
    assert good.versions == [1, 2]
    assert config.stats()["handler_errors"] == 1
    records = [
        r
        for r in caplog.records
        if r.name == "kubeproxy_config" or r.name.startswith("kubeproxy_config.")
    ]
    assert records, "the handler error was not logged on logger 'kubeproxy_config'"
    assert any(r.exc_info is not None and "boom-in-handler" in str(r.exc_info[1]) for r in records)
    assert "Traceback" in caplog.text
    assert "boom-in-handler" in caplog.text
    assert "in bad" in caplog.text  # the traceback reaches the handler's own frame


def test_a_slow_handler_does_not_delay_another(
    config: ServiceConfig, gate: threading.Event
) -> None:
    entered = threading.Event()
    slow_calls: list[int] = []

    def slow(snapshot: Snapshot[Service]) -> None:
        slow_calls.append(snapshot.version)
        entered.set()
        gate.wait(WAIT)

    fast = Recorder()
    config.register_handler(slow)
    config.register_handler(fast)
    ch = config.channel("api")
    ch.add([svc("a")])
    assert entered.wait(WAIT)
    # Each version is sent once the fast handler has the one before: it is never busy when one
    # comes, so none is coalesced, while the slow one stays inside its first call.
    assert fast.wait_version(1), "the fast handler did not get version 1"
    for i in range(2, 6):
        ch.add([svc(f"s{i}")])
        assert fast.wait_version(i), f"the fast handler did not get version {i}"
    assert fast.versions == [1, 2, 3, 4, 5]
    assert slow_calls == [1]
    gate.set()
    assert config.flush(WAIT)
    assert slow_calls == [1, 5]


# ---- rule 5: late registration ---------------------------------------------------------------


def test_late_registration_gets_the_current_state_promptly(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("a"), svc("b")])
    ch.add([svc("c")])
    ch.remove(["default/a"])
    assert config.flush(WAIT)
    state = config.state()
    rec = Recorder()
    config.register_handler(rec)
    assert rec.wait_calls(1)  # no flush, no send: it comes by itself
    first = rec.snapshots[0]
    assert first.version == state.version
    assert list(first) == [svc("b"), svc("c")]
    assert set(first.changes.added) == {svc("b"), svc("c")}
    assert first.changes.updated == ()
    assert first.changes.removed == ()


# ---- rule 6: on_synced -----------------------------------------------------------------------


def test_on_synced_once_after_the_first_delivery_that_follows_sync(config: ServiceConfig) -> None:
    handler = SyncRecorder()
    config.register_handler(handler)
    ch = config.channel("api")
    ch.add([svc("a")])
    assert config.flush(WAIT)
    assert handler.events == [("update", 1)]  # an ADD does not sync
    ch.set([svc("a"), svc("b")])
    assert handler.synced.wait(WAIT)
    assert handler.events == [("update", 1), ("update", 2), ("synced", -1)]
    ch.add([svc("c")])
    ch.set([svc("d")])
    ch.mark_synced()
    assert config.flush(WAIT)
    ch.add([svc("e")])
    assert config.flush(WAIT)
    assert handler.synced_calls == 1
    assert handler.events[-1] == ("update", config.state().version)


def test_on_synced_when_synced_while_empty(config: ServiceConfig) -> None:
    handler = SyncRecorder()
    config.register_handler(handler)
    config.channel("api").set([])
    assert handler.synced.wait(WAIT)
    assert handler.events == [("update", 0), ("synced", -1)]
    config.channel("api").set([])
    config.channel("api").add([svc("a")])
    assert config.flush(WAIT)
    assert handler.synced_calls == 1
    assert handler.events[-1] == ("update", 1)


def test_on_synced_waits_for_every_channel(config: ServiceConfig) -> None:
    handler = SyncRecorder()
    config.register_handler(handler)
    api = config.channel("api")
    files = config.channel("file")
    api.set([svc("a")])
    files.add([svc("b")])
    assert config.flush(WAIT)
    assert handler.synced_calls == 0
    files.mark_synced()
    assert handler.synced.wait(WAIT)
    assert handler.events[-1] == ("synced", -1)
    assert handler.events[0][0] == "update"
    assert handler.synced_calls == 1


def test_on_synced_for_a_handler_registered_after_sync(config: ServiceConfig) -> None:
    config.channel("api").set([svc("a")])
    assert config.wait_synced(WAIT)
    assert config.flush(WAIT)
    handler = SyncRecorder()
    config.register_handler(handler)
    assert handler.synced.wait(WAIT)
    assert handler.events == [("update", 1), ("synced", -1)]


@pytest.mark.parametrize("how", ["set", "set-empty", "mark_synced", "register-late"])
def test_flush_waits_for_the_on_synced_call(how: str) -> None:
    """Becoming synced was sent before the flush, so its delivery and ``on_synced()`` are part of
    what ``flush()`` waits for (repeated: a missing wait shows as a race)."""
    for _ in range(100):
        with ServiceConfig() as config:
            handler = SyncRecorder()
            ch = config.channel("api")
            if how == "register-late":
                ch.set([svc("a")])
                assert config.flush(WAIT)
            config.register_handler(handler)
            if how == "set":
                ch.set([svc("a")])
            elif how == "set-empty":
                ch.set([])
            elif how == "mark_synced":
                ch.add([svc("a")])
                assert config.flush(WAIT)
                ch.mark_synced()
            assert config.flush(WAIT)
            assert handler.synced_calls == 1, f"flush() returned before on_synced(): {how}"
            assert handler.events[-1] == ("synced", -1)
