"""W5 memory: bytes per stored Service and per endpoint address (a plain script).

Every measurement runs in its own fresh subprocess, so deltas are clean: the child builds a config,
takes a reading, adds the objects in chunks of 500 generated dicts (``channel.add`` then
``flush``; the chunk's dicts are dropped before the next one, so only what the store keeps stays
alive), collects garbage and takes the second reading. Two readings, in separate children:

- ``rss``: resident set size from ``/proc/self/statm`` (everything: Python heap, Rust heap);
- ``tracemalloc``: Python-heap allocations still alive (Rust allocations are not traced, so for
  the package this is only what Python keeps).

Per endpoint address = the whole Endpoints delta / (objects x 10 addresses).

    python benches/bench_w5_memory.py [--quick] [--json OUT]
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benches import generator
from benches._common import (
    BASELINE,
    PACKAGE,
    endpoints_config,
    script_args,
    service_config,
    write_results,
)

CHUNK = 500
ADDRESSES = 10


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(impl: str, kind: str, method: str, n: int) -> dict[str, Any]:
    def batch(start: int) -> list[dict[str, Any]]:
        count = min(CHUNK, n - start)
        if kind == "services":
            return generator.services(count, seed=2, start=start)
        return generator.endpoints(count, seed=2, addresses=ADDRESSES, start=start)

    warm = batch(0)  # warm the allocator and the generator's imports, then drop
    del warm
    if method == "tracemalloc":
        tracemalloc.start()
    cfg = service_config(impl) if kind == "services" else endpoints_config(impl)
    ch = cfg.channel("api")
    gc.collect()

    def reading() -> int:
        return tracemalloc.get_traced_memory()[0] if method == "tracemalloc" else _rss()

    before = reading()
    for start in range(0, n, CHUNK):
        objs = batch(start)
        ch.add(objs)
        cfg.flush()
        del objs
    gc.collect()
    after = reading()
    assert len(cfg.state()) == n
    cfg.close()
    units = n if kind == "services" else n * ADDRESSES
    return {
        "workload": "W5 memory",
        "impl": impl,
        "kind": kind,
        "method": method,
        "n": n,
        "units": units,
        "delta_bytes": after - before,
        "bytes_per_unit": (after - before) / units,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = script_args(__doc__, argv, ("IMPL", "KIND", "METHOD", "N"))
    if args.child:
        impl, kind, method, n = args.child
        print(json.dumps(child(impl, kind, method, int(n))))
        return []
    sizes = (
        {"services": 10_000, "endpoints": 2_000}
        if args.quick
        else {
            "services": 100_000,
            "endpoints": 10_000,
        }
    )
    results = []
    for kind, n in sizes.items():
        for impl in (PACKAGE, BASELINE):
            for method in ("rss", "tracemalloc"):
                cmd = [sys.executable, __file__, "--child", impl, kind, method, str(n)]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                unit = "service" if kind == "services" else "address"
                print(
                    f"W5 {impl:9} {kind:9} N={n:<7} {method:11} "
                    f"{r['bytes_per_unit']:8.0f} B/{unit}",
                    file=sys.stderr,
                )
                results.append(r)
    return write_results(args.json, results)


if __name__ == "__main__":
    main()
