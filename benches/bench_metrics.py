"""Metrics overhead (SPEC §10, issue: metrics must not tax the hot path) and scrape cost.

- "W1 metrics" / "W2 metrics": the W1 churn and W2 ingest rounds of ``bench_w1_merge.py`` /
  ``bench_w2_ingest.py`` on the package, without metrics ("package") and with a collector
  registered and scraped every ``SCRAPE_EVERY`` seconds by another thread ("package+metrics":
  about 150 times Prometheus' default 15 s interval, so any cost shows). Target: within 5%.
- "Scrape": ``generate_latest`` of a registry holding one config with N Services and
  ``HANDLERS`` no-op handlers (the collector reads counters; nothing is O(N)). Target < 10 ms.

On a busy machine two separate benchmarks drift apart by more than 5%, so the script form
interleaves them: ``python benches/bench_metrics.py [N ...]`` runs W1 churn rounds in alternating
blocks without and with metrics and prints the median wall and CPU time (all threads) per update.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script

from benches import generator
from benches._common import PACKAGE, ready_modified, ready_services, record, service_dicts
from benches.bench_w1_merge import churn_groups, churn_rounds
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
    with ServiceConfig() as cfg, scraped(cfg, impl):
        churn, ops = churn_rounds(PACKAGE, n, cfg)
        benchmark.pedantic(churn, rounds=rounds, warmup_rounds=1, iterations=1)
    record(benchmark, "W1 metrics", impl, n, ops=ops)


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


Rows = dict[str, list[tuple[float, float]]]


def interleaved(n: int, blocks: int = 8, per_block: int = 5) -> Rows:
    """W1 churn rounds, alternating blocks of each impl: (wall, CPU) seconds per update."""
    groups = churn_groups(PACKAGE, n)
    base = ready_services(PACKAGE, n)
    versions = (base[:groups], ready_modified(PACKAGE, n, groups))
    readd = base[groups : 2 * groups]
    keys = [generator.key(d) for d in service_dicts(n)[groups : 2 * groups]]
    out: Rows = {impl: [] for impl in IMPLS}
    for block in range(blocks):
        for impl in IMPLS if block % 2 == 0 else IMPLS[::-1]:
            with ServiceConfig() as cfg, scraped(cfg, impl):
                ch = cfg.channel("api")
                ch.set(base)
                cfg.register_handler(lambda snap: None)
                assert cfg.flush(120)
                for r in range(per_block):
                    upd = versions[r % 2]
                    wall, cpu = time.perf_counter(), time.process_time()
                    for j in range(groups):
                        ch.update([upd[j]])
                        ch.remove([keys[j]])
                        ch.add([readd[j]])
                    cfg.flush()
                    ops = 3 * groups
                    out[impl].append(
                        ((time.perf_counter() - wall) / ops, (time.process_time() - cpu) / ops)
                    )
    return out


if __name__ == "__main__":
    for n in [int(a) for a in sys.argv[1:]] or SIZES["full"]:
        rows = interleaved(n)
        medians = {
            impl: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
            for impl, r in rows.items()
        }
        (w0, c0), (w1, c1) = medians[PACKAGE], medians["package+metrics"]
        print(
            f"W1 N={n:,}: package {w0 * 1e6:.2f} µs wall / {c0 * 1e6:.2f} µs CPU per update; "
            f"with metrics {w1 * 1e6:.2f} µs / {c1 * 1e6:.2f} µs "
            f"({w1 / w0 - 1:+.1%} wall, {c1 / c0 - 1:+.1%} CPU; {len(rows[PACKAGE])} rounds each)"
        )
