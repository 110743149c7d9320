"""Combining repeated runs of the same workloads: each cell is the median over the runs."""

from __future__ import annotations

import statistics
from typing import Any


def median_of_runs(runs: list[dict[Any, dict[str, Any]]]) -> dict[Any, dict[str, Any]]:
    """Per (workload, impl, n): the run whose median is the median of the runs' medians (so a
    cell's ± and extra figures come from one real run), with ``runs`` holding every median."""
    out: dict[Any, dict[str, Any]] = {}
    for key in {k for run in runs for k in run}:
        rows = sorted((run[key] for run in runs if key in run), key=lambda r: r["median"])
        middle = dict(rows[(len(rows) - 1) // 2])
        middle["runs"] = [r["median"] for r in rows]
        out[key] = middle
    return out


def median_of_w4_runs(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """W4 rows in the first run's order, p50 and p99 each the median over the runs."""
    by_key: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for run in runs:
        for row in run:
            by_key.setdefault((row["impl"], row["n"], row["mode"]), []).append(row)
    out = []
    for row in runs[0] if runs else []:
        rows = by_key[(row["impl"], row["n"], row["mode"])]
        merged = dict(row)
        merged["p50_us"] = statistics.median(r["p50_us"] for r in rows)
        merged["p99_us"] = statistics.median(r["p99_us"] for r in rows)
        merged["churn_rate"] = statistics.median(r["churn_rate"] for r in rows)
        merged["runs"] = len(rows)
        out.append(merged)
    return out
