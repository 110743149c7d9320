"""W7 end to end: the client process's cost of following a cluster, against the alternatives.

The API server (``_w7_server.py``, a FakeAPIServer) runs in its own process, so none of its CPU is
counted; it holds N Services + N Endpoints (10 addresses each). Each client (``_w7_clients.py``:
the package, the official client's informer, its list + ``Watch().stream``, lightkube) runs in a
fresh subprocess per repeat, which reports its own CPU (``getrusage``), wall time and RSS for:

(a) the initial sync: from start to holding every object (RSS after it, and its growth);
(b) churn rounds of EVENTS real changes (half Service labels, half Endpoints addresses): CPU per
    event from the moment the client is ready until it has applied the round's last change;
(c) GIL pressure: in a further round a pure-Python counting thread runs in the client process;
    its rate (iterations per wall second) during the round against its rate alone just before,
    and the same per second it was runnable (not waiting for a core: see ``Counter``).

The package's Python calls per watch event are counted in a separate process (profiling slows it):
``sys.monitoring`` on Python >= 3.12 (every thread), else ``sys.setprofile`` +
``threading.setprofile`` (threads started by ``threading`` only: code that a native thread runs
under the GIL is not seen there). Also measured: the server's own CPU to serve one paged list
(limit 500) of both resources to a raw HTTP client.

    python benches/bench_w7_e2e.py [--quick] [--json OUT]
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benches._common import script_args, write_results
from benches._w7_clients import CLIENTS

HERE = Path(__file__).resolve().parent
TIMEOUT = 600.0  # seconds any one sync or round may take before the run fails
FULL = {"sizes": (1_000, 10_000), "events": 5_000, "repeats": 3, "rounds": 2, "alone": 1.0}
QUICK = {"sizes": (200,), "events": 200, "repeats": 1, "rounds": 1, "alone": 0.2}


# ---- the client process -------------------------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Counter:
    """A pure-Python counting loop on its own thread (the GIL-pressure probe).

    Its rate is iterations per wall second; the rate "when runnable" leaves out the time the
    thread waited in the kernel's run queue (``/proc/.../schedstat``: waiting for a core, which
    other processes on a shared machine cause), so what remains of its slowdown is waiting for
    the GIL (the loop never blocks otherwise).
    """

    def __init__(self) -> None:
        self.count = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, name="w7-counter", daemon=True)

    def _run(self) -> None:
        while self.running:
            self.count += 1

    def sample(self) -> tuple[int, float, float]:
        """(iterations, wall seconds, seconds waited for a core) so far."""
        try:
            with open(f"/proc/self/task/{self.thread.native_id}/schedstat") as f:
                waited = int(f.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            waited = 0.0  # no schedstat: rates when runnable equal the raw ones
        return self.count, time.perf_counter(), waited

    @staticmethod
    def rates(a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[float, float]:
        """(per wall second, per runnable second) between two samples."""
        count, wall, waited = b[0] - a[0], b[1] - a[1], b[2] - a[2]
        return count / wall, count / max(wall - waited, 1e-9)


class CallCount:
    """Python function calls per thread, from now on (see the module docstring)."""

    def __init__(self) -> None:
        self.calls: collections.Counter[int] = collections.Counter()
        self.method = "sys.monitoring" if hasattr(sys, "monitoring") else "setprofile"
        get_ident = threading.get_ident
        calls = self.calls
        if self.method == "sys.monitoring":
            mon: Any = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
            mon.use_tool_id(mon.PROFILER_ID, "w7")

            def started(_code: Any, _offset: int) -> None:
                calls[get_ident()] += 1

            mon.register_callback(mon.PROFILER_ID, mon.events.PY_START, started)
            mon.set_events(mon.PROFILER_ID, mon.events.PY_START)
        else:

            def hook(_frame: Any, event: str, _arg: Any) -> None:
                if event == "call":
                    calls[get_ident()] += 1

            threading.setprofile(hook)
            sys.setprofile(hook)

    def by_thread(self) -> dict[str, int]:
        names = {t.ident: t.name for t in threading.enumerate()}
        return {names.get(i, f"thread {i}"): c for i, c in self.calls.items()}


def child(name: str, kubeconfig: str, n: int, count_calls: bool) -> None:
    """Sync, then answer ``round R COUNTER`` lines from stdin (one JSON line out per phase)."""

    def say(**fields: Any) -> None:
        print(json.dumps(fields), flush=True)

    calls = CallCount() if count_calls else None
    client = CLIENTS[name](kubeconfig, n, TIMEOUT)  # imports and configuration: not timed
    rss0, cpu0, t0 = _rss(), _cpu(), time.perf_counter()
    client.sync()
    wall, cpu, rss = time.perf_counter() - t0, _cpu() - cpu0, _rss()
    say(phase="sync", wall=wall, cpu=cpu, rss=rss, rss_growth=rss - rss0)
    for line in sys.stdin:
        words = line.split()
        if words[0] == "quit":
            break
        round_no, alone = int(words[1]), float(words[2])
        counter = Counter() if alone > 0 else None
        if counter is not None:
            counter.thread.start()
            first = counter.sample()
            time.sleep(alone)  # the measurement window of the counter alone
            alone_rates = Counter.rates(first, start := counter.sample())
        if calls is not None:
            calls.calls.clear()
        deliveries = getattr(client, "deliveries", 0)
        cpu0, t0 = _cpu(), time.perf_counter()
        say(phase="armed")
        if not client.rounds.wait(round_no, TIMEOUT):
            raise TimeoutError(f"{name} did not see round {round_no}")
        wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
        out: dict[str, Any] = {"phase": "round", "wall": wall, "cpu": cpu, "rss": _rss()}
        out["deliveries"] = getattr(client, "deliveries", 0) - deliveries
        if counter is not None:
            during_rates = Counter.rates(start, counter.sample())
            counter.running = False
            out["alone_rate"], out["alone_rate_runnable"] = alone_rates
            out["during_rate"], out["during_rate_runnable"] = during_rates
            counter.thread.join()
        if calls is not None:
            out["calls"] = calls.by_thread()
            out["call_method"] = calls.method
        say(**out)
    client.close()


# ---- the orchestrating process ------------------------------------------------------------


class Proc:
    """A child process spoken to in lines (JSON answers)."""

    def __init__(self, argv: list[str]) -> None:
        self.p = subprocess.Popen(
            [sys.executable, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def read(self) -> dict[str, Any]:
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.p.args} ended (exit {self.p.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, command: str) -> dict[str, Any]:
        self.send(command)
        return self.read()

    def send(self, command: str) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write(command + "\n")
        self.p.stdin.flush()

    def close(self) -> None:
        try:
            self.send("quit")
        except (BrokenPipeError, OSError):
            pass
        self.p.wait(timeout=60)


def paged_list_cost(server: Proc, url: str) -> dict[str, float]:
    """The server's CPU and the wall time to serve one paged list (limit 500) of both resources
    to a raw keep-alive HTTP client (whose own CPU is not what is measured)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=TIMEOUT)
    cpu0, t0, pages = server.ask("cpu")["cpu"], time.perf_counter(), 0
    for plural in ("services", "endpoints"):
        token = ""
        while True:
            conn.request("GET", f"/api/v1/{plural}?limit=500&continue={quote(token)}")
            resp = conn.getresponse()
            body = json.loads(resp.read())
            assert resp.status == 200, body
            pages += 1
            token = body["metadata"].get("continue") or ""
            if not token:
                break
    wall = time.perf_counter() - t0
    conn.close()
    return {"server_cpu": server.ask("cpu")["cpu"] - cpu0, "wall": wall, "pages": pages}


def measure_size(n: int, plan: dict[str, Any], round_no: int) -> tuple[list[dict[str, Any]], int]:
    server = Proc([str(HERE / "_w7_server.py"), str(n)])
    results: list[dict[str, Any]] = []
    try:
        hello = server.read()
        cost = paged_list_cost(server, hello["url"])
        results.append({"workload": "W7 server list", "impl": "fake-apiserver", "n": n, **cost})
        print(f"W7 N={n} server: paged list {cost['server_cpu'] * 1e3:.0f} ms CPU", file=sys.stderr)
        for name in CLIENTS:
            for repeat in range(plan["repeats"]):
                row, round_no = run_client(server, hello["kubeconfig"], name, n, plan, round_no)
                row["repeat"] = repeat
                results.append(row)
                print(
                    f"W7 N={n} {name:9} sync {row['sync']['cpu']:.3f} s CPU, "
                    f"{row['sync']['wall']:.3f} s wall, {row['sync']['rss'] / 1e6:.0f} MB; "
                    f"per event {statistics.median(r['cpu'] for r in row['rounds']) / plan['events'] * 1e6:.1f} µs; "  # noqa: E501
                    f"counter {row['gil']['during_rate'] / row['gil']['alone_rate']:.2f} of alone "
                    f"({row['gil']['during_rate_runnable'] / row['gil']['alone_rate_runnable']:.2f}"
                    " when runnable)",
                    file=sys.stderr,
                )
        if n == min(plan["sizes"]):
            row, round_no = run_client(
                server, hello["kubeconfig"], "package", n, {**plan, "rounds": 1}, round_no, True
            )
            results.append({**row, "impl": "package-calls"})
    finally:
        server.close()
    return results, round_no


def run_client(
    server: Proc,
    kubeconfig: str,
    name: str,
    n: int,
    plan: dict[str, Any],
    round_no: int,
    count_calls: bool = False,
) -> tuple[dict[str, Any], int]:
    argv = [__file__, "--child", name, kubeconfig, str(n), "1" if count_calls else "0"]
    client = Proc(argv)
    try:
        cpu0 = server.ask("cpu")["cpu"]
        sync = client.read()
        sync["server_cpu"] = server.ask("cpu")["cpu"] - cpu0
        rounds = []
        gil: dict[str, Any] = {}
        for alone in [0.0] * plan["rounds"] + ([] if count_calls else [plan["alone"]]):
            round_no += 1
            assert client.ask(f"round {round_no} {alone}")["phase"] == "armed"
            server.ask(f"churn {round_no} {plan['events']}")
            result = client.read()
            if alone > 0:
                gil = result
            else:
                rounds.append(result)
    finally:
        client.close()
    row = {"workload": "W7 e2e", "impl": name, "n": n, "events": plan["events"], "sync": sync}
    return {**row, "rounds": rounds, "gil": gil}, round_no


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = script_args(__doc__, argv, ("CLIENT", "KUBECONFIG", "N", "COUNT_CALLS"))
    if args.child:
        name, kubeconfig, n, count_calls = args.child
        child(name, kubeconfig, int(n), count_calls == "1")
        return []
    plan = QUICK if args.quick else FULL
    results: list[dict[str, Any]] = []
    round_no = 0
    for n in plan["sizes"]:
        rows, round_no = measure_size(n, plan, round_no)
        results += rows
    return write_results(args.json, results)


if __name__ == "__main__":
    main()
