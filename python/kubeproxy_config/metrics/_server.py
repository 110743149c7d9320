"""One small HTTP server for ``/metrics``, ``/healthz``, ``/livez`` and ``/readyz`` (stdlib
``http.server`` plus ``prometheus_client``'s exposition), on a thread of its own."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from kubeproxy_config._lifecycle import Closing
from kubeproxy_config.metrics._health import Health, Verdict

logger = logging.getLogger("kubeproxy_config")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    registry: CollectorRegistry
    health: Health

    def __init__(self, address: str, port: int) -> None:
        if ":" in address:
            self.address_family = socket.AF_INET6
        # Connections being served and their threads: a scraper keeps its connection open
        # between scrapes, and the stdlib server neither closes such a connection when it stops
        # nor waits for its (daemon) thread.
        self._open: dict[socket.socket, threading.Thread] = {}
        self._open_lock = threading.Lock()
        self._closing = False
        super().__init__((address, port), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            if self._closing:
                return
            self._open[request] = threading.current_thread()
        try:
            super().finish_request(request, client_address)
        finally:
            with self._open_lock:
                self._open.pop(request, None)

    def close_connections(self, timeout: float) -> None:
        """End the connections still open and wait (up to ``timeout`` each) for their threads."""
        with self._open_lock:
            self._closing = True
            still_open = list(self._open.items())
        for sock, _ in still_open:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed by the client
                pass
        for _, thread in still_open:
            thread.join(timeout)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    _HEALTH: ClassVar[dict[str, str]] = {"/healthz": "live", "/livez": "live", "/readyz": "ready"}

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._reply(200, content_type, encoder(self.server.registry))
        elif path in self._HEALTH:
            health = self.server.health
            verdict: Verdict = health.live() if self._HEALTH[path] == "live" else health.ready()
            body = json.dumps(verdict.body).encode()
            self._reply(verdict.code, "application/json", body)
        else:
            self._reply(404, "text/plain; charset=utf-8", b"404 page not found\n")

    def _reply(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("metrics server: " + format, *args)


class MetricsServer(Closing):
    """A running ``/metrics`` + health server (see :func:`kubeproxy_config.metrics.serve`).

    ``port`` is the bound port (useful with ``port=0``), ``url`` its base URL; ``close()`` stops
    it (idempotent); usable as a context manager.
    """

    def __init__(
        self, address: str, port: int, registry: CollectorRegistry, health: Health
    ) -> None:
        self._server = _Server(address, port)
        self._server.registry = registry
        self._server.health = health
        self.registry = registry
        self.health = health
        self.address = address
        self.port: int = self._server.server_address[1]
        host = f"[{address}]" if ":" in address else address
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"kubeproxy-config-metrics-{self.port}",
            daemon=True,
        )
        self._closed = False
        self._lock = threading.Lock()
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections(timeout=5.0)
        self._thread.join()

    def __repr__(self) -> str:
        return f"<MetricsServer {self.url}{' closed' if self._closed else ''}>"
