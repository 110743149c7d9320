"""The command line's argument groups, shared by ``watch``, ``record`` and ``replay``."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from kubeproxy_config import _metrics_flags as metrics_flags
from kubeproxy_config._limits import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_PAGE_BYTES
from kubeproxy_config._proxy_render import add_arguments

SYNC_TIMEOUT = 30.0
"""Default ``--timeout``: seconds to reach the sources and sync."""


_UNITS = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}


def byte_size(text: str) -> int:
    """A size flag: a positive number of bytes, optionally with a binary suffix (``16Mi``)."""
    match = re.fullmatch(r"\s*(\d+)\s*(Ki|Mi|Gi)?\s*", text)
    if match is None or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive size in bytes (e.g. 1048576, 64Ki, 16Mi, 1Gi)"
        )
    return int(match[1]) * _UNITS[match[2] or ""]


@dataclass(frozen=True)
class ApiLimits:
    """The API source's size flags."""

    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES

    @classmethod
    def of(cls, args: argparse.Namespace) -> ApiLimits:
        """The flags given (``replay`` has none: the defaults)."""
        event = getattr(args, "max_event_bytes", DEFAULT_MAX_EVENT_BYTES)
        page = getattr(args, "max_page_bytes", DEFAULT_MAX_PAGE_BYTES)
        return cls(event, page)


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
    source.add_argument(
        "--max-event-bytes",
        metavar="SIZE",
        type=byte_size,
        default=DEFAULT_MAX_EVENT_BYTES,
        help="the API source's largest watch event line (default 16Mi); a longer one is cut "
        "there and the resource relisted",
    )
    source.add_argument(
        "--max-page-bytes",
        metavar="SIZE",
        type=byte_size,
        default=DEFAULT_MAX_PAGE_BYTES,
        help="the API source's largest list page (default 256Mi); a larger one fails the list, "
        "which is retried",
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
