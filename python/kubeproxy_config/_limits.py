"""Checks of the size limits the sources and ``replay`` take (``max_*_bytes``)."""

from __future__ import annotations

import sys


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
