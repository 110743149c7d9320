"""Run every SPEC §7 workload (package and baseline side by side) and write benches/README.md.

    python benches/run.py            # full run, several minutes; writes benches/README.md
    python benches/run.py --quick    # smoke test (< 60 s); prints the table, writes nothing
                                     # unless --output is given

W1, W2, W3, W6 and W8's timings run under pytest-benchmark (``pytest benches --benchmark-only``);
W4 (latency percentiles), W5, W7 (end to end, against other clients) and W8's memory (one
subprocess per measurement) are plain scripts.
No thresholds are asserted: targets are reported next to the results.

    python benches/run.py --only W8 --output /tmp/w8.md   # one workload (W1..W8) and its scripts
"""

# ruff: noqa: RUF001  (the report prints the multiplication sign and en dash on purpose)
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCHES = Path(__file__).resolve().parent
ROOT = BENCHES.parent
sys.path.insert(0, str(ROOT))

from benches._runs import median_of_runs, median_of_w4_runs  # noqa: E402
from benches._tables import (  # noqa: E402
    metrics_table,
    per_op,
    sizes_of,
    w1_table,
    w2_table,
    w3_table,
    w4_table,
    w5_table,
    w6_table,
    w8_tables,
)
from benches._w7_tables import w7_tables  # noqa: E402

PYTEST_WORKLOADS = {"W1", "W2", "W3", "W6", "W8"}  # the others are scripts only

# ---- running ------------------------------------------------------------------------------


def run_pytest_benchmarks(quick: bool, out: Path, select: str | None) -> None:
    cmd = [sys.executable, "-m", "pytest", str(BENCHES), "--benchmark-only", "-q"]
    cmd += ["--benchmark-json", str(out), "--benchmark-columns=median,iqr,rounds"]
    if quick:
        cmd.append("--quick")
    if select:
        cmd += ["-k", select]
    print("+", shlex.join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def run_script(name: str, quick: bool, out: Path) -> None:
    cmd = [sys.executable, str(BENCHES / name), "--json", str(out)]
    if quick:
        cmd.append("--quick")
    print("+", shlex.join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


# ---- environment --------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rustc_version() -> str:
    try:
        return subprocess.run(
            ["rustc", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "rustc not found"


def build_profile() -> str:
    """The cargo profile the imported ``_core`` came from: the ``rust/target/<profile>`` whose
    library is byte-identical to it (KPC_BUILD_PROFILE overrides)."""
    if os.environ.get("KPC_BUILD_PROFILE"):
        return os.environ["KPC_BUILD_PROFILE"]
    from kubeproxy_config import _core

    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    installed = digest(Path(_core.__file__))
    target = ROOT / "rust" / "target"
    for lib in sorted(target.glob("*/lib_core.so")) + sorted(target.glob("*/*/lib_core.so")):
        if digest(lib) == installed:
            return lib.parent.name
    return "unknown (not found under rust/target)"


# ---- report -------------------------------------------------------------------------------


def render(
    res: dict[Any, Any],
    w4: list[dict[str, Any]],
    w5: list[dict[str, Any]],
    env: dict[str, str],
    command: str,
    elapsed: float,
    w8_memory: list[dict[str, Any]] | None = None,
    w7: list[dict[str, Any]] | None = None,
) -> str:
    out = [
        "# Benchmarks",
        "",
        "SPEC §7 workloads, each run on the package and on `benches/baseline.py` (the same "
        "design in plain Python: dicts per source, a `queue.Queue` mux, one merger thread, "
        "handlers called synchronously with a full copy of the merged state; `baseline-delta` "
        "hands them only the changes) in the same run. `tests/test_baseline.py` proves the "
        "baseline merges exactly like the package. Cells are median ± IQR over the timed rounds; "
        "× = baseline median / package median (higher is better for the package).",
        "",
        "## Reproduce",
        "",
        "```",
        command,
        "```",
        "",
        "## Machine",
        "",
        f"- CPU: {env['cpu']}, {env['cores']} cores (shared with other jobs during the run)",
        f"- OS: {env['os']}",
        f"- Python: {env['python']}",
        f"- Rust: {env['rustc']}",
        f"- Package build profile: `{env['profile']}`" + env.get("profile_note", ""),
        f"- kubernetes client: {env['kubernetes']}, lightkube {env['lightkube']}, "
        f"pytest-benchmark {env['pytest_benchmark']}",
        f"- Date: {env['date']}; whole run {elapsed:.0f} s",
        f"- Runs: W1, W2, W3, W4, W6 and W8 (a, b) are the median of {env.get('runs', '1')} "
        "runs in this one invocation; W5, W7 and W8 (c) run once",
        "",
        "## Results",
        "",
    ]
    for table in (w1_table(res), w2_table(res), w3_table(res), w4_table(w4), w5_table(w5)):
        out += [*table, ""]
    out += [*w6_table(res), ""]
    if w7:
        out += [*w7_tables(w7), ""]
    if sizes_of(res, "W8 initial") or sizes_of(res, "W8 flip") or w8_memory:
        out += [*w8_tables(res, w8_memory or []), ""]
    if sizes_of(res, "W1 metrics") or sizes_of(res, "Scrape"):
        out += [*metrics_table(res), ""]
    out += [
        "## Workloads",
        "",
        "- **W1** (`bench_w1_merge.py`): a store of N services, one no-op handler; each round "
        "sends single-object UPDATE / REMOVE / ADD calls (an update, a removal and its re-add per "
        "group) and ends with `flush()`. Pre-built `Service` objects for the package, dicts for "
        "the baseline.",
        "- **W2** (`bench_w2_ingest.py`): N `MODIFIED` watch-event lines of distinct services, "
        "100 lines per chunk, into an empty config; package `apply_watch_events`, baseline "
        "`kubernetes.watch.Watch().unmarshal_event(line, 'V1Service')` (what `Watch.stream` "
        "runs per line) + store per line; baseline-lean `json.loads` + "
        "`ApiClient._ApiClient__deserialize(obj, 'V1Service')` + store.",
        "- **W3** (`bench_w3_delivery.py`): one UPDATE on a store of N, timed to `flush()` "
        "return; the handler reads only `snap.changes` (the full baseline is handed a copy).",
        "- **W4** (`bench_w4_latency.py`): a probe update, send → handler entry, idle and with a "
        "thread sending ~1000 updates/s round-robin over 3 sources.",
        "- **W5** (`bench_w5_memory.py`): one subprocess per measurement; RSS delta "
        "(`/proc/self/statm`) and tracemalloc delta after adding N objects in chunks.",
        "- **W6** (`bench_w6_initial.py`): fresh configs; SET of N services and N endpoints "
        "(10 addresses each) until both handlers have had their first delivery.",
        "- **W7** (`bench_w7_e2e.py`, clients in `_w7_clients.py`, server `_w7_server.py`): a "
        "FakeAPIServer in its own process holds N Services + N Endpoints (10 addresses); each "
        "client runs in a fresh subprocess per repeat (medians over the repeats; per-event "
        "medians over every churn round) and measures its own CPU (`getrusage`), wall time "
        "and RSS. Clients: the package (`KubernetesSource` into `ServiceConfig` / "
        "`EndpointsConfig`, pages of 500, a handler per config), the official client's "
        "`kubernetes.informer.SharedInformer` (one unpaged list, then `Watch().stream`), the "
        "official paged list + `Watch().stream` on a thread per resource, and lightkube "
        "(`Client.list(chunk_size=500)` + `Client.watch`). (a) start to holding every object; "
        "(b) churn rounds of real changes, from the client being ready to it having applied "
        "the round's last change; (c) a round with a pure-Python counting thread in the "
        "client, its iterations per wall second against its rate alone just before, also per "
        "second it was runnable (its run-queue wait from `/proc/<tid>/schedstat` left out, "
        "so that other processes taking the cores do not count as GIL pressure). The "
        "package's Python calls per event are counted in a separate process.",
        "- **W8** (`bench_w8_proxy.py`, baseline `proxy_baseline.py`'s `PurePythonProxyView`, "
        "the same rules in plain Python, incremental per service): N services (1-3 ports) and "
        "one EndpointSlice of 10 endpoints each, over 20 nodes in 3 zones, ~10% not ready, "
        "two thirds with zone hints (a third of those with node hints too), every tenth "
        "`internalTrafficPolicy: Local`; both sides are node `node-000` in `zone-a`. (a) View "
        "only: `ProxyConfig(...)` over input configs that already hold the cluster + "
        "`register_handler` + `flush()`; from objects / dicts: `channel.set(services)` + "
        "`channel.set(slices)` + the view's `flush()` on fresh configs; baseline: a fresh view's "
        "`set_services` + `set_slices` + `ports()` from dicts. (b) One slice update flipping one "
        "endpoint (package: `channel.update(slice)` + `flush()`, the handler reads "
        "`snap.changes`; baseline: `upsert_slice` + `ports()`). (c) RSS delta of creating the "
        "view over filled inputs and delivering it to a no-op handler (baseline: building its "
        "view over the dicts it references), in a fresh subprocess, / (N × 10) endpoints.",
        "- **Metrics** (`bench_metrics.py`): W1 and W2 on the package without metrics and with "
        "a collector registered and scraped every 0.1 s by another thread; and one scrape of a "
        "config holding N services with 20 no-op handlers.",
        "",
        "## Notes for reading the numbers",
        "",
        "- The machine has 2 cores shared with other jobs; the package's merger and delivery "
        "threads compete with the sending thread for them, so spreads are wide and µs-level "
        "medians move by ±30% between runs. Ratios are from the same run.",
        "- W1: the package merges whatever is queued as one batch (one version per batch, see "
        "`stats()['versions']`), delivering coalesced snapshots; the baseline broadcasts on every "
        "change, which is its design. `baseline-delta` is the strongest pure-Python variant "
        "(O(change) per update, no copy).",
        "- W2: the baseline is the client's own watch-line deserialisation "
        "(`Watch.unmarshal_event`, which re-serialises every object: `json.dumps` + "
        "`json.loads` again before building the model). The lean column skips that by calling "
        "the client's private deserialiser; it is the harder reference and its ratio is shown "
        "too. The package cuts each chunk into 6 pieces that the calling thread and one pool "
        "thread claim one at a time (the pool thread shares the second core with the merger "
        "thread, which merges the previous chunk meanwhile); the baselines run under the GIL.",
        "- W4: idle latency is mostly thread wake-up. A lone small send is merged on the "
        "sender's thread when nothing is queued, so the package crosses one thread (the "
        "handler's delivery thread, which keeps its Python thread state between calls), as the "
        "baseline does; sends in a burst (< 50 µs apart) go to the merger thread and are "
        "published in batches.",
        "- W5: tracemalloc sees only Python allocations (the package keeps its objects in Rust). "
        "Per-address figures include each Endpoints object's own overhead / 10.",
        "- W6 (dicts): the baseline stores references to the caller's dicts (no copy, no "
        "validation); the package converts and validates every field. The list-bytes row is the "
        "path the API source actually takes (`send_json`/`parse_list`).",
        "- W7: every client keeps its state and notices the round's last change its own "
        "natural way (the package: a config handler, called per coalesced delivery; the "
        "others: per event). The server's CPU is not counted but it shares the 2 cores: "
        "wall times include waiting for it. On Python < 3.12 calls are counted with "
        "`sys.setprofile` + `threading.setprofile`, which do not see code that native threads "
        "run under the GIL (the config's handler calls); the counting thread (c) sees it.",
        "- W8: the view-only row is the view's own cost; the end-to-end rows add both input "
        "configs' merges (and, from dicts, converting and validating every field), which the "
        "baseline, reading the dicts it is handed, does not do. Each (service port, endpoint) "
        "pair is a small record pointing at the endpoint in its slice, so per endpoint the view "
        "stores ~1.7 of them here (services have 1-3 ports); the per-endpoint memory also "
        "carries the view's per-service and per-port structures / 10. A large recomputation "
        "(the initial view, a relist, a topology change) runs on the merger and the parse "
        "pool's thread.",
        "",
        "## Where the time goes, for the targets still missed",
        "",
        "Profiles with `perf record` on the release build, in steady state (after the set-up).",
        "",
        "- **W6 from dicts (≥ 1× the baseline)**: the baseline keeps references to the caller's "
        "dicts and reads none of them. The package must read every value to validate it: 10k "
        "Endpoints × 10 addresses are ~1.0 M Python objects (dicts, strings) scattered over ~60 "
        "MB of heap. Converting and validating them takes ~116 ms of CPU (thread time of "
        "`channel.set(dicts)`: 30 ms the Services, 86 ms the Endpoints; 124 ms before dict keys "
        "that are known field names were kept as static strings rather than copied); the same "
        "objects cost `pickle.dumps` 135 ms, `json.dumps` 200 ms and `marshal.dumps`, the "
        "leanest C walk of them, 35 ms. Top of the profile: the walk of the dicts "
        "(`convert::object` + `to_node` ~23%, `_PyDict_Next` 9%, `Py_IncRef` 6%: the stable "
        "ABI makes reference counting a call), the walk of the intermediate tree (~10%), "
        "allocation (mimalloc ~9%); the merge itself (`Store::put`) ~1%. What would be needed: "
        "a reader from Python dicts straight into the Rust structs (no intermediate tree, keys "
        "looked up by interned name) could approach the marshal floor, ~35-50 ms, still 1.5-2× "
        "the baseline's 16-25 ms; reaching 1× needs objects that are validated lazily (keeping "
        "the caller's dicts), which the contract rules out (bad input is refused at the call, "
        "nothing stored is corrupted).",
        "- **W1 ≥ 5× baseline-delta** (met in this run, 5.0× at 100k, at the edge; growth "
        "100k/1k ≤ 1.5× is met since one source's objects are kept once): per update ~0.6 "
        "µs at 1k and ~0.8 µs at 100k. Thread CPU per update "
        "at 100k: merger 0.73 µs, the calling Python thread 0.34 µs, so the merger sets the "
        "pace (it was 0.87 µs while a source's objects were kept twice, in a hashed map of the "
        "source and in the merged tree). Its profile at 100k (`perf record`, steady state): "
        "the persistent B-tree (`imbl` OrdMap) copies the path of each write after a version "
        "is published and later drops the old nodes (~17% of its samples: `make_mut`, `Chunk` "
        "drops), compares keys as strings (`memcmp` ~9%), and the change set, the queue and "
        "the wake-ups share the rest. baseline-delta's 3.8-4.4 µs per update puts 5× at "
        "0.76-0.88 µs: the ratio sits at the edge and moves with the machine's load. Tried and "
        "measured without gain: keys carrying their first 8/16 bytes inline, so that compares "
        "seldom load the strings (merger 0.73 µs either way); short key strings stored inline "
        "(`smol_str`): slower, 0.93 vs 0.88 µs, from the larger nodes copied; reading each "
        "batch ahead to overlap its cache misses: slower, 1.25 vs 0.88 µs. What would be "
        "needed: fewer node copies per update, e.g. a merged state published as a shared base "
        "plus a small sorted overlay folded into the base every few thousand updates.",
        "- **W2 ≥ 60× at 1k events**: the baseline's spread at 1k is as large as its median "
        "(IQR 51-62 µs on medians of 56-60 µs per event); the package's 1.1-1.2 µs per "
        "event gives 45-55× there, over 80× at 10k. The "
        "package's time is the JSON reader (~35% of its samples) and allocation; not "
        "reworked this round.",
        "- **W4 under churn**: the package's p50 and p99 land within ~5-10% of baseline-delta's, "
        "on either side from run to run (not profiled further). A probe that finds a churn "
        "merge in progress (its `try_lock` fails) or another send within 50 µs goes through the "
        "merger thread, one thread hop more than the baseline's.",
        "",
    ]
    return "\n".join(out)


def environment() -> dict[str, str]:
    import importlib.metadata as md

    def version(dist: str) -> str:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return "not installed"

    return {
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "rustc": rustc_version(),
        "profile": build_profile(),
        "kubernetes": version("kubernetes"),
        "lightkube": version("lightkube"),
        "pytest_benchmark": version("pytest-benchmark"),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke test)")
    parser.add_argument("--output", type=Path, help="README to write (full run: benches/README.md)")
    parser.add_argument("-k", dest="select", help="only these pytest-benchmark tests (-k expr)")
    parser.add_argument("--skip-scripts", action="store_true", help="skip W4, W5, W7, W8 memory")
    parser.add_argument(
        "--only", help="only these workloads, comma-separated (e.g. W8): tests and scripts"
    )
    parser.add_argument("--raw", type=Path, help="also keep the raw JSON results in this directory")
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="run the pytest workloads and W4 this many times; tables show the median (default 3)",
    )
    args = parser.parse_args(argv)
    runs = 1 if args.quick else max(1, args.runs)
    output = args.output or (None if args.quick or args.only else BENCHES / "README.md")
    only = {w.strip().upper() for w in args.only.split(",")} if args.only else None
    select = args.select
    if only:
        select = " or ".join(f"test_{w.lower()}_" for w in sorted(only))

    def wanted(workload: str) -> bool:
        return not args.skip_scripts and (only is None or workload in only)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kpc-bench-") as tmp:
        bench_json, w4_json, w5_json, w7_json, w8_json = (
            Path(tmp) / f for f in ("pb.json", "w4.json", "w5.json", "w7.json", "w8.json")
        )
        res: dict[Any, Any] = {}
        if only is None or only & PYTEST_WORKLOADS:
            each = []
            for _ in range(runs):
                run_pytest_benchmarks(args.quick, bench_json, select)
                each.append(per_op(json.loads(bench_json.read_text())["benchmarks"]))
            res = median_of_runs(each)
        w4: list[dict[str, Any]] = []
        w7: list[dict[str, Any]] = []
        w5: list[dict[str, Any]] = []
        w8: list[dict[str, Any]] = []
        if wanted("W4"):
            w4_runs = []
            for _ in range(runs):
                run_script("bench_w4_latency.py", args.quick, w4_json)
                w4_runs.append(json.loads(w4_json.read_text()))
            w4 = median_of_w4_runs(w4_runs)
        if wanted("W5"):
            run_script("bench_w5_memory.py", args.quick, w5_json)
            w5 = json.loads(w5_json.read_text())
        if wanted("W7"):
            run_script("bench_w7_e2e.py", args.quick, w7_json)
            w7 = json.loads(w7_json.read_text())
        if wanted("W8"):
            run_script("bench_w8_proxy.py", args.quick, w8_json)
            w8 = json.loads(w8_json.read_text())
        if args.raw:
            args.raw.mkdir(parents=True, exist_ok=True)
            for f in (bench_json, w4_json, w5_json, w7_json, w8_json):
                if f.exists():
                    (args.raw / f.name).write_bytes(f.read_bytes())
    elapsed = time.perf_counter() - started

    env = environment()
    if env["profile"] != "release":
        env["profile_note"] = (
            " — not the `release` profile (fat LTO) that SPEC/STYLE require for reported numbers;"
            " treat absolute package times as pessimistic"
        )
    command = "python benches/run.py" + (" --quick" if args.quick else "")
    if runs != 3 and not args.quick:
        command += f" --runs {runs}"
    if args.only:
        command += f" --only {args.only}"
    env["runs"] = str(runs)
    text = render(res, w4, w5, env, command, elapsed, w8, w7)
    if args.quick:
        text = text.replace("# Benchmarks", "# Benchmarks (--quick smoke run: tiny sizes)", 1)
    print(text)
    if output:
        output.write_text(text)
        print(f"wrote {output} in {elapsed:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
