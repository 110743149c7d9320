"""kubeproxy_config: the configuration layer of a Kubernetes service proxy.

Sources of Services, Endpoints and EndpointSlices are merged in Rust and delivered to handlers.
Create configs after ``os.fork()``, never before: delivery threads do not survive a fork.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubeproxy_config._config import (
    EndpointsConfig,
    EndpointSliceConfig,
    Registration,
    ServiceConfig,
)
from kubeproxy_config._core import (
    Changes,
    Endpoint,
    EndpointAddress,
    EndpointInfo,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    ProxySnapshot,
    Service,
    ServicePort,
    ServicePortInfo,
    Snapshot,
    SourceChannel,
)
from kubeproxy_config._proxy import ProxyConfig
from kubeproxy_config._updates import (
    EndpointSliceUpdate,
    EndpointsUpdate,
    Operation,
    ServiceUpdate,
)
from kubeproxy_config.errors import ClosedError, Error, InvalidObject, RecordingError

if TYPE_CHECKING:  # served lazily by __getattr__ below
    from kubeproxy_config.sources import FileSource, KubernetesSource, new_source_api

__all__ = [
    "Changes",
    "ClosedError",
    "Endpoint",
    "EndpointAddress",
    "EndpointInfo",
    "EndpointPort",
    "EndpointSlice",
    "EndpointSliceConfig",
    "EndpointSliceUpdate",
    "EndpointSubset",
    "Endpoints",
    "EndpointsConfig",
    "EndpointsUpdate",
    "Error",
    "FileSource",
    "InvalidObject",
    "KubernetesSource",
    "Operation",
    "ProxyConfig",
    "ProxySnapshot",
    "RecordingError",
    "Registration",
    "Service",
    "ServiceConfig",
    "ServicePort",
    "ServicePortInfo",
    "ServiceUpdate",
    "Snapshot",
    "SourceChannel",
    "new_source_api",
]

# Sources are imported on first use, so `import kubeproxy_config` stays light (no YAML, file
# watching or Kubernetes client until a source is asked for).
_SOURCE_NAMES = frozenset({"FileSource", "KubernetesSource", "new_source_api"})


def __getattr__(name: str) -> Any:
    if name in _SOURCE_NAMES:
        from kubeproxy_config import sources

        return getattr(sources, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
