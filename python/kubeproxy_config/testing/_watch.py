"""The watch stream loop: chunked JSON lines, bookmarks, timeouts, stalls and stops."""

from __future__ import annotations

import json
import select
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from kubeproxy_config.testing._faults import Faults
from kubeproxy_config.testing._store import Obj, Store, Watcher

GARBAGE = "GARBAGE"
OVERSIZED = "OVERSIZED"  # fault injection: one event line of obj["size"] bytes
PIECE = 64 * 1024  # oversized answers are written in pieces of this size
_POLL = 0.25  # seconds between checks that the client is still there


@dataclass(frozen=True)
class WatchOptions:
    """How one watch stream behaves."""

    timeout: float | None  # timeoutSeconds
    bookmark_interval: float | None  # None: no periodic bookmarks
    render: Callable[[Obj], Obj] | None = None  # e.g. objects as Tables, for kubectl


def encode_event(kind: str, obj: Obj) -> bytes:
    """One watch event as a JSON line."""
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


def write_oversized(
    watcher: Watcher, size: int, write: Callable[[bytes], None], faults: Faults
) -> None:
    """One MODIFIED event line of ``size`` bytes (newline excluded) of an object that is not
    stored, padded by an annotation and written in pieces: a client that stops reading makes
    a write fail, and ``faults`` counts how much got out."""
    res = watcher.resource
    meta = {"name": "oversized", "namespace": "default", "annotations": {"padding": ""}}
    obj = {"apiVersion": res.api_version, "kind": res.kind, "metadata": meta}
    head, tail = encode_event("MODIFIED", obj).split(b'"padding":""')
    head += b'"padding":"'
    tail = b'"' + tail
    left = max(0, size - len(head) - len(tail) + 1)  # tail ends with the newline
    write(head)
    faults.wrote_oversized(len(head))
    while left > 0:
        n = min(left, PIECE)
        write(b"x" * n)
        faults.wrote_oversized(n)
        left -= n
    write(tail)
    faults.wrote_oversized(len(tail))


def peer_closed(sock: socket.socket) -> bool:
    """Whether the client closed its end (best effort; plain sockets only)."""
    if isinstance(sock, ssl.SSLSocket):
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _next_items(
    store: Store,
    watcher: Watcher,
    faults: Faults,
    deadline: float | None,
    next_bookmark: list[float],
    interval: float | None,
) -> list[tuple[str, Obj]] | None:
    """Wait (at most ``_POLL``) for items to send; None when the stream must end cleanly."""
    with store.cond:
        now = time.monotonic()
        if store.closed or (deadline is not None and now >= deadline):
            return None
        if watcher.dropped:
            return []
        waits = [_POLL]
        if deadline is not None:
            waits.append(deadline - now)
        stalled = faults.stall_remaining()
        if stalled > 0:
            waits.append(stalled)
        elif watcher.queue:
            items = list(watcher.queue)
            watcher.queue.clear()
            return items
        elif interval is not None:
            if now >= next_bookmark[0]:
                next_bookmark[0] = now + interval
                watcher.bookmark(store.rv)
                items = list(watcher.queue)
                watcher.queue.clear()
                return items
            waits.append(next_bookmark[0] - now)
        store.cond.wait(max(0.0, min(waits)))
        return []


def run_watch(
    store: Store,
    watcher: Watcher,
    faults: Faults,
    options: WatchOptions,
    sock: socket.socket,
    write: Callable[[bytes], None],
) -> bool:
    """Stream events until the timeout, a stop, a drop or a client disconnect.

    ``write`` sends one chunk (``b""`` ends the chunked body). Returns True when the stream was
    ended cleanly (the connection may be reused), False when it was cut.
    """
    deadline = None if options.timeout is None else time.monotonic() + options.timeout
    interval = options.bookmark_interval
    next_bookmark = [time.monotonic() + (interval or 0.0)]
    try:
        while True:
            items = _next_items(store, watcher, faults, deadline, next_bookmark, interval)
            if watcher.dropped:
                return False
            if items is None:
                write(b"")
                return True
            if not items:
                if peer_closed(sock):
                    return False
                continue
            for kind, obj in items:
                if kind == GARBAGE:
                    write(b"this is not JSON {\n")
                elif kind == OVERSIZED:
                    write_oversized(watcher, obj["size"], write, faults)
                elif options.render is not None and kind in ("ADDED", "MODIFIED", "DELETED"):
                    write(encode_event(kind, options.render(obj)))
                else:
                    write(encode_event(kind, obj))
    except OSError:
        return False
    finally:
        store.unwatch(watcher)
