"""kubeproxy_config: the configuration layer of a Kubernetes service proxy.

Sources of Services, Endpoints and EndpointSlices are merged in Rust and delivered to handlers.
Create configs after ``os.fork()``, never before: delivery threads do not survive a fork.
"""

from __future__ import annotations

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
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    Service,
    ServicePort,
    Snapshot,
    SourceChannel,
)
from kubeproxy_config._updates import (
    EndpointSliceUpdate,
    EndpointsUpdate,
    Operation,
    ServiceUpdate,
)
from kubeproxy_config.errors import ClosedError, Error, InvalidObject

__all__ = [
    "Changes",
    "ClosedError",
    "Endpoint",
    "EndpointAddress",
    "EndpointPort",
    "EndpointSlice",
    "EndpointSliceConfig",
    "EndpointSliceUpdate",
    "EndpointSubset",
    "Endpoints",
    "EndpointsConfig",
    "EndpointsUpdate",
    "Error",
    "InvalidObject",
    "Operation",
    "Registration",
    "Service",
    "ServiceConfig",
    "ServicePort",
    "ServiceUpdate",
    "Snapshot",
    "SourceChannel",
]
