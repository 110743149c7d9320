"""Log records as ``kubeproxy-config watch`` shows them: one line each on stderr
(``kubeproxy-config: warning: …``), or the live view's status line.

``-v`` is the stdlib's levels: none shows this package's warnings, ``-v`` adds its INFO records,
``-vv`` its DEBUG records, ``-vvv`` DEBUG records of every library (the HTTP client's too).
"""

from __future__ import annotations

import collections
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["LogLines", "one_line", "verbosity"]

PROG = "kubeproxy-config"
_PACKAGE = "kubeproxy_config"
_LEVELS = (logging.WARNING, logging.INFO, logging.DEBUG)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace, newlines included, made one space."""
    return " ".join(text.split())


class LogLines(logging.Handler):
    """Records at ``level`` and above, of this package's loggers (of all with ``everything``):
    the warnings are kept for the status line and error messages; every record is printed to
    stderr, one line each, once ``echo`` is on."""

    def __init__(self, level: int = logging.WARNING, *, everything: bool = False) -> None:
        super().__init__(level)
        self.everything = everything
        self.messages: collections.deque[str] = collections.deque(maxlen=20)
        self.echo = False
        self.on_message: Callable[[], None] | None = None
        self._held: collections.deque[str] = collections.deque(maxlen=200)

    def emit(self, record: logging.LogRecord) -> None:
        if not self.everything and not record.name.startswith(_PACKAGE):
            return
        try:
            message = one_line(record.getMessage())
            if record.exc_info and record.exc_info[1] is not None:
                message += f": {one_line(str(record.exc_info[1]))}"
        except Exception:
            self.handleError(record)
            return
        line = f"{PROG}: {record.levelname.lower()}: {message}"
        if record.levelno >= logging.WARNING:
            self.messages.append(message)
        if self.echo:
            _print(line)
        else:
            self._held.append(line)
        if self.on_message is not None and record.levelno >= logging.WARNING:
            self.on_message()

    def start_echo(self) -> None:
        """Print the records held so far, and every later one as it comes."""
        while self._held:
            _print(self._held.popleft())
        self.echo = True


def _print(line: str) -> None:
    # sys.stderr is looked up each time: the live view may have redirected it above itself.
    print(line, file=sys.stderr, flush=True)


@contextmanager
def verbosity(count: int) -> Iterator[LogLines]:
    """Show this package's records from the level ``count`` times ``-v`` asks for, for the duration
    (the loggers' levels and handlers are restored afterwards). Without ``-v`` warnings wait
    for ``start_echo()``; with it every record is printed at once."""
    level = _LEVELS[min(count, len(_LEVELS) - 1)]
    handler = LogLines(level, everything=count >= 3)
    handler.echo = count > 0  # asked for: printed as it comes, while waiting too
    root, package = logging.getLogger(), logging.getLogger(_PACKAGE)
    saved = (root.level, package.level)
    if count >= 3:
        root.setLevel(logging.DEBUG)
    if count:
        package.setLevel(level)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        package.setLevel(saved[1])
