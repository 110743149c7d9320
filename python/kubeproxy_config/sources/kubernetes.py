"""``KubernetesSource``: Services, Endpoints and EndpointSlices listed and watched from the API.

One Rust thread per resource lists it (following ``limit``/``continue`` pages) into its channel
as one SET, then watches from the list's resourceVersion with bookmarks, resuming from the last
version seen when a watch ends, drops or stalls, and relisting on 410 Gone. The transport, the
framing and the parsing are Rust (``_core.Reflector``): no Python runs per watch event. The
official ``kubernetes`` client provides the configuration and credentials only
(``_transport.resolve``).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, TypedDict, cast

from kubeproxy_config._config import EndpointsConfig, EndpointSliceConfig, ServiceConfig
from kubeproxy_config._core import Recording, Reflector, SourceChannel
from kubeproxy_config._lifecycle import StartStop
from kubeproxy_config._limits import (
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_PAGE_BYTES,
    check_byte_limit,
)
from kubeproxy_config.errors import Error
from kubeproxy_config.sources._kubeconfig import load_default
from kubeproxy_config.sources._transport import resolve

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "DEFAULT_MAX_PAGE_BYTES",
    "KubernetesSource",
    "ResourceStats",
    "new_source_api",
]

logger = logging.getLogger("kubeproxy_config")

DEFAULT_STALL_TIMEOUT = 90.0
"""Seconds without a byte on a watch before it is abandoned and resumed. The API server sends
bookmarks about once a minute, so a healthy idle watch never goes this long without data."""

DEFAULT_WATCH_TIMEOUT = 300.0
"""Seconds a watch asks the server to keep it open (``timeoutSeconds``, plus up to 25% jitter)."""


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


class ResourceStats(TypedDict):
    """``KubernetesSource.stats()`` of one resource (see there)."""

    lists: int
    relists: int
    pages: int
    watches: int
    watch_restarts: int
    events: int
    errors: int
    rejected: int
    watch_lists: int
    watch_list_fallbacks: int
    audits: int
    audit_drift: int
    oversized: int
    last_event_age_seconds: float | None
    last_bookmark_age_seconds: float | None


def _figures(
    counters: dict[str, int], event: float | None, bookmark: float | None
) -> ResourceStats:
    out: dict[str, Any] = dict.fromkeys(Reflector.COUNTERS, 0)
    out.update(counters)
    out["last_event_age_seconds"] = event
    out["last_bookmark_age_seconds"] = bookmark
    return cast("ResourceStats", out)


def _log(level: int, message: str) -> None:
    logger.log(level, message)


def default_api_client() -> Any:
    """A ``kubernetes.client.ApiClient`` from the in-cluster config (when
    ``KUBERNETES_SERVICE_HOST`` is set and the service account is mounted), else from the
    kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``, current context).

    Raises ``kubeproxy_config.Error`` when neither can be loaded.
    """
    try:
        return load_default().api_client()
    except Error as exc:  # missing file, bad YAML, no context, ...: all one failure here
        reason = exc.__cause__ or exc
        raise Error(f"cannot load a Kubernetes client configuration: {reason}") from reason


def _as_channel(target: Any, source: str, what: str) -> SourceChannel | None:
    if target is None or isinstance(target, SourceChannel):
        return target
    channel = getattr(target, "channel", None)
    if not callable(channel):
        raise TypeError(f"{what} must be a config or a SourceChannel, got {type(target).__name__}")
    result = channel(source)
    if not isinstance(result, SourceChannel):
        raise TypeError(f"{what}.channel() did not return a SourceChannel")
    return result


class KubernetesSource(StartStop):
    """Lists and watches the Kubernetes API into configs (SPEC §5): a reflector thread per resource.

    Args:
        api_client: a ``kubernetes.client.ApiClient``; by default one from the in-cluster config
            or the kubeconfig (then closed by ``stop()``).
        services, endpoints, endpoint_slices: a ``ServiceConfig`` / ``EndpointsConfig`` /
            ``EndpointSliceConfig`` (its channel named ``source`` is used) or a ``SourceChannel``
            of that kind; resources left ``None`` are not followed. At least one is required.
        namespace: follow one namespace only (default: all).
        label_selector: a label selector passed to the server (``labelSelector``).
        source: the channel name taken from each config.
        resync_period: seconds between full relists (each a SET; unchanged state makes no new
            version); None: relist only when the server demands it (410 Gone).
        stall_timeout: seconds without any byte on a watch (the server sends bookmarks) or a list
            before the connection is abandoned and the watch resumed.
        page_size: objects per list page (``limit``); 0 lists in one request.
        backoff_initial, backoff_max: retry delays in seconds, doubling from the first to the
            second, with jitter; reset after a success.
        watch_timeout: seconds a watch asks the server to stay open (``timeoutSeconds``, plus
            up to 25% jitter); the watch is then resumed from the last version seen.
        watch_list: list by streaming (a watch with ``sendInitialEvents``, KEP-3157; the
            initial events are applied as one SET at their end bookmark) instead of paginated
            lists. None: try it and fall back to pages, for good, when the server refuses;
            True: streaming only; False: pages only.
        audit_period: every so many seconds, list the resource in pages and compare it with
            what the source last sent (keys and resourceVersions); a difference no event
            explains is logged, counted (``audit_drift``) and healed with a SET. None: no audit.
        record: a file to record what the source receives into (list pages, watch events,
            bookmarks, errors; NDJSON, gzip when it ends in ``.gz``), for
            ``kubeproxy_config.testing.replay`` or ``kubeproxy-config replay``; closed by
            ``stop()``.
        connect_timeout: seconds to connect (and complete the TLS handshake).
        max_event_bytes: the largest watch event line accepted, in bytes (default 16 MiB;
            streaming lists are made of events and use it too). A longer line is read no further
            than one byte past the limit; the connection is dropped, the failure logged and
            counted (``errors`` and ``oversized``), and the resource relisted after a backoff
            (the stream cannot be resumed past it; with ``watch_list=None``, a streamed list
            that meets such a line is retried in pages, so an object too large for an event
            still arrives in a page); what the configs hold is kept until then.
        max_page_bytes: the largest list page body accepted, in bytes (default 256 MiB). A larger
            page (announced by ``Content-Length``, or read to one byte past the limit) fails the
            list, which is logged, counted like an oversized event and retried after a backoff.

    ``stats()`` counts per resource; ``synced`` is True once every resource was listed.
    Failures are logged to the ``kubeproxy_config`` logger and retried; they never stop the
    source. Use as a context manager, or ``start()`` and ``stop()``.
    """

    def __init__(
        self,
        api_client: Any = None,
        *,
        services: ServiceConfig | SourceChannel | None = None,
        endpoints: EndpointsConfig | SourceChannel | None = None,
        endpoint_slices: EndpointSliceConfig | SourceChannel | None = None,
        namespace: str | None = None,
        label_selector: str | None = None,
        source: str = "api",
        resync_period: float | None = None,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT,
        page_size: int = 500,
        backoff_initial: float = 0.8,
        backoff_max: float = 30.0,
        watch_timeout: float = DEFAULT_WATCH_TIMEOUT,
        connect_timeout: float = 10.0,
        watch_list: bool | None = None,
        audit_period: float | None = None,
        record: str | os.PathLike[str] | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    ) -> None:
        targets: list[tuple[Resource, SourceChannel]] = []
        for resource, target, what in (
            (SERVICES, services, "services"),
            (ENDPOINTS, endpoints, "endpoints"),
            (ENDPOINT_SLICES, endpoint_slices, "endpoint_slices"),
        ):
            channel = _as_channel(target, source, what)
            if channel is not None:
                targets.append((resource, channel))
        if not targets:
            raise ValueError("give at least one of services, endpoints or endpoint_slices")
        if page_size < 0:
            raise ValueError("page_size must be >= 0")
        if stall_timeout <= 0 or connect_timeout <= 0 or watch_timeout <= 0:
            raise ValueError("stall_timeout, connect_timeout and watch_timeout must be > 0")
        if resync_period is not None and resync_period <= 0:
            raise ValueError("resync_period must be > 0 (or None)")
        if audit_period is not None and audit_period <= 0:
            raise ValueError("audit_period must be > 0 (or None)")
        check_byte_limit("max_event_bytes", max_event_bytes)
        check_byte_limit("max_page_bytes", max_page_bytes)
        self._owns_client = api_client is None
        self._api_client = default_api_client() if api_client is None else api_client
        if backoff_initial < 0 or backoff_max < 0:
            raise ValueError("backoff_initial and backoff_max must be >= 0")
        self._namespace = namespace or None
        self._options: dict[str, object] = {
            "label_selector": label_selector or None,
            "page_size": page_size,
            "resync_period": resync_period or 0.0,
            "stall_timeout": stall_timeout,
            "connect_timeout": connect_timeout,
            "watch_timeout": watch_timeout,
            "backoff_initial": backoff_initial,
            "backoff_max": backoff_max,
            "watch_list": watch_list,
            "audit_period": audit_period or 0.0,
            "max_event_bytes": max_event_bytes,
            "max_page_bytes": max_page_bytes,
        }
        self._record = None if record is None else os.fspath(record)
        self._recording: Recording | None = None
        self._targets = targets
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reflectors: list[tuple[Resource, Reflector]] = []
        self._started = False

    @property
    def api_client(self) -> Any:
        """The ``kubernetes.client.ApiClient`` in use."""
        return self._api_client

    @property
    def channels(self) -> tuple[SourceChannel, ...]:
        """The channels fed, in resource order (services, endpoints, endpoint slices)."""
        return tuple(channel for _, channel in self._targets)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> KubernetesSource:
        """Start a Rust list/watch thread per resource (idempotent; a stopped source cannot
        restart). Raises ``Error`` for a client setting the transport cannot honour."""
        with self._lock:
            if self._stop.is_set():
                raise RuntimeError("a stopped KubernetesSource cannot be started again")
            if self._started:
                return self
            settings, authorization = resolve(self._api_client)
            settings.update(self._options)
            if self._record is not None:
                self._recording = Recording(self._record)
                settings["recorder"] = self._recording
            started: list[tuple[Resource, Reflector]] = []
            try:
                for resource, channel in self._targets:
                    reflector = Reflector(
                        channel,
                        resource.path(self._namespace),
                        settings,
                        log=_log,
                        authorization=authorization,
                    )
                    started.append((resource, reflector))
            except ValueError as exc:
                for _, reflector in started:
                    reflector.stop()
                raise Error(
                    f"the API transport cannot use this client configuration: {exc}"
                ) from None
            self._reflectors = started
            self._started = True
        logger.info(
            "API source started: %s%s",
            ", ".join(resource.plural for resource, _ in started),
            f" in namespace {self._namespace}" if self._namespace else "",
        )
        return self

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Stop every resource's thread, interrupting reads in flight, and wait up to
        ``timeout`` seconds for them. Idempotent; False if a thread was still running at the
        timeout (it ends at its next check). The channels are left open."""
        with self._lock:
            self._stop.set()
            reflectors = [reflector for _, reflector in self._reflectors]
        for reflector in reflectors:
            reflector.stop()
        deadline = None if timeout is None else time.monotonic() + timeout
        done = True
        for reflector in reflectors:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            done = reflector.join(left) and done
        if self._recording is not None and done:
            self._recording.close()
        if self._owns_client and done:
            self._owns_client = False
            self._api_client.close()
        return done

    # -- state ----------------------------------------------------------------------------------

    def _running(self) -> list[tuple[Resource, Reflector]]:
        with self._lock:
            return list(self._reflectors)

    @property
    def synced(self) -> bool:
        """True once every resource has been listed completely (and sent as a SET)."""
        running = self._running()
        return bool(running) and all(reflector.synced for _, reflector in running)

    def wait_synced(self, timeout: float | None = None) -> bool:
        """Block until ``synced`` (False on timeout, or if the source was never started).
        ``timeout`` is seconds >= 0 (``ValueError`` otherwise, NaN and infinity included)."""
        if timeout is not None and not (math.isfinite(timeout) and timeout >= 0):
            raise ValueError(f"timeout must be a number of seconds >= 0, got {timeout}")
        running = self._running()
        if not running:
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        for _, reflector in running:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not reflector.wait_synced(left):
                return False
        return True

    def stats(self) -> dict[str, ResourceStats]:
        """Figures per resource (``services``, ``endpoints``, ``endpointslices``).

        Counters: ``lists`` (complete lists), ``relists`` (those after the first), ``pages``,
        ``watches`` (watch streams opened), ``watch_restarts`` (watches resumed without a
        relist), ``events`` (watch events applied, bookmarks included), ``errors`` (failed
        requests/streams), ``rejected`` (objects ignored as invalid), ``watch_lists`` (lists
        streamed rather than paged), ``watch_list_fallbacks`` (refusals of a streaming list),
        ``audits`` and ``audit_drift`` (objects an audit found out of step with the server),
        ``oversized`` (watch lines over ``max_event_bytes`` and list pages over
        ``max_page_bytes``, each also counted in ``errors``).
        Ages in seconds, None before the first: ``last_event_age_seconds`` (an event other
        than a bookmark, or a list) and ``last_bookmark_age_seconds``."""
        out = {
            resource.plural: _figures(
                reflector.stats(), reflector.last_event_age, reflector.last_bookmark_age
            )
            for resource, reflector in self._running()
        }
        for resource, _ in self._targets:
            out.setdefault(resource.plural, _figures({}, None, None))
        return out

    @property
    def stall_timeout(self) -> float:
        """Seconds without a byte on a watch or list before the connection is abandoned."""
        return float(self._options["stall_timeout"])  # type: ignore[arg-type]

    def resource_versions(self) -> dict[str, str | None]:
        """The last resourceVersion seen per resource (None before its first list)."""
        return {
            resource.plural: reflector.resource_version for resource, reflector in self._running()
        }

    def idle_seconds(self) -> dict[str, float | None]:
        """Seconds since data (an event, a bookmark or a list page) last arrived, per resource
        (None before any): how stale each resource may be."""
        return {resource.plural: reflector.idle_seconds for resource, reflector in self._running()}

    def __repr__(self) -> str:
        state = (
            "stopped"
            if self._stop.is_set()
            else "synced"
            if self.synced
            else "started"
            if self._started
            else "new"
        )
        plurals = ",".join(resource.plural for resource, _ in self._targets)
        return f"<KubernetesSource {plurals} {state}>"


def new_source_api(
    api_client: Any,
    services_channel: SourceChannel | None,
    endpoints_channel: SourceChannel | None,
    *,
    resync_period: float | None = None,
) -> KubernetesSource:
    """Go's ``NewSourceAPI``: list and watch Services and Endpoints into these channels.

    Returns the source already started (as the Go function starts its reflectors); ``stop()``
    it, or use it as a context manager. Either channel may be None to skip that resource.
    """
    source = KubernetesSource(
        api_client,
        services=services_channel,
        endpoints=endpoints_channel,
        resync_period=resync_period,
    )
    return source.start()
