"""kube-proxy's ``--metrics-bind-address`` / ``--healthz-bind-address`` for the command line.

Kept outside ``kubeproxy_config.metrics`` so the command line imports ``prometheus_client`` only
when one of the flags is given."""

from __future__ import annotations

import argparse
import contextlib

from kubeproxy_config.errors import Error


def parse_bind_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:10249`` for IPv6) as ``(host, port)``; an ``argparse`` type."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(
            f"expected HOST:PORT (for example 127.0.0.1:10249 or [::1]:10256), got {text!r}"
        )
    return host, int(port)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The two flags, off by default (as kube-proxy's names, not its defaults)."""
    group = parser.add_argument_group("metrics and health (kube-proxy's flags)")
    group.add_argument(
        "--metrics-bind-address",
        metavar="HOST:PORT",
        type=parse_bind_address,
        help="serve Prometheus metrics at /metrics here (kube-proxy uses 127.0.0.1:10249)",
    )
    group.add_argument(
        "--healthz-bind-address",
        metavar="HOST:PORT",
        type=parse_bind_address,
        help="serve /healthz, /livez and /readyz here (kube-proxy uses 0.0.0.0:10256)",
    )


def start(args: argparse.Namespace, objects: tuple[object, ...]) -> contextlib.ExitStack:
    """Start a server on each address the flags give (one when both are the same; each serves
    every endpoint). Closing the returned stack stops them. Raises ``Error`` naming the flag
    when an address cannot be bound."""
    flags = {
        "--metrics-bind-address": getattr(args, "metrics_bind_address", None),
        "--healthz-bind-address": getattr(args, "healthz_bind_address", None),
    }
    stack = contextlib.ExitStack()
    if not any(flags.values()):
        return stack
    from kubeproxy_config.metrics import serve
    from kubeproxy_config.metrics._targets import is_config, is_source

    # Sources without stats() (manifest files) have nothing to report.
    objects = tuple(o for o in objects if is_config(o) or is_source(o))
    started: set[tuple[str, int]] = set()
    try:
        for flag, address in flags.items():
            if address is None or address in started:
                continue
            try:
                stack.enter_context(serve(*objects, address=address[0], port=address[1]))
            except OSError as exc:
                raise Error(f"{flag}: cannot listen on {address[0]}:{address[1]}: {exc}") from exc
            started.add(address)
    except BaseException:
        stack.close()
        raise
    return stack
