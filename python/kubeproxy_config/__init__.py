"""kubeproxy_config: the configuration layer of a Kubernetes service proxy.

Sources of Services, Endpoints and EndpointSlices are merged in Rust and delivered to handlers.
"""

from __future__ import annotations

from kubeproxy_config._core import (
    Endpoint,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    Service,
    ServicePort,
)
from kubeproxy_config.errors import ClosedError, Error, InvalidObject

__all__ = [
    "ClosedError",
    "Endpoint",
    "EndpointAddress",
    "EndpointPort",
    "EndpointSlice",
    "EndpointSubset",
    "Endpoints",
    "Error",
    "InvalidObject",
    "Service",
    "ServicePort",
]
