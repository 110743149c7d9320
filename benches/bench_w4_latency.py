"""W4 latency: send -> handler entry, p50 and p99, idle and under churn (a plain script).

A store of N Services on source "api" (sources "file" and "extra" exist too). A probe service
flips between two versions; each probe is sent, then the sender waits until the handler has seen
it (the handler checks the probe's resourceVersion in what it is handed) and sleeps 1-3 ms before
the next. Latency = handler entry - send, both ``time.perf_counter()`` in this process.
"Churn": a background thread sends ~1000 single-object updates per second round-robin over the
three sources (each a real change) while probing. Same for the package and both baselines.

    python benches/bench_w4_latency.py [--quick] [--json OUT]
"""

from __future__ import annotations

import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benches import generator
from benches._common import (
    BASELINE,
    IMPLS,
    PACKAGE,
    ready_modified,
    ready_services,
    script_args,
    service_config,
    write_results,
)

from kubeproxy_config import Service

SOURCES = ("api", "file", "extra")
CHURN_RATE = 1000.0  # updates per second
CHURN_KEYS = 200  # per source


def _probe_version(impl: str, snap: Any, key: str) -> str | None:
    if impl == PACKAGE:
        obj = snap.get(key)
        return None if obj is None else obj.resource_version
    if impl == BASELINE:
        d = snap.get(key)
        return None if d is None else d["metadata"]["resourceVersion"]
    for _old, new in snap.changes.updated:  # delta: only the changes are handed over
        if generator.key(new) == key:
            return new["metadata"]["resourceVersion"]  # type: ignore[no-any-return]
    return None


def _churn_objects(impl: str, n: int) -> list[list[tuple[Any, Any]]]:
    """Per source, CHURN_KEYS (version 0, version 1) pairs of services not in the N."""
    out = []
    for s in range(len(SOURCES)):
        dicts = generator.services(CHURN_KEYS, seed=5, start=n + s * CHURN_KEYS)
        pairs: list[tuple[Any, Any]] = [(d, generator.modified(d, 1)) for d in dicts]
        if impl == PACKAGE:
            pairs = [(Service.from_dict(a), Service.from_dict(b)) for a, b in pairs]
        out.append(pairs)
    return out


def measure(impl: str, n: int, churn: bool, samples: int) -> dict[str, Any]:
    base = ready_services(impl, n)
    probe_versions = (base[0], ready_modified(impl, n, 1)[0])
    probe_key = generator.key(generator.services(1)[0])
    churn_objs = _churn_objects(impl, n)
    seen = threading.Event()
    expect: list[str | None] = [None]
    entered: list[float] = [0.0]

    def handler(snap: Any) -> None:
        t = time.perf_counter()
        if expect[0] is not None and _probe_version(impl, snap, probe_key) == expect[0]:
            expect[0] = None
            entered[0] = t
            seen.set()

    stop = threading.Event()
    churn_span = [0, 0.0]  # updates sent, seconds

    def churner(channels: list[Any]) -> None:
        t0 = time.perf_counter()
        i = 0
        while not stop.is_set():
            s = i % 3
            j, lap = divmod(i // 3, CHURN_KEYS)
            channels[s].update([churn_objs[s][j][lap % 2]])
            i += 1
            delay = t0 + i / CHURN_RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        churn_span[:] = [i, time.perf_counter() - t0]

    rng = random.Random(4)
    latencies: list[float] = []
    with service_config(impl) as cfg:
        channels = [cfg.channel(s) for s in SOURCES]
        channels[0].set(base)
        cfg.register_handler(handler)
        assert cfg.flush(120)
        thread = threading.Thread(target=churner, args=(channels,), daemon=True)
        if churn:
            thread.start()
            time.sleep(0.2)
        for i in range(samples + 5):
            obj = probe_versions[(i + 1) % 2]
            expect[0] = (
                obj.resource_version if impl == PACKAGE else obj["metadata"]["resourceVersion"]
            )
            seen.clear()
            t_send = time.perf_counter()
            channels[0].update([obj])
            if not seen.wait(30):
                raise RuntimeError(f"{impl}: probe {i} not delivered in 30 s")
            if i >= 5:  # the first few warm up
                latencies.append((entered[0] - t_send) * 1e6)
            time.sleep(rng.uniform(0.001, 0.003))
        stop.set()
        if churn:
            thread.join()
            cfg.flush(120)
    qs = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "workload": "W4 latency",
        "impl": impl,
        "n": n,
        "mode": "churn" if churn else "idle",
        "samples": len(latencies),
        "p50_us": statistics.median(latencies),
        "p99_us": qs[98],
        "churn_rate": churn_span[0] / churn_span[1] if churn else 0.0,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = script_args(__doc__, argv)
    n, samples = (1000, 100) if args.quick else (10000, 1000)
    results = []
    for impl in IMPLS:
        for churn in (False, True):
            r = measure(impl, n, churn, samples)
            print(
                f"W4 {impl:15} N={n} {r['mode']:5}  p50 {r['p50_us']:9.1f} us  "
                f"p99 {r['p99_us']:9.1f} us  (churn {r['churn_rate']:.0f}/s)",
                file=sys.stderr,
            )
            results.append(r)
    return write_results(args.json, results)


if __name__ == "__main__":
    main()
