"""The object store: objects as JSON dicts, one global resourceVersion, history and watchers.

Like etcd behind the API server, every write bumps a single counter; the event history is kept
in memory (until ``compact``) so that watches can replay from an exact resourceVersion and lists
can serve later pages from the state at the first page's resourceVersion. Every write is one
event, so the history's resourceVersions are consecutive and an event is found by arithmetic.
Keys are also kept sorted per resource, so that a list page reads only what it returns.

Every stored dict is treated as immutable once stored (writes store new dicts), so events, lists
and watchers may share them; callers outside the store get deep copies.
"""

from __future__ import annotations

import bisect
import copy
import datetime
import secrets
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubeproxy_config.testing import _status
from kubeproxy_config.testing._resources import STORED, Resource
from kubeproxy_config.testing._snapshot import Key, Obj, SnapshotView
from kubeproxy_config.testing._status import StatusError

__all__ = ["Event", "Key", "Obj", "Predicate", "Store", "Watcher", "deep", "key_of"]

Predicate = Callable[[Obj], bool]
OnCommit = Callable[[Resource, "Obj | None", "Obj | None"], None]


@dataclass(frozen=True)
class Event:
    """One change in the history: ``obj`` is the new state (for DELETED, the last one)."""

    rv: int
    resource: Resource
    type: str  # "ADDED" | "MODIFIED" | "DELETED"
    obj: Obj
    prev: Obj | None


def key_of(obj: Obj) -> Key:
    """The store key of an object."""
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


def _with_rv(obj: Obj, rv: int) -> Obj:
    out = dict(obj)
    out["metadata"] = {**obj["metadata"], "resourceVersion": str(rv)}
    return out


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


INITIAL_EVENTS_END = "k8s.io/initial-events-end"
"""The annotation on the bookmark that ends a streaming list's initial events."""


@dataclass(eq=False)
class Watcher:
    """One open watch: a queue of ``(type, object)`` items filled by the store, under its lock.

    Item types are the watch event types, plus ``GARBAGE`` (fault injection: a non-JSON line).
    """

    resource: Resource
    predicate: Predicate
    after: int
    bookmarks: bool
    queue: deque[tuple[str, Obj]] = field(default_factory=deque)
    dropped: bool = False
    on_drop: Callable[[], None] | None = None

    def offer(self, event: Event) -> None:
        """Queue what this watcher sees of an event (selectors can turn MODIFIED into ADDED or
        DELETED, as in the API server's watch cache)."""
        if event.resource is not self.resource or event.rv <= self.after:
            return
        new_ok = self.predicate(event.obj)
        old_ok = event.prev is not None and self.predicate(event.prev)
        if event.type == "MODIFIED":
            if new_ok and old_ok:
                self.queue.append(("MODIFIED", event.obj))
            elif new_ok:
                self.queue.append(("ADDED", event.obj))
            elif old_ok and event.prev is not None:
                self.queue.append(("DELETED", _with_rv(event.prev, event.rv)))
        elif new_ok:
            self.queue.append((event.type, event.obj))

    def bookmark(self, rv: int, annotations: dict[str, str] | None = None) -> None:
        """Queue a BOOKMARK for ``rv`` (with ``annotations``, as the end of initial events)."""
        res = self.resource
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if annotations:
            meta["annotations"] = dict(annotations)
        obj = {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta}
        self.queue.append(("BOOKMARK", obj))


class Store:
    """Objects of every stored resource, the global resourceVersion, history and watchers."""

    def __init__(self, start_rv: int = 1, on_commit: OnCommit | None = None) -> None:
        """``on_commit(resource, previous, new)`` is called for every write, with the lock
        held (``new`` is None for a delete): how derived state such as allocations follows."""
        self.cond = threading.Condition(threading.RLock())
        self.closed = False
        self._rv = start_rv
        self._compacted = start_rv
        self._objects: dict[Resource, dict[Key, Obj]] = {res: {} for res in STORED}
        self._lose = 0  # changes still to hide from open watches (a fault)
        self._keys: dict[Resource, list[Key]] = {res: [] for res in STORED}  # sorted
        self._in_use: Counter[str] = Counter()  # objects per namespace
        self._history: list[Event] = []  # consecutive resourceVersions, oldest first
        self._watchers: list[Watcher] = []
        self._on_commit = on_commit

    # -- reading --------------------------------------------------------------------------------

    @property
    def rv(self) -> int:
        """The current (latest) resourceVersion."""
        with self.cond:
            return self._rv

    @property
    def compacted_rv(self) -> int:
        """The oldest resourceVersion still served by watches and continue tokens."""
        with self.cond:
            return self._compacted

    def get(self, res: Resource, key: Key) -> Obj | None:
        """The stored object (shared, do not mutate), or None."""
        with self.cond:
            return self._objects[res].get(key)

    def namespaces(self) -> set[str]:
        """Every namespace that holds an object."""
        with self.cond:
            return set(self._in_use)

    def _since(self, rv: int) -> int:
        # Index in the history of the first event after ``rv`` (caller holds the lock).
        if not self._history:
            return 0
        return min(len(self._history), max(0, rv + 1 - self._history[0].rv))

    def view(self, res: Resource, at_rv: int | None = None) -> SnapshotView:
        """The objects of ``res`` as they were at ``at_rv`` (default: now). The view reads the
        live store: hold ``cond`` for as long as it is used. Costs O(writes since ``at_rv``).

        Raises ``StatusError`` 410 Expired when the history since ``at_rv`` was compacted.
        """
        with self.cond:
            if at_rv is None or at_rv >= self._rv:
                return SnapshotView(self._rv, self._objects[res], self._keys[res])
            if at_rv < self._compacted:
                raise StatusError(_status.too_old(at_rv, self._compacted))
            past: dict[Key, Obj | None] = {}
            for event in reversed(self._history[self._since(at_rv) :]):
                if event.resource is res:  # the oldest write after at_rv wins: it ran last
                    past[key_of(event.obj)] = event.prev
            return SnapshotView(at_rv, self._objects[res], self._keys[res], past)

    # -- writing --------------------------------------------------------------------------------

    def _commit(self, res: Resource, kind: str, new: Obj | None, prev: Obj | None) -> Obj:
        # Caller holds the lock. Bumps the rv, stores, records history, feeds watchers.
        self._rv += 1
        obj = _with_rv(new if new is not None else prev or {}, self._rv)
        key = key_of(obj)
        objects, keys = self._objects[res], self._keys[res]
        if new is None:
            if objects.pop(key, None) is not None:
                del keys[bisect.bisect_left(keys, key)]
                self._forget_namespace(key[0])
        else:
            if key not in objects:
                bisect.insort(keys, key)
                self._in_use[key[0]] += 1
            objects[key] = obj
        if self._on_commit is not None:
            self._on_commit(res, prev, None if new is None else obj)
        event = Event(self._rv, res, kind, obj, prev)
        self._history.append(event)
        if self._lose > 0:  # the lost-events fault: the change reaches no open watch
            self._lose -= 1
        else:
            for watcher in self._watchers:
                watcher.offer(event)
        self.cond.notify_all()
        return obj

    def lose_events(self, n: int) -> None:
        """The next ``n`` changes reach no open watch (they stay in the history and state)."""
        with self.cond:
            self._lose += n

    def _forget_namespace(self, namespace: str) -> None:
        self._in_use[namespace] -= 1
        if not self._in_use[namespace]:
            del self._in_use[namespace]

    def create(self, res: Resource, obj: Obj) -> Obj:
        """Store a new object (namespace and name already set); 409 AlreadyExists if present."""
        meta = obj["metadata"]
        with self.cond:
            if not meta.get("name") and meta.get("generateName"):
                while True:
                    meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
                    if key_of(obj) not in self._objects[res]:
                        break
            key = key_of(obj)
            if key in self._objects[res]:
                raise StatusError(_status.already_exists(res.plural, key[1], res.group))
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _now()
            for transient in ("deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(transient, None)
            return self._commit(res, "ADDED", obj, None)

    def update(
        self, res: Resource, key: Key, change: Callable[[Obj], Obj], *, check_rv: bool = True
    ) -> Obj:
        """Replace an object by ``change(current)``; 404 if absent, 409 Conflict if the result
        names a resourceVersion other than the current one (unless ``check_rv`` is false).

        A change that leaves the object as it was is not a write: no new resourceVersion, no
        event (like the API server, which skips no-op updates).
        """
        with self.cond:
            cur = self._objects[res].get(key)
            if cur is None:
                raise StatusError(_status.not_found(res.plural, key[1], res.group))
            new = change(cur)
            meta = new.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise StatusError(_status.bad_request("metadata must be an object"))
            if (meta.get("namespace") or "", meta.get("name")) != key:
                raise StatusError(
                    _status.bad_request("the name or namespace of the object cannot be changed")
                )
            given = meta.get("resourceVersion")
            if check_rv and given and given != cur["metadata"]["resourceVersion"]:
                raise StatusError(_status.conflict(res.plural, key[1], res.group))
            for immutable in ("uid", "creationTimestamp"):
                meta[immutable] = cur["metadata"][immutable]
            meta["resourceVersion"] = cur["metadata"]["resourceVersion"]
            if new == cur:
                return cur
            return self._commit(res, "MODIFIED", new, cur)

    def delete(self, res: Resource, key: Key, precondition_rv: str | None = None) -> Obj:
        """Remove an object; returns its last state with the deletion's resourceVersion."""
        with self.cond:
            cur = self._objects[res].get(key)
            if cur is None:
                raise StatusError(_status.not_found(res.plural, key[1], res.group))
            if precondition_rv and precondition_rv != cur["metadata"]["resourceVersion"]:
                raise StatusError(_status.conflict(res.plural, key[1], res.group))
            return self._commit(res, "DELETED", None, cur)

    def compact(self, rv: int | None = None) -> int:
        """Forget history up to ``rv`` (default: now); older versions then get 410 Expired."""
        with self.cond:
            target = self._rv if rv is None else min(rv, self._rv)
            if target > self._compacted:
                del self._history[: self._since(target)]
                self._compacted = target
            return self._compacted

    # -- watching -------------------------------------------------------------------------------

    def watch(
        self, res: Resource, predicate: Predicate, since: int | None, bookmarks: bool
    ) -> Watcher:
        """Open a watcher: from ``since`` (replaying history) or, if None, from synthetic ADDED
        events for every current object. Raises ``StatusError`` 410 for a compacted ``since``.
        """
        with self.cond:
            if since is None:
                watcher = Watcher(res, predicate, self._rv, bookmarks)
                for key in self._keys[res]:
                    obj = self._objects[res][key]
                    if predicate(obj):
                        watcher.queue.append(("ADDED", obj))
            else:
                if since < self._compacted:
                    raise StatusError(_status.too_old(since, self._compacted))
                watcher = Watcher(res, predicate, since, bookmarks)
                for event in self._history[self._since(since) :]:
                    watcher.offer(event)
            self._watchers.append(watcher)
            self.cond.notify_all()
            return watcher

    def watch_list(self, res: Resource, predicate: Predicate) -> Watcher:
        """Open a streaming list (KEP-3157): a synthetic ADDED event for every current object,
        then a BOOKMARK at the current resourceVersion annotated ``k8s.io/initial-events-end``,
        then the changes after it."""
        with self.cond:
            watcher = Watcher(res, predicate, self._rv, True)
            for key in self._keys[res]:  # sorted
                obj = self._objects[res][key]
                if predicate(obj):
                    watcher.queue.append(("ADDED", obj))
            watcher.bookmark(self._rv, {INITIAL_EVENTS_END: "true"})
            self._watchers.append(watcher)
            self.cond.notify_all()
            return watcher

    def unwatch(self, watcher: Watcher) -> None:
        """Close a watcher (idempotent)."""
        with self.cond:
            if watcher in self._watchers:
                self._watchers.remove(watcher)
            self.cond.notify_all()

    def watchers(self) -> list[Watcher]:
        """The open watchers."""
        with self.cond:
            return list(self._watchers)

    def signal(self, action: Callable[[Watcher], None]) -> int:
        """Apply ``action`` to every open watcher with the lock held, then wake them all.

        Returns the number of watchers.
        """
        with self.cond:
            for watcher in self._watchers:
                action(watcher)
            self.cond.notify_all()
            return len(self._watchers)

    def close(self) -> None:
        """Wake every watcher so that it ends."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()


def deep(obj: Obj) -> Obj:
    """A private copy of a stored object, for callers outside the store."""
    return copy.deepcopy(obj)
