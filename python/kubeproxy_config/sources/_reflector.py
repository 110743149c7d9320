"""One resource's list/watch loop (a reflector) feeding a ``SourceChannel``, and its HTTP transport.

The official ``kubernetes`` client is used only for configuration, authentication, TLS and HTTP:
response bodies are read as raw bytes and handed to the channel, which parses them in Rust.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubeproxy_config._core import SourceChannel
from kubeproxy_config.errors import ClosedError, InvalidObject
from kubeproxy_config.sources._backoff import Backoff

logger = logging.getLogger("kubeproxy_config")

_READ_SIZE = 256 * 1024  # bytes asked of one read of a watch stream
_MAX_ERROR_BODY = 64 * 1024  # bytes of a non-2xx response read for its Status
_SHORT_WATCH = 1.0  # seconds: a watch ending sooner with no events is retried after a backoff


@dataclass(frozen=True)
class Resource:
    """An API resource the source follows: its plural name and API prefix."""

    plural: str
    prefix: str

    def path(self, namespace: str | None) -> str:
        """The collection's URL path, across all namespaces or in one."""
        if namespace:
            return f"{self.prefix}/namespaces/{namespace}/{self.plural}"
        return f"{self.prefix}/{self.plural}"


SERVICES = Resource("services", "/api/v1")
ENDPOINTS = Resource("endpoints", "/api/v1")
ENDPOINT_SLICES = Resource("endpointslices", "/apis/discovery.k8s.io/v1")


@dataclass(frozen=True)
class Options:
    """How every reflector of one source lists and watches (see ``KubernetesSource``)."""

    namespace: str | None
    label_selector: str | None
    page_size: int
    resync_period: float | None
    stall_timeout: float
    connect_timeout: float
    watch_timeout: float
    backoff_initial: float
    backoff_max: float


class _Stopped(Exception):
    """The source is stopping: leave the loop quietly."""


class _Gone(Exception):
    """410 Gone / "too old resource version": the watch cannot resume, relist."""


class StatusError(Exception):
    """A request answered with a non-2xx code, or a watch stream's ERROR event."""

    def __init__(self, code: int, status: dict[str, Any] | None, fallback: str = "") -> None:
        self.code = code
        self.status = status or {}
        reason = self.status.get("reason") or fallback or "Unknown"
        message = self.status.get("message") or ""
        super().__init__(f"{code} {reason}: {message}" if message else f"{code} {reason}")

    @property
    def gone(self) -> bool:
        """Whether this says the requested resourceVersion is no longer available."""
        if self.code == 410 or self.status.get("reason") in ("Expired", "Gone"):
            return True
        return "too old resource version" in str(self.status.get("message", "")).lower()

    @property
    def auth(self) -> bool:
        """Whether this is an authentication or authorization failure (401/403)."""
        return self.code in (401, 403)


def _needs_operator(exc: BaseException) -> bool:
    """Failures that retrying will not fix without someone changing credentials, RBAC or
    certificates: logged as errors, once per streak."""
    if isinstance(exc, StatusError) and exc.auth:
        return True
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _parse_status(body: bytes) -> dict[str, Any] | None:
    # A Status body is small; plain json is fine here (no model deserialisation).
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class Transport:
    """GET requests through a ``kubernetes.client.ApiClient``, returning the raw urllib3 response.

    Supports the OpenAPI-generator clients (``param_serialize`` + ``call_api``, v37+) and the
    older ``call_api(path, method, ..., _preload_content=False)`` signature.
    """

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client

    def get(self, path: str, query: list[tuple[str, str]], timeout: tuple[float, float]) -> Any:
        """Open ``GET path?query``; raises ``StatusError`` for a non-2xx answer."""
        from kubernetes.client.exceptions import ApiException

        client = self.api_client
        headers = {"Accept": "application/json"}
        try:
            if hasattr(client, "param_serialize"):
                method, url, headers, _body, _post = client.param_serialize(
                    "GET",
                    path,
                    query_params=query,
                    header_params=headers,
                    auth_settings=["BearerToken"],
                )
                resp = client.call_api(method, url, header_params=headers, _request_timeout=timeout)
                resp = getattr(resp, "response", resp)  # RESTResponse wraps the urllib3 response
            else:
                resp = client.call_api(
                    path,
                    "GET",
                    query_params=query,
                    header_params=headers,
                    auth_settings=["BearerToken"],
                    _preload_content=False,
                    _return_http_data_only=True,
                    _request_timeout=timeout,
                )
        except ApiException as exc:
            # Older clients raise non-2xx answers here; every client raises TLS errors as status 0.
            body = exc.body if isinstance(exc.body, bytes) else str(exc.body or "").encode()
            raise StatusError(exc.status or 0, _parse_status(body), exc.reason) from None
        status = int(resp.status)
        if not 200 <= status < 300:
            try:
                body = resp.read(_MAX_ERROR_BODY)
            except Exception:
                body = b""
            finally:
                _discard(resp)
            raise StatusError(status, _parse_status(body), str(getattr(resp, "reason", "")))
        return resp


def _discard(resp: Any) -> None:
    """Close a response whose connection must not be reused, returning its pool slot."""
    with contextlib.suppress(Exception):
        resp.close()
    with contextlib.suppress(Exception):
        resp.release_conn()


def _interrupt(resp: Any) -> None:
    """Wake a thread blocked reading ``resp`` (called from another thread)."""
    sock = getattr(getattr(resp, "connection", None), "sock", None)
    if isinstance(sock, socket.socket):
        # The plain socket's shutdown (not SSLSocket's, which drops its SSL object under a
        # reader): the blocked recv returns at once, on plain and TLS connections alike.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
            return
    with contextlib.suppress(Exception):
        resp.shutdown()  # urllib3 >= 2.3


_COUNTERS = (
    "lists",
    "relists",
    "pages",
    "watches",
    "watch_restarts",
    "events",
    "errors",
    "rejected",
)


class Reflector:
    """Lists one resource into a channel (one SET), then watches it from the list's version.

    Runs on its own thread. A watch that ends (server timeout), drops, stalls or carries a bad
    line is resumed from the last version seen without relisting; 410 Gone relists; errors back
    off exponentially with jitter.
    """

    def __init__(
        self,
        resource: Resource,
        channel: SourceChannel,
        transport: Transport,
        options: Options,
        stop: threading.Event,
    ) -> None:
        self.resource = resource
        self.channel = channel
        self._transport = transport
        self._options = options
        self._path = resource.path(options.namespace)
        self._stop = stop
        self._backoff = Backoff(options.backoff_initial, options.backoff_max)
        self._lock = threading.Lock()  # guards _inflight and _counts
        self._inflight: Any = None
        self._counts = dict.fromkeys(_COUNTERS, 0)
        self._rv: str | None = None  # None: a list is needed
        self._listed = False
        self._auth_failing = False
        self.synced = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"kubeproxy-config-{channel.name}-{resource.plural}", daemon=True
        )

    # -- control (any thread) -------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def interrupt(self) -> None:
        """Wake the thread from a blocked read (the stop event must be set first)."""
        with self._lock:
            resp = self._inflight
        if resp is not None:
            _interrupt(resp)

    def join(self, timeout: float | None) -> bool:
        """Wait for the thread to end; False on timeout."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @staticmethod
    def zero_stats() -> dict[str, int]:
        """Counters of a reflector that has not run."""
        return dict.fromkeys(_COUNTERS, 0)

    def stats(self) -> dict[str, int]:
        """A copy of the counters."""
        with self._lock:
            return dict(self._counts)

    @property
    def resource_version(self) -> str | None:
        """The last resourceVersion seen (list, event or bookmark); None before the first list."""
        return self._rv

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def _report_rejected(self, rejected: list[str]) -> None:
        """Objects the server accepted but this package cannot represent are treated as absent."""
        if not rejected:
            return
        self._count("rejected", len(rejected))
        for message in rejected:
            logger.warning(
                "%s/%s: ignoring an object that failed validation: %s",
                self.channel.name,
                self.resource.plural,
                message,
            )

    # -- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        what = f"{self.channel.name}/{self.resource.plural}"
        next_resync: float | None = None
        try:
            while not self._stop.is_set():
                try:
                    if self._rv is None:
                        self._list(what)
                        if self._options.resync_period:
                            next_resync = time.monotonic() + self._options.resync_period
                    healthy = self._watch(what, next_resync)
                    if next_resync is not None and time.monotonic() >= next_resync:
                        logger.debug("%s: resync period elapsed, relisting", what)
                        self._rv = None
                    else:
                        logger.debug("%s: watch ended, resuming from %s", what, self._rv)
                        self._count("watch_restarts")
                        # A watch closed at once with nothing in it, again and again, would
                        # make a busy loop: back off as after an error.
                        if not healthy and self._stop.wait(self._backoff.next_delay()):
                            return
                except _Gone as exc:
                    logger.info("%s: %s; relisting", what, exc)
                    self._rv = None
                except _Stopped:
                    return
                except ClosedError:
                    logger.debug("%s: the channel was closed; stopping", what)
                    return
                except Exception as exc:
                    if self._stop.is_set():
                        return
                    self._failed(what, exc)
                    if self._stop.wait(self._backoff.next_delay()):
                        return
        finally:
            with self._lock:
                self._inflight = None

    def _failed(self, what: str, exc: Exception) -> None:
        self._count("errors")
        doing = "list" if self._rv is None else "watch"
        if _needs_operator(exc):
            # Logged once per streak: retried forever (it may be fixed), but not spammed.
            if not self._auth_failing:
                self._auth_failing = True
                logger.error(
                    "%s: %s refused (%s); check the credentials, RBAC and CA; retrying",
                    what,
                    doing,
                    _describe(exc),
                )
            else:
                logger.debug("%s: %s refused again (%s)", what, doing, _describe(exc))
        elif _is_timeout(exc):
            logger.warning(
                "%s: no data for %g s during %s (stalled); reconnecting",
                what,
                self._options.stall_timeout,
                doing,
            )
        elif isinstance(exc, (StatusError, InvalidObject, OSError)) or _is_http_error(exc):
            logger.warning("%s: %s failed: %s", what, doing, _describe(exc))
        else:
            logger.error("%s: unexpected error during %s", what, doing, exc_info=exc)
        if self._rv is not None:
            self._count("watch_restarts")

    def _succeeded(self) -> None:
        self._backoff.reset()
        self._auth_failing = False

    # -- requests -------------------------------------------------------------------------------

    def _query(self) -> list[tuple[str, str]]:
        if self._options.label_selector:
            return [("labelSelector", self._options.label_selector)]
        return []

    @contextlib.contextmanager
    def _request(self, query: list[tuple[str, str]]) -> Iterator[Any]:
        """Open a GET, registered as in flight so that ``interrupt`` can wake its reader."""
        timeout = (self._options.connect_timeout, self._options.stall_timeout)
        resp = self._transport.get(self._path, query, timeout)
        with self._lock:
            self._inflight = resp
        clean = False
        try:
            if self._stop.is_set():  # stop() may have looked before _inflight was set
                raise _Stopped
            yield resp
            clean = True
        finally:
            with self._lock:
                self._inflight = None
            if clean and not self._stop.is_set():
                with contextlib.suppress(Exception):
                    resp.release_conn()
            else:
                _discard(resp)

    def _list(self, what: str) -> None:
        """List every page, then send all objects as one SET (an atomic replace)."""
        relist = self._listed
        paginate = self._options.page_size > 0
        objects: list[Any] = []
        token: str | None = None
        rv: str | None = None
        pages = 0
        while True:
            query = self._query()
            if paginate:
                query.append(("limit", str(self._options.page_size)))
            if token:
                query.append(("continue", token))
            try:
                with self._request(query) as resp:
                    data = resp.read()
            except StatusError as exc:
                if token is not None and exc.gone:
                    # The snapshot behind the continue token was compacted: start over, in one
                    # page, so that a cluster that compacts quickly cannot starve the list.
                    logger.info("%s: list continue token expired; listing again in one page", what)
                    objects, token, pages, paginate = [], None, 0, False
                    continue
                raise
            page, page_rv, token, rejected = self.channel.parse_list(data, skip_invalid=True)
            self._report_rejected(rejected)
            objects.extend(page)
            pages += 1
            self._count("pages")
            rv = page_rv if rv is None else rv
            if not token:
                break
            if self._stop.is_set():
                raise _Stopped
        self.channel.set(objects)
        self._rv = rv or ""
        self._listed = True
        self._succeeded()
        self._count("lists")
        if relist:
            self._count("relists")
        self.synced.set()
        logger.info(
            "%s: %s %d objects at resourceVersion %s (%d page%s)",
            what,
            "relisted" if relist else "listed",
            len(objects),
            rv,
            pages,
            "" if pages == 1 else "s",
        )

    def _watch(self, what: str, next_resync: float | None) -> bool:
        """Watch from ``self._rv`` until the stream ends cleanly; raises on anything else.

        Returns whether the watch looked healthy (it carried events or lasted a while)."""
        timeout = self._options.watch_timeout * random.uniform(1.0, 1.25)
        if next_resync is not None:
            timeout = min(timeout, next_resync - time.monotonic())
        query = self._query()
        query += [("watch", "1"), ("allowWatchBookmarks", "true")]
        if self._rv:
            query.append(("resourceVersion", self._rv))
        query.append(("timeoutSeconds", str(max(1, round(timeout)))))
        logger.debug("%s: watching from resourceVersion %s", what, self._rv)
        started = time.monotonic()
        try:
            with self._request(query) as resp:
                self._count("watches")
                events = self._stream(resp)
            return events > 0 or time.monotonic() - started >= _SHORT_WATCH
        except StatusError as exc:  # the watch request's answer, or an ERROR event
            if exc.gone:
                raise _Gone(str(exc)) from None
            raise

    def _stream(self, resp: Any) -> int:
        """Feed complete lines of the watch body to the channel as they arrive; returns how many
        events were applied when the stream ends cleanly."""
        events = 0
        pending: list[bytes] = []  # an incomplete last line, kept until its newline arrives
        for chunk in _chunks(resp):
            end = chunk.rfind(b"\n")
            if end < 0:
                pending.append(chunk)
                continue
            if pending:
                pending.append(chunk[: end + 1])
                lines = b"".join(pending)
                pending.clear()
            else:
                lines = chunk[: end + 1]
            if end + 1 < len(chunk):
                pending.append(chunk[end + 1 :])
            rv, error, count, rejected = self.channel.apply_watch_events(lines, skip_invalid=True)
            self._report_rejected(rejected)
            if rv is not None:
                self._rv = rv
            if count:
                events += count
                self._count("events", count)
                self._succeeded()
            if error is not None:
                code = error.get("code")
                raise StatusError(code if isinstance(code, int) else 0, error, "Error")
        if self._stop.is_set():
            raise _Stopped
        if any(part.strip() for part in pending):
            logger.debug("watch stream ended inside a line; dropping it")
        return events


def _chunks(resp: Any) -> Iterator[bytes]:
    """The body of a streamed response, as bytes as soon as they arrive, until it ends."""
    read1 = getattr(resp, "read1", None)
    if read1 is None:  # urllib3 1.x: stream() yields chunk by chunk for chunked bodies
        yield from resp.stream(_READ_SIZE)
        return
    while chunk := read1(_READ_SIZE):
        yield chunk


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError):
        return True
    try:
        from urllib3.exceptions import ReadTimeoutError
    except ImportError:  # pragma: no cover - urllib3 comes with the kubernetes client
        return False
    return isinstance(exc, ReadTimeoutError)


def _is_http_error(exc: BaseException) -> bool:
    try:
        from urllib3.exceptions import HTTPError
    except ImportError:  # pragma: no cover - urllib3 comes with the kubernetes client
        return False
    return isinstance(exc, HTTPError)


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc)
    return f"{name}: {text}" if text else name
