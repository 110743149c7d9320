"""Operations and the update records a source sends (the seed's ServiceUpdate / EndpointsUpdate)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, NamedTuple


class Operation(str, enum.Enum):
    """What an update does to its source's objects."""

    SET = "SET"
    """Replace everything the source had (an empty SET clears it)."""
    ADD = "ADD"
    """Add or replace the given objects."""
    UPDATE = "UPDATE"
    """Same as ADD (for watch MODIFIED events)."""
    REMOVE = "REMOVE"
    """Delete the given objects or keys; absent ones are ignored."""


class ServiceUpdate(NamedTuple):
    """An operation on Services, for ``SourceChannel.send``."""

    op: Operation
    services: Iterable[Any]


class EndpointsUpdate(NamedTuple):
    """An operation on Endpoints, for ``SourceChannel.send``."""

    op: Operation
    endpoints: Iterable[Any]


class EndpointSliceUpdate(NamedTuple):
    """An operation on EndpointSlices, for ``SourceChannel.send``."""

    op: Operation
    slices: Iterable[Any]
