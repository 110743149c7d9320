"""The soak of everything, by hand: ``python benches/soak.py [--seconds 60] [--seed N]``.

Runs the soak of ``tests/test_soak.py``: two KubernetesSources (streaming lists in one namespace,
paginated lists in the other, the audit on in both) follow a FakeAPIServer under random writes,
dropped watches, 500s, garbage lines, stalls, compactions, expired continue tokens, lost events
and zone changes, with two ProxyConfigs on top; at every checkpoint and at the end the configs
must equal the server's objects and the proxy views the reference recomputation. Prints the
figures and the result; exit status 1 on a failure.

The oversized-event fault (a Service with an annotation of ``--oversized BYTES``, default 200 kB;
0 leaves it out) meets the sources' ``max_event_bytes`` of 128 KiB; ``--source-option
NAME=INT`` passes another ``KubernetesSource`` argument to both sources (or overrides that
one). ``--hygiene`` runs the resource-hygiene cycles at their full counts instead
(``benches/hygiene.py``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_soak import OVERSIZED_BYTES, SOAK_SEED, SOAK_SOURCE_OPTIONS, run_soak


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=SOAK_SEED)
    parser.add_argument("--checkpoint-every", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--oversized", type=int, default=OVERSIZED_BYTES, metavar="BYTES")
    parser.add_argument("--source-option", action="append", default=[], metavar="NAME=INT")
    parser.add_argument("--hygiene", action="store_true", help="run benches/hygiene.py instead")
    args = parser.parse_args(argv[1:])
    if args.hygiene:
        from hygiene import main as hygiene_main  # benches/hygiene.py

        return hygiene_main([])
    options = dict(SOAK_SOURCE_OPTIONS)
    for item in args.source_option:
        name, _, value = item.partition("=")
        options[name] = int(value)
    # The injected faults are logged as warnings by the sources; only errors are shown here.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    report = run_soak(
        args.seconds,
        args.seed,
        checkpoint_every=args.checkpoint_every,
        oversized_bytes=args.oversized,
        source_options=options,
    )
    print("\n".join(report.lines()), flush=True)
    for problem in report.handler_problems[:10]:
        print(f"  handler problem: {problem}")
    for message in report.errors_logged[:10]:
        print(f"  error logged: {message}")
    ok = report.converged and not report.handler_problems and not report.errors_logged
    verdict = "OK, configs equal the server's objects, proxy views equal the recomputation"
    print("result:", verdict if ok else f"FAIL {report.mismatch}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
