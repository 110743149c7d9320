"""``kubeproxy-config record`` and ``replay`` (SPEC §11): what the API source receives, written
to a file as it arrives, and played back into the same table ``watch`` shows.

``record`` follows Services, Endpoints and EndpointSlices of the API server that ``watch`` would
choose (the same source flags; manifests and the example cluster are not recorded) until Ctrl-C
or ``--timeout``, keeping everything received. ``replay FILE`` plays a recording at its recorded
pace (``--speed X``: X times faster; ``--max-speed``: as fast as possible) and shows it live, or
with ``--once`` prints the table after the whole file has played.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeproxy_config._cli_args import byte_size
from kubeproxy_config._cli_sources import SourceError, check_reachable, select
from kubeproxy_config._limits import DEFAULT_MAX_LINE_BYTES
from kubeproxy_config.errors import Error

if TYPE_CHECKING:
    from kubeproxy_config._config import EndpointsConfig, EndpointSliceConfig, ServiceConfig

    Configs = tuple[ServiceConfig, EndpointsConfig, EndpointSliceConfig]

PROG = "kubeproxy-config"
_REACH_TIMEOUT = 30.0  # seconds to reach the API server before recording starts

AddArguments = Callable[[argparse.ArgumentParser], None]


def add_commands(commands: Any, add_sources: AddArguments, add_output: AddArguments) -> None:
    """Add ``record`` and ``replay`` to the command line's subcommands."""
    record = commands.add_parser(
        "record",
        help="record what the API source receives, to replay it later",
        description="Record the Services, Endpoints and EndpointSlices the API source receives "
        "(list pages, watch events, bookmarks, errors, each with its resource and time) into "
        "FILE as NDJSON (gzip when FILE ends in .gz), until Ctrl-C or --timeout. The API server "
        "is chosen as for watch.",
    )
    add_sources(record)
    record.add_argument(
        "-o", "--output", metavar="FILE", type=Path, required=True, help="the recording to write"
    )
    record.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=None,
        help="stop recording after SECONDS (default: at Ctrl-C)",
    )
    record.add_argument("-v", "--verbose", action="count", default=0, help="log more to stderr")
    replay = commands.add_parser(
        "replay",
        help="play a recording and show it as watch does",
        description="Play a recording made by record (or KubernetesSource(record=...)) into "
        "configs and show the table watch shows: live at the recorded pace, or with --once "
        "after the whole file has played.",
    )
    replay.add_argument("file", metavar="FILE", type=Path, help="the recording to play")
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed", metavar="X", type=float, default=1.0, help="X times the recorded pace"
    )
    pace.add_argument("--max-speed", action="store_true", help="as fast as possible")
    replay.add_argument(
        "--max-line-bytes",
        metavar="SIZE",
        type=byte_size,
        default=DEFAULT_MAX_LINE_BYTES,
        help="the longest recording line read (default 1Gi, after decompression); a longer "
        "one is an error",
    )
    add_output(replay)


def record(args: argparse.Namespace) -> int:
    """``kubeproxy-config record``: returns the exit status."""
    from kubeproxy_config._config import EndpointsConfig, EndpointSliceConfig, ServiceConfig
    from kubeproxy_config.sources.kubernetes import KubernetesSource

    if args.manifests or args.example:
        raise SourceError("record follows an API server only: drop --manifests and --example", 2)
    with contextlib.ExitStack() as stack:
        chosen = select(args, stack)
        if chosen.api is None:
            raise SourceError("record needs an API server: no kubeconfig and not in a pod")
        check_reachable(chosen.api, time.monotonic() + _REACH_TIMEOUT, _REACH_TIMEOUT)
        api_client = chosen.api.api_client()
        stack.callback(api_client.close)
        services = stack.enter_context(ServiceConfig())
        endpoints = stack.enter_context(EndpointsConfig())
        slices = stack.enter_context(EndpointSliceConfig())
        try:
            source = KubernetesSource(
                api_client,
                services=services,
                endpoints=endpoints,
                endpoint_slices=slices,
                namespace=chosen.namespace,
                label_selector=args.selector,
                record=args.output,
                max_event_bytes=args.max_event_bytes,
                max_page_bytes=args.max_page_bytes,
            )
            source.start()
        except (OSError, Error) as exc:
            raise SourceError(str(exc)) from None
        print(f"{PROG}: recording to {args.output} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        try:
            threading.Event().wait(args.timeout)  # the recording's length
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the file
        finally:
            source.stop()
        events = sum(figures["events"] for figures in source.stats().values())
        print(f"{PROG}: recorded {events} events to {args.output}", file=sys.stderr, flush=True)
    return 0


class ReplaySource:
    """A recording played into the configs as one more source of ``watch``'s view (channel
    "replay"). With ``--once`` ``start()`` plays the whole file (errors raise); live, a thread
    plays it at the chosen pace and a bad line becomes a warning of the view."""

    def __init__(self, args: argparse.Namespace, configs: Configs) -> None:
        self._path: Path = args.file
        self._configs = configs
        self._once: bool = args.once
        self._speed: float | None = None if args.max_speed or args.once else args.speed
        self._max_line_bytes: int = args.max_line_bytes
        self._thread: threading.Thread | None = None

    def _play(self) -> None:
        from kubeproxy_config.testing import replay

        services, endpoints, slices = self._configs
        replay(
            self._path,
            services=services,
            endpoints=endpoints,
            endpoint_slices=slices,
            speed=self._speed,
            source="replay",
            max_line_bytes=self._max_line_bytes,
        )
        for config in self._configs:  # the whole file has played: what it lacks is empty
            config.channel("replay").mark_synced()

    def _play_logged(self) -> None:
        try:
            self._play()
        except Error as exc:
            logging.getLogger("kubeproxy_config").warning("%s", exc)

    def start(self) -> None:
        if not self._path.is_file():
            raise SourceError(f"no recording at {self._path}")
        if self._once:
            try:
                self._play()
            except Error as exc:
                raise SourceError(str(exc)) from None
            return
        self._thread = threading.Thread(target=self._play_logged, name="replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Nothing to interrupt: closing the configs ends a replay still playing."""
