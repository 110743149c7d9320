"""Fault injection state (failed requests, delays, stalled watches, oversized answers) and the
request log."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

VERBS = (
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "discovery",
    "other",
)
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True)
class RequestRecord:
    """One request the server received: ``verb`` is the Kubernetes verb (``list``, ``watch``,
    ``create``, …), or ``discovery`` / ``other``; ``code`` is the response status;
    ``query`` the raw query string (e.g. ``watch=1&resourceVersion=42``)."""

    method: str
    path: str
    query: str
    verb: str
    resource: str | None
    code: int


class Faults:
    """Injected faults, consulted by the request handlers."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._wake = wake  # wakes watch loops waiting on the store
        self._fail_left = 0
        self._fail_code = 500
        self._fail_verbs: frozenset[str] | None = None
        self._delay = 0.0
        self._stall_until = 0.0
        self._oversize_left = 0
        self._oversize: tuple[int, bool] = (0, False)
        self._oversized_written = 0

    def fail_next(self, n: int, code: int, verbs: Iterable[str] | None) -> None:
        """Answer the next ``n`` requests (of ``verbs``, if given) with ``code``."""
        with self._lock:
            self._fail_left, self._fail_code = n, code
            self._fail_verbs = None if verbs is None else frozenset(verbs)

    def take_failure(self, verb: str) -> int | None:
        """The status code to fail this request with, consuming one failure, or None."""
        with self._lock:
            if self._fail_left <= 0:
                return None
            if self._fail_verbs is not None and verb not in self._fail_verbs:
                return None
            self._fail_left -= 1
            return self._fail_code

    def oversize_next_lists(self, n: int, size: int, announce: bool) -> None:
        """Pad the next ``n`` list answers to ``size`` bytes (with a Content-Length when
        ``announce``, else chunked)."""
        with self._lock:
            self._oversize_left, self._oversize = n, (size, announce)

    def take_oversized_list(self) -> tuple[int, bool] | None:
        """``(size, announce)`` for this list answer, consuming one, or None."""
        with self._lock:
            if self._oversize_left <= 0:
                return None
            self._oversize_left -= 1
            return self._oversize

    def wrote_oversized(self, n: int) -> None:
        """Count ``n`` bytes of an oversized line or page as written to a client."""
        with self._lock:
            self._oversized_written += n

    @property
    def oversized_written(self) -> int:
        """Bytes of oversized lines and pages written so far."""
        with self._lock:
            return self._oversized_written

    @property
    def delay(self) -> float:
        """Seconds every response is delayed by."""
        with self._lock:
            return self._delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        with self._lock:
            self._delay = max(0.0, seconds)

    def stall(self, seconds: float | None) -> None:
        """Stall open watches for ``seconds`` (None: until ``resume``)."""
        with self._lock:
            self._stall_until = math.inf if seconds is None else time.monotonic() + seconds
        self._wake()

    def resume(self) -> None:
        """End a stall."""
        with self._lock:
            self._stall_until = 0.0
        self._wake()

    def stall_remaining(self) -> float:
        """Seconds the current stall still lasts (0 when not stalled; inf until resumed)."""
        with self._lock:
            return max(0.0, self._stall_until - time.monotonic())


class RequestLog:
    """Counts requests per verb and keeps a record of each."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self._records: list[RequestRecord] = []
        self._counts: Counter[str] = Counter()

    def add(self, record: RequestRecord) -> None:
        """Record one request."""
        with self.cond:
            self._records.append(record)
            self._counts[record.verb] += 1
            self.cond.notify_all()

    def records(self) -> list[RequestRecord]:
        """Every request so far, oldest first."""
        with self.cond:
            return list(self._records)

    def counts(self) -> dict[str, int]:
        """Requests per verb, plus ``writes`` (all write verbs) and ``total``."""
        with self.cond:
            out = {verb: self._counts[verb] for verb in VERBS}
            out["writes"] = sum(self._counts[v] for v in WRITE_VERBS)
            out["total"] = len(self._records)
            return out

    def reset(self) -> None:
        """Forget every request."""
        with self.cond:
            self._records.clear()
            self._counts.clear()

    def wait(self, verb: str, count: int, timeout: float) -> bool:
        """Block until at least ``count`` requests of ``verb`` were seen; False on timeout."""
        with self.cond:
            return self.cond.wait_for(lambda: self._counts[verb] >= count, timeout)
