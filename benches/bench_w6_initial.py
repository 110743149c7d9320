"""W6 initial sync: one source SETs N Services and N Endpoints (10 addresses each), timed until
both handlers have had their first delivery.

Two inputs, each fed to both sides: plain dicts (``channel.set(dicts)``; the package's time
includes converting them to its objects, the baseline just stores references), and the raw bytes
of a ``ServiceList`` / ``EndpointsList`` as a list call returns them (package:
``channel.send_json("SET", data)``, parsed in Rust; baseline: ``json.loads`` then ``set``).
Configs and handlers are created outside the timing, fresh for every round.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from benches import generator
from benches._common import (
    BASELINE,
    PACKAGE,
    endpoints_config,
    record,
    service_config,
    service_dicts,
)

SIZES = {"quick": [1000], "full": [10000]}
ADDRESSES = 10
IMPLS = (PACKAGE, BASELINE, "package-json", "baseline-json")


@cache
def endpoints_dicts(n: int) -> list[dict[str, Any]]:
    return generator.endpoints(n, addresses=ADDRESSES)


@cache
def list_bytes(n: int) -> tuple[bytes, bytes]:
    def as_list(kind: str, items: list[dict[str, Any]]) -> bytes:
        body = {"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "1"}}
        return json.dumps({**body, "items": items}, separators=(",", ":")).encode()

    return as_list("ServiceList", service_dicts(n)), as_list("EndpointsList", endpoints_dicts(n))


def first_delivery(event: threading.Event) -> Callable[[Any], None]:
    def handler(snap: Any) -> None:
        if len(snap):
            event.set()

    return handler


@pytest.mark.parametrize("impl", IMPLS)
def test_w6_initial_set(benchmark: Any, impl: str, n: int, quick: bool) -> None:
    side = PACKAGE if impl.startswith(PACKAGE) else BASELINE
    from_json = impl.endswith("-json")
    inputs: tuple[Any, Any] = list_bytes(n) if from_json else (service_dicts(n), endpoints_dicts(n))
    live: list[Any] = []

    def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
        while live:
            live.pop().close()
        svc_cfg, ep_cfg = service_config(side), endpoints_config(side)
        live.extend((svc_cfg, ep_cfg))
        got = (threading.Event(), threading.Event())
        for cfg, event in zip((svc_cfg, ep_cfg), got, strict=True):
            cfg.register_handler(first_delivery(event))
        return (svc_cfg.channel("api"), ep_cfg.channel("api"), got), {}

    def initial_set(svc_ch: Any, ep_ch: Any, got: tuple[threading.Event, ...]) -> None:
        for ch, data in zip((svc_ch, ep_ch), inputs, strict=True):
            if not from_json:
                ch.set(data)
            elif side == PACKAGE:
                ch.send_json("SET", data)
            else:
                ch.set(json.loads(data)["items"])
        for event in got:
            event.wait()

    try:
        benchmark.pedantic(
            initial_set, setup=fresh, rounds=3 if quick else 7, warmup_rounds=1, iterations=1
        )
        assert len(live[0].state()) == n and len(live[1].state()) == n
    finally:
        for cfg in live:
            cfg.close()
    record(benchmark, "W6 initial", impl, n, ops=1, addresses=n * ADDRESSES)
