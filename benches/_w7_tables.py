"""W7's result tables for benches/README.md (used by ``benches/run.py``): medians per client and
N, the ratios against the package and the issue's targets."""

# ruff: noqa: RUF001  (the tables print the multiplication sign on purpose)
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from benches._tables import fmt_ratio, fmt_us, verdict


def _median(values: Iterable[float]) -> float:
    data = sorted(values)
    if not data:
        return float("nan")
    mid = len(data) // 2
    return data[mid] if len(data) % 2 else (data[mid - 1] + data[mid]) / 2


W7_CLIENTS = {
    "package": "package (`KubernetesSource`)",
    "informer": "official `kubernetes.informer`",
    "official": "official list + `Watch().stream`",
    "lightkube": "lightkube",
}


def w7_summary(rows: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, float]]:
    """(client, N) -> medians over repeats (sync, counter) and over all rounds (per event)."""
    out: dict[tuple[str, int], dict[str, float]] = {}
    for impl in W7_CLIENTS:
        for n in sorted({r["n"] for r in rows if r["impl"] == impl}):
            runs = [r for r in rows if r["impl"] == impl and r["n"] == n]
            rounds = [x for r in runs for x in r["rounds"]]
            events = runs[0]["events"]
            out[(impl, n)] = {
                "sync_cpu": _median(r["sync"]["cpu"] for r in runs),
                "sync_wall": _median(r["sync"]["wall"] for r in runs),
                "rss": _median(r["sync"]["rss"] for r in runs),
                "rss_growth": _median(r["sync"]["rss_growth"] for r in runs),
                "server_cpu": _median(r["sync"]["server_cpu"] for r in runs),
                "event_cpu": _median(x["cpu"] / events for x in rounds),
                "event_wall": _median(x["wall"] / events for x in rounds),
                "counter": _median(r["gil"]["during_rate"] / r["gil"]["alone_rate"] for r in runs),
                "counter_runnable": _median(
                    r["gil"]["during_rate_runnable"] / r["gil"]["alone_rate_runnable"] for r in runs
                ),
                "events": events,
                "repeats": len(runs),
                "rounds": len(rounds),
            }
    return out


def _times(a: float, b: float) -> float | None:
    return None if not a or a != a or b != b else b / a


def _client_rows(
    s: dict[tuple[str, int], dict[str, float]], ns: list[int], cpu: str
) -> Iterator[tuple[int, str, dict[str, float], str]]:
    """Each measured (N, client label, row, its ``cpu`` as a multiple of the package's; blank for
    the package itself)."""
    for n in ns:
        pkg = s.get(("package", n))
        for impl, label in W7_CLIENTS.items():
            r = s.get((impl, n))
            if r is None:
                continue
            x = _times(pkg[cpu], r[cpu]) if pkg and impl != "package" else None
            yield n, label, r, fmt_ratio(x) if impl != "package" else ""


def w7_tables(rows: list[dict[str, Any]]) -> list[str]:
    """W7 end to end: (a) sync, (b) watch events, (c) GIL pressure, calls per event, server."""
    s = w7_summary(rows)
    ns = sorted({n for (_c, n) in s})
    if not ns:
        return []
    any_row = next(iter(s.values()))
    lines = [
        "### W7 end to end (a): initial sync of N Services + N Endpoints (10 addresses each), "
        "client process only (the server runs in its own)",
        "",
        "| N | client | CPU | wall | RSS after | RSS growth | CPU × package |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for n, label, r, ratio in _client_rows(s, ns, "sync_cpu"):
        lines.append(
            f"| {n:,} | {label} | {fmt_us(r['sync_cpu'])} | {fmt_us(r['sync_wall'])} "
            f"| {r['rss'] / 1e6:,.0f} MB | {r['rss_growth'] / 1e6:,.1f} MB | {ratio} |"
        )
    lines += [
        "",
        f"### W7 end to end (b): {any_row['events']:,} watch events of real changes (half "
        "Service labels, half Endpoints addresses), client CPU per event",
        "",
        "| N | client | CPU per event | wall per event | CPU × package |",
        "|---:|---|---:|---:|---:|",
    ]
    for n, label, r, ratio in _client_rows(s, ns, "event_cpu"):
        lines.append(
            f"| {n:,} | {label} | {fmt_us(r['event_cpu'])} | {fmt_us(r['event_wall'])} | {ratio} |"
        )
    lines += [
        "",
        "### W7 end to end (c): GIL pressure, a pure-Python counting thread in the client "
        "process during (b)",
        "",
        "| N | client | rate during (b) / alone | slowdown | when runnable: during / alone "
        "| slowdown (GIL) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for n in ns:
        for impl, label in W7_CLIENTS.items():
            r = s.get((impl, n))
            if r is not None:
                lines.append(
                    f"| {n:,} | {label} | {r['counter']:.2f} | {(1 - r['counter']) * 100:.0f}% "
                    f"| {r['counter_runnable']:.2f} | {(1 - r['counter_runnable']) * 100:.0f}% |"
                )
    top = ns[-1]
    pkg, lk, inf = (s.get((c, top)) for c in ("package", "lightkube", "informer"))
    lines.append("")
    if pkg and lk and inf:
        sync_lk = _times(pkg["sync_cpu"], lk["sync_cpu"]) or 0.0
        sync_inf = _times(pkg["sync_cpu"], inf["sync_cpu"]) or 0.0
        event_lk = _times(pkg["event_cpu"], lk["event_cpu"]) or 0.0
        slow = 1 - pkg["counter_runnable"]
        lines += [
            f"Targets at N = {top:,}: sync CPU ≥ 5× less than lightkube: {fmt_ratio(sync_lk)} — "
            f"{verdict(sync_lk >= 5)}; ≥ 50× less than the informer: {fmt_ratio(sync_inf)} — "
            f"{verdict(sync_inf >= 50)}; per-event CPU ≥ 5× less than lightkube: "
            f"{fmt_ratio(event_lk)} — {verdict(event_lk >= 5)}; counting thread slowed by "
            f"≤ 10% (when runnable, i.e. by the GIL): {slow * 100:.0f}% — "
            f"{verdict(slow <= 0.10)} (by wall rate: {(1 - pkg['counter']) * 100:.0f}%).",
            "",
        ]
    calls = [r for r in rows if r["impl"] == "package-calls"]
    if calls:
        c = calls[0]
        per_thread = c["rounds"][0]["calls"]
        outside_main = sum(v for k, v in per_thread.items() if k != "MainThread")
        detail = ", ".join(f"{k}: {v / c['events']:,.1f}" for k, v in sorted(per_thread.items()))
        lines += [
            f"Python function calls per watch event in the package's client process (N = "
            f"{c['n']:,}, {c['events']:,} events, counted with "
            f"`{c['rounds'][0]['call_method']}`): {outside_main / c['events']:,.1f} outside the "
            f"main thread (per thread: {detail}); the configs' handlers were called "
            f"{c['rounds'][0]['deliveries'] / c['events']:.2f} times per event (coalesced "
            "deliveries, user code).",
            "",
        ]
    server = [r for r in rows if r["workload"] == "W7 server list"]
    if server:
        cells = "; ".join(
            f"N = {r['n']:,}: {fmt_us(r['server_cpu'])} CPU, {fmt_us(r['wall'])} wall, "
            f"{r['pages']} pages"
            for r in server
        )
        lines.append(
            f"The test server's own cost to serve one paged list (limit 500) of both resources "
            f"to a raw HTTP client: {cells}."
        )
    return lines
