"""Metrics overhead (SPEC §10, issue: metrics must not tax the hot path) and scrape cost.

- "W1 metrics" / "W2 metrics": the W1 churn and W2 ingest rounds of ``bench_w1_merge.py`` /
  ``bench_w2_ingest.py`` on the package, without metrics ("package") and with a collector
  registered and scraped every ``SCRAPE_EVERY`` seconds by another thread ("package+metrics":
  about 150 times Prometheus' default 15 s interval, so any cost shows). Target: within 5%.
- "Scrape": ``generate_latest`` of a registry holding one config with N Services and
  ``HANDLERS`` no-op handlers (the collector reads counters; nothing is O(N)). Target < 10 ms.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from benches import generator
from benches._common import PACKAGE, ready_modified, ready_services, record, service_dicts
from benches.bench_w1_merge import churn_groups
from benches.bench_w2_ingest import CHUNK
from prometheus_client import CollectorRegistry, generate_latest

from kubeproxy_config import ServiceConfig, metrics

SIZES = {"quick": [1000], "full": [10000, 100000]}
SCRAPE_EVERY = 0.1
HANDLERS = 20
IMPLS = (PACKAGE, "package+metrics")


@contextlib.contextmanager
def scraped(config: ServiceConfig, impl: str) -> Iterator[None]:
    """With ``impl == "package+metrics"``: the config registered and scraped periodically."""
    if impl == PACKAGE:
        yield
        return
    registry = CollectorRegistry()
    metrics.register(config, registry=registry)
    stop = threading.Event()

    def scrape() -> None:
        while not stop.wait(SCRAPE_EVERY):
            generate_latest(registry)

    thread = threading.Thread(target=scrape, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize("impl", IMPLS)
def test_w1_metrics(benchmark: Any, impl: str, n: int, rounds: int) -> None:
    groups = churn_groups(PACKAGE, n)
    base = ready_services(PACKAGE, n)
    versions = (base[:groups], ready_modified(PACKAGE, n, groups))
    readd = base[groups : 2 * groups]
    readd_keys = [generator.key(d) for d in service_dicts(n)[groups : 2 * groups]]
    with ServiceConfig() as cfg, scraped(cfg, impl):
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

        benchmark.pedantic(churn, rounds=rounds, warmup_rounds=1, iterations=1)
    record(benchmark, "W1 metrics", impl, n, ops=3 * groups)


@pytest.mark.parametrize("impl", IMPLS)
def test_w2_metrics(benchmark: Any, impl: str, n: int, rounds: int) -> None:
    if n > 10000:
        pytest.skip("W2 runs at N <= 10k")
    chunks = generator.watch_lines(generator.watch_events(service_dicts(n)), CHUNK)
    opened: list[contextlib.ExitStack] = []

    def fresh() -> tuple[tuple[Any, Any], dict[str, Any]]:
        while opened:
            opened.pop().close()
        stack = contextlib.ExitStack()
        cfg = stack.enter_context(ServiceConfig())
        stack.enter_context(scraped(cfg, impl))
        opened.append(stack)
        return (cfg, cfg.channel("api")), {}

    def ingest(cfg: Any, ch: Any) -> None:
        for chunk in chunks:
            ch.apply_watch_events(chunk)
        cfg.flush()

    try:
        benchmark.pedantic(ingest, setup=fresh, rounds=rounds * 3, warmup_rounds=1)
    finally:
        while opened:
            opened.pop().close()
    record(benchmark, "W2 metrics", impl, n, ops=n)


def test_scrape(benchmark: Any, n: int, rounds: int) -> None:
    registry = CollectorRegistry()
    with ServiceConfig() as cfg:
        cfg.channel("api").set(ready_services(PACKAGE, n))
        for _ in range(HANDLERS):
            cfg.register_handler(lambda snap: None)
        assert cfg.flush(120)
        metrics.register(cfg, registry=registry)
        text = benchmark.pedantic(
            generate_latest, args=(registry,), rounds=rounds * 10, warmup_rounds=1
        )
        assert f'kubeproxy_config_objects{{config="services"}} {float(n)}'.encode() in text
    record(benchmark, "Scrape", PACKAGE, n, ops=1, handlers=HANDLERS)
