"""The size limits the API source and ``replay`` take (``max_*_bytes``): defaults and checks.

Light on purpose: the command line reads the defaults without importing the sources.
"""

from __future__ import annotations

import sys

DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024
"""Largest watch event line (16 MiB). The API server refuses request bodies over 3 MiB and etcd
objects over ~1.5 MiB, so a real event is far smaller; the margin covers servers configured with
larger limits."""

DEFAULT_MAX_PAGE_BYTES = 256 * 1024 * 1024
"""Largest list page body (256 MiB): a page of ``limit=500`` objects of ~500 KiB each, or an
unpaginated list of ~100,000 ordinary objects. Larger than the event limit, so an object refused
as an event can still arrive in the relist that follows."""

DEFAULT_MAX_LINE_BYTES = 1024 * 1024 * 1024
"""Largest recording line ``replay`` reads (1 GiB): a line holds one list page or one read of
watch events as a JSON string, which escaping and invalid UTF-8 can make up to three times as
large as what was received, so it covers a page at the default limit at the worst."""


def check_byte_limit(name: str, value: object) -> None:
    """A size limit must be an int of bytes, at least 1 and one the native side can hold.

    Raises ``TypeError`` (not an int) or ``ValueError`` (out of range), naming ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (bytes), not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value!r}")
    if value > sys.maxsize:
        raise ValueError(f"{name} must be at most {sys.maxsize}, not {value!r}")
