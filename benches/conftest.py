"""pytest-benchmark setup for the SPEC §7 workloads.

Run explicitly: ``pytest benches --benchmark-only`` (or ``python benches/run.py``); the normal
``pytest`` run never collects this directory (``testpaths = ["tests"]``). ``--quick`` or
``KPC_BENCH_QUICK=1`` shrinks sizes and rounds to a smoke test.

Each workload file parametrizes ``impl`` over the package and the baseline(s) and ``n`` over the
sizes given by its module-level ``SIZES = {"quick": [...], "full": [...]}``; every benchmark
records ``workload``, ``impl``, ``n`` and ``ops`` (operations per round) in ``extra_info`` so
``run.py`` can pair package and baseline results and report per-operation cost and ratios.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_TIMEOUT = 3600


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--quick",
        action="store_true",
        default=False,
        help="small sizes and few rounds (smoke test); also KPC_BENCH_QUICK=1",
    )


def is_quick(config: pytest.Config) -> bool:
    return bool(config.getoption("--quick")) or os.environ.get("KPC_BENCH_QUICK", "") not in (
        "",
        "0",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    # Benchmark files are named bench_*.py so the default test discovery never picks them up.
    # (A file named on the command line is collected by pytest itself.)
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("bench_")
        and not parent.session.isinitpath(file_path)
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "n" in metafunc.fixturenames:
        sizes: dict[str, list[int]] = getattr(metafunc.module, "SIZES")  # noqa: B009
        mode = "quick" if is_quick(metafunc.config) else "full"
        metafunc.parametrize("n", sizes[mode], ids=[f"N={n}" for n in sizes[mode]])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The project's default per-test timeout (120 s) is for tests; a 100k baseline run is longer.
    for item in items:
        item.add_marker(pytest.mark.timeout(BENCH_TIMEOUT))


@pytest.fixture(scope="session")
def quick(request: pytest.FixtureRequest) -> bool:
    return is_quick(request.config)


@pytest.fixture(scope="session")
def rounds(quick: bool) -> int:
    """Timed rounds per benchmark (each after one warm-up round)."""
    return 3 if quick else 11


@pytest.fixture(scope="module", autouse=True)
def _drop_data_sets_after_module() -> Iterator[None]:
    # Each workload's process heap holds only its own data: millions of live dicts left over
    # from another workload would make every full GC pass (and so the baseline) slower.
    yield
    from benches import _common

    for cached in (
        _common.service_dicts,
        _common.service_objects,
        _common.modified_dicts,
        _common.modified_objects,
    ):
        cached.cache_clear()
    gc.collect()


@pytest.fixture(autouse=True)
def _collect_between_benchmarks() -> Iterator[None]:
    # Garbage left by one benchmark (100k objects) must not be collected inside the next one.
    gc.collect()
    yield
    gc.collect()
