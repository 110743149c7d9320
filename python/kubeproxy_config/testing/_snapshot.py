"""A resource's objects as they were at one resourceVersion, read in key order without copying.

A list page must cost what the page holds, not what the store holds: the view reads the live
objects through their sorted keys and overlays only the keys written since its resourceVersion
(with their state at that version, ``None`` for "did not exist then"), much as etcd serves an old
revision. It reads the store's live structures, so it is valid only while the store's lock is held.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects


def key_range(keys: Sequence[Key], after: Key | None, namespace: str | None) -> tuple[int, int]:
    """The slice of sorted ``keys`` after ``after`` (exclusive) and inside ``namespace``."""
    lo = 0 if after is None else bisect.bisect_right(keys, after)
    hi = len(keys)
    if namespace is not None:
        # (ns, "") sorts before every name in ns; (ns + "\0", "") after all of them and
        # before every later namespace.
        lo = max(lo, bisect.bisect_left(keys, (namespace, "")))
        hi = bisect.bisect_left(keys, (namespace + "\0", ""), lo=min(lo, hi))
    return lo, max(lo, hi)


def _in_range(key: Key, after: Key | None, namespace: str | None) -> bool:
    return (after is None or key > after) and (namespace is None or key[0] == namespace)


class SnapshotView:
    """The objects of one resource at ``rv``: the current ``objects`` and their sorted ``keys``,
    overlaid with ``past`` (key -> state at ``rv``, or None) for keys written since."""

    def __init__(
        self,
        rv: int,
        objects: Mapping[Key, Obj],
        keys: Sequence[Key],
        past: Mapping[Key, Obj | None] | None = None,
    ) -> None:
        self.rv = rv
        self._objects = objects
        self._keys = keys
        self._past = past or {}

    @classmethod
    def of(cls, rv: int, objects: Mapping[Key, Obj]) -> SnapshotView:
        """A view of a plain mapping (sorted here: for small, computed collections)."""
        return cls(rv, objects, sorted(objects))

    def items(
        self, after: Key | None = None, namespace: str | None = None
    ) -> Iterator[tuple[Key, Obj]]:
        """``(key, object)`` in key order, keys after ``after`` and in ``namespace`` only; lazily,
        so a reader that stops after a page pays for the page."""
        keys, past = self._keys, self._past
        i, hi = key_range(keys, after, namespace)
        changed = sorted(k for k in past if _in_range(k, after, namespace))
        j = 0
        while i < hi or j < len(changed):
            if j == len(changed) or (i < hi and keys[i] < changed[j]):
                key, i = keys[i], i + 1
            else:
                key = changed[j]
                if i < hi and keys[i] == key:
                    i += 1
                j += 1
            obj = past[key] if key in past else self._objects[key]
            if obj is not None:
                yield key, obj

    def count(self, after: Key | None = None, namespace: str | None = None) -> int:
        """How many objects ``items(after, namespace)`` yields, without reading them."""
        lo, hi = key_range(self._keys, after, namespace)
        total = hi - lo
        for key, then in self._past.items():
            if _in_range(key, after, namespace):
                total += (then is not None) - (key in self._objects)
        return total
