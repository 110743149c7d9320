"""W7's API server process: a FakeAPIServer holding N Services + N Endpoints, driven over stdin.

It runs in its own process so that none of its CPU is counted as the client's. It prints one JSON
line ``{"url", "kubeconfig", "rv"}`` once serving, then answers one JSON line per command:

- ``cpu``: ``{"cpu": seconds}``, this process's user + system CPU so far;
- ``churn R COUNT``: COUNT real changes, half Service label changes and half Endpoints address
  changes, spread over the objects; the last two set ``w7-round: R`` on the sentinel Service
  and Endpoints (``sentinel_key``), which clients wait for. Answers ``{"rv": ...}`` after the
  writes (the watch threads may still be sending them);
- ``quit``.

    python benches/_w7_server.py N
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benches import generator

from kubeproxy_config.testing import FakeAPIServer

ADDRESSES = 10
ROUND_LABEL = "w7-round"
JSON_PATCH = "application/json-patch+json"


def sentinel_key() -> tuple[str, str]:
    """(namespace, name) of the objects whose ``w7-round`` label ends each churn round."""
    meta = generator.services(1)[0]["metadata"]
    return meta["namespace"], meta["name"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _stored(obj: dict[str, Any]) -> dict[str, Any]:
    # The generator's uid and resourceVersion are the server's to assign.
    meta = {k: v for k, v in obj["metadata"].items() if k not in ("uid", "resourceVersion")}
    return {**obj, "metadata": meta}


def churn(server: FakeAPIServer, keys: list[tuple[str, str]], round_no: int, count: int) -> None:
    """``count`` real changes (see the module docstring) over ``keys[1:]``, then the sentinels
    (``keys[0]``)."""
    for j in range(count - 2):
        namespace, name = keys[1 + (j // 2) % max(1, len(keys) - 1)]
        if j % 2 == 0:
            patch: Any = {"metadata": {"labels": {"w7": f"{round_no}.{j}"}}}
            server.patch("Service", namespace, name, patch)
        else:
            ip = f"10.{200 + round_no % 50}.{(j >> 8) & 255}.{j & 255}"
            path = f"/subsets/0/addresses/{j % ADDRESSES}/ip"
            ops = [{"op": "replace", "path": path, "value": ip}]
            server.patch("Endpoints", namespace, name, ops, content_type=JSON_PATCH)
    namespace, name = sentinel_key()
    for kind in ("Service", "Endpoints"):
        server.patch(kind, namespace, name, {"metadata": {"labels": {ROUND_LABEL: str(round_no)}}})


def main() -> None:
    n = int(sys.argv[1])
    objects = [_stored(o) for o in generator.services(n)]
    keys = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects]
    objects += [_stored(o) for o in generator.endpoints(n, addresses=ADDRESSES)]
    # Bookmarks rarely: the clients' idle cost is not what W7 measures.
    with FakeAPIServer(objects=objects, bookmark_interval=30.0) as server:
        del objects
        hello = {"url": server.url, "kubeconfig": str(server.kubeconfig())}
        print(json.dumps({**hello, "rv": server.resource_version}), flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words or words[0] == "quit":
                break
            if words[0] == "cpu":
                answer: dict[str, Any] = {"cpu": _cpu()}
            elif words[0] == "churn":
                churn(server, keys, int(words[1]), int(words[2]))
                answer = {"rv": server.resource_version}
            else:
                answer = {"error": f"unknown command {words[0]!r}"}
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
