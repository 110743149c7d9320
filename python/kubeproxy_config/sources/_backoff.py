"""Capped exponential backoff with jitter, for the API source's retries."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays that double from ``initial`` up to ``maximum``, each scaled by a random factor in
    [0.5, 1.0] ("equal jitter") so that many clients retrying together spread out.

    ``reset()`` after a success starts the sequence again. ``uniform`` is injectable for tests.
    """

    __slots__ = ("_attempt", "_uniform", "initial", "maximum")

    def __init__(
        self,
        initial: float,
        maximum: float,
        *,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if initial < 0 or maximum < 0:
            raise ValueError("backoff delays must not be negative")
        self.initial = initial
        self.maximum = max(initial, maximum)
        self._attempt = 0
        self._uniform = uniform

    @property
    def attempt(self) -> int:
        """How many delays were handed out since the last reset."""
        return self._attempt

    def next_delay(self) -> float:
        """The delay before the next retry (and advance the sequence)."""
        # Cap the exponent: 2**64 * initial overflows nothing but is pointless to compute.
        base = min(self.maximum, self.initial * 2.0 ** min(self._attempt, 64))
        self._attempt += 1
        return base * self._uniform(0.5, 1.0)

    def reset(self) -> None:
        """Start again from ``initial`` (after a success)."""
        self._attempt = 0
