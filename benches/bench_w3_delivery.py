"""W3 delivery: one change reaching a handler on a store of N Services.

Each round sends one UPDATE (a stored service flipping between two versions) and waits for
``flush()``; the handler records its entry time and reads only the change (``snap.changes`` on the
package and the delta baseline; the full baseline has no changes to read, it is handed a copy of
the whole state). The benchmark times send -> flush return; ``extra_info["entry_us"]`` holds the
median send -> handler entry. SPEC target: O(1), N = 100k within 2x of N = 1k.
"""

from __future__ import annotations

import itertools
import statistics
import time
from typing import Any

import pytest
from benches._common import (
    BASELINE,
    IMPLS,
    ready_modified,
    ready_services,
    record,
    service_config,
)

SIZES = {"quick": [1000, 10000], "full": [1000, 10000, 100000]}


@pytest.mark.parametrize("impl", IMPLS)
def test_w3_delivery(benchmark: Any, impl: str, n: int, quick: bool) -> None:
    base = ready_services(impl, n)
    versions = (base[:1], ready_modified(impl, n, 1))
    entries: list[float] = []
    sends: list[float] = []
    seen: list[int] = []

    def handler(snap: Any) -> None:
        entries.append(time.perf_counter())
        if impl != BASELINE:  # the full baseline gets no changes, only the copied state
            seen.append(len(snap.changes.updated))

    with service_config(impl) as cfg:
        ch = cfg.channel("api")
        ch.set(base)
        cfg.register_handler(handler)
        assert cfg.flush(120)
        round_no = itertools.count(1)

        def one_change() -> None:
            obj = versions[next(round_no) % 2]
            sends.append(time.perf_counter())
            ch.update(obj)
            cfg.flush()

        entries.clear()
        benchmark.pedantic(one_change, rounds=20 if quick else 200, warmup_rounds=2, iterations=1)
    # One delivery per change, each seen right after its send.
    assert len(entries) == len(sends)
    latency_us = [(e - s) * 1e6 for s, e in zip(sends, entries, strict=True)]
    record(benchmark, "W3 delivery", impl, n, ops=1, entry_us=statistics.median(latency_us[2:]))
