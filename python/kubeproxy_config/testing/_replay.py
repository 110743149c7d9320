"""``replay``: a recording made by ``KubernetesSource(record=...)`` or ``kubeproxy-config
record`` played back into configs, deterministically."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kubeproxy_config._limits import DEFAULT_MAX_LINE_BYTES, check_byte_limit
from kubeproxy_config.errors import RecordingError

if TYPE_CHECKING:
    from kubeproxy_config._config import EndpointsConfig, EndpointSliceConfig, ServiceConfig


def replay(
    path: str | os.PathLike[str],
    *,
    services: ServiceConfig | None = None,
    endpoints: EndpointsConfig | None = None,
    endpoint_slices: EndpointSliceConfig | None = None,
    speed: float | None = None,
    source: str = "api",
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> dict[str, int]:
    """Play the recording at ``path`` into the given configs (through their channel named
    ``source``) and return the records played per resource. Blocks until the file has played;
    ``speed=None`` plays as fast as possible, ``speed=2.0`` at twice the recorded pace.

    The configs end in the state the recorded source reached. Resources without a config are
    skipped. Raises ``RecordingError`` naming the file and line of a truncated or corrupt record,
    or of a line longer than ``max_line_bytes`` (default 1 GiB, counted after decompression; a
    line holds one list page or one read of watch events as a JSON string, which escaping can
    make up to three times as large as the page received, and pages are at most 256 MiB by
    default). Such a line is read no further than one byte past the limit, so a corrupt or
    hostile file (a gzip bomb) cannot make the replay buffer without bound; what was played
    before it stays in the configs.
    """
    from kubeproxy_config import _core

    if speed is not None and speed <= 0:
        raise ValueError("speed must be > 0 (or None: as fast as possible)")
    check_byte_limit("max_line_bytes", max_line_bytes)
    channels = {
        resource: config.channel(source)
        for resource, config in (
            ("services", services),
            ("endpoints", endpoints),
            ("endpointslices", endpoint_slices),
        )
        if config is not None
    }
    try:
        return _core.replay(os.fspath(path), channels, speed, max_line_bytes=max_line_bytes)
    except ValueError as exc:
        raise RecordingError(str(exc)) from None
