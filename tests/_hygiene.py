"""Measuring resource hygiene (the ``test_hygiene*.py`` tests and ``benches/hygiene.py``).

Threads are counted from ``/proc/self/task`` (``threading.active_count()`` does not see the
configs' Rust threads), descriptors from ``/proc/self/fd`` and sockets among them, memory as the
resident set (``/proc/self/statm``). A run warms up first (lazy imports, connection pools,
caches, allocator arenas), then runs its cycles and checks the counts came back to the
warmed-up level, within a small tolerance. Counts settle by polling against a deadline: a thread
that has been joined may take a moment to leave ``/proc``.

Memory is noisy (allocators keep freed pages, a scrape or a GC pass comes at any time), so the
RSS check is a leak detector, not a measurement: freed memory is handed back first (a full
collection, ``malloc_trim``), and growth up to ``RSS_TOLERANCE_MIB`` plus ``RSS_TOLERANCE_SHARE``
of the warmed-up RSS is accepted. A leak of a few kilobytes per cycle stays below it over a
short run; the full counts (``benches/hygiene.py``) multiply any per-cycle leak well past it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

WAIT = 10.0  # seconds any single wait may take: reaching it means a hang

# Threads and fds are counted through /proc.
LINUX_ONLY = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="counts threads and fds through /proc"
)
SETTLE = 10.0  # seconds counts may take to come back after the last cycle
TOLERANCE = 2  # threads or fds above the warmed-up level still accepted
RSS_TOLERANCE_MIB = 12.0
RSS_TOLERANCE_SHARE = 0.05
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 2**20

_libc_name = ctypes.util.find_library("c")
_libc = ctypes.CDLL(_libc_name) if _libc_name else None


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def sockets() -> int:
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                count += 1
        except OSError:  # closed meanwhile (the listing's own fd, a thread's)
            pass
    return count


def rss_bytes() -> int:
    """The resident set, after a full collection and handing freed heap pages back."""
    gc.collect()
    if _libc is not None and hasattr(_libc, "malloc_trim"):
        _libc.malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def counts() -> dict[str, int]:
    return {"threads": os_threads(), "fds": fds(), "sockets": sockets()}


def assert_no_growth(baseline: dict[str, int], what: str) -> dict[str, int]:
    """Poll until every count is within TOLERANCE of ``baseline``; fail with the figures.
    Returns the counts reached."""
    deadline = time.monotonic() + SETTLE
    while True:
        gc.collect()
        now = counts()
        if all(now[k] <= baseline[k] + TOLERANCE for k in baseline):
            return now
        if time.monotonic() >= deadline:
            pytest.fail(f"{what}: resources grew from {baseline} to {now}")
        time.sleep(0.02)


@dataclass
class Figures:
    """Counts before (warmed up) and after a run of cycles; RSS in MiB."""

    what: str
    cycles: int
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    rss_before_mib: float = 0.0
    rss_after_mib: float = 0.0
    seconds: float = 0.0

    def line(self) -> str:
        def fmt(c: dict[str, int]) -> str:
            return f"threads {c['threads']}, fds {c['fds']}, sockets {c['sockets']}"

        return (
            f"{self.what}: {self.cycles} cycles in {self.seconds:.1f} s; before: "
            f"{fmt(self.before)}, RSS {self.rss_before_mib:.1f} MiB; after: {fmt(self.after)}, "
            f"RSS {self.rss_after_mib:.1f} MiB ({self.rss_after_mib - self.rss_before_mib:+.1f})"
        )


def rss_allowance(baseline: int) -> int:
    return int(RSS_TOLERANCE_MIB * MIB + RSS_TOLERANCE_SHARE * baseline)


def cycles(
    n: int, warmup: int, cycle: Callable[[int], None], what: str, *, rss: bool = True
) -> Figures:
    """Run ``warmup`` cycles, measure, run ``n`` more and check nothing grew (threads, fds,
    sockets; RSS too unless ``rss=False``). Returns the figures."""
    for i in range(warmup):
        cycle(i)
    assert_no_growth(counts(), f"{what} (warm-up)")  # let warm-up threads finish
    gc.collect()
    figures = Figures(what, n, before=counts())
    rss_before = rss_bytes()
    started = time.monotonic()
    for i in range(n):
        cycle(warmup + i)
    figures.seconds = time.monotonic() - started
    figures.after = assert_no_growth(figures.before, f"{what} after {n} cycles")
    rss_after = rss_bytes()
    figures.rss_before_mib, figures.rss_after_mib = rss_before / MIB, rss_after / MIB
    if rss and rss_after > rss_before + rss_allowance(rss_before):
        pytest.fail(
            f"{what} after {n} cycles: RSS grew from {figures.rss_before_mib:.1f} MiB to "
            f"{figures.rss_after_mib:.1f} MiB (allowed {rss_allowance(rss_before) / MIB:.1f})"
        )
    return figures
