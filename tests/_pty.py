"""Running the CLI in a pseudo-terminal and reading what it draws, with bounded waits."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager

WAIT = 15.0  # a bound for output to appear; never reached when things work


def open_terminal(columns: int, lines: int = 40) -> tuple[int, int]:
    """A pty sized ``columns`` x ``lines``: its (parent, child) descriptors."""
    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    return parent, child


def spawn_in_terminal(
    command: list[str], child: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """``python -m kubeproxy_config *command`` on the terminal ``child``, which is then closed
    here (the process holds it), so that reads see EIO once the process exits."""
    argv = [sys.executable, "-m", "kubeproxy_config", *command]
    proc = subprocess.Popen(
        argv, stdin=child, stdout=child, stderr=child, env=env, start_new_session=True
    )
    os.close(child)
    return proc


@contextmanager
def in_terminal(
    command: list[str], columns: int, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], int, bytearray]]:
    """The CLI running on a new terminal ``columns`` wide: the process, the terminal's side to
    read, and a buffer for what was read. Afterwards the process is killed if still running."""
    parent, child = open_terminal(columns)
    proc = spawn_in_terminal(command, child, env)
    data = bytearray()
    try:
        yield proc, parent, data
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(parent)


def read_until(fd: int, data: bytearray, pattern: bytes, start: int = 0) -> int:
    """Read ``fd`` into ``data`` until ``pattern`` occurs after ``start``; its end offset."""
    deadline = time.monotonic() + WAIT
    while (found := data.find(pattern, start)) < 0:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        try:
            chunk = os.read(fd, 65536) if ready else b""
        except OSError:  # EIO: the terminal's other side closed
            chunk = b""
        if not chunk:
            raise AssertionError(f"{pattern!r} not seen in output: {bytes(data[-2000:])!r}")
        data += chunk
    return found + len(pattern)


def drain(fd: int, data: bytearray) -> None:
    """Read ``fd`` into ``data`` until its other side closes (or the deadline passes)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        try:
            chunk = os.read(fd, 65536) if ready else b""
        except OSError:  # EIO: the process exited and closed the terminal
            return
        if not chunk:
            return
        data += chunk
