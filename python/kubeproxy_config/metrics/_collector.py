"""The ``prometheus_client`` collector: every figure is read when scraped, never pushed.

The hot path pays nothing for metrics beyond the engine's atomic counters: a scrape reads those
counters (the engine copies them out holding no lock while Python formats them) and the sources'
``stats()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector as _PrometheusCollector

from kubeproxy_config import _core
from kubeproxy_config._config import _Followable
from kubeproxy_config.metrics._targets import (
    SOURCE_AGES,
    SOURCE_COUNTERS,
    ConfigFigures,
    ResourceFigures,
    check_objects,
    config_figures,
    is_config,
    reference,
    resource_figures,
)

PREFIX = "kubeproxy_config_"

# Bucket bounds as exposition text, formatted once (`repr` is the shortest exact form).
_DURATION_BOUNDS = [repr(b) for b in _core.HANDLER_DURATION_BUCKETS] + ["+Inf"]
_PROGRAMMING_BOUNDS = [repr(b) for b in _core.NETWORK_PROGRAMMING_BUCKETS] + ["+Inf"]

# Config counters from ``stats()``: key -> (metric, help).
_CONFIG_COUNTERS = {
    "updates": ("updates", "Operations (SET, ADD, UPDATE, REMOVE) merged."),
    "versions": ("versions", "Versions published (merges that changed the state)."),
    "conflicts": ("conflicts", "Objects stored by a source while another source held the key."),
    "objects_merged": ("objects_merged", "Objects or keys carried by merged operations."),
}

# Handler counters from ``HandlerFigures``: attribute -> (metric, help).
_HANDLER_COUNTERS = {
    "deliveries": ("deliveries", "Handler calls with new state."),
    "coalesced": ("coalesced_deliveries", "Handler calls that covered more than one version."),
    "errors": ("handler_errors", "Handler calls that raised."),
}


class Watched:
    """The configs and sources one collector (or health server) reads, held weakly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refs: list[Callable[[], Any]] = []

    def add(self, objects: tuple[object, ...]) -> None:
        check_objects(objects)
        with self._lock:
            live = self._live()
            present = {id(obj) for obj in live}
            new = []
            for obj in objects:
                if id(obj) not in present:
                    present.add(id(obj))
                    new.append(obj)
            names = [c.name for c in (*live, *new) if isinstance(c, _Followable)]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                # The config name is the `config` label: two would export clashing series.
                raise ValueError(
                    f"configs named {', '.join(map(repr, twice))} are given more than once: "
                    "give each config a distinct name= to tell their metrics apart"
                )
            self._refs.extend(reference(o) for o in new)

    def _live(self) -> list[object]:
        return [obj for obj in (ref() for ref in self._refs) if obj is not None]

    def objects(self) -> list[object]:
        """The objects still alive, in the order given."""
        with self._lock:
            return self._live()

    def configs(self) -> list[_Followable[Any]]:
        return [o for o in self.objects() if isinstance(o, _Followable)]

    def sources(self) -> list[object]:
        return [o for o in self.objects() if not is_config(o)]


class Collector(_PrometheusCollector):
    """The package's metrics (SPEC §10) for a set of configs, proxy configs and sources.

    Made by :func:`kubeproxy_config.metrics.register`; ``add(*objects)`` watches more.
    """

    def __init__(self) -> None:
        self.watched = Watched()

    def add(self, *objects: object) -> None:
        """Watch more configs, proxy configs or sources (each at most once)."""
        self.watched.add(objects)

    def describe(self) -> Iterable[Metric]:
        # Nothing: names depend on what is watched, and several ``register`` calls on one
        # registry share this collector instead of clashing.
        return []

    def collect(self) -> Iterator[Metric]:
        configs = [config_figures(c) for c in self.watched.configs()]
        yield from _config_metrics(configs)
        resources = [r for s in self.watched.sources() for r in resource_figures(s)]
        yield from _source_metrics(resources)


def _config_metrics(configs: list[ConfigFigures]) -> Iterator[Metric]:
    labels = ["config"]
    for key, (name, text) in _CONFIG_COUNTERS.items():
        family = CounterMetricFamily(PREFIX + name, text, labels=labels)
        for c in configs:
            family.add_metric([c.name], c.stats.get(key, 0))
        yield family
    objects = GaugeMetricFamily(PREFIX + "objects", "Objects in the merged state.", labels=labels)
    synced = GaugeMetricFamily(
        PREFIX + "synced", "1 once every source of the config has sent its state.", labels=labels
    )
    handlers = GaugeMetricFamily(PREFIX + "handlers", "Registered handlers.", labels=labels)
    for c in configs:
        objects.add_metric([c.name], c.objects)
        synced.add_metric([c.name], 1 if c.synced else 0)
        handlers.add_metric([c.name], len(c.handlers))
    yield from (objects, synced, handlers)
    yield from _handler_metrics(configs)
    programming = HistogramMetricFamily(
        PREFIX + "network_programming_duration_seconds",
        "Seconds from an endpoint change (its last-change-trigger-time) to the return of the "
        "on_proxy_update call that carried it.",
        labels=labels,
    )
    for c in configs:
        if c.programming is not None:
            counts, total = c.programming
            programming.add_metric(
                [c.name], list(zip(_PROGRAMMING_BOUNDS, map(float, counts), strict=True)), total
            )
    yield programming


def _handler_metrics(configs: list[ConfigFigures]) -> Iterator[Metric]:
    labels = ["config", "handler"]
    counters = {
        attr: CounterMetricFamily(PREFIX + name, text, labels=labels)
        for attr, (name, text) in _HANDLER_COUNTERS.items()
    }
    lag = GaugeMetricFamily(
        PREFIX + "handler_lag_seconds",
        "Age of the oldest version not yet delivered to the handler (0 when caught up).",
        labels=labels,
    )
    name = PREFIX + "handler_duration_seconds"
    # Samples written directly: a scrape writes every bucket of every handler, and the generic
    # family builder costs several times more per bucket.
    duration = Metric(name, "Duration of handler update calls.", "histogram")
    for c in configs:
        for h in c.handlers:
            key = [c.name, h.label]
            for attr, family in counters.items():
                family.add_metric(key, getattr(h, attr))
            lag.add_metric(key, h.lag)
            for bound, count in zip(_DURATION_BOUNDS, h.duration_buckets, strict=True):
                duration.add_sample(
                    name + "_bucket", {"config": c.name, "handler": h.label, "le": bound}, count
                )
            both = {"config": c.name, "handler": h.label}
            duration.add_sample(name + "_count", both, h.duration_buckets[-1])
            duration.add_sample(name + "_sum", both, h.duration_sum)
    yield from (*counters.values(), lag, duration)


def _source_metrics(resources: list[ResourceFigures]) -> Iterator[Metric]:
    labels = ["source", "resource"]
    for key, name in SOURCE_COUNTERS.items():
        family = CounterMetricFamily(
            PREFIX + name, f"The source's {key!r} counter, per resource.", labels=labels
        )
        for r in resources:
            value = r.number(key)
            if value is not None:
                family.add_metric([r.source, r.resource], value)
        yield family
    for key, name in SOURCE_AGES.items():
        gauge = GaugeMetricFamily(
            PREFIX + name,
            f"Seconds since the source last received a {key.split('_')[1]}, per resource.",
            labels=labels,
        )
        for r in resources:
            value = r.number(key)
            if value is not None:
                gauge.add_metric([r.source, r.resource], value)
        yield gauge
