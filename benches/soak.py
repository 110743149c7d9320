"""Soak with faults, by hand: ``python benches/soak.py [SECONDS] [SEED] [paged]`` (default
60 s, streamed lists).

Runs the soak of ``tests/test_soak.py`` (a KubernetesSource with the audit on following a
FakeAPIServer under random writes, dropped watches, 500s, garbage lines, stalls, compactions and
lost events), then prints its figures and whether the configs converged exactly to the server's
objects. Exit status 1 if not.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_soak import SOAK_SEED, run_soak


def main(argv: list[str]) -> int:
    seconds = float(argv[1]) if len(argv) > 1 else 60.0
    seed = int(argv[2]) if len(argv) > 2 else SOAK_SEED
    # The injected faults are logged as warnings by the source; only errors are shown here.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    watch_list = not (len(argv) > 3 and argv[3] == "paged")
    report = run_soak(seconds, seed, watch_list=watch_list)
    print("\n".join(report.lines()))
    for problem in report.handler_problems[:10]:
        print(f"  handler problem: {problem}")
    for message in report.errors_logged[:10]:
        print(f"  error logged: {message}")
    ok = report.converged and not report.handler_problems and not report.errors_logged
    print("result:", "OK, state equals the server's objects" if ok else f"FAIL {report.mismatch}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
