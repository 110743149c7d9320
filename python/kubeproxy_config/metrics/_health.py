"""Health and readiness as kube-proxy reports them (rule book §4.5), from the same figures as the
metrics.

Unhealthy while a version has waited for some handler longer than ``health_timeout`` (kube-proxy:
an update queued and not yet synced for longer than ``healthTimeout``), or while a source has heard
nothing, neither an event nor a bookmark, for longer than its stall timeout. Ready once every
config is synced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from kubeproxy_config.metrics._collector import Watched
from kubeproxy_config.metrics._targets import config_figures, resource_figures


def _rfc3339(epoch: float) -> str:
    """Go's ``time.Time`` JSON form, in UTC."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Verdict:
    """One probe's answer: the HTTP status and the JSON body."""

    code: int
    body: dict[str, Any] = field(default_factory=dict)


class Health:
    """Judges the watched objects on each probe (nothing runs between probes)."""

    def __init__(self, watched: Watched, health_timeout: float) -> None:
        if not health_timeout > 0:
            raise ValueError(
                f"health_timeout must be a number of seconds > 0, got {health_timeout}"
            )
        self.watched = watched
        self.health_timeout = float(health_timeout)

    def live(self) -> Verdict:
        """``/healthz`` and ``/livez``: 200 when healthy, else 503, with kube-proxy's fields."""
        now = time.time()
        reasons: list[str] = []
        status: dict[str, dict[str, Any]] = {}
        oldest_wait = 0.0
        for config in self.watched.configs():
            figures = config_figures(config)
            lag = max((h.lag for h in figures.handlers), default=0.0)
            healthy = lag <= self.health_timeout
            if not healthy:
                slow = max(figures.handlers, key=lambda h: h.lag)
                reasons.append(
                    f"config {figures.name!r}: handler {slow.label} has not received a version "
                    f"for {lag:.1f} s (health timeout {self.health_timeout:g} s)"
                )
            oldest_wait = max(oldest_wait, lag)
            # Every handler held all state when the oldest waiting version arrived.
            status[figures.name] = {"lastUpdated": _rfc3339(now - lag), "healthy": healthy}
        for source in self.watched.sources():
            for r in resource_figures(source):
                silence, stall = r.silence(), r.stall_timeout
                if stall is not None and silence is not None and silence > stall:
                    reasons.append(
                        f"source {r.source!r} {r.resource}: nothing heard for {silence:.1f} s "
                        f"(stall timeout {stall:g} s)"
                    )
        healthy = not reasons
        body: dict[str, Any] = {
            # kube-proxy reports "now" as lastUpdated when healthy; we do the same.
            "lastUpdated": _rfc3339(now if healthy else now - oldest_wait),
            "currentTime": _rfc3339(now),
            "healthy": healthy,
            "status": status,
        }
        if reasons:
            body["reasons"] = reasons
        return Verdict(200 if healthy else 503, body)

    def ready(self) -> Verdict:
        """``/readyz``: 200 once every watched config is synced, else 503."""
        synced = {c.name: c.synced for c in self.watched.configs()}
        ready = all(synced.values())
        return Verdict(200 if ready else 503, {"ready": ready, "synced": synced})
