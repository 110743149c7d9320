"""A handler's delivery thread keeps one Python thread state for its whole life.

So what Python keeps per thread (``threading.local`` data, the thread's ``contextvars`` context)
lasts from one call of a handler to the next, as it would on a Python thread.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable

import pytest

from _helpers import svc
from kubeproxy_config import EndpointsConfig, ProxyConfig, ServiceConfig, SourceChannel

CALLS = 5


def counting_with_thread_local() -> tuple[Callable[[object], None], list[int]]:
    """A handler counting its calls in ``threading.local`` data, and the counts it saw."""
    local = threading.local()
    seen: list[int] = []

    def handler(snapshot: object) -> None:
        local.calls = getattr(local, "calls", 0) + 1
        seen.append(local.calls)

    return handler, seen


def counting_with_context_variable() -> tuple[Callable[[object], None], list[int]]:
    """A handler counting its calls in a context variable, and the counts it saw."""
    var: contextvars.ContextVar[int] = contextvars.ContextVar("calls", default=0)
    seen: list[int] = []

    def handler(snapshot: object) -> None:
        var.set(var.get() + 1)
        seen.append(var.get())

    return handler, seen


def add_one_at_a_time(channel: SourceChannel, flush: Callable[[float], bool]) -> None:
    for i in range(CALLS):
        channel.add([svc(f"s{i}")])
        assert flush(10)


@pytest.mark.parametrize("counting", [counting_with_thread_local, counting_with_context_variable])
def test_per_thread_python_state_lasts_between_calls(
    config: ServiceConfig, counting: Callable[[], tuple[Callable[[object], None], list[int]]]
) -> None:
    handler, seen = counting()
    config.register_handler(handler)
    add_one_at_a_time(config.channel("api"), config.flush)
    assert seen == list(range(1, CALLS + 1))


def test_a_proxy_handler_keeps_its_thread_state_too() -> None:
    handler, seen = counting_with_thread_local()
    with ServiceConfig() as sc, EndpointsConfig() as ec, ProxyConfig(sc, ec, node_name="n1") as pc:
        pc.register_handler(handler)
        add_one_at_a_time(sc.channel("api"), pc.flush)
    assert seen == list(range(1, CALLS + 1))
