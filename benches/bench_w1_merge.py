"""W1 merge churn: ADD / UPDATE / REMOVE on a full store of N Services, from ready objects.

Each round sends, one update per call, ``groups`` times: an UPDATE of a stored service (to its
other version), a REMOVE of another and an ADD of it back; then ``flush()``. One no-op handler is
registered on every side, so the baseline pays its design: a full-state copy per change
("baseline") or a delta per change ("baseline-delta"). Reported per update (median / ops).
SPEC target: >= 20x the baseline, and the package's cost per update at 100k within 1.5x of 1k.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from benches import generator
from benches._common import (
    BASELINE,
    IMPLS,
    ready_modified,
    ready_services,
    record,
    service_config,
    service_dicts,
)

SIZES = {"quick": [1000, 10000], "full": [1000, 10000, 100000]}


def churn_groups(impl: str, n: int) -> int:
    groups = min(1000, n // 2)
    if impl == BASELINE:  # O(N) per update: fewer updates per round keep rounds ~ 10-100 ms
        groups = max(10, min(groups, 1_000_000 // n))
    return groups


def churn_rounds(impl: str, n: int, cfg: Any) -> tuple[Callable[[], None], int]:
    """Fill ``cfg`` (of ``impl``'s objects) with N services behind a no-op handler; return one
    churn round (UPDATE, REMOVE, ADD back, ``groups`` times, then ``flush()``) and its updates."""
    groups = churn_groups(impl, n)
    base = ready_services(impl, n)
    versions = (base[:groups], ready_modified(impl, n, groups))
    readd = base[groups : 2 * groups]
    readd_keys = [generator.key(d) for d in service_dicts(n)[groups : 2 * groups]]
    ch = cfg.channel("api")
    ch.set(base)
    cfg.register_handler(lambda snap: None)
    assert cfg.flush(120)
    round_no = itertools.count(1)

    def churn() -> None:
        upd = versions[next(round_no) % 2]
        for j in range(groups):
            ch.update([upd[j]])
            ch.remove([readd_keys[j]])
            ch.add([readd[j]])
        cfg.flush()

    return churn, 3 * groups


@pytest.mark.parametrize("impl", IMPLS)
def test_w1_merge_churn(benchmark: Any, impl: str, n: int, rounds: int) -> None:
    with service_config(impl) as cfg:
        churn, ops = churn_rounds(impl, n, cfg)
        benchmark.pedantic(churn, rounds=rounds, warmup_rounds=1, iterations=1)
        assert len(cfg.state()) == n
    record(benchmark, "W1 merge", impl, n, ops=ops)
