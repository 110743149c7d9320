"""What metrics and health read from each watched object: configs, proxy configs and sources.

Configs are read through their native counters (atomics; no lock is held while Python formats).
Sources are read through their public ``stats()`` and attributes only, defensively: a figure a
source does not report is not exported for it, and cannot make it unhealthy.
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kubeproxy_config._config import _Followable
from kubeproxy_config._proxy import ProxyConfig

logger = logging.getLogger("kubeproxy_config")

SOURCE_COUNTERS = {
    "events": "source_events",
    "relists": "source_relists",
    "watch_restarts": "source_watch_restarts",
    "audit_drift": "source_audit_drift",
    "oversized": "source_oversized",
}
"""Per-resource ``stats()`` counters of a source, and the metric (``_total``) each feeds."""

SOURCE_AGES = {
    "last_event_age_seconds": "source_last_event_age_seconds",
    "last_bookmark_age_seconds": "source_last_bookmark_age_seconds",
}
"""Per-resource ``stats()`` ages in seconds (absent or None: nothing heard yet), and their gauge."""


@dataclass(frozen=True)
class HandlerFigures:
    """One registration's figures, as the engine reports them."""

    label: str
    deliveries: int
    coalesced: int
    errors: int
    lag: float
    duration_buckets: list[int]
    duration_sum: float


@dataclass(frozen=True)
class ConfigFigures:
    """One config's figures at one instant."""

    name: str
    stats: dict[str, int]
    objects: int
    synced: bool
    handlers: list[HandlerFigures]
    programming: tuple[list[int], float] | None  # proxy configs only


@dataclass(frozen=True)
class ResourceFigures:
    """One resource of one source: its ``stats()`` entry and the source's stall timeout."""

    source: str
    resource: str
    stats: Mapping[str, Any]
    stall_timeout: float | None

    def number(self, key: str) -> float | None:
        """``stats[key]`` if it is a finite number, else None (absent or not reported yet)."""
        value = self.stats.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value) if math.isfinite(value) else None

    def silence(self) -> float | None:
        """Seconds since the source last heard anything (an event or a bookmark), if known."""
        ages = [a for a in (self.number(k) for k in SOURCE_AGES) if a is not None]
        return min(ages) if ages else None


def is_config(obj: object) -> bool:
    return isinstance(obj, _Followable)


def is_source(obj: object) -> bool:
    return not is_config(obj) and callable(getattr(obj, "stats", None))


def check_objects(objects: tuple[object, ...]) -> None:
    """Every object must be a config, a proxy config or a source (something with ``stats()``)."""
    for obj in objects:
        if not (is_config(obj) or is_source(obj)):
            raise TypeError(
                "metrics take configs, proxy configs and sources (objects with stats()), "
                f"got {type(obj).__name__}"
            )


def reference(obj: object) -> Callable[[], Any]:
    """A weak reference when the object allows one, so watching never keeps it alive."""
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


def config_figures(config: _Followable[Any]) -> ConfigFigures:
    core = config._core
    handlers = [HandlerFigures(*row) for row in core.handler_stats()]
    programming = config._core.network_programming() if isinstance(config, ProxyConfig) else None
    return ConfigFigures(
        name=config.name,
        stats=core.stats(),
        objects=len(core.state()),
        synced=core.synced,
        handlers=handlers,
        programming=programming,
    )


def source_name(source: object) -> str:
    """The channel name a source feeds (``"api"``, ``"file"``), else its type's name."""
    channels = getattr(source, "channels", None)
    if isinstance(channels, tuple) and channels:
        name = getattr(channels[0], "name", None)
        if isinstance(name, str):
            return name
    name = getattr(source, "source", None)
    return name if isinstance(name, str) else type(source).__name__


def resource_figures(source: object) -> Iterator[ResourceFigures]:
    """One entry per resource in the source's ``stats()`` (a mapping of mappings). A source
    whose ``stats()`` raises is logged and skipped: one bad source never fails a scrape."""
    try:
        stats = source.stats()  # type: ignore[attr-defined]
    except Exception:
        logger.exception("metrics: %r.stats() raised; its figures are left out", source)
        return
    if not isinstance(stats, Mapping):
        return
    stall = getattr(source, "stall_timeout", None)
    stall_timeout = (
        float(stall)
        if isinstance(stall, (int, float)) and not isinstance(stall, bool) and stall > 0
        else None
    )
    name = source_name(source)
    for resource, counters in sorted(stats.items()):
        if isinstance(resource, str) and isinstance(counters, Mapping):
            yield ResourceFigures(name, resource, counters, stall_timeout)
