"""Exceptions raised by kubeproxy_config.

Defined in Python (not in the native module) because they carry attributes and derive from two
bases; this module imports nothing that could fail, as the native module imports it at load time.
"""

from __future__ import annotations

__all__ = ["ClosedError", "Error", "InvalidObject", "RecordingError"]


class Error(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidObject(Error, ValueError):
    """An object failed to parse or validate; nothing of the call that carried it was applied.

    ``key`` is ``"namespace/name"`` when it could be read, else ``None``; ``path`` is the JSON
    path of the bad field (``"spec.ports[1].port"``), empty when the whole object is at fault.
    """

    def __init__(self, message: str, key: str | None = None, path: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.path = path


class ClosedError(Error, RuntimeError):
    """The config or channel has been closed; nothing more can be sent to it."""


class RecordingError(Error, ValueError):
    """A recording cannot be played: not a recording, another format version, or a truncated
    or corrupt line (the message names the file and the line)."""
