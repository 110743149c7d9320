"""ProxyConfig: what a proxy programs (SPEC §9), a derived config over the Rust proxy view.

The view follows a ServiceConfig and an EndpointSliceConfig (or a legacy EndpointsConfig): one
``ServicePortInfo`` per service port of one IP family, with the endpoints this node uses for
cluster and for local traffic, computed as kube-proxy computes them, incrementally, in Rust.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from kubeproxy_config import _core
from kubeproxy_config._config import (
    EndpointsConfig,
    EndpointSliceConfig,
    ServiceConfig,
    _Followable,
)
from kubeproxy_config._core import ProxySnapshot

Sequence.register(ProxySnapshot)


class ProxyConfig(_Followable[ProxySnapshot]):
    """The proxy view of ``services`` and ``endpoints``, delivered to handlers
    (``on_proxy_update(state)``) under the same contract as every config.

    One ``ProxyConfig`` holds one IP family; a dual-stack proxy makes one per family over the same
    inputs. ``synced`` becomes True once both inputs are synced (kube-proxy programs nothing
    before that). ``flush()`` also covers everything sent to the two inputs before it.
    """

    _method = "on_proxy_update"
    _core: _core.ProxyConfig

    def __init__(
        self,
        services: ServiceConfig,
        endpoints: EndpointSliceConfig | EndpointsConfig,
        *,
        node_name: str = "",
        zone: str = "",
        ip_family: Literal["IPv4", "IPv6"] | str = "IPv4",
        service_proxy_name: str | None = None,
        prefer_same_node: bool = True,
        min_interval: float = 0.0,
        name: str = "proxy",
    ) -> None:
        if not isinstance(services, ServiceConfig):
            raise TypeError(f"services must be a ServiceConfig, got {type(services).__name__}")
        if not isinstance(endpoints, (EndpointSliceConfig, EndpointsConfig)):
            raise TypeError(
                "endpoints must be an EndpointSliceConfig or an EndpointsConfig, "
                f"got {type(endpoints).__name__}"
            )
        self._core = _core.ProxyConfig(
            services._core,
            endpoints._core,
            node_name=node_name,
            zone=zone,
            ip_family=ip_family,
            service_proxy_name=service_proxy_name,
            prefer_same_node=prefer_same_node,
            min_interval=min_interval,
            name=name,
        )
        self.services = services
        self.endpoints = endpoints
        self._ip_family = ip_family
        self._opened()

    @property
    def ip_family(self) -> str:
        """The family this view holds ("IPv4" or "IPv6")."""
        return self._ip_family

    @property
    def node_name(self) -> str:
        """The node this view is computed for."""
        return self._core.node_name

    @property
    def zone(self) -> str:
        """The node's zone (``topology.kubernetes.io/zone``)."""
        return self._core.zone

    def set_zone(self, zone: str) -> None:
        """The node's zone changed: every port is categorised again, and the next delivery is a
        full sync."""
        self._core.set_zone(zone)

    def set_node_name(self, node_name: str) -> None:
        """The node's name changed: every port is categorised again (a full sync)."""
        self._core.set_node_name(node_name)
