"""Shared pieces of the benchmarks: cached data sets, config factories, result labels.

"Ready objects" are pre-built ``Service`` objects for the package and the same services as plain
dicts for the baseline (what each side's user holds before sending).
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benches import generator  # noqa: E402
from benches.baseline import BaselineConfig  # noqa: E402

from kubeproxy_config import EndpointsConfig, Service, ServiceConfig  # noqa: E402

PACKAGE = "package"
BASELINE = "baseline"
BASELINE_DELTA = "baseline-delta"
IMPLS = (PACKAGE, BASELINE, BASELINE_DELTA)


@cache
def service_dicts(n: int) -> list[dict[str, Any]]:
    return generator.services(n)


@cache
def service_objects(n: int) -> list[Service]:
    return [Service.from_dict(d) for d in service_dicts(n)]


@cache
def modified_dicts(n: int, count: int) -> list[dict[str, Any]]:
    """The first ``count`` services of ``service_dicts(n)``, each with a changed label."""
    return [generator.modified(d, 1) for d in service_dicts(n)[:count]]


@cache
def modified_objects(n: int, count: int) -> list[Service]:
    return [Service.from_dict(d) for d in modified_dicts(n, count)]


def ready_services(impl: str, n: int) -> list[Any]:
    """The N services as the given side's user holds them."""
    return service_objects(n) if impl == PACKAGE else service_dicts(n)


def ready_modified(impl: str, n: int, count: int) -> list[Any]:
    return modified_objects(n, count) if impl == PACKAGE else modified_dicts(n, count)


def service_config(impl: str) -> Any:
    """A fresh ServiceConfig, or the baseline in full-broadcast or delta mode."""
    if impl == PACKAGE:
        return ServiceConfig()
    return BaselineConfig(delta=impl == BASELINE_DELTA)


def endpoints_config(impl: str) -> Any:
    if impl == PACKAGE:
        return EndpointsConfig()
    return BaselineConfig(delta=impl == BASELINE_DELTA)


def record(benchmark: Any, workload: str, impl: str, n: int, ops: int, **extra: Any) -> None:
    """Label a benchmark for run.py's table (per-op cost = median / ops)."""
    benchmark.group = f"{workload} N={n}"
    benchmark.extra_info.update({"workload": workload, "impl": impl, "n": n, "ops": ops, **extra})


def script_args(doc: str | None, argv: list[str] | None, child: tuple[str, ...] = ()) -> Any:
    """The command line every measurement script takes: ``--quick``, ``--json OUT`` and, for
    scripts that measure in fresh subprocesses, ``--child`` with the fields named in ``child``."""
    import argparse

    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, help="write the results here")
    if child:
        parser.add_argument("--child", nargs=len(child), metavar=child)
    return parser.parse_args(argv)


def write_results(path: Path | None, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write ``results`` as JSON to ``path`` (when given) and return them."""
    if path:
        path.write_text(json.dumps(results, indent=1))
    return results
