"""Context-manager support for the objects that are started and stopped (sources, the fake API
server): ``with obj:`` starts it and leaving the block stops it."""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeVar

_S = TypeVar("_S", bound="StartStop")


class StartStop:
    """Subclasses define ``start()`` (returning the object) and ``stop()``."""

    def start(self: _S) -> _S:
        raise NotImplementedError

    def stop(self) -> Any:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
