"""``kubeproxy-config watch``: services with their ports and endpoints, live (SPEC §6).

Sources (``kubeproxy_config._cli_sources``, as kubectl chooses): each ``--manifests DIR`` is a
``FileSource`` (channels "file", "file-2", …, in the order given), ``--example`` the example
cluster shipped in ``kubeproxy_config/examples`` (channel "example"); ``--kubeconfig`` /
``--context`` / ``--in-cluster`` add a ``KubernetesSource`` (channel "api") created after them,
so on a key both define the manifests win. With none of these flags: ``$KUBECONFIG`` or
``~/.kube/config``, else the pod's service account, else the example cluster with a one-line
notice on stderr. The namespace is ``-n``, else all with ``-A``, else the kubeconfig context's
(all when it names none). ``-l`` selects Services by label (the API server filters them); their
endpoints are followed whatever their labels. ``--timeout`` bounds the first connection, its
retries and the first sync, live or ``--once``.

Output: on a terminal, a live table (one row per service port) with a status line; otherwise the
same columns as plain text, printed again after every change. ``--output json`` prints one JSON
document per change, one per line, keys sorted::

    {"namespace": null, "sources": ["file"], "synced": true,
     "version": {"endpointSlices": 3, "endpoints": 6, "services": 9},
     "services": [
       {"namespace": "shop", "name": "web", "type": "ClusterIP",
        "clusterIP": "10.96.20.10", "clusterIPs": ["10.96.20.10"], "externalName": null,
        "externalIPs": [], "loadBalancerIngress": [], "externalTrafficPolicy": null,
        "healthCheckNodePort": null,
        "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http",
                   "nodePort": null,
                   "endpoints": {"ready": ["10.244.1.5:8080"], "notReady": ["10.244.3.7:8080"],
                                 "terminating": []}}],
        "endpoints": {"ready": ["10.244.1.5", "10.244.2.6"], "notReady": ["10.244.3.7"],
                      "terminating": []},
        "endpointsFrom": "Endpoints"}],
     "proxy": {"ipFamily": "IPv4", "node": "node-a", "zone": null,
               "version": {"endpointSlices": 4, "endpoints": 4},
               "servicePorts": [{<ServicePortInfo.to_dict()>, "endpoints_from": "Endpoints"}]}}

``endpointsFrom`` is "EndpointSlices" when the service has slices
(``EndpointSliceConfig.endpoints_for``; as kube-proxy reads them), else "Endpoints" when an
Endpoints object of its key exists, else null. ``notReady`` and ``terminating`` are disjoint
(only slices mark endpoints terminating). Services are sorted by namespace and name, addresses
numerically (IPv4 first). Documents start once every source has synced.

The proxy view (SPEC §9, ``kubeproxy_config._proxy_render``): one row per service port of one IP
family (``--ip-family``, default IPv4), every endpoint marked unless ready, and with ``--node`` /
``--zone`` the endpoints that node uses for cluster and for local traffic ("-": not used, "none":
none). The table shows it once ``--node``, ``--zone`` or ``--ip-family`` is given; the JSON
document always has it, under ``"proxy"``.

Errors are one line on stderr (``kubeproxy-config: error: …``): exit status 2 for usage, 1 for
everything else, 130 after Ctrl-C. Warnings of the sources (a manifest that became invalid, an API
retry) are lines ``kubeproxy-config: warning: …`` on stderr, or the status line of the live view;
``-v`` adds INFO records, ``-vv`` DEBUG ones (``kubeproxy_config._cli_log``).
Set ``KUBEPROXY_CONFIG_DEBUG=1`` to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.metadata
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Protocol

from kubeproxy_config import _cli_record as record_commands
from kubeproxy_config import _metrics_flags as metrics_flags
from kubeproxy_config._cli_args import ApiLimits, add_output_arguments, add_source_arguments
from kubeproxy_config._cli_log import LogLines, one_line, verbosity
from kubeproxy_config._cli_sources import (
    Selection,
    ServiceSelector,
    SourceError,
    check_reachable,
    select,
)
from kubeproxy_config._config import EndpointsConfig, EndpointSliceConfig, ServiceConfig
from kubeproxy_config._proxy_render import follow
from kubeproxy_config._render import View, json_document, plain_table, rich_view, status_line
from kubeproxy_config.errors import Error
from kubeproxy_config.sources.files import FileSource

if TYPE_CHECKING:
    from rich.console import Group

__all__ = ["main"]

PROG = "kubeproxy-config"
_UNSYNCED_REFRESH = 0.25  # the live view's refresh period until every source has synced

_EXAMPLES = f"""\
examples:
  {PROG} watch                           the cluster of $KUBECONFIG or ~/.kube/config, live
  {PROG} watch --example --once          the example cluster shipped with the package
  {PROG} watch -A -l app=web             every namespace, the Services labelled app=web
  {PROG} watch --manifests ./deploy      a directory of YAML/JSON manifests, live
  {PROG} watch --manifests a --manifests b --namespace shop
  {PROG} watch --kubeconfig ~/.kube/config --context kind-dev
  {PROG} watch --in-cluster --output json | jq .services[].name
  {PROG} watch --once --output json      print once after the first sync and exit
  {PROG} watch --node node-a             what node-a programs: its cluster and local endpoints
  {PROG} watch --ip-family IPv6          the IPv6 service ports, every endpoint's state marked

--output json prints one document per change (newline-delimited, sorted keys):
  {{"version": {{...}}, "synced": true, "sources": [...], "services": [{{"namespace", "name",
  "type", "clusterIP", "ports": [...], "endpoints": {{"ready", "notReady", "terminating"}}}}],
  "proxy": {{"ipFamily", "node", "zone", "servicePorts": [ServicePortInfo.to_dict(), ...]}}}}
  (full shape: python -c "import kubeproxy_config.cli as c; help(c)")

exit status: 0 ok, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C)
"""


class CLIError(SourceError):
    """An error shown as one line on stderr, with exit status ``code``."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CLIError(f"{message} (see '{self.prog} --help')", 2)


class _Source(Protocol):
    def start(self) -> object: ...
    def stop(self) -> object: ...


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Show the Services and endpoints a Kubernetes service proxy would see.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    watch = commands.add_parser(
        "watch",
        help="show services with their ports and endpoints (ready, not ready, terminating), live",
        description="Show services with their ports and every endpoint with its state (ready, "
        "not ready, terminating), updated live until Ctrl-C. Sources as kubectl finds them: "
        "the flags, else $KUBECONFIG or ~/.kube/config, else the pod's service account, else "
        "the example cluster shipped with the package (with a notice on stderr). "
        "With --node, --zone or --ip-family the table is the proxy view: the service ports a "
        "proxy programs, every endpoint marked, and the endpoints the node uses for cluster and "
        "for local traffic.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_source_arguments(watch)
    add_output_arguments(watch)
    record_commands.add_commands(commands, add_source_arguments, add_output_arguments)
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("kubeproxy-config")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    previous_sigint = signal.getsignal(signal.SIGINT)
    try:
        args = _parser().parse_args(argv)
        if getattr(args, "in_cluster", False) and (
            args.kubeconfig is not None or args.context is not None
        ):
            raise CLIError("--in-cluster cannot be combined with --kubeconfig or --context", 2)
        if args.timeout is not None and not args.timeout > 0:
            raise CLIError("--timeout must be positive", 2)
        with verbosity(args.verbose) as log:
            if args.command == "record":
                return record_commands.record(args)
            return _watch(args, log)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except SourceError as exc:
        _print_error(str(exc))
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: still one line, the traceback on request
        if os.environ.get("KUBEPROXY_CONFIG_DEBUG"):
            raise
        _print_error(f"unexpected {type(exc).__name__}: {one_line(str(exc))}")
        return 1
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous_sigint)


def _print_error(message: str) -> None:
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr, flush=True)


class _Wake:
    """A handler for all three configs: any delivery (or sync) wakes the renderer (which reads
    the proxy views after flushing them, so they need no handler)."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(self, snapshot: object) -> None:
        self._event.set()

    def on_synced(self) -> None:
        self._event.set()


def _watch(args: argparse.Namespace, log: LogLines) -> int:
    deadline = time.monotonic() + args.timeout  # for everything up to the first sync
    text = getattr(args, "selector", None)
    selector = ServiceSelector.parse(text) if text else None
    replaying = args.command == "replay"
    with contextlib.ExitStack() as stack:
        chosen = Selection() if replaying else select(args, stack)
        if chosen.notice is not None:
            print(f"{PROG}: notice: {chosen.notice}", file=sys.stderr, flush=True)
        args.namespace = chosen.namespace
        services = stack.enter_context(ServiceConfig())
        endpoints = stack.enter_context(EndpointsConfig())
        slices = stack.enter_context(EndpointSliceConfig())
        configs = (services, endpoints, slices)
        changed = threading.Event()
        for config in configs:
            config.register_handler(_Wake(changed))
        proxy = follow(  # None: not shown
            args, services, endpoints, slices, stack, selector.matches_labels if selector else None
        )
        try:
            limits = ApiLimits.of(args)
            sources = _make_sources(
                chosen, selector, configs, stack, deadline, args.timeout, limits
            )
            if replaying:
                sources.append((None, record_commands.ReplaySource(args, configs)))
            for path, source in sources:
                _start(path, source)
                stack.callback(source.stop)
            _check_manifests(sources)
            try:
                stack.enter_context(metrics_flags.start(args, (*configs, *(s for _, s in sources))))
            except Error as exc:
                raise CLIError(str(exc)) from None
            namespace = chosen.namespace

            def read() -> View:
                return View.read(
                    services, endpoints, slices, namespace, proxy and proxy(), selector
                )

            if args.once:
                _wait_synced(configs, deadline, args.timeout, log)
                _check_manifests(sources)
                log.start_echo()
                _emit(args.output, read(), live=False)
                return 0
            _follow(args, read, changed, log, deadline)
        except KeyboardInterrupt:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: still clean up
            return 130
    return 0  # pragma: no cover - _follow only ends by an exception


def _make_sources(
    chosen: Selection,
    selector: ServiceSelector | None,
    configs: tuple[ServiceConfig, EndpointsConfig, EndpointSliceConfig],
    stack: contextlib.ExitStack,
    deadline: float,
    timeout: float,
    limits: ApiLimits,
) -> list[tuple[Path | None, _Source]]:
    services, endpoints, slices = configs
    sources: list[tuple[Path | None, _Source]] = [
        (
            path,
            FileSource(
                path, services=services, endpoints=endpoints, endpoint_slices=slices, source=name
            ),
        )
        for name, path in chosen.manifests
    ]
    if chosen.api is not None:
        check_reachable(chosen.api, deadline, timeout)
        api_client = chosen.api.api_client()
        stack.callback(api_client.close)
        try:
            from kubeproxy_config.sources.kubernetes import KubernetesSource
        except ImportError as exc:
            raise CLIError(
                f"the Kubernetes API source is not available in this installation ({exc})"
            ) from None
        scope = functools.partial(
            KubernetesSource,
            namespace=chosen.namespace,
            source="api",
            max_event_bytes=limits.max_event_bytes,
            max_page_bytes=limits.max_page_bytes,
        )
        if selector is None:
            source = scope(
                api_client, services=services, endpoints=endpoints, endpoint_slices=slices
            )
            sources.append((None, source))
        else:  # -l chooses Services; the endpoints of those must come whatever their labels
            labelled = scope(api_client, services=services, label_selector=selector.text)
            endpoints_of_all = scope(api_client, endpoints=endpoints, endpoint_slices=slices)
            sources += [(None, labelled), (None, endpoints_of_all)]
    return sources


def _start(path: Path | None, source: _Source) -> None:
    try:
        source.start()
    except OSError as exc:
        if path is None:
            raise CLIError(f"cannot start the API source: {exc}") from None
        raise CLIError(f"cannot read manifests {path}: {exc.strerror or exc}") from None
    except Exception as exc:
        what = "the API source" if path is None else f"manifests {path}"
        raise CLIError(f"cannot start {what}: {type(exc).__name__}: {exc}") from None


def _check_manifests(sources: list[tuple[Path | None, _Source]]) -> None:
    errors = [
        item
        for _, source in sources
        if isinstance(source, FileSource)
        for item in source.last_errors.items()
    ]
    if errors:
        path, message = errors[0]
        more = f" (and {len(errors) - 1} more invalid files)" if len(errors) > 1 else ""
        raise CLIError(f"invalid manifest {path}: {message}{more}")


def _sync_timeout(timeout: float, log: LogLines) -> CLIError:
    last = f" (last warning: {log.messages[-1]})" if log.messages else ""
    return CLIError(f"timed out after {timeout:g} s waiting for the sources to sync{last}")


def _wait_synced(
    configs: Sequence[ServiceConfig | EndpointsConfig | EndpointSliceConfig],
    deadline: float,
    timeout: float,
    log: LogLines,
) -> None:
    for config in configs:
        if not config.wait_synced(max(0.0, deadline - time.monotonic())):
            raise _sync_timeout(timeout, log)
    for config in configs:
        config.flush(max(0.1, deadline - time.monotonic()))


def _emit(output: str, view: View, *, live: bool) -> None:
    if output == "json":
        sys.stdout.write(json.dumps(json_document(view), sort_keys=True) + "\n")
    elif sys.stdout.isatty():
        from rich.console import Console

        console = Console()
        console.print(rich_view(view, width=console.width))
    else:
        if live:
            sys.stdout.write(f"# {status_line(view)}\n")
        sys.stdout.write(plain_table(view) + "\n")
        if live:
            sys.stdout.write("\n")
    sys.stdout.flush()


def _follow(
    args: argparse.Namespace,
    read: Callable[[], View],
    changed: threading.Event,
    log: LogLines,
    deadline: float,
) -> None:
    """Render after every change until Ctrl-C (KeyboardInterrupt); a ``CLIError`` when the
    sources have not synced by ``deadline``."""

    if args.output == "table" and sys.stdout.isatty():
        from rich.console import Console
        from rich.live import Live

        log.on_message = changed.set
        console = Console()

        def draw(view: View) -> Group:
            return rich_view(view, log.messages, console.width)

        # With -v, records are printed above the live table (rich redirects stderr there).
        with Live(
            draw(read()), console=console, auto_refresh=False, redirect_stderr=log.echo
        ) as live:

            def redraw(view: View) -> None:
                live.update(draw(view), refresh=True)

            _render_changes(read, changed, redraw, deadline, args.timeout, log)
    else:
        log.start_echo()
        _render_changes(read, changed, _printer(args.output), deadline, args.timeout, log)


def _render_changes(
    read: Callable[[], View],
    changed: threading.Event,
    render: Callable[[View], None],
    deadline: float,
    timeout: float,
    log: LogLines,
) -> NoReturn:
    """Read the view and hand it to ``render`` after every change, until an exception; the
    first sync must come before ``deadline``."""
    synced = False
    while True:
        if synced:
            changed.wait()
        else:
            # Until synced, look again now and then: a config synced by an empty SET delivers
            # nothing.
            left = deadline - time.monotonic()
            if left <= 0:
                raise _sync_timeout(timeout, log)
            changed.wait(min(_UNSYNCED_REFRESH, left))
        changed.clear()
        view = read()
        synced = view.synced
        render(view)


def _printer(output: str) -> Callable[[View], None]:
    """Print each synced view whose versions differ from the last one printed."""
    shown: tuple[object, ...] | None = None

    def render(view: View) -> None:
        nonlocal shown
        if view.synced and view.revision != shown:
            shown = view.revision
            _emit(output, view, live=True)

    return render
