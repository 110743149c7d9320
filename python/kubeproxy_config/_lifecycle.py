"""Context-manager support: ``with obj:`` for objects that are closed (configs, the metrics
server) and for objects that are started and stopped (sources, the fake API server)."""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeVar

_C = TypeVar("_C", bound="Closing")
_S = TypeVar("_S", bound="StartStop")


class _Scoped:
    """Leaving a ``with`` block calls ``_leave()``."""

    def _leave(self) -> None:
        raise NotImplementedError

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._leave()


class Closing(_Scoped):
    """Subclasses define ``close()``; ``with obj:`` gives the object and closes it after."""

    def close(self) -> Any:
        raise NotImplementedError

    def __enter__(self: _C) -> _C:
        return self

    def _leave(self) -> None:
        self.close()


class StartStop(_Scoped):
    """Subclasses define ``start()`` (returning the object) and ``stop()``."""

    def start(self: _S) -> _S:
        raise NotImplementedError

    def stop(self) -> Any:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self.start()

    def _leave(self) -> None:
        self.stop()
