"""kubeproxy_config: the configuration layer of a Kubernetes service proxy.

Sources of Services, Endpoints and EndpointSlices are merged in Rust and delivered to handlers.
Create configs after ``os.fork()``, never before: delivery threads do not survive a fork.

Importing the package is light: the sources (and with them PyYAML, watchfiles and the official
``kubernetes`` client), the live view (rich) and the metrics (prometheus_client) are imported
only when first used.
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

    __version__: str

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

        value = getattr(sources, name)
    elif name == "__version__":
        value = _distribution_version()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _distribution_version() -> str:
    # The installed distribution's version (pyproject.toml's), so there is one place to bump it.
    # importlib.metadata is imported here, not at the top, because it costs more than the rest
    # of `import kubeproxy_config`.
    import importlib.metadata

    try:
        return importlib.metadata.version("kubeproxy-config")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - an uninstalled tree
        return "0+unknown"
