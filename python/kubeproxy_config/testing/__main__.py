"""``python -m kubeproxy_config.testing serve``: run the fake API server until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

import yaml

from kubeproxy_config.testing._manifests import load_manifests
from kubeproxy_config.testing._status import StatusError
from kubeproxy_config.testing.server import FakeAPIServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kubeproxy_config.testing",
        description="A fake Kubernetes API server on 127.0.0.1, for tests and demos.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve until interrupted (Ctrl-C)")
    serve.add_argument("--port", type=int, default=0, help="TCP port (default: any free one)")
    serve.add_argument(
        "--manifests",
        action="append",
        default=[],
        metavar="PATH",
        help="YAML/JSON manifest file or directory to load (repeatable)",
    )
    serve.add_argument("--kubeconfig-out", metavar="FILE", help="where to write a kubeconfig")
    serve.add_argument("--token", help="require this bearer token")
    serve.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    serve.add_argument(
        "--bookmark-interval", type=float, default=1.0, help="seconds between watch bookmarks"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        objects = [obj for path in args.manifests for obj in load_manifests(path)]
    except (OSError, yaml.YAMLError) as exc:
        print(f"error: cannot load manifests: {exc}", file=sys.stderr)
        return 1
    try:
        server = FakeAPIServer(
            tls=args.tls, token=args.token, port=args.port, bookmark_interval=args.bookmark_interval
        )
    except ImportError as exc:  # --tls without the testing extra
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        count = server.load(objects)
    except StatusError as exc:
        print(f"error: invalid manifest object: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        server.start()
    except OSError as exc:
        print(f"error: cannot listen on port {args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        kubeconfig = server.kubeconfig(args.kubeconfig_out)
        print(f"serving {count} objects at {server.url}", flush=True)
        print(f"kubeconfig: {kubeconfig}", flush=True)
        print(f"try: kubectl --kubeconfig {kubeconfig} get services -A", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
