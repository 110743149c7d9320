"""How the lists of each kind merge: the patch strategies of the Kubernetes API types.

A strategic merge patch merges a list only where the type says ``patchStrategy:"merge"``
(by ``patchMergeKey``, or as a set for scalars); every other list is replaced whole.
Server-side apply reads ``listType=map`` keys (which can be several fields) instead.
Paths are tuples of field names from the object's root; list items do not add a step.
"""

from __future__ import annotations

from typing import Final

Path = tuple[str, ...]

SET: Final = ()
"""The "key" of a list of scalars merged as a set (e.g. ``metadata.finalizers``)."""

_META_SMP: dict[Path, tuple[str, ...]] = {
    ("metadata", "finalizers"): SET,
    ("metadata", "ownerReferences"): ("uid",),
}
_META_SSA: dict[Path, tuple[str, ...]] = {
    ("metadata", "finalizers"): SET,
    ("metadata", "ownerReferences"): ("uid",),
}

# core/v1 Service: ports merge by port (the patchMergeKey), but are a list-map keyed by port
# and protocol for apply; status conditions merge by type. clusterIPs, ipFamilies,
# externalIPs and the rest are atomic.
_SMP: dict[str, dict[Path, tuple[str, ...]]] = {
    "Service": {
        **_META_SMP,
        ("spec", "ports"): ("port",),
        ("status", "conditions"): ("type",),
    },
    # Endpoints.subsets and every EndpointSlice list are atomic: replaced whole.
    "Endpoints": dict(_META_SMP),
    "EndpointSlice": dict(_META_SMP),
}
_SSA: dict[str, dict[Path, tuple[str, ...]]] = {
    "Service": {
        **_META_SSA,
        ("spec", "ports"): ("port", "protocol"),
        ("status", "conditions"): ("type",),
    },
    "Endpoints": dict(_META_SSA),
    "EndpointSlice": dict(_META_SSA),
}


def strategic_keys(kind: str) -> dict[Path, tuple[str, ...]]:
    """The merge keys of a kind's strategic-merge lists (absent: the list is replaced)."""
    return _SMP.get(kind, _META_SMP)


def apply_keys(kind: str) -> dict[Path, tuple[str, ...]]:
    """The keys of a kind's server-side-apply list-maps and sets (absent: atomic)."""
    return _SSA.get(kind, _META_SSA)
