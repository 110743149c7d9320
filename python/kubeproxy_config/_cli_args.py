"""The command line's argument groups, shared by ``watch``, ``record`` and ``replay``."""

from __future__ import annotations

import argparse
from pathlib import Path

from kubeproxy_config import _metrics_flags as metrics_flags
from kubeproxy_config._proxy_render import add_arguments

SYNC_TIMEOUT = 30.0
"""Default ``--timeout``: seconds to reach the sources and sync."""


def add_source_arguments(command: argparse.ArgumentParser) -> None:
    source = command.add_argument_group("sources")
    source.add_argument(
        "--manifests",
        metavar="DIR",
        action="append",
        type=Path,
        default=[],
        help="a directory (searched recursively) or file of YAML/JSON manifests; repeatable",
    )
    source.add_argument("--kubeconfig", metavar="PATH", type=Path, help="kubeconfig file")
    source.add_argument("--context", metavar="NAME", help="kubeconfig context to use")
    source.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
    source.add_argument(
        "--example", action="store_true", help="the example cluster shipped with the package"
    )
    scope = source.add_mutually_exclusive_group()
    scope.add_argument(
        "-n", "--namespace", metavar="NS", help="only this namespace (default: the context's)"
    )
    scope.add_argument(
        "-A", "--all-namespaces", action="store_true", help="every namespace, whatever the context"
    )
    source.add_argument(
        "-l",
        "--selector",
        metavar="SELECTOR",
        help="only the Services with these labels (e.g. app=web,tier!=db; their endpoints follow)",
    )


def add_output_arguments(command: argparse.ArgumentParser) -> None:
    view = command.add_argument_group("output")
    view.add_argument(
        "-o", "--output", choices=("table", "json"), default="table", help="default: table"
    )
    view.add_argument("--once", action="store_true", help="print after the first sync and exit")
    view.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=SYNC_TIMEOUT,
        help="bound for every wait: reaching the API server (retries included) and the first "
        f"sync, live or with --once (default {SYNC_TIMEOUT:g})",
    )
    view.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more to stderr: -v INFO, -vv DEBUG, -vvv DEBUG of every library too",
    )
    add_arguments(command)
    metrics_flags.add_arguments(command)
