"""A handler's delivery thread keeps one Python thread state for its whole life.

So what Python keeps per thread (``threading.local`` data, the thread's ``contextvars`` context)
lasts from one call of a handler to the next, as it would on a Python thread.
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any

from _helpers import svc
from kubeproxy_config import EndpointsConfig, ProxyConfig, ServiceConfig, Snapshot

CALLS = 5


def test_thread_local_data_lasts_between_calls(config: ServiceConfig) -> None:
    local = threading.local()
    seen: list[int] = []

    def handler(snapshot: Snapshot[Any]) -> None:
        local.calls = getattr(local, "calls", 0) + 1
        seen.append(local.calls)

    config.register_handler(handler)
    ch = config.channel("api")
    for i in range(CALLS):
        ch.add([svc(f"s{i}")])
        assert config.flush(10)
    assert seen == list(range(1, CALLS + 1))


def test_context_variables_last_between_calls(config: ServiceConfig) -> None:
    var: contextvars.ContextVar[int] = contextvars.ContextVar("calls", default=0)
    seen: list[int] = []

    def handler(snapshot: Snapshot[Any]) -> None:
        var.set(var.get() + 1)
        seen.append(var.get())

    config.register_handler(handler)
    ch = config.channel("api")
    for i in range(CALLS):
        ch.add([svc(f"s{i}")])
        assert config.flush(10)
    assert seen == list(range(1, CALLS + 1))


def test_a_proxy_handler_keeps_its_thread_state_too() -> None:
    local = threading.local()
    seen: list[int] = []

    def handler(snapshot: object) -> None:
        local.calls = getattr(local, "calls", 0) + 1
        seen.append(local.calls)

    with ServiceConfig() as sc, EndpointsConfig() as ec, ProxyConfig(sc, ec, node_name="n1") as pc:
        pc.register_handler(handler)
        ch = sc.channel("api")
        for i in range(CALLS):
            ch.add([svc(f"s{i}")])
            assert pc.flush(10)
    assert seen == list(range(1, CALLS + 1))
