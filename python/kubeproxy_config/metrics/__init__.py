"""Prometheus metrics and kube-proxy-style health endpoints (SPEC §10).

``register(*objects)`` adds one ``prometheus_client`` collector for configs, proxy configs and
sources; ``serve(*objects)`` runs ``/metrics``, ``/healthz``, ``/livez`` and ``/readyz``.

Figures are read when scraped: configs report their engine counters (per handler: deliveries,
coalesced deliveries, errors, lag, call durations; proxy configs also network-programming
latency), sources their ``stats()``. A source's per-resource ``stats()`` entries read here are
``events``, ``relists``, ``watch_restarts``, ``audit_drift`` (counters) and
``last_event_age_seconds``, ``last_bookmark_age_seconds`` (seconds, None before the first), and
its ``stall_timeout`` attribute; a figure a source does not report is not exported for it.
"""

from __future__ import annotations

import threading
import weakref

from prometheus_client.registry import REGISTRY, CollectorRegistry

from kubeproxy_config.metrics._collector import Collector
from kubeproxy_config.metrics._health import Health, Verdict
from kubeproxy_config.metrics._server import MetricsServer

__all__ = [
    "Collector",
    "Health",
    "MetricsServer",
    "Verdict",
    "register",
    "serve",
]

# One collector per registry: registering more objects on a registry extends its collector, so
# the metric names never clash.
_collectors: weakref.WeakKeyDictionary[CollectorRegistry, Collector] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def register(*objects: object, registry: CollectorRegistry | None = None) -> Collector:
    """Export metrics for ``objects`` (``ServiceConfig``, ``EndpointsConfig``,
    ``EndpointSliceConfig``, ``ProxyConfig``, ``KubernetesSource`` or any source with ``stats()``)
    on ``registry`` (default: ``prometheus_client``'s global one) and return the collector.

    Calling it again with the same registry adds to the same collector. Objects are held weakly
    (a config or source that is gone drops out of the scrape): keep your own reference.
    Raises ``TypeError`` for an object of another kind and ``ValueError`` when two configs share
    a name (the ``config`` label).
    """
    target = REGISTRY if registry is None else registry
    with _lock:
        collector = _collectors.get(target)
        if collector is None:
            collector = Collector()
            collector.add(*objects)
            target.register(collector)
            _collectors[target] = collector
        else:
            collector.add(*objects)
    return collector


def serve(
    *objects: object,
    address: str = "127.0.0.1",
    port: int = 10249,
    health_timeout: float = 60.0,
    registry: CollectorRegistry | None = None,
) -> MetricsServer:
    """Serve ``/metrics`` (the objects' metrics), ``/healthz`` and ``/livez`` (503 while a
    version has waited for some handler longer than ``health_timeout`` seconds, or a source has
    heard nothing for longer than its stall timeout; kube-proxy's JSON body) and ``/readyz``
    (200 once every given config is synced) on ``address:port`` (``port=0``: a free port).

    A handler with a ``min_interval`` lags by up to that interval by design: choose a
    ``health_timeout`` well above it (kube-proxy uses twice its sync period).

    ``registry``: serve this registry, with the objects registered on it (default: a registry of
    their own). Returns the running server; ``close()`` it or use it as a context manager.
    """
    own = CollectorRegistry() if registry is None else registry
    collector = register(*objects, registry=own)
    health = Health(collector.watched, health_timeout)
    return MetricsServer(address, port, own, health)
