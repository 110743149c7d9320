"""The workloads' result tables for benches/README.md (used by ``benches/run.py``)."""

# ruff: noqa: RUF001  (the tables print the multiplication sign and en dash on purpose)
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PKG, BASE, DELTA = "package", "baseline", "baseline-delta"


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    if us >= 10_000:
        return f"{us / 1000:,.1f} ms"
    return f"{us:,.1f} µs" if us < 100 else f"{us:,.0f} µs"


def fmt_ratio(x: float | None) -> str:
    if x is None:
        return "–"
    if x < 1:
        return f"{x:.2f}×"
    return f"{x:,.1f}×" if x < 100 else f"{x:,.0f}×"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def per_op(entries: Iterable[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
    """(workload, impl, n) -> {median, iqr, rounds, extra} per operation."""
    out = {}
    for b in entries:
        info, stats = b["extra_info"], b["stats"]
        ops = info.get("ops", 1)
        out[(info["workload"], info["impl"], info["n"])] = {
            "median": stats["median"] / ops,
            "iqr": stats["iqr"] / ops,
            "rounds": stats["rounds"],
            "extra": info,
        }
    return out


def cell(r: dict[str, Any] | None) -> str:
    if r is None:
        return "–"
    return f"{fmt_us(r['median'])} ± {fmt_us(r['iqr'])}"


def ratio(res: dict[Any, Any], workload: str, base: str, n: int, pkg: str = PKG) -> float | None:
    a, b = res.get((workload, pkg, n)), res.get((workload, base, n))
    if a is None or b is None or a["median"] == 0:
        return None
    return float(b["median"] / a["median"])


def sizes_of(res: dict[Any, Any], workload: str) -> list[int]:
    return sorted({n for (w, _i, n) in res if w == workload})


def w1_table(res: dict[Any, Any]) -> list[str]:
    w = "W1 merge"
    lines = [
        "### W1 merge churn (cost per update, ready objects, one no-op handler)",
        "",
        "| N | package | baseline (full copy) | baseline-delta | × baseline | × delta |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    ns = sizes_of(res, w)
    for n in ns:
        lines.append(
            f"| {n:,} | {cell(res.get((w, PKG, n)))} | {cell(res.get((w, BASE, n)))} "
            f"| {cell(res.get((w, DELTA, n)))} | {fmt_ratio(ratio(res, w, BASE, n))} "
            f"| {fmt_ratio(ratio(res, w, DELTA, n))} |"
        )
    lines.append("")
    if ns:
        worst = min((ratio(res, w, BASE, n) or 0.0) for n in ns)
        lines.append(
            f"Target ≥ 20× the baseline at every N (≥ 25× for the latency work): lowest "
            f"{fmt_ratio(worst)} — {verdict(worst >= 20)} / {verdict(worst >= 25)}."
        )
        worst_delta = min((ratio(res, w, DELTA, n) or 0.0) for n in ns)
        lines.append(
            f"Target ≥ 5× baseline-delta at every N: lowest {fmt_ratio(worst_delta)} — "
            f"{verdict(worst_delta >= 5)}."
        )
        if len(ns) > 1:
            lo, hi = res[(w, PKG, ns[0])]["median"], res[(w, PKG, ns[-1])]["median"]
            growth = hi / lo
            lines.append(
                f"Package cost per update at N = {ns[-1]:,} vs {ns[0]:,}: {growth:.2f}× "
                f"(target ≤ 1.5×) — {verdict(growth <= 1.5)}."
            )
    return lines


def w2_table(res: dict[Any, Any]) -> list[str]:
    w = "W2 ingest"
    lines = [
        "### W2 ingest (watch-event JSON lines → merged state, cost per event)",
        "",
        "| N events | package | baseline (client `Watch` + store) | baseline-lean "
        "(private deserialiser + store) | baseline-json (json.loads + store) | × baseline "
        "| × lean | × json |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ns = sizes_of(res, w)
    for n in ns:
        lines.append(
            f"| {n:,} | {cell(res.get((w, PKG, n)))} | {cell(res.get((w, BASE, n)))} "
            f"| {cell(res.get((w, 'baseline-lean', n)))} "
            f"| {cell(res.get((w, 'baseline-json', n)))} | {fmt_ratio(ratio(res, w, BASE, n))} "
            f"| {fmt_ratio(ratio(res, w, 'baseline-lean', n))} "
            f"| {fmt_ratio(ratio(res, w, 'baseline-json', n))} |"
        )
    lines.append("")
    if ns:
        worst = min((ratio(res, w, BASE, n) or 0.0) for n in ns)
        lines.append(
            f"Target ≥ 50× the baseline (≥ 60× for the latency work): lowest "
            f"{fmt_ratio(worst)} — {verdict(worst >= 50)} / {verdict(worst >= 60)}."
        )
        lean = min((ratio(res, w, "baseline-lean", n) or 0.0) for n in ns)
        lines.append(
            f"Against the lean reference (no `Watch` re-serialising): lowest {fmt_ratio(lean)}."
        )
    return lines


def w3_table(res: dict[Any, Any]) -> list[str]:
    w = "W3 delivery"
    lines = [
        "### W3 delivery (one UPDATE on a store of N: send → flush() return; handler entry)",
        "",
        "| N | package | package entry | baseline (full) | baseline entry | baseline-delta "
        "| delta entry | × baseline | × delta |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ns = sizes_of(res, w)

    def entry(impl: str, n: int) -> str:
        r = res.get((w, impl, n))
        return "–" if r is None else fmt_us(r["extra"]["entry_us"] / 1e6)

    for n in ns:
        lines.append(
            f"| {n:,} | {cell(res.get((w, PKG, n)))} | {entry(PKG, n)} "
            f"| {cell(res.get((w, BASE, n)))} | {entry(BASE, n)} "
            f"| {cell(res.get((w, DELTA, n)))} | {entry(DELTA, n)} "
            f"| {fmt_ratio(ratio(res, w, BASE, n))} | {fmt_ratio(ratio(res, w, DELTA, n))} |"
        )
    lines.append("")
    if len(ns) > 1:
        lo, hi = res[(w, PKG, ns[0])]["median"], res[(w, PKG, ns[-1])]["median"]
        e_lo = res[(w, PKG, ns[0])]["extra"]["entry_us"]
        e_hi = res[(w, PKG, ns[-1])]["extra"]["entry_us"]
        lines.append(
            f"Package at N = {ns[-1]:,} vs {ns[0]:,}: {hi / lo:.2f}× to flush return, "
            f"{e_hi / e_lo:.2f}× to handler entry (target within 2×) — "
            f"{verdict(hi / lo <= 2 and e_hi / e_lo <= 2)}."
        )
    return lines


def w4_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "### W4 latency (send → handler entry, 3 sources)",
        "",
        "| impl | N | load | p50 | p99 | samples |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        load = "idle" if r["mode"] == "idle" else f"churn {r['churn_rate']:,.0f}/s"
        lines.append(
            f"| {r['impl']} | {r['n']:,} | {load} | {fmt_us(r['p50_us'] / 1e6)} "
            f"| {fmt_us(r['p99_us'] / 1e6)} | {r['samples']} |"
        )
    lines.append("")
    by = {(r["impl"], r["mode"]): r for r in rows}
    for mode in ("idle", "churn"):
        pkg, delta = by.get((PKG, mode)), by.get((DELTA, mode))
        if pkg is None or delta is None:
            continue
        ok = pkg["p50_us"] <= delta["p50_us"] and pkg["p99_us"] <= delta["p99_us"]
        lines.append(
            f"Target {mode}: package p50 and p99 ≤ baseline-delta's: "
            f"{fmt_us(pkg['p50_us'] / 1e6)} / {fmt_us(pkg['p99_us'] / 1e6)} against "
            f"{fmt_us(delta['p50_us'] / 1e6)} / {fmt_us(delta['p99_us'] / 1e6)} — {verdict(ok)}."
        )
    return lines


def w5_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "### W5 memory (bytes per stored Service / per endpoint address)",
        "",
        "| kind | N objects | impl | RSS delta | tracemalloc (Python heap) | RSS × baseline |",
        "|---|---:|---|---:|---:|---:|",
    ]
    by: dict[tuple[str, str, str], dict[str, Any]] = {
        (r["kind"], r["impl"], r["method"]): r for r in rows
    }
    for kind in ("services", "endpoints"):
        unit = "B/service" if kind == "services" else "B/address"
        for impl in (PKG, BASE):
            rss, tm = by.get((kind, impl, "rss")), by.get((kind, impl, "tracemalloc"))
            if rss is None or tm is None:
                continue
            base = by.get((kind, BASE, "rss"))
            factor = base["bytes_per_unit"] / rss["bytes_per_unit"] if base else None
            lines.append(
                f"| {kind} | {rss['n']:,} | {impl} | {rss['bytes_per_unit']:,.0f} {unit} "
                f"| {tm['bytes_per_unit']:,.0f} {unit} "
                f"| {fmt_ratio(factor) if impl == PKG else ''} |"
            )
    return lines


def w8_tables(res: dict[Any, Any], memory: list[dict[str, Any]]) -> list[str]:
    """W8 proxy view: (a) initial view, (b) one endpoint flip, (c) bytes per endpoint."""
    w = "W8 initial"
    ns = sizes_of(res, w)
    lines = [
        "### W8 proxy view (a): initial view of N services × 10 endpoints, to the first handler "
        "call holding it",
        "",
        "| N | ports | package (view only) | package from objects | package from dicts "
        "| baseline (from dicts) | × view only | × objects | × dicts |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in ns:
        row = res.get((w, PKG, n)) or res.get((w, BASE, n))
        ports = f"{row['extra']['ports']:,}" if row else "–"
        lines.append(
            f"| {n:,} | {ports} | {cell(res.get((w, PKG, n)))} "
            f"| {cell(res.get((w, 'package-objects', n)))} "
            f"| {cell(res.get((w, 'package-dicts', n)))} | {cell(res.get((w, BASE, n)))} "
            f"| {fmt_ratio(ratio(res, w, BASE, n))} "
            f"| {fmt_ratio(ratio(res, w, BASE, n, 'package-objects'))} "
            f"| {fmt_ratio(ratio(res, w, BASE, n, 'package-dicts'))} |"
        )
    lines.append("")
    if ns:
        worst = {
            impl: min((ratio(res, w, BASE, n, impl) or 0.0) for n in ns)
            for impl in (PKG, "package-objects", "package-dicts")
        }
        lines.append(
            f"Target ≥ 20× the baseline (the view: inputs already in their configs): lowest "
            f"{fmt_ratio(worst[PKG])} — {verdict(worst[PKG] >= 20)}. End to end (inputs' merges "
            f"included): from objects lowest {fmt_ratio(worst['package-objects'])}, from dicts "
            f"(conversion included) lowest {fmt_ratio(worst['package-dicts'])} — "
            f"{verdict(worst['package-dicts'] >= 20)}."
        )
    w = "W8 flip"
    ns = sizes_of(res, w)
    lines += [
        "",
        "### W8 proxy view (b): one endpoint flips ready ↔ not ready in one service",
        "",
        "| N | package (send → flush() return) | package entry | baseline (upsert_slice + "
        "ports()) | × baseline |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n in ns:
        r = res.get((w, PKG, n))
        entry = "–" if r is None else fmt_us(r["extra"]["entry_us"] / 1e6)
        lines.append(
            f"| {n:,} | {cell(r)} | {entry} | {cell(res.get((w, BASE, n)))} "
            f"| {fmt_ratio(ratio(res, w, BASE, n))} |"
        )
    lines.append("")
    if len(ns) > 1 and (w, PKG, ns[0]) in res and (w, PKG, ns[-1]) in res:
        lo, hi = res[(w, PKG, ns[0])], res[(w, PKG, ns[-1])]
        growth = hi["median"] / lo["median"]
        entry_growth = hi["extra"]["entry_us"] / lo["extra"]["entry_us"]
        lines.append(
            f"Package at N = {ns[-1]:,} vs {ns[0]:,}: {growth:.2f}× to flush return, "
            f"{entry_growth:.2f}× to handler entry (target within 1.5×) — "
            f"{verdict(growth <= 1.5 and entry_growth <= 1.5)}."
        )
    lines += [
        "",
        "### W8 proxy view (c): memory the view adds over its inputs",
        "",
        "| impl | N services | endpoints | ports | RSS delta | per endpoint "
        "| tracemalloc (Python heap) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    by = {(r["impl"], r["method"]): r for r in memory}
    for impl in (PKG, BASE):
        rss, tm = by.get((impl, "rss")), by.get((impl, "tracemalloc"))
        if rss is None:
            continue
        lines.append(
            f"| {impl} | {rss['n']:,} | {rss['units']:,} | {rss['ports']:,} "
            f"| {rss['delta_bytes'] / 1e6:,.1f} MB | {rss['bytes_per_unit']:,.0f} B "
            f"| {'–' if tm is None else format(tm['bytes_per_unit'], ',.0f') + ' B'} |"
        )
    pkg = by.get((PKG, "rss"))
    if pkg is not None:
        lines += [
            "",
            f"Target ≤ 100 B per endpoint over the inputs: {pkg['bytes_per_unit']:,.0f} B — "
            f"{verdict(pkg['bytes_per_unit'] <= 100)}.",
        ]
    return lines


def w6_table(res: dict[Any, Any]) -> list[str]:
    w = "W6 initial"
    lines = [
        "### W6 initial SET (N Services + N Endpoints × 10 addresses, one source, to first "
        "delivery)",
        "",
        "| N | input | package | baseline | × baseline |",
        "|---:|---|---:|---:|---:|",
    ]
    for n in sizes_of(res, w):
        for label, pkg, base in (
            ("dicts", PKG, BASE),
            ("list JSON bytes", "package-json", "baseline-json"),
        ):
            lines.append(
                f"| {n:,} | {label} | {cell(res.get((w, pkg, n)))} "
                f"| {cell(res.get((w, base, n)))} | {fmt_ratio(ratio(res, w, base, n, pkg))} |"
            )
    ns = sizes_of(res, w)
    if ns:
        worst = min((ratio(res, w, BASE, n) or 0.0) for n in ns)
        lines += [
            "",
            f"Target from dicts ≥ 1× the baseline: {fmt_ratio(worst)} — {verdict(worst >= 1)}.",
        ]
    return lines


def metrics_table(res: dict[Any, Any]) -> list[str]:
    """Metrics overhead on W1 and W2, and the scrape of a large config (``bench_metrics.py``)."""
    lines = [
        "### Metrics (a registered collector scraped every 0.1 s vs none; one scrape)",
        "",
        "| workload | N | package | package + metrics | overhead |",
        "|---|---:|---:|---:|---:|",
    ]
    worst = None
    for w in ("W1 metrics", "W2 metrics"):
        for n in sizes_of(res, w):
            plain, with_metrics = res.get((w, PKG, n)), res.get((w, "package+metrics", n))
            over = None
            if plain and with_metrics:
                over = with_metrics["median"] / plain["median"] - 1
                worst = over if worst is None else max(worst, over)
            shown = "–" if over is None else f"{over:+.1%}"
            lines.append(f"| {w} | {n:,} | {cell(plain)} | {cell(with_metrics)} | {shown} |")
    lines.append("")
    if worst is not None:
        lines.append(f"Target within 5%: worst {worst:+.1%} — {verdict(worst <= 0.05)}.")
    for n in sizes_of(res, "Scrape"):
        r = res[("Scrape", PKG, n)]
        handlers = r["extra"].get("handlers", "?")
        lines.append(
            f"Scrape of a config with {n:,} objects and {handlers} handlers: {cell(r)} "
            f"(target < 10 ms) — {verdict(r['median'] < 0.010)}."
        )
    return lines
