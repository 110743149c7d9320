"""Delivery to handlers of every kind, and what the caller controls: cancel, flush and close
(SPEC §4)."""

from __future__ import annotations

import threading

import pytest

from _helpers import WAIT, Recorder, as_map, ep, eps, keys, svc
from kubeproxy_config import (
    Endpoints,
    EndpointsConfig,
    EndpointSlice,
    EndpointSliceConfig,
    Registration,
    Service,
    ServiceConfig,
    Snapshot,
)

pytestmark = pytest.mark.timeout(30)


# ---- handler kinds ---------------------------------------------------------------------------


def test_a_method_wins_over_call(config: ServiceConfig) -> None:
    seen: list[str] = []

    class Both:
        def on_service_update(self, snapshot: Snapshot[Service]) -> None:
            seen.append("method")

        def __call__(self, snapshot: Snapshot[Service]) -> None:
            seen.append("call")

    reg = config.register_handler(Both())
    assert isinstance(reg, Registration)
    config.channel("api").add([svc("a")])
    assert config.flush(WAIT)
    assert seen == ["method"]


def test_a_handler_without_the_method_must_be_callable(config: ServiceConfig) -> None:
    class WrongConfig:
        def on_endpoints_update(self, snapshot: Snapshot[Endpoints]) -> None:
            raise AssertionError("not for services")

    with pytest.raises(TypeError):
        config.register_handler(WrongConfig())
    with pytest.raises(TypeError):
        config.register_handler(42)
    assert config.stats()["handlers"] == 0


def test_endpoints_handler_object() -> None:
    class Handler:
        def __init__(self) -> None:
            self.snapshots: list[Snapshot[Endpoints]] = []
            self.synced = 0

        def on_endpoints_update(self, snapshot: Snapshot[Endpoints]) -> None:
            self.snapshots.append(snapshot)

        def on_synced(self) -> None:
            self.synced += 1

    with EndpointsConfig() as config:
        handler = Handler()
        config.register_handler(handler)
        config.channel("api").set([ep("a"), ep("b")])
        assert config.flush(WAIT)
        assert [list(s) for s in handler.snapshots] == [[ep("a"), ep("b")]]
        assert handler.synced == 1


def test_endpoint_slices_handler_object() -> None:
    class Handler:
        def __init__(self) -> None:
            self.snapshots: list[Snapshot[EndpointSlice]] = []

        def on_endpoint_slices_update(self, snapshot: Snapshot[EndpointSlice]) -> None:
            self.snapshots.append(snapshot)

    with EndpointSliceConfig() as config:
        handler = Handler()
        config.register_handler(handler)
        config.channel("api").add([eps("web-1", "web")])
        assert config.flush(WAIT)
        config.channel("api").remove(["default/web-1"])
        assert config.flush(WAIT)
        assert [s.version for s in handler.snapshots] == [1, 2]
        assert handler.snapshots[1].changes.removed == (eps("web-1", "web"),)


# ---- cancel ----------------------------------------------------------------------------------


def test_cancel_stops_deliveries(config: ServiceConfig) -> None:
    rec = Recorder()
    other = Recorder()
    reg = config.register_handler(rec)
    config.register_handler(other)
    ch = config.channel("api")
    ch.add([svc("a")])
    assert config.flush(WAIT)
    assert config.stats()["handlers"] == 2
    assert reg.cancel() is True
    assert reg.cancel() is False
    assert config.stats()["handlers"] == 1
    ch.add([svc("b")])
    assert config.flush(WAIT)
    assert rec.versions == [1]
    assert other.versions == [1, 2]


def test_cancel_from_inside_the_handler(config: ServiceConfig) -> None:
    calls: list[int] = []
    registration: list[Registration] = []
    cancelled: list[bool] = []

    def handler(snapshot: Snapshot[Service]) -> None:
        calls.append(snapshot.version)
        if len(calls) == 2:
            cancelled.append(registration[0].cancel())

    registration.append(config.register_handler(handler))
    ch = config.channel("api")
    for i in range(4):
        ch.add([svc(f"s{i}")])
        assert config.flush(WAIT)
    assert calls == [1, 2]
    assert cancelled == [True]
    assert config.stats()["handlers"] == 0


# ---- flush -----------------------------------------------------------------------------------


def test_flush_returns_only_after_handlers_got_the_state(
    config: ServiceConfig, gate: threading.Event
) -> None:
    entered = threading.Event()
    rec = Recorder()

    def handler(snapshot: Snapshot[Service]) -> None:
        if snapshot.version == 1:
            entered.set()
            gate.wait(WAIT)
        rec(snapshot)

    config.register_handler(handler)
    ch = config.channel("api")
    ch.add([svc("a")])
    assert entered.wait(WAIT)
    ch.add([svc("b")])
    assert config.flush(0.2) is False  # version 2 cannot reach the blocked handler
    gate.set()
    assert config.flush(WAIT) is True
    assert rec.last_version == config.state().version == 2
    for i in range(50):
        ch.add([svc(f"s{i}")])
    assert config.flush(WAIT) is True
    assert rec.last_version == config.state().version
    assert rec.view == as_map(config.state())


def test_flush_with_nothing_to_do(config: ServiceConfig) -> None:
    assert config.flush(WAIT) is True
    assert config.flush() is True


def test_flush_from_inside_a_handler_does_not_deadlock(config: ServiceConfig) -> None:
    inner: list[bool] = []
    returned = threading.Event()

    def handler(snapshot: Snapshot[Service]) -> None:
        if not inner:
            inner.append(config.flush())  # no timeout: a deadlock would hang here
            returned.set()

    config.register_handler(handler)
    config.channel("api").add([svc("a")])
    assert returned.wait(WAIT), "flush() inside a handler deadlocked"
    assert isinstance(inner[0], bool)
    config.channel("api").add([svc("b")])
    assert config.flush(WAIT)


def test_state_from_inside_a_handler(config: ServiceConfig) -> None:
    states: list[tuple[int, int, list[str]]] = []

    def handler(snapshot: Snapshot[Service]) -> None:
        state = config.state()
        states.append((snapshot.version, state.version, keys(state)))

    config.register_handler(handler)
    ch = config.channel("api")
    ch.add([svc("a")])
    assert config.flush(WAIT)
    ch.add([svc("b")])
    assert config.flush(WAIT)
    assert all(seen <= current for seen, current, _ in states)
    assert states[-1] == (2, 2, ["default/a", "default/b"])


# ---- close -----------------------------------------------------------------------------------


def test_close_waits_for_a_call_in_progress_and_no_call_follows() -> None:
    config = ServiceConfig()
    entered = threading.Event()
    gate = threading.Event()
    log: list[str] = []
    log_lock = threading.Lock()

    def handler(snapshot: Snapshot[Service]) -> None:
        with log_lock:
            log.append(f"enter {snapshot.version}")
        entered.set()
        gate.wait(WAIT)
        with log_lock:
            log.append(f"exit {snapshot.version}")

    config.register_handler(handler)
    ch = config.channel("api")
    ch.add([svc("a")])
    assert entered.wait(WAIT)
    ch.add([svc("b")])  # pending while the handler is busy
    result: list[bool] = []
    close_returned = threading.Event()

    def close() -> None:
        result.append(config.close())
        with log_lock:
            log.append("closed")
        close_returned.set()

    closer = threading.Thread(target=close)
    try:
        closer.start()
        assert not close_returned.wait(0.2), "close() returned while a handler was in a call"
        gate.set()
        closer.join(WAIT)
        assert close_returned.is_set()
    finally:
        gate.set()
        config.close(timeout=WAIT)
    assert result == [True]
    with log_lock:
        at_close = list(log)
    assert "exit 1" in at_close
    assert at_close[-1] == "closed"
    # nothing can reach the handler any more, pending or new
    assert config.flush(WAIT)
    assert not threading.Event().wait(0.1)  # a short window for a late call to show up
    with log_lock:
        assert log == at_close


def test_close_with_a_stuck_handler_times_out() -> None:
    config = ServiceConfig()
    entered = threading.Event()
    gate = threading.Event()

    def stuck(snapshot: Snapshot[Service]) -> None:
        entered.set()
        gate.wait(WAIT)

    config.register_handler(stuck)
    try:
        config.channel("api").add([svc("a")])
        assert entered.wait(WAIT)
        assert config.close(timeout=0.2) is False
        assert config.closed
    finally:
        gate.set()
    assert config.close(timeout=WAIT) is True
