"""asyncio side of ``config.snapshots()``.

The feed is an ordinary handler whose call does not return until the consumer has taken the
snapshot, so a slow consumer makes the handler "busy" and the engine coalesces for it exactly as
for any other handler: memory stays O(state) and the newest state always arrives.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol


class _Feed:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.taken = threading.Event()
        self._stopped = threading.Event()

    def deliver(self, snapshot: object) -> None:
        """Runs on the config's delivery thread."""
        if self._stopped.is_set():
            return
        self.taken.clear()
        try:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, snapshot)
        except RuntimeError:  # the loop is closed: nobody is iterating any more
            self._stopped.set()
            return
        self.taken.wait()

    def stop(self) -> None:
        """From any thread: end the iteration and release a waiting delivery."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.taken.set()
        try:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, None)
        except RuntimeError:
            pass


class _Registers(Protocol):
    """The part of a native config the feed uses."""

    @property
    def closed(self) -> bool: ...
    def register(self, update: Any, synced: Any = None, *, name: str | None = None) -> int: ...
    def cancel(self, id: int) -> bool: ...


async def iterate_snapshots(
    config: _Registers, closers: list[Callable[[], None]]
) -> AsyncIterator[Any]:
    """Yield coalesced snapshots of ``config`` until it closes or the iteration is abandoned."""
    if config.closed:
        return
    feed = _Feed(asyncio.get_running_loop())
    closers.append(feed.stop)
    registration = config.register(feed.deliver, name="kubeproxy_config.snapshots")
    try:
        while True:
            snapshot = await feed.queue.get()
            if snapshot is None:
                return
            yield snapshot
            # Only now is the consumer back for more: until here the delivery call stays busy,
            # so the engine coalesces everything produced meanwhile into the next snapshot.
            feed.taken.set()
    finally:
        feed.stop()
        config.cancel(registration)
        if feed.stop in closers:
            closers.remove(feed.stop)
