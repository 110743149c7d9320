"""ServiceConfig, EndpointsConfig and EndpointSliceConfig: thin classes over the Rust engine.

``_Followable`` is the surface every config shares (handlers, state, flush, sync, close, asyncio);
the proxy view's ``ProxyConfig`` (``_proxy.py``) builds on it too.

Everything per update (queueing, merging, diffing, delivery) runs in ``_core.Config``; this layer
adapts handlers, provides the context manager and asyncio iteration, and closes configs left open
at interpreter exit.
"""

from __future__ import annotations

import atexit
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from kubeproxy_config import _core
from kubeproxy_config._core import Endpoint, Endpoints, EndpointSlice, Service, Snapshot
from kubeproxy_config._core import SourceChannel as SourceChannel
from kubeproxy_config._lifecycle import Closing

T = TypeVar("T", Service, Endpoints, EndpointSlice)


class _Versioned(Protocol):
    """What every snapshot class has (``Snapshot``, ``ProxySnapshot``)."""

    @property
    def version(self) -> int: ...
    def __len__(self) -> int: ...


S = TypeVar("S", bound=_Versioned)
S_co = TypeVar("S_co", bound=_Versioned, covariant=True)

# A snapshot is an immutable sequence sorted by key (the native class cannot inherit the ABC).
Sequence.register(Snapshot)

# Configs still open, closed at exit before the interpreter finalizes (a delivery thread must not
# try to enter a finalizing interpreter). Weak, so an unreferenced config is collected normally.
_open_configs: weakref.WeakSet[_Followable[Any]] = weakref.WeakSet()
_EXIT_CLOSE_TIMEOUT = 1.0


@atexit.register
def _close_open_configs() -> None:
    for config in list(_open_configs):
        config.close(timeout=_EXIT_CLOSE_TIMEOUT)


class _Core(Protocol[S_co]):
    """What the shared surface needs of a native config (``_core.Config`` or ``ProxyConfig``)."""

    @property
    def name(self) -> str: ...
    @property
    def sources(self) -> tuple[str, ...]: ...
    @property
    def synced(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    def register(self, update: Any, synced: Any = None, *, name: str | None = None) -> int: ...
    def cancel(self, id: int) -> bool: ...
    def state(self) -> S_co: ...
    def flush(self, timeout: float | None = None) -> bool: ...
    def wait_synced(self, timeout: float | None = None) -> bool: ...
    def stats(self) -> dict[str, int]: ...
    def handler_stats(self) -> list[tuple[str, int, int, int, float, list[int], float]]: ...
    def close(self, timeout: float | None = None) -> bool: ...


class Registration:
    """A registered handler; ``cancel()`` stops deliveries to it."""

    __slots__ = ("__weakref__", "_config", "_id", "handler")

    def __init__(self, config: _Core[Any], registration_id: int, handler: object) -> None:
        self._config = config
        self._id = registration_id
        self.handler = handler

    def cancel(self) -> bool:
        """Stop delivering to this handler (a call in progress finishes); False if already done.

        Safe to call from inside the handler itself.
        """
        return self._config.cancel(self._id)

    def __repr__(self) -> str:
        return f"Registration({self.handler!r}, config={self._config.name!r})"


class _Followable(Closing, Generic[S]):
    """Handlers, state, flush, sync and close over a native config whose snapshots are ``S``."""

    _method: ClassVar[str]
    _core: _Core[S]

    def _opened(self) -> None:
        self._closers: list[Callable[[], None]] = []
        _open_configs.add(self)

    @property
    def name(self) -> str:
        """The config's name (used for its thread names)."""
        return self._core.name

    def register_handler(self, handler: Any) -> Registration:
        """Register ``handler``: an object with ``{method}(snapshot)`` (and optionally
        ``on_synced()``), or a plain callable taking the snapshot.

        Calls happen on a thread owned by this config, one at a time, in increasing version; a busy
        handler next gets only the newest snapshot with ``changes`` covering everything since.
        """
        update = getattr(handler, self._method, None)
        if update is None:
            if not callable(handler):
                raise TypeError(
                    f"a handler must have a {self._method}() method or be callable, "
                    f"got {type(handler).__name__}"
                )
            update = handler
        synced = getattr(handler, "on_synced", None)
        registration_id = self._core.register(update, synced, name=_qualified_name(handler))
        return Registration(self._core, registration_id, handler)

    def state(self) -> S:
        """The current state, O(1); its ``changes`` are relative to the version before."""
        return self._core.state()

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything sent before the call is merged and delivered to every handler;
        False on timeout. Releases the GIL; Ctrl-C interrupts it."""
        return self._core.flush(timeout)

    @property
    def synced(self) -> bool:
        """False while no channel exists; True once every channel created so far has sent a SET
        or called ``mark_synced()``."""
        return self._core.synced

    def wait_synced(self, timeout: float | None = None) -> bool:
        """Block until ``synced`` and those SETs are merged, so ``state()`` then holds every
        source's synced content; False on timeout."""
        return self._core.wait_synced(timeout)

    @property
    def sources(self) -> tuple[str, ...]:
        """Source names in channel-creation order."""
        return self._core.sources

    def stats(self) -> dict[str, int]:
        """Counters: updates, objects_merged, versions, deliveries, coalesced_deliveries,
        handler_errors, conflicts, handlers."""
        return self._core.stats()

    @property
    def closed(self) -> bool:
        """True once ``close()`` has been called."""
        return self._core.closed

    def close(self, timeout: float | None = None) -> bool:
        """Stop accepting sends (they raise ClosedError), merge what was queued and stop the
        delivery threads, waiting for a handler inside a call until ``timeout`` (None: as long as
        it takes). Idempotent; False if a handler was still running at the timeout."""
        for closer in self._closers:
            closer()
        self._closers.clear()
        _open_configs.discard(self)
        return self._core.close(timeout)

    def snapshots(self) -> AsyncIterator[S]:
        """``async for snap in config.snapshots()``: coalesced snapshots as a handler gets them;
        ends when the config closes."""
        from kubeproxy_config.aio import iterate_snapshots

        return iterate_snapshots(self._core, self._closers)

    def __repr__(self) -> str:
        state = self._core.state()
        return (
            f"{type(self).__name__}(name={self.name!r}, sources={self.sources!r}, "
            f"version={state.version}, objects={len(state)})"
        )


def _qualified_name(handler: object) -> str:
    """``module.QualifiedName`` of a function or method, or of an object's class: the stable
    part of the handler's label in metrics (the engine adds an index)."""
    qualname = getattr(handler, "__qualname__", None)
    module = getattr(handler, "__module__", None)
    if not isinstance(qualname, str):
        qualname, module = type(handler).__qualname__, type(handler).__module__
    return f"{module}.{qualname}" if isinstance(module, str) else qualname


class _BaseConfig(_Followable[Snapshot[T]], Generic[T]):
    _kind: ClassVar[Literal["services", "endpoints", "endpointslices"]]
    _core: _core.Config

    def __init__(self, *, min_interval: float, name: str) -> None:
        self._core = _core.Config(self._kind, name=name, min_interval=min_interval)
        self._opened()

    def channel(self, source: str) -> SourceChannel:
        """The channel of source ``source``, created on first use: the same object for the same
        name. Sources created earlier win conflicts over a key. ``""`` raises ValueError."""
        return self._core.channel(source)


class ServiceConfig(_BaseConfig[Service]):
    """Services from named sources, merged and delivered to handlers (``on_service_update``)."""

    _kind = "services"
    _method = "on_service_update"

    def __init__(self, *, min_interval: float = 0.0, name: str = "services") -> None:
        super().__init__(min_interval=min_interval, name=name)


class EndpointsConfig(_BaseConfig[Endpoints]):
    """Endpoints from named sources, merged and delivered to handlers (``on_endpoints_update``)."""

    _kind = "endpoints"
    _method = "on_endpoints_update"

    def __init__(self, *, min_interval: float = 0.0, name: str = "endpoints") -> None:
        super().__init__(min_interval=min_interval, name=name)


class EndpointSliceConfig(_BaseConfig[EndpointSlice]):
    """EndpointSlices from named sources, merged and delivered to handlers
    (``on_endpoint_slices_update``)."""

    _kind = "endpointslices"
    _method = "on_endpoint_slices_update"

    def __init__(self, *, min_interval: float = 0.0, name: str = "endpointslices") -> None:
        super().__init__(min_interval=min_interval, name=name)

    def endpoints_for(self, service_key: str) -> tuple[Endpoint, ...]:
        """The endpoints of every slice of ``service_key`` ("namespace/name"), merged and
        de-duplicated by address (the first slice, in name order, wins)."""
        return self._core.endpoints_for(service_key)
