"""Resource hygiene at full counts: ``python benches/hygiene.py`` (or ``benches/soak.py
--hygiene``).

Runs the cycles of ``tests/test_hygiene_*.py`` at the counts of the hardening issue: 1,000
ProxyConfig create/close cycles, 200 KubernetesSource start/stop cycles stopped mid-list,
mid-streaming-list, mid-watch and in backoff, 100 metrics-server start/stop cycles; prints the
threads, fds, sockets and RSS before (warmed up) and after each. Exit status 1 if anything grew
(the same checks and tolerances as the tests).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import pytest

import test_hygiene_metrics
import test_hygiene_proxy
import test_hygiene_transport

RUNS = (
    (test_hygiene_proxy.run, 1000),
    (test_hygiene_transport.run, 200),
    (test_hygiene_metrics.run, 100),
)


def main(argv: list[str]) -> int:
    # The backoff phase's 500s are logged as warnings by the sources; only errors are shown.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    ok = True
    for run, count in RUNS:
        try:
            print(run(count).line(), flush=True)
        except (pytest.fail.Exception, AssertionError) as exc:
            print(f"FAIL {run.__module__}: {exc}", flush=True)
            ok = False
    print("result:", "OK, nothing grew" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
