"""The baseline of SPEC §7: the same design written in plain, idiomatic pure Python.

What a good Python engineer would write to reproduce kube-proxy's (≤ 1.5) config layer: a dict
per source keyed by ``"namespace/name"``, a ``queue.Queue`` as the mux, one merger thread that
applies updates in order with the package's merge rules, and a broadcaster that calls every handler
synchronously on the merger thread.

- ``BaselineConfig()`` ("full", the design being compared, as the old kube-proxy did): every
  change hands each handler the whole merged state, a fresh ``dict`` copy (O(N) per update).
- ``BaselineConfig(delta=True)``: handlers get only the changes of that update (O(change)), the
  cheapest thing a pure-Python design can do while keeping the same model.

Merge rules (the package's, SPEC §3): SET replaces the source's map; ADD/UPDATE adds or replaces;
REMOVE deletes (absent keys ignored). The source whose channel was created first wins a key; when it
removes the key, the next source's object shows. An object equal to the stored one is no change.
A version is produced only when the merged state changes. Objects are plain dicts (the Kubernetes
JSON), or anything with ``==`` (the official client's models).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = Any  # a Kubernetes JSON dict (or a client model with "metadata")
Handler = Callable[["BaselineSnapshot"], object]

_STOP = object()


def object_key(obj: Obj) -> str:
    """``namespace/name`` of a dict (or of a ``kubernetes`` client model)."""
    if isinstance(obj, dict):
        meta = obj["metadata"]
        return f"{meta.get('namespace') or 'default'}/{meta['name']}"
    meta = obj.metadata
    return f"{meta.namespace or 'default'}/{meta.name}"


@dataclass(frozen=True)
class BaselineChanges:
    """The difference one version made to the merged state."""

    added: tuple[Obj, ...] = ()
    updated: tuple[tuple[Obj, Obj], ...] = ()
    removed: tuple[Obj, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True)
class BaselineSnapshot:
    """What a handler receives: ``objects`` (a full copy, "full" mode) or ``changes`` (delta)."""

    version: int
    objects: Mapping[str, Obj] | None = None
    changes: BaselineChanges | None = None

    def get(self, key: str) -> Obj | None:
        return None if self.objects is None else self.objects.get(key)

    def __len__(self) -> int:
        return 0 if self.objects is None else len(self.objects)

    def __contains__(self, key: object) -> bool:
        return self.objects is not None and key in self.objects

    def __iter__(self) -> Iterator[Obj]:
        objects = self.objects or {}
        return (objects[k] for k in sorted(objects))


@dataclass
class _Update:
    source: int
    op: str  # "SET" | "ADD" | "REMOVE"
    items: list[Any] = field(default_factory=list)


class BaselineChannel:
    """One named source; sends are queued and return at once."""

    def __init__(self, config: BaselineConfig, name: str, index: int) -> None:
        self.name = name
        self._config = config
        self._index = index

    def set(self, objs: Iterable[Obj]) -> None:
        self._config._put(_Update(self._index, "SET", list(objs)))

    def add(self, objs: Iterable[Obj]) -> None:
        self._config._put(_Update(self._index, "ADD", list(objs)))

    update = add

    def remove(self, objs_or_keys: Iterable[Obj | str]) -> None:
        keys = [k if isinstance(k, str) else object_key(k) for k in objs_or_keys]
        self._config._put(_Update(self._index, "REMOVE", keys))


class BaselineConfig:
    """Sources merged on one thread; handlers called synchronously after every change."""

    def __init__(self, *, delta: bool = False) -> None:
        self.delta = delta
        self._queue: queue.Queue[Any] = queue.Queue()
        self._channels: dict[str, BaselineChannel] = {}
        self._sources: list[dict[str, Obj]] = []  # in channel-creation order
        self._merged: dict[str, Obj] = {}
        self._handlers: list[Handler] = []
        self._lock = threading.Lock()  # guards _handlers and _channels (not the merged state)
        self.version = 0
        self.updates = 0
        self._thread = threading.Thread(target=self._run, name="baseline-merger", daemon=True)
        self._thread.start()

    # ---- API shaped like the package's ------------------------------------------------------

    def channel(self, source: str) -> BaselineChannel:
        if not source:
            raise ValueError("a source needs a name")
        with self._lock:
            ch = self._channels.get(source)
            if ch is None:
                ch = BaselineChannel(self, source, len(self._channels))
                self._channels[source] = ch
                self._queue.put(("new-source", None))
            return ch

    def register_handler(self, handler: Handler) -> None:
        """Called on the merger thread after every change; gets the current state at once."""
        done = threading.Event()
        self._queue.put(("register", (handler, done)))
        done.wait()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued before the call is merged and delivered."""
        done = threading.Event()
        self._queue.put(("flush", done))
        return done.wait(timeout)

    def state(self) -> BaselineSnapshot:
        """The merged state (a copy, taken on the merger thread so it is consistent)."""
        box: list[BaselineSnapshot] = []
        done = threading.Event()
        self._queue.put(("state", (box, done)))
        done.wait()
        return box[0]

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def __enter__(self) -> BaselineConfig:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- merger thread ----------------------------------------------------------------------

    def _put(self, update: _Update) -> None:
        self._queue.put(update)

    def _run(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is _STOP:
                return
            if isinstance(item, _Update):
                self._merge(item)
                continue
            what, arg = item
            if what == "new-source":
                self._sources.append({})
            elif what == "flush":
                arg.set()
            elif what == "state":
                box, done = arg
                box.append(BaselineSnapshot(self.version, dict(self._merged)))
                done.set()
            elif what == "register":
                handler, done = arg
                self._handlers.append(handler)
                if self.version:
                    handler(self._snapshot(BaselineChanges(added=tuple(self._merged.values()))))
                done.set()

    def _winner(self, key: str) -> Obj | None:
        for store in self._sources:
            obj = store.get(key)
            if obj is not None:
                return obj
        return None

    def _merge(self, update: _Update) -> None:
        self.updates += 1
        store = self._sources[update.source]
        touched: list[str] = []
        if update.op == "SET":
            new = {object_key(o): o for o in update.items}
            touched = [k for k in store if k not in new]
            for k, o in new.items():
                old = store.get(k)
                if old is None or old != o:
                    touched.append(k)
            store.clear()
            store.update(new)
        elif update.op == "ADD":
            for o in update.items:
                k = object_key(o)
                old = store.get(k)
                if old is None or old != o:
                    store[k] = o
                    touched.append(k)
        else:  # REMOVE
            for k in update.items:
                if store.pop(k, None) is not None:
                    touched.append(k)
        if not touched:
            return
        added: list[Obj] = []
        updated: list[tuple[Obj, Obj]] = []
        removed: list[Obj] = []
        merged = self._merged
        for k in touched:
            before = merged.get(k)
            after = self._winner(k)
            if after is None:
                if before is not None:
                    del merged[k]
                    removed.append(before)
            elif before is None:
                merged[k] = after
                added.append(after)
            elif before is not after and before != after:
                merged[k] = after
                updated.append((before, after))
        if added or updated or removed:
            self.version += 1
            self._broadcast(BaselineChanges(tuple(added), tuple(updated), tuple(removed)))

    def _snapshot(self, changes: BaselineChanges) -> BaselineSnapshot:
        if self.delta:
            return BaselineSnapshot(self.version, None, changes)
        return BaselineSnapshot(self.version, dict(self._merged))

    def _broadcast(self, changes: BaselineChanges) -> None:
        if not self._handlers:
            return
        # The old design: each handler gets the merged state, copied, and runs on this thread.
        snap = self._snapshot(changes)
        for handler in self._handlers:
            try:
                handler(snap)
            except Exception:  # a failing handler must not stop the merger
                import logging

                logging.getLogger("baseline").exception("handler failed")
