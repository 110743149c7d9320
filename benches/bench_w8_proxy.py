"""W8 proxy view (SPEC §7, §9): ``ProxyConfig`` against ``PurePythonProxyView``
(``benches/proxy_baseline.py``, the same rules in plain Python, incremental per service).

The cluster (``generator.proxy_cluster``): N Services (1-3 ports, ClusterIP / NodePort /
LoadBalancer, every tenth with ``internalTrafficPolicy: Local``) and one EndpointSlice of 10
endpoints per service (SPEC's slices hold up to 100 endpoints, so one slice each here), spread over
20 nodes in 3 zones, ~10% not ready (half of them serving and terminating), two thirds of the
services with zone hints and one third of those also with node hints. Both sides see it from node
``node-000`` in ``zone-a``, so ports get every topology mode and some local endpoints.

(a) ``test_w8_initial``: the initial view, to the first handler call that holds it.
    - ``package`` (view only): the input configs already hold the cluster (outside the timing);
      timed: ``ProxyConfig(...)`` over them + ``register_handler`` + ``flush()`` (creating a view
      over synced configs hands it their full state; flush returns once the handler has had it).
    - ``package-objects`` / ``package-dicts`` (end to end): fresh configs and view with its handler
      (outside the timing); timed: ``channel.set(services)`` + ``channel.set(slices)`` + the
      view's ``flush()``, from pre-built ``Service`` / ``EndpointSlice`` objects, or from dicts
      (which includes converting and validating every field, and both inputs' merges).
    - ``baseline``: a fresh ``PurePythonProxyView``; timed: ``set_services(dicts)`` +
      ``set_slices(dicts)`` + ``ports()`` (its IP-parse cache is cleared before every round).
(b) ``test_w8_flip``: one endpoint of one service's slice flips ready <-> not ready. Package:
    ``channel.update(slice object)`` + the view's ``flush()`` (the handler reads
    ``snap.changes.updated``; ``extra_info["entry_us"]`` is the median send -> handler entry);
    baseline: ``upsert_slice(dict)`` + ``ports()``.
(c) memory, a plain script (``python benches/bench_w8_proxy.py [--quick] [--json OUT]``), one
    fresh subprocess per reading as W5 does: the inputs are filled first (package: configs fed
    in chunks of 500 dicts; baseline: the dicts it references), then the reading is the RSS
    (``/proc/self/statm``) delta of creating the view and delivering it to a no-op handler
    (package: ``ProxyConfig`` + ``flush()``; baseline: ``set_services`` + ``set_slices`` +
    ``ports()``), divided by the cluster's endpoints. ``malloc_trim(0)`` runs before both readings
    so freed heap is neither counted nor silently reused. A tracemalloc child gives the package's
    Python-heap share.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest
from benches import generator
from benches._common import BASELINE, PACKAGE, record, script_args, write_results
from benches.proxy_baseline import PurePythonProxyView, normalize_ip

from kubeproxy_config import (
    EndpointSlice,
    EndpointSliceConfig,
    ProxyConfig,
    Service,
    ServiceConfig,
)

SIZES = {"quick": [100, 1000], "full": [1000, 10000]}
MEMORY_SIZES = {"quick": 1000, "full": 10000}
ENDPOINTS = 10
NODE, ZONE = "node-000", "zone-a"
VIEW: dict[str, Any] = {"node_name": NODE, "zone": ZONE}
INITIAL_IMPLS = (PACKAGE, "package-objects", "package-dicts", BASELINE)
CHUNK = 500


@cache
def cluster(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return generator.proxy_cluster(n, endpoints=ENDPOINTS)


@cache
def cluster_objects(n: int) -> tuple[list[Service], list[EndpointSlice]]:
    services, slices = cluster(n)
    return [Service.from_dict(s) for s in services], [EndpointSlice.from_dict(s) for s in slices]


@cache
def expected(n: int) -> tuple[int, int]:
    """(ports, endpoints over all ports) of the cluster's view, from the baseline."""
    view = PurePythonProxyView(**VIEW)
    services, slices = cluster(n)
    view.set_services(services)
    view.set_slices(slices)
    ports = view.ports()
    return len(ports), sum(len(p["endpoints"]) for p in ports.values())


def flip_index(n: int) -> int:
    """A service in the middle of the cluster whose endpoints have zone hints."""
    return n // 2 - (n // 2) % 3 + 1


def filled_inputs(n: int) -> tuple[ServiceConfig, EndpointSliceConfig]:
    services, slices = cluster_objects(n)
    svc_cfg, slc_cfg = ServiceConfig(), EndpointSliceConfig()
    svc_cfg.channel("api").set(services)
    slc_cfg.channel("api").set(slices)
    assert svc_cfg.flush(120) and slc_cfg.flush(120)
    return svc_cfg, slc_cfg


def check_view(proxy: ProxyConfig, n: int) -> None:
    snap = proxy.state()
    assert (len(snap), sum(len(p.endpoints) for p in snap)) == expected(n)


@pytest.fixture(scope="module", autouse=True)
def _drop_clusters() -> Any:
    yield
    for cached in (cluster, cluster_objects, expected):
        cached.cache_clear()


# ---- (a) initial view -------------------------------------------------------------------------


@pytest.mark.parametrize("impl", INITIAL_IMPLS)
def test_w8_initial(benchmark: Any, impl: str, n: int, quick: bool) -> None:
    expected(n)
    rounds = 3 if quick else (7 if n <= 1000 else 5)
    live: list[Any] = []
    entries: list[float] = []
    starts: list[float] = []

    def close_live() -> None:
        while live:
            live.pop().close()

    def handler(snap: Any) -> None:
        entries.append(time.perf_counter())

    def measured(target: Callable[..., None], setup: Callable[[], Any]) -> None:
        """Rounds of ``target`` on fresh inputs from ``setup``; then check the last view."""
        benchmark.pedantic(target, setup=setup, rounds=rounds, warmup_rounds=1, iterations=1)
        check_view(live[0], n)

    try:
        if impl == BASELINE:
            services, slices = cluster(n)

            def fresh_view() -> tuple[tuple[Any, ...], dict[str, Any]]:
                normalize_ip.cache_clear()
                return (PurePythonProxyView(**VIEW),), {}

            def initial(view: PurePythonProxyView) -> None:
                view.set_services(services)
                view.set_slices(slices)
                live[:] = [view.ports()]

            benchmark.pedantic(
                initial, setup=fresh_view, rounds=rounds, warmup_rounds=1, iterations=1
            )
            assert len(live.pop()) == expected(n)[0]
        elif impl == PACKAGE:
            svc_cfg, slc_cfg = filled_inputs(n)

            def view_only() -> None:
                starts.append(time.perf_counter())
                proxy = ProxyConfig(svc_cfg, slc_cfg, **VIEW)
                live.append(proxy)
                proxy.register_handler(handler)
                proxy.flush()

            def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
                close_live()
                entries.clear()
                starts.clear()
                return (), {}

            try:
                measured(view_only, setup)
            finally:
                close_live()
                svc_cfg.close()
                slc_cfg.close()
        else:
            inputs: tuple[list[Any], list[Any]] = (
                cluster_objects(n) if impl == "package-objects" else cluster(n)
            )

            def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
                close_live()
                svc_cfg, slc_cfg = ServiceConfig(), EndpointSliceConfig()
                proxy = ProxyConfig(svc_cfg, slc_cfg, **VIEW)
                proxy.register_handler(handler)
                live.extend((proxy, svc_cfg, slc_cfg))
                return (svc_cfg.channel("api"), slc_cfg.channel("api"), proxy), {}

            def end_to_end(svc_ch: Any, slc_ch: Any, proxy: ProxyConfig) -> None:
                svc_ch.set(inputs[0])
                slc_ch.set(inputs[1])
                proxy.flush()

            try:
                measured(end_to_end, fresh)
            finally:
                close_live()
    finally:
        close_live()
    extra: dict[str, Any] = {}
    if impl == PACKAGE and entries and starts:
        # Creation -> first handler entry, last round (the timing itself ends at flush return).
        extra["entry_us"] = (entries[0] - starts[0]) * 1e6
    ports, endpoints = expected(n)
    record(
        benchmark,
        "W8 initial",
        impl,
        n,
        ops=1,
        ports=ports,
        endpoints=n * ENDPOINTS,
        port_endpoints=endpoints,
        **extra,
    )


# ---- (b) one endpoint flip --------------------------------------------------------------------


@pytest.mark.parametrize("impl", (PACKAGE, BASELINE))
def test_w8_flip(benchmark: Any, impl: str, n: int, quick: bool) -> None:
    k = flip_index(n)
    original = cluster(n)[1][k]
    versions_dicts = (original, generator.flipped(original))
    rounds = 20 if quick else 200
    round_no = itertools.count(1)
    if impl == BASELINE:
        services, slices = cluster(n)
        view = PurePythonProxyView(**VIEW)
        view.set_services(services)
        view.set_slices(slices)
        view.ports()
        seen_ready: list[bool] = []
        service_key = generator.key(services[k])
        port_key = next(key for key in view.ports() if key.startswith(f"{service_key}:"))

        def flip_baseline() -> None:
            view.upsert_slice(versions_dicts[next(round_no) % 2])
            ports = view.ports()
            seen_ready.append(ports[port_key]["endpoints"][0]["ready"])

        benchmark.pedantic(flip_baseline, rounds=rounds, warmup_rounds=2, iterations=1)
        assert len(set(seen_ready)) == 2
        record(benchmark, "W8 flip", impl, n, ops=1)
        return

    versions = tuple(EndpointSlice.from_dict(d) for d in versions_dicts)
    entries: list[float] = []
    sends: list[float] = []
    seen: list[int] = []

    def handler(snap: Any) -> None:
        entries.append(time.perf_counter())
        seen.append(len(snap.changes.updated))

    svc_cfg, slc_cfg = filled_inputs(n)
    try:
        with ProxyConfig(svc_cfg, slc_cfg, **VIEW) as proxy:
            proxy.register_handler(handler)
            assert proxy.flush(120)
            check_view(proxy, n)
            ch = slc_cfg.channel("api")

            def flip() -> None:
                obj = versions[next(round_no) % 2]
                sends.append(time.perf_counter())
                ch.update(obj)
                proxy.flush()

            entries.clear()
            seen.clear()
            benchmark.pedantic(flip, rounds=rounds, warmup_rounds=2, iterations=1)
    finally:
        svc_cfg.close()
        slc_cfg.close()
    # One delivery per flip, each changing the flipped service's port(s).
    assert len(entries) == len(sends) and all(seen)
    latency_us = [(e - s) * 1e6 for s, e in zip(sends, entries, strict=True)]
    record(benchmark, "W8 flip", impl, n, ops=1, entry_us=statistics.median(latency_us[2:]))


# ---- (c) memory (script) ----------------------------------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def child(impl: str, method: str, n: int) -> dict[str, Any]:
    def reading() -> int:
        _trim()
        return tracemalloc.get_traced_memory()[0] if method == "tracemalloc" else _rss()

    holder: list[Any] = []
    if impl == PACKAGE:
        svc_cfg, slc_cfg = ServiceConfig(), EndpointSliceConfig()
        svc_ch, slc_ch = svc_cfg.channel("api"), slc_cfg.channel("api")
        svcs, slices = generator.proxy_cluster(n, endpoints=ENDPOINTS)
        for start in range(0, n, CHUNK):
            svc_ch.add(svcs[start : start + CHUNK])
            slc_ch.add(slices[start : start + CHUNK])
            svc_cfg.flush()
            slc_cfg.flush()
        svc_ch.mark_synced()
        slc_ch.mark_synced()
        del svcs, slices
        if method == "tracemalloc":
            tracemalloc.start()
        before = reading()
        proxy = ProxyConfig(svc_cfg, slc_cfg, **VIEW)
        proxy.register_handler(lambda snap: None)
        proxy.flush()
        after = reading()
        ports = len(proxy.state())
        holder.append(proxy)
    else:
        svcs, slices = generator.proxy_cluster(n, endpoints=ENDPOINTS)
        if method == "tracemalloc":
            tracemalloc.start()
        before = reading()
        view = PurePythonProxyView(**VIEW)
        view.set_services(svcs)
        view.set_slices(slices)
        ports = len(view.ports())
        after = reading()
        holder.append(view)
    units = n * ENDPOINTS
    return {
        "workload": "W8 memory",
        "impl": impl,
        "method": method,
        "n": n,
        "ports": ports,
        "units": units,
        "delta_bytes": after - before,
        "bytes_per_unit": (after - before) / units,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = script_args(__doc__, argv, ("IMPL", "METHOD", "N"))
    if args.child:
        impl, method, n = args.child
        print(json.dumps(child(impl, method, int(n))))
        return []
    n = MEMORY_SIZES["quick" if args.quick else "full"]
    results = []
    for impl, method in ((PACKAGE, "rss"), (PACKAGE, "tracemalloc"), (BASELINE, "rss")):
        cmd = [sys.executable, __file__, "--child", impl, method, str(n)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"W8 {impl:9} N={n:<6} {method:11} {r['bytes_per_unit']:8.0f} B/endpoint",
            file=sys.stderr,
        )
        results.append(r)
    return write_results(args.json, results)


if __name__ == "__main__":
    main()
