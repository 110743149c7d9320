"""Memory stays flat under churn: ``python benches/memory_flat.py [--seconds 20]``.

Churns ADD / UPDATE / REMOVE / SET batches (objects, dicts and JSON bytes) over a fixed key space
on a ServiceConfig and an EndpointsConfig, each with a fast handler and a slow one (which gets
coalesced snapshots), and samples the process RSS. After the warm-up the state is as large as it
gets, so RSS must stay within a bound: memory is O(state), not O(updates) (SPEC §1).
Prints the samples' summary and ``FLAT`` or ``GROWING``; exit status 1 if growing.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from typing import Any

from kubeproxy_config import EndpointsConfig, ServiceConfig, Snapshot

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def service(i: int, rng: random.Random) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"s{i}",
            "namespace": f"ns{i % 7}",
            "labels": {"v": str(rng.random())},
        },
        "spec": {"clusterIP": f"10.96.{i // 250}.{i % 250 + 1}", "ports": [{"port": 80 + i % 50}]},
    }


def endpoints(i: int, rng: random.Random) -> dict[str, Any]:
    ips = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{k + 1}" for k in range(10)]
    return {
        "metadata": {"name": f"s{i}", "namespace": f"ns{i % 7}"},
        "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": 8080}]}],
    }


class Fast:
    def __init__(self) -> None:
        self.calls = 0
        self.seen = 0

    def __call__(self, snapshot: Snapshot[Any]) -> None:
        self.calls += 1
        self.seen += len(snapshot.changes.added) + len(snapshot.changes.updated)


class Slow(Fast):
    def __call__(self, snapshot: Snapshot[Any]) -> None:
        super().__call__(snapshot)
        time.sleep(0.01)  # a slow handler: it must get coalesced snapshots, not a backlog


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not judged")
    parser.add_argument("--objects", type=int, default=2000, help="key space per kind")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--bound-mb", type=float, default=8.0, help="allowed growth after warm-up")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    samples: list[tuple[float, int]] = []
    updates = 0
    with ServiceConfig() as services, EndpointsConfig() as eps:
        handlers = [Fast(), Slow(), Fast(), Slow()]
        services.register_handler(handlers[0])
        services.register_handler(handlers[1])
        eps.register_handler(handlers[2])
        eps.register_handler(handlers[3])
        channels = [(services.channel("a"), service), (eps.channel("a"), endpoints)]
        for channel, make in channels:
            channel.set([make(i, rng) for i in range(args.objects)])
        started = time.monotonic()
        next_sample = started
        while (now := time.monotonic()) - started < args.seconds:
            for channel, make in channels:
                ids = rng.sample(range(args.objects), args.batch)
                op = rng.random()
                if op < 0.45:
                    channel.update([make(i, rng) for i in ids])
                elif op < 0.85:
                    data = json.dumps([make(i, rng) for i in ids]).encode()
                    channel.send_json("ADD", data)
                elif op < 0.99:
                    channel.remove([f"ns{i % 7}/s{i}" for i in ids])
                else:
                    channel.set([make(i, rng) for i in range(args.objects)])
                updates += 1
            if now >= next_sample:
                gc.collect()
                samples.append((now - started, rss_bytes()))
                next_sample += 0.5
        for config in (services, eps):
            config.flush(30.0)
        stats = {"services": services.stats(), "endpoints": eps.stats()}
    judged = [rss for t, rss in samples if t >= args.warmup]
    if len(judged) < 4:
        print("not enough samples after the warm-up; run longer")
        return 2
    quarter = max(1, len(judged) // 4)
    first, last = statistics.median(judged[:quarter]), statistics.median(judged[-quarter:])
    growth_mb = (last - first) / 2**20
    mb = [rss / 2**20 for _, rss in samples]
    what = f"{updates} batches of {args.batch} in {args.seconds:.0f} s"
    print(f"churn: {what}, key space {args.objects} per kind, a fast and a slow handler each")
    print(f"deliveries: {[h.calls for h in handlers]} (fast, slow; services then endpoints)")
    print(f"config stats: {stats}")
    marks = f"start {mb[0]:.1f}, after warm-up {first / 2**20:.1f}, end {last / 2**20:.1f}"
    print(f"RSS MB: {marks}, min {min(mb):.1f}, max {max(mb):.1f} ({len(samples)} samples)")
    flat = growth_mb <= args.bound_mb
    verdict = "FLAT" if flat else "GROWING"
    print(f"{verdict}: {growth_mb:+.1f} MB after warm-up (bound {args.bound_mb} MB)")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
