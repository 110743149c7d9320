"""FileSource: Services, Endpoints and EndpointSlices from a directory (or file) of manifests."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import watchfiles

from kubeproxy_config._config import EndpointsConfig, EndpointSliceConfig, ServiceConfig
from kubeproxy_config._core import SourceChannel
from kubeproxy_config._lifecycle import StartStop
from kubeproxy_config.errors import ClosedError
from kubeproxy_config.sources._manifest import FileContent, ManifestError, parse_manifest

__all__ = ["FileSource"]

logger = logging.getLogger("kubeproxy_config")

_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
# watchfiles wakes from its native wait this often when nothing changes. The first wake-up rescans
# once, picking up any change made after the initial load but before the watch was in place.
_CATCH_UP_MS = 1_000
_STOP_TIMEOUT = 5.0


@dataclass
class _File:
    data: bytes | None = None  # the bytes last read (good or bad)
    content: FileContent | None = None  # the last content that parsed and validated
    error: str | None = None


DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024


class _TooLarge(Exception):
    """A manifest file over ``max_file_bytes``."""


class FileSource(StartStop):
    """Services, Endpoints and EndpointSlices read from YAML/JSON manifests (SPEC §5).

    ``path`` is a directory, searched recursively for ``*.yaml``, ``*.yml`` and ``*.json``
    (entries whose names start with ``.`` are skipped, which also skips the timestamped
    directories of a mounted ConfigMap), or a single file. A file may hold several YAML documents,
    ``List`` / ``ServiceList`` … documents and objects of other kinds, which are ignored, as are
    documents without a ``kind``. Only the kinds of the configs given are read and validated.

    ``start()`` loads everything and sends a SET on the channel named ``source`` of each given
    config (an empty SET when there is none of its kind, so every config becomes synced), then
    watches the path with ``watchfiles`` on a daemon thread and sends a new SET for each kind
    whose content changed. A file that fails to parse or validate is rejected whole: a warning
    naming the file and line is logged on ``logging.getLogger("kubeproxy_config")``, it appears
    in ``last_errors``, and the last good content of that file is kept while other files still
    apply. Objects are tracked per file; when two files hold the same key, the first file in
    sorted path order wins (within a file, the first document). If the path itself disappears
    while watched, the last content is kept.

    A file larger than ``max_file_bytes`` (default 16 MiB; a ConfigMap holds at most 1 MiB) is
    rejected the same way without being read whole: its size is checked before reading and the
    read stops one byte past the limit, so a huge or growing file cannot make the process buffer
    it.

    ``start()`` raises ``OSError`` (``FileNotFoundError``, ``PermissionError``,
    ``NotADirectoryError`` …, naming the path) when the path cannot be read. ``stop()`` ends the
    watch and joins its thread; what was sent stays in the configs. Usable as a context manager.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        services: ServiceConfig | None = None,
        endpoints: EndpointsConfig | None = None,
        endpoint_slices: EndpointSliceConfig | None = None,
        source: str = "file",
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        if max_file_bytes < 1:
            raise ValueError(f"max_file_bytes must be at least 1, not {max_file_bytes!r}")
        self._max_file_bytes = max_file_bytes
        self._path = Path(path)
        self._source = source
        self._channels: dict[str, SourceChannel] = {}
        for field, config in (
            ("services", services),
            ("endpoints", endpoints),
            ("endpoint_slices", endpoint_slices),
        ):
            if config is not None:
                self._channels[field] = config.channel(source)
        if not self._channels:
            raise ValueError("FileSource needs services=, endpoints= or endpoint_slices=")
        self._lock = threading.RLock()  # one rescan at a time; guards everything below
        self._files: dict[Path, _File] = {}
        self._sent: dict[str, dict[str, Any]] = {}
        self._duplicates: set[tuple[str, str, Path]] = set()
        self._root_missing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> Path:
        """The directory or file watched."""
        return self._path

    @property
    def source(self) -> str:
        """The channel name this source sends on."""
        return self._source

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()`` while the watch thread lives."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def last_errors(self) -> dict[str, str]:
        """Files currently rejected: path → ``"line N: message"`` (or just the message)."""
        with self._lock:
            return {str(p): f.error for p, f in sorted(self._files.items()) if f.error}

    def start(self) -> FileSource:
        """Load the manifests, send them, and start watching. Returns ``self``.

        Raises ``OSError`` if the path cannot be read, ``RuntimeError`` if already started.
        """
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(f"{self!r} is already started")
            self._check_root()
            self._rescan(strict=True)
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._watch,
                args=(self._stop,),
                name=f"kubeproxy_config-files-{self._source}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self, timeout: float | None = _STOP_TIMEOUT) -> None:
        """Stop watching and join the watch thread (it notices within ~50 ms). Idempotent."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def reload(self) -> None:
        """Rescan now and send what changed (also works before ``start()``).

        Raises ``OSError`` if the path cannot be read.
        """
        with self._lock:
            self._check_root()
            self._rescan(strict=True)

    def __repr__(self) -> str:
        return f"FileSource({str(self._path)!r}, source={self._source!r})"

    # ---- scanning -----------------------------------------------------------------------

    def _check_root(self) -> None:
        """Raise the OSError a read of the root would (missing, unreadable, not a dir/file)."""
        if self._path.is_dir():
            with os.scandir(self._path):
                pass
        else:
            with self._path.open("rb"):
                pass

    def _list(self) -> list[Path]:
        root = self._path
        if not root.is_dir():
            return [root]
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if not name.startswith(".") and Path(name).suffix.lower() in _SUFFIXES:
                    found.append(Path(dirpath, name))
        return sorted(found)

    def _rescan(self, *, strict: bool) -> None:
        """Read every file, parse those whose bytes changed, and send changed kinds."""
        if not strict and not self._path.exists():
            if not self._root_missing:
                logger.warning("manifests %s disappeared; keeping their last content", self._path)
                self._root_missing = True
            return
        self._root_missing = False
        paths = self._list()
        for path in paths:
            self._read(path)
        for gone in self._files.keys() - set(paths):
            del self._files[gone]
        self._send()

    def _read(self, path: Path) -> None:
        state = self._files.setdefault(path, _File())
        try:
            data = self._read_bounded(path)
        except _TooLarge as exc:
            self._reject(path, state, ManifestError(str(exc)))
            state.data = None
            return
        except FileNotFoundError:
            if path != self._path:  # vanished since the listing: gone next time
                del self._files[path]
                return
            raise
        except OSError as exc:
            self._reject(path, state, ManifestError(f"cannot read: {exc.strerror or exc}"))
            state.data = None
            return
        if data == state.data:
            return
        state.data = data
        try:
            content = parse_manifest(
                data, json_format=path.suffix.lower() == ".json", fields=self._channels.keys()
            )
        except ManifestError as exc:
            self._reject(path, state, exc)
        except Exception as exc:  # anything else wrong with one file must not end the watch
            self._reject(path, state, ManifestError(f"{type(exc).__name__}: {exc}"))
        else:
            state.content = content
            state.error = None

    def _read_bounded(self, path: Path) -> bytes:
        limit = self._max_file_bytes
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise _TooLarge(f"file of {size} bytes is over the limit of {limit} bytes")
            data = f.read(limit + 1)  # a file growing meanwhile is cut here, not read whole
        if len(data) > limit:
            raise _TooLarge(f"file grew past the limit of {limit} bytes while read")
        return data

    def _reject(self, path: Path, state: _File, exc: ManifestError) -> None:
        message = exc.describe()
        if message != state.error:
            where = f"{path}:{exc.line}" if exc.line is not None else str(path)
            kept = "its last good content" if state.content is not None else "nothing from it"
            logger.warning("invalid manifest %s: %s (keeping %s)", where, exc.message, kept)
        state.error = message

    def _send(self) -> None:
        ordered = sorted(self._files.items())
        for field, channel in self._channels.items():
            merged: dict[str, Any] = {}
            for path, state in ordered:
                if state.content is None:
                    continue
                for key, obj in state.content.of(field).items():
                    if key not in merged:
                        merged[key] = obj
                    elif (field, key, path) not in self._duplicates:
                        self._duplicates.add((field, key, path))
                        logger.warning(
                            "manifest %s: %s %s is also defined in an earlier file; ignored here",
                            path,
                            field.rstrip("s").replace("_", " "),
                            key,
                        )
            if self._sent.get(field) != merged:
                channel.set(list(merged.values()))
                self._sent[field] = merged

    # ---- watching -----------------------------------------------------------------------

    def _watch(self, stop: threading.Event) -> None:
        root = self._path
        if root.is_dir():
            target, recursive = root, True
            watch_filter: Any = watchfiles.DefaultFilter()
        else:  # watch the directory, so a file replaced by rename is still seen
            target, recursive = root.parent, False
            name = root.name

            def watch_filter(change: watchfiles.Change, changed: str) -> bool:
                changed_name = os.path.basename(changed)
                return changed_name == name or changed_name.startswith("..")

        caught_up = False
        try:
            for changes in watchfiles.watch(
                target,
                watch_filter=watch_filter,
                stop_event=stop,
                rust_timeout=_CATCH_UP_MS,
                yield_on_timeout=True,
                raise_interrupt=False,
                recursive=recursive,
            ):
                if stop.is_set():
                    return
                if changes or not caught_up:
                    caught_up = True
                    with self._lock:
                        if stop.is_set():
                            return
                        try:
                            self._rescan(strict=False)
                        except OSError as exc:
                            logger.warning("cannot read manifests %s: %s", root, exc)
        except ClosedError:
            logger.debug("%r: config closed, no longer watching", self)
        except Exception:
            logger.exception("%r: watching %s failed; no further updates", self, root)
