"""HTTP/1.1 request handling: routing, authentication, faults, REST verbs and watch streams."""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from kubeproxy_config.testing import _discovery, _status
from kubeproxy_config.testing._admission import admit
from kubeproxy_config.testing._allocator import Allocator
from kubeproxy_config.testing._apply import apply_merge, parse_applied, require_field_manager
from kubeproxy_config.testing._faults import Faults, RequestLog, RequestRecord
from kubeproxy_config.testing._listing import Query, list_objects, namespace_objects, parse_rv
from kubeproxy_config.testing._objects import normalize, parse_json
from kubeproxy_config.testing._patch import APPLY, apply_patch, media_type
from kubeproxy_config.testing._resources import NAMESPACES, SERVICES, Resource, lookup
from kubeproxy_config.testing._status import StatusError
from kubeproxy_config.testing._store import Obj, Store, Watcher
from kubeproxy_config.testing._table import table, wants_table
from kubeproxy_config.testing._watch import PIECE, WatchOptions, encode_event, run_watch

logger = logging.getLogger("kubeproxy_config.testing")
_TRUE = ("1", "true", "True")


@dataclass
class Context:
    """Server-wide state shared by every request handler."""

    store: Store
    faults: Faults
    log: RequestLog
    token: str | None
    bookmark_interval: float
    alloc: Allocator
    watch_list: bool = True  # the WatchList feature gate (streaming lists)
    stopping: threading.Event = field(default_factory=threading.Event)
    tls: ssl.SSLContext | None = None
    connections: set[socket.socket] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Route:
    """What a request path names."""

    resource: Resource | None = None
    namespace: str | None = None
    name: str | None = None
    watch_path: bool = False  # the legacy /watch/ path prefix
    document: str | None = None  # a discovery path, for non-resource requests


def parse_route(path: str) -> Route:
    """Split a request path into resource, namespace and name (or a discovery document)."""
    parts = [unquote(p) for p in path.strip("/").split("/") if p]
    if len(parts) <= 1 or (parts[0] == "apis" and len(parts) <= 3) or parts == ["api", "v1"]:
        return Route(document="/" + "/".join(parts))
    if parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return Route(document="/" + "/".join(parts))
    watch = rest[:1] == ["watch"]
    rest = rest[1:] if watch else rest
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    res = lookup(group, version, rest[0]) if rest else None
    if res is None or len(rest) > 2 or (namespace is not None and not res.namespaced):
        return Route(document="/" + "/".join(parts))
    return Route(res, namespace, rest[1] if len(rest) == 2 else None, watch)


def classify(method: str, route: Route, params: dict[str, str]) -> str:
    """The Kubernetes verb of a request (``discovery`` / ``other`` for non-resources)."""
    if route.resource is None:
        return "discovery" if method == "GET" else "other"
    if method == "GET":
        if route.watch_path or params.get("watch") in _TRUE:
            return "watch"
        return "list" if route.name is None else "get"
    if route.name is None:
        return {"POST": "create", "DELETE": "deletecollection"}.get(method, "other")
    return {"PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "other")


def _delete_response(res: Resource, obj: Obj) -> Obj:
    if res is SERVICES:
        return obj
    meta = obj["metadata"]
    return _status.success(meta["name"], res.plural, meta["uid"], res.group)


class APIHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that tracks its connections and speaks TLS per connection."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], ctx: Context) -> None:
        self.ctx = ctx
        super().__init__(address, Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection with Nagle's algorithm off, as the Go API server does: a response
        is written in pieces (headers, body; watch events one by one) and, with Nagle on, a
        small last piece waits for the client's delayed ACK (tens of ms per response)."""
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Handle one connection (TLS handshake first, in this connection's own thread)."""
        sock: socket.socket = request
        ctx = self.ctx
        if ctx.tls is not None:
            sock.settimeout(10)
            try:
                sock = ctx.tls.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                return
            sock.settimeout(None)
        with ctx.lock:
            if ctx.stopping.is_set():
                return
            ctx.connections.add(sock)
        try:
            super().finish_request(sock, client_address)
        finally:
            with ctx.lock:
                ctx.connections.discard(sock)
            if sock is not request:
                try:
                    sock.close()
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection errors are expected (faults, stops): log them quietly."""
        logger.debug("error on connection from %s", client_address, exc_info=True)


class Handler(BaseHTTPRequestHandler):
    """Serves one connection; one instance per connection, in its own thread."""

    protocol_version = "HTTP/1.1"
    server: APIHTTPServer
    _verb = "other"
    _resource: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        """Send the access log to the logger rather than stderr."""
        logger.debug("%s " + format, self.address_string(), *args)

    def send_response(self, code: int, message: str | None = None) -> None:
        """Send the status line, recording the request in the server's log."""
        path, _, query = self.path.partition("?")
        self.server.ctx.log.add(
            RequestRecord(self.command, path, query, self._verb, self._resource, code)
        )
        super().send_response(code, message)

    def do_GET(self) -> None:
        """GET: discovery, get, list, watch."""
        self._handle()

    def do_POST(self) -> None:
        """POST: create."""
        self._handle()

    def do_PUT(self) -> None:
        """PUT: replace."""
        self._handle()

    def do_PATCH(self) -> None:
        """PATCH: merge, strategic merge or JSON patch."""
        self._handle()

    def do_DELETE(self) -> None:
        """DELETE: one object or a collection."""
        self._handle()

    # -- plumbing -------------------------------------------------------------------------------

    def _send_json(self, code: int, obj: Any) -> None:
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(body)

    def _send_padded(self, obj: Any, size: int, announce: bool) -> None:
        """A 200 answer of ``obj`` padded with spaces (still valid JSON) to ``size`` bytes,
        written in pieces, with a Content-Length when ``announce``, else chunked."""
        body = json.dumps(obj, separators=(",", ":")).encode()
        left = max(0, size - len(body))
        faults = self.server.ctx.faults
        self.close_connection = True  # a client that stops reading leaves the body unfinished
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if announce:
            self.send_header("Content-Length", str(len(body) + left))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        send: Callable[[bytes], object] = self.wfile.write if announce else self._write_chunk
        send(body)
        while left > 0:
            n = min(left, PIECE)
            send(b" " * n)
            faults.wrote_oversized(n)
            left -= n
        if not announce:
            self._write_chunk(b"")

    def _send_status(self, status: dict[str, Any]) -> None:
        self._send_json(status["code"], status)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if data else b"0\r\n\r\n")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        ctx = self.server.ctx
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self._read_body()
        route = parse_route(url.path)
        self._verb = classify(self.command, route, params)
        self._resource = route.resource.plural if route.resource else None
        if ctx.faults.delay > 0:
            ctx.stopping.wait(ctx.faults.delay)
        if ctx.token is not None and not _bearer_is(self.headers.get("Authorization"), ctx.token):
            self._send_status(_status.unauthorized())
            return
        failure = ctx.faults.take_failure(self._verb)
        if failure is not None:
            self._send_status(_status.internal_error("injected failure", failure))
            return
        try:
            result = self._serve(route, params, body)
        except StatusError as exc:
            self._send_status(exc.status)
        except Exception as exc:
            logger.exception("fake API server failed on %s %s", self.command, self.path)
            self._send_status(_status.internal_error(f"{type(exc).__name__}: {exc}"))
        else:
            oversized = ctx.faults.take_oversized_list() if self._verb == "list" else None
            if result is not None and oversized is not None:
                self._send_padded(result[1], *oversized)
            elif result is not None:
                self._send_json(*result)

    # -- verbs ----------------------------------------------------------------------------------

    def _serve(self, route: Route, params: dict[str, str], body: bytes) -> tuple[int, Any] | None:
        res = route.resource
        if res is None:
            return self._discovery(route.document or "/")
        verb = self._verb
        if verb not in res.verbs:
            message = f"the server does not allow this method on the requested resource ({verb})"
            raise StatusError(_status.status(405, message, "MethodNotAllowed"))
        store, alloc = self.server.ctx.store, self.server.ctx.alloc
        key = (route.namespace or "", route.name or "")
        if verb == "watch":
            self._watch(route, params)
            return None
        if verb == "list":
            if "sendInitialEvents" in params:
                message = "sendInitialEvents is forbidden for list"
                raise StatusError(_status.status(422, message, "Invalid"))
            listed = list_objects(store, res, Query.parse(route.namespace, params), params)
            if wants_table(self.headers.get("Accept")):
                return 200, table(res, listed["items"], listed["metadata"])
            return 200, listed
        if verb == "get":
            if res is NAMESPACES:
                obj = namespace_objects(store).get(key)
            else:
                obj = store.get(res, key)
            if obj is None:
                raise StatusError(_status.not_found(res.plural, key[1], res.group))
            if wants_table(self.headers.get("Accept")):
                return 200, table(res, [obj])
            return 200, obj
        if verb == "create":
            if res.namespaced and route.namespace is None:
                raise StatusError(_status.status(405, "create needs a namespaced path"))
            obj = normalize(res, parse_json(body), route.namespace)
            with store.cond:  # allocate and commit as one step
                return 201, store.create(res, admit(res, obj, None, alloc))
        if verb == "update":
            new = normalize(res, parse_json(body), route.namespace)
            if new["metadata"].get("name") != route.name:
                message = "the name of the object does not match the name on the URL"
                raise StatusError(_status.bad_request(message))
            return 200, store.update(res, key, lambda cur: admit(res, new, cur, alloc))
        if verb == "patch":
            content_type = self.headers.get("Content-Type") or ""
            if media_type(content_type) == APPLY:
                return self._server_side_apply(route, key, params, body)
            patch = parse_json(body)
            return 200, store.update(
                res, key, lambda cur: admit(res, _patched(cur, content_type, patch), cur, alloc)
            )
        if verb == "delete":
            options = parse_json(body) if body else {}
            pre = (options.get("preconditions") or {}) if isinstance(options, dict) else {}
            return 200, _delete_response(res, store.delete(res, key, pre.get("resourceVersion")))
        if verb == "deletecollection":
            query = Query.parse(route.namespace, params)
            for item in list_objects(store, res, query, {})["items"]:
                meta = item["metadata"]
                store.delete(res, (meta.get("namespace") or "", meta["name"]))
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
        raise StatusError(_status.status(405, f"{self.command} is not supported here"))

    def _server_side_apply(
        self, route: Route, key: tuple[str, str], params: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        res = route.resource
        assert res is not None and route.name is not None
        require_field_manager(params)
        applied = parse_applied(body, res, route.name)
        store, alloc = self.server.ctx.store, self.server.ctx.alloc
        with store.cond:  # create-or-merge as one step
            if store.get(res, key) is None:
                obj = normalize(res, applied, route.namespace)
                return 201, store.create(res, admit(res, obj, None, alloc))
            return 200, store.update(
                res, key, lambda cur: admit(res, apply_merge(cur, applied), cur, alloc)
            )

    def _discovery(self, path: str) -> tuple[int, Any]:
        doc: dict[str, Any] | None = None
        if path == "/version":
            doc = _discovery.version()
        elif path == "/api":
            doc = _discovery.core_versions(f"127.0.0.1:{self.server.server_port}")
        elif path == "/apis":
            doc = _discovery.group_list()
        elif path == "/api/v1":
            doc = _discovery.resource_list("", "v1")
        elif path == "/openapi/v3":
            doc = _discovery.openapi_v3_root()
        elif path.startswith("/openapi/v3/"):
            doc = _discovery.openapi_v3_spec(path.removeprefix("/openapi/v3/"))
        elif path.startswith("/apis/"):
            parts = path.split("/")[2:]
            if len(parts) == 1:
                doc = _discovery.group(parts[0])
            elif len(parts) == 2:
                doc = _discovery.resource_list(parts[0], parts[1])
        if doc is None:
            message = "the server could not find the requested resource"
            raise StatusError(_status.status(404, message, "NotFound"))
        return 200, doc

    def _watch(self, route: Route, params: dict[str, str]) -> None:
        ctx = self.server.ctx
        res = route.resource
        assert res is not None
        selected = Query.parse(route.namespace, params).predicate()
        name = route.name

        def predicate(obj: Obj) -> bool:
            return (name is None or obj["metadata"]["name"] == name) and selected(obj)

        bookmarks = params.get("allowWatchBookmarks") in _TRUE
        timeout_text = params.get("timeoutSeconds")
        try:
            timeout = float(timeout_text) if timeout_text else None
        except ValueError:
            raise StatusError(
                _status.bad_request(f"invalid timeoutSeconds {timeout_text!r}")
            ) from None
        since = parse_rv(params.get("resourceVersion"))
        initial = streaming_list(params, ctx.watch_list)
        error: dict[str, Any] | None = None
        watcher: Watcher | None = None
        try:
            if initial:
                watcher = ctx.store.watch_list(res, predicate)
            else:
                watcher = ctx.store.watch(res, predicate, since, bookmarks)
        except StatusError as exc:
            error = exc.status
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if watcher is None:
            self._write_chunk(encode_event("ERROR", error or {}))
            self._write_chunk(b"")
            return
        conn = self.connection
        watcher.on_drop = lambda: _shutdown(conn)
        render = None
        if wants_table(self.headers.get("Accept")):
            render = lambda obj: table(res, [obj])  # noqa: E731
        options = WatchOptions(timeout, ctx.bookmark_interval if bookmarks else None, render)
        if not run_watch(ctx.store, watcher, ctx.faults, options, conn, self._write_chunk):
            self.close_connection = True
            _shutdown(conn)


def streaming_list(params: dict[str, str], enabled: bool) -> bool:
    """Whether a watch asks for a streaming list (KEP-3157), after the API server's checks of
    the parameters: 422 Invalid for a combination it refuses, or when the gate is off."""
    send = params.get("sendInitialEvents")
    match = params.get("resourceVersionMatch")
    problems = []
    if send is not None and not enabled:
        problems.append(
            "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the "
            "WatchList feature gate is enabled"
        )
    elif send in _TRUE:
        if match != "NotOlderThan":
            problems.append(
                "resourceVersionMatch: Forbidden: sendInitialEvents requires setting "
                "resourceVersionMatch to NotOlderThan"
            )
        if params.get("allowWatchBookmarks") not in _TRUE:
            problems.append(
                "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting "
                "allowWatchBookmarks to true"
            )
    elif match is not None and send is None:
        problems.append(
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless "
            "sendInitialEvents is provided"
        )
    if match is not None and params.get("continue"):
        problems.append(
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue "
            "is provided"
        )
    if problems:
        message = "Invalid value: " + "; ".join(problems)
        raise StatusError(_status.status(422, message, "Invalid"))
    return send in _TRUE


def _patched(cur: Obj, content_type: str, patch: Any) -> Obj:
    new = apply_patch(cur, content_type, patch)
    if not isinstance(new, dict):
        raise StatusError(_status.bad_request("the patched object is not a JSON object"))
    return new


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _bearer_is(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries ``token``. The scheme is case-insensitive, as
    the API server reads it (the official client's in-cluster loader sends "bearer")."""
    scheme, _, credentials = (header or "").partition(" ")
    return scheme.lower() == "bearer" and credentials.strip() == token
