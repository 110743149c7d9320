"""``replay``: a recording made by ``KubernetesSource(record=...)`` or ``kubeproxy-config
record`` played back into configs, deterministically."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

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
) -> dict[str, int]:
    """Play the recording at ``path`` into the given configs (through their channel named
    ``source``) and return the records played per resource. Blocks until the file has played;
    ``speed=None`` plays as fast as possible, ``speed=2.0`` at twice the recorded pace.

    The configs end in the state the recorded source reached. Resources without a config are
    skipped. Raises ``RecordingError`` naming the file and line of a truncated or corrupt record.
    """
    from kubeproxy_config import _core

    if speed is not None and speed <= 0:
        raise ValueError("speed must be > 0 (or None: as fast as possible)")
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
        return _core.replay(os.fspath(path), channels, speed)
    except ValueError as exc:
        raise RecordingError(str(exc)) from None
