"""``kubeproxy-config watch``: services with their ports and endpoints, live (SPEC §6).

Sources: each ``--manifests DIR`` is a ``FileSource`` (channels "file", "file-2", …, in the order
given); ``--kubeconfig`` / ``--context`` / ``--in-cluster`` add a ``KubernetesSource`` (channel
"api") created after them, so on a key both define the manifests win. With no source the example
cluster shipped in ``kubeproxy_config/examples`` is shown.

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
                   "endpoints": {"ready": ["10.244.1.5:8080"], "notReady": ["10.244.3.7:8080"]}}],
        "endpoints": {"ready": ["10.244.1.5", "10.244.2.6"], "notReady": ["10.244.3.7"]},
        "endpointsFrom": "Endpoints"}],
     "proxy": {"ipFamily": "IPv4", "node": "node-a", "zone": null,
               "version": {"endpointSlices": 4, "endpoints": 4},
               "servicePorts": [{<ServicePortInfo.to_dict()>, "endpoints_from": "Endpoints"}]}}

``endpointsFrom`` is "Endpoints" when an Endpoints object of the service's key exists,
"EndpointSlices" when only slices do (``EndpointSliceConfig.endpoints_for``), else null. Services
are sorted by namespace and name, addresses numerically (IPv4 first). Documents start once every
source has synced.

The proxy view (SPEC §9, ``kubeproxy_config._proxy_render``): one row per service port of one IP
family (``--ip-family``, default IPv4), every endpoint marked unless ready, and with ``--node`` /
``--zone`` the endpoints that node uses for cluster and for local traffic ("-": not used, "none":
none). The table shows it once ``--node``, ``--zone`` or ``--ip-family`` is given; the JSON
document always has it, under ``"proxy"``.

Errors are one line on stderr (``kubeproxy-config: error: …``): exit status 2 for usage, 1 for
everything else, 130 after Ctrl-C. Warnings of the sources (a manifest that became invalid, an API
retry) are lines ``kubeproxy-config: warning: …`` on stderr, or the status line of the live view.
Set ``KUBEPROXY_CONFIG_DEBUG=1`` to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib.metadata
import importlib.resources
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from kubeproxy_config import _metrics_flags as metrics_flags
from kubeproxy_config._config import EndpointsConfig, EndpointSliceConfig, ServiceConfig
from kubeproxy_config._proxy_render import add_arguments, follow
from kubeproxy_config._render import View, json_document, plain_table, rich_view, status_line
from kubeproxy_config.errors import Error
from kubeproxy_config.sources._kubeconfig import ClientConfig, load_in_cluster, load_kubeconfig
from kubeproxy_config.sources.files import FileSource

if TYPE_CHECKING:
    from rich.console import Group

__all__ = ["main"]

PROG = "kubeproxy-config"
_SYNC_TIMEOUT = 30.0
_API_CHECK_TIMEOUT = 10.0
_UNSYNCED_REFRESH = 0.25  # the live view's refresh period until every source has synced

_EXAMPLES = f"""\
examples:
  {PROG} watch                           the example cluster shipped with the package
  {PROG} watch --manifests ./deploy      a directory of YAML/JSON manifests, live
  {PROG} watch --manifests a --manifests b --namespace shop
  {PROG} watch --kubeconfig ~/.kube/config --context kind-dev
  {PROG} watch --in-cluster --output json | jq .services[].name
  {PROG} watch --once --output json      print once after the first sync and exit
  {PROG} watch --node node-a             what node-a programs: its cluster and local endpoints
  {PROG} watch --ip-family IPv6          the IPv6 service ports, every endpoint's state marked

--output json prints one document per change (newline-delimited, sorted keys):
  {{"version": {{...}}, "synced": true, "sources": [...], "services": [{{"namespace", "name",
  "type", "clusterIP", "ports": [...], "endpoints": {{"ready": [...], "notReady": [...]}}}}],
  "proxy": {{"ipFamily", "node", "zone", "servicePorts": [ServicePortInfo.to_dict(), ...]}}}}
  (full shape: python -c "import kubeproxy_config.cli as c; help(c)")

exit status: 0 ok, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C)
"""


class CLIError(Exception):
    """An error shown as one line on stderr, with exit status ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


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
        help="show services with their ports and ready/not-ready endpoints, live",
        description="Show services with their ports and ready/not-ready endpoints, updated live "
        "until Ctrl-C. With no source, the example cluster shipped with the package is shown. "
        "With --node, --zone or --ip-family the table is the proxy view: the service ports a "
        "proxy programs, every endpoint marked, and the endpoints the node uses for cluster and "
        "for local traffic.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = watch.add_argument_group("sources")
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
    view = watch.add_argument_group("output")
    view.add_argument("-n", "--namespace", metavar="NS", help="show only this namespace")
    view.add_argument(
        "-o", "--output", choices=("table", "json"), default="table", help="default: table"
    )
    view.add_argument("--once", action="store_true", help="print after the first sync and exit")
    view.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=_SYNC_TIMEOUT,
        help=f"with --once, how long to wait for the sources to sync (default {_SYNC_TIMEOUT:g})",
    )
    add_arguments(watch)
    metrics_flags.add_arguments(watch)
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("kubeproxy-config")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    previous_sigint = signal.getsignal(signal.SIGINT)
    warnings = _Warnings()
    root = logging.getLogger()
    root.addHandler(warnings)
    try:
        args = _parser().parse_args(argv)
        if args.in_cluster and (args.kubeconfig is not None or args.context is not None):
            raise CLIError("--in-cluster cannot be combined with --kubeconfig or --context", 2)
        if args.timeout <= 0:
            raise CLIError("--timeout must be positive", 2)
        return _watch(args, warnings)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except CLIError as exc:
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
        _print_error(f"unexpected {type(exc).__name__}: {_one_line(str(exc))}")
        return 1
    finally:
        root.removeHandler(warnings)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous_sigint)


def _print_error(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr, flush=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Warnings(logging.Handler):
    """Warnings of this package's logger: kept for the status line and error messages, printed to
    stderr (one line each) once ``echo`` is on; records of other loggers are dropped."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: collections.deque[str] = collections.deque(maxlen=20)
        self.echo = False
        self.on_message: Callable[[], None] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("kubeproxy_config"):
            return
        try:
            message = _one_line(record.getMessage())
            if record.exc_info and record.exc_info[1] is not None:
                message += f": {_one_line(str(record.exc_info[1]))}"
        except Exception:
            self.handleError(record)
            return
        self.messages.append(message)
        if self.echo:
            self._print(message)
        if self.on_message is not None:
            self.on_message()

    def start_echo(self) -> None:
        """Print the warnings kept so far, and every later one as it comes."""
        for message in self.messages:
            self._print(message)
        self.echo = True

    @staticmethod
    def _print(message: str) -> None:
        print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)


class _Wake:
    """A handler for all three configs: any delivery (or sync) wakes the renderer (which reads
    the proxy views after flushing them, so they need no handler)."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(self, snapshot: object) -> None:
        self._event.set()

    def on_synced(self) -> None:
        self._event.set()


def _watch(args: argparse.Namespace, warnings: _Warnings) -> int:
    with contextlib.ExitStack() as stack:
        services = stack.enter_context(ServiceConfig())
        endpoints = stack.enter_context(EndpointsConfig())
        slices = stack.enter_context(EndpointSliceConfig())
        configs = (services, endpoints, slices)
        changed = threading.Event()
        for config in configs:
            config.register_handler(_Wake(changed))
        proxy = follow(args, services, endpoints, slices, stack)  # None: not shown
        try:
            sources = _make_sources(args, services, endpoints, slices, stack)
            for path, source in sources:
                _start(path, source)
                stack.callback(source.stop)
            _check_manifests(sources)
            try:
                stack.enter_context(metrics_flags.start(args, (*configs, *(s for _, s in sources))))
            except Error as exc:
                raise CLIError(str(exc)) from None
            namespace: str | None = args.namespace

            def read() -> View:
                return View.read(services, endpoints, slices, namespace, proxy and proxy())

            if args.once:
                _wait_synced(configs, args.timeout, warnings)
                _check_manifests(sources)
                warnings.start_echo()
                _emit(args.output, read(), live=False)
                return 0
            _follow(args.output, read, changed, warnings)
        except KeyboardInterrupt:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: still clean up
            return 130
    return 0  # pragma: no cover - _follow only ends by an exception


def _make_sources(
    args: argparse.Namespace,
    services: ServiceConfig,
    endpoints: EndpointsConfig,
    slices: EndpointSliceConfig,
    stack: contextlib.ExitStack,
) -> list[tuple[Path | None, _Source]]:
    manifests, api = _select_sources(args, stack)
    sources: list[tuple[Path | None, _Source]] = [
        (
            path,
            FileSource(
                path,
                services=services,
                endpoints=endpoints,
                endpoint_slices=slices,
                source="file" if i == 0 else f"file-{i + 1}",
            ),
        )
        for i, path in enumerate(manifests)
    ]
    if api is not None:
        api_client = api.api_client()
        stack.callback(api_client.close)
        _check_reachable(api_client, api.host)
        try:
            from kubeproxy_config.sources.kubernetes import KubernetesSource
        except ImportError as exc:
            raise CLIError(
                f"the Kubernetes API source is not available in this installation ({exc})"
            ) from None
        api_source: _Source = KubernetesSource(
            api_client,
            services=services,
            endpoints=endpoints,
            endpoint_slices=slices,
            namespace=args.namespace,
            source="api",
        )
        sources.append((None, api_source))
    return sources


def _select_sources(
    args: argparse.Namespace, stack: contextlib.ExitStack
) -> tuple[list[Path], ClientConfig | None]:
    """Which sources to follow (SPEC §6): the manifests to read, in order, and the API server's
    configuration (None: no API source). ``--kubeconfig`` / ``--context`` / ``--in-cluster`` add
    the API; with no source at all, the example cluster shipped with the package is read."""
    manifests: list[Path] = list(args.manifests)
    api: ClientConfig | None = None
    try:
        if args.in_cluster:
            api = load_in_cluster()
        elif args.kubeconfig is not None or args.context is not None:
            api = load_kubeconfig(args.kubeconfig, args.context)
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise CLIError(f"the kubernetes client is not installed ({exc})") from None
    except Error as exc:
        raise CLIError(str(exc)) from None
    if not manifests and api is None:
        examples = importlib.resources.files("kubeproxy_config") / "examples"
        manifests = [stack.enter_context(importlib.resources.as_file(examples))]
    return manifests, api


def _check_reachable(api_client: Any, host: str) -> None:
    """Fail early, with a clear message, when the API server cannot be reached or refuses us
    (the source itself would retry forever)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        client.VersionApi(api_client).get_code(_request_timeout=_API_CHECK_TIMEOUT)
    except ApiException as exc:
        if exc.status in (401, 403):
            raise CLIError(
                f"the API server at {host} refused the credentials: {exc.status} {exc.reason}"
            ) from None
        # Any other answer means it is there; the source reports what follows.
    except HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        raise CLIError(f"cannot reach the API server at {host}: {reason}") from None


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


def _wait_synced(
    configs: Sequence[ServiceConfig | EndpointsConfig | EndpointSliceConfig],
    timeout: float,
    warnings: _Warnings,
) -> None:
    deadline = time.monotonic() + timeout
    for config in configs:
        if not config.wait_synced(max(0.0, deadline - time.monotonic())):
            last = f" (last warning: {warnings.messages[-1]})" if warnings.messages else ""
            raise CLIError(f"timed out after {timeout:g} s waiting for the sources to sync{last}")
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
    output: str, read: Callable[[], View], changed: threading.Event, warnings: _Warnings
) -> None:
    """Render after every change until Ctrl-C (KeyboardInterrupt)."""
    if output == "table" and sys.stdout.isatty():
        from rich.console import Console
        from rich.live import Live

        warnings.on_message = changed.set
        console = Console()

        def draw(view: View) -> Group:
            return rich_view(view, warnings.messages, console.width)

        with Live(draw(read()), console=console, auto_refresh=False, redirect_stderr=False) as live:
            _render_changes(read, changed, lambda view: live.update(draw(view), refresh=True))
    else:
        warnings.start_echo()
        _render_changes(read, changed, _printer(output))


def _render_changes(
    read: Callable[[], View], changed: threading.Event, render: Callable[[View], None]
) -> NoReturn:
    """Read the view and hand it to ``render`` after every change, until an exception."""
    synced = False
    while True:
        # Until synced, look again now and then: a config synced by an empty SET delivers nothing.
        changed.wait(None if synced else _UNSYNCED_REFRESH)
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
