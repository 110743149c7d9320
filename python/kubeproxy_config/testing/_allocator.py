"""Cluster IPs and node ports of Services: which are in use, and the next free one.

What is in use is derived from the stored Services (the store reports every Service write),
so objects loaded through the Python API count too and a delete frees its values. Values are
only chosen here; they become used when the Service is committed, under the store's lock.
Both pickers are sequential (next free value after the last one handed out, wrapping), which
keeps tests reproducible; the real allocators pick at random, preferring the upper band.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Collection, Iterator
from typing import Any

from kubeproxy_config.testing import _status
from kubeproxy_config.testing._status import StatusError

Obj = dict[str, Any]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALREADY_ALLOCATED_IP = "provided IP is already allocated"
ALREADY_ALLOCATED_PORT = "provided port is already allocated"


def cluster_ips(svc: Obj) -> Iterator[str]:
    """The cluster IPs a Service holds (none for headless or ExternalName Services)."""
    spec = svc.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    for ip in ips:
        if isinstance(ip, str) and ip not in ("", "None"):
            yield ip


def node_ports(svc: Obj) -> Iterator[int]:
    """The node ports a Service holds (its ports' and the health check's)."""
    spec = svc.get("spec") or {}
    for port in spec.get("ports") or []:
        if isinstance(port, dict) and isinstance(port.get("nodePort"), int) and port["nodePort"]:
            yield port["nodePort"]
    health = spec.get("healthCheckNodePort")
    if isinstance(health, int) and health:
        yield health


def _canonical(ip: str) -> str | None:
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def _count(counter: Counter[Any], value: Any, sign: int) -> None:
    # O(1) per value: a released value leaves the counter (writes are the hot path).
    counter[value] += sign
    if counter[value] <= 0:
        del counter[value]


class Allocator:
    """The service CIDR and node port range of a fake cluster, and what is in use in them.

    The first address of the CIDR is the ``kubernetes`` Service's: it is never handed out,
    only taken when asked for by name (as the API server's own Service does). Not
    thread-safe by itself: used under the store's lock.
    """

    def __init__(self, service_cidr: str, node_port_range: tuple[int, int]) -> None:
        self.network: IPNetwork = ipaddress.ip_network(service_cidr, strict=True)
        if self.network.num_addresses < 4:
            raise ValueError(f"service CIDR {service_cidr} is too small")
        low, high = node_port_range
        if not 0 < low <= high < 65536:
            raise ValueError(f"invalid node port range {low}-{high}")
        self.ports = (low, high)
        self.family = "IPv4" if self.network.version == 4 else "IPv6"
        self._ips: Counter[str] = Counter()
        self._node_ports: Counter[int] = Counter()
        self._next_ip = 2  # offset in the network: 0 is the network, 1 the kubernetes Service
        self._next_port = low

    def observe(self, prev: Obj | None, new: Obj | None) -> None:
        """Account for a Service write: ``prev``'s values are released, ``new``'s taken."""
        for svc, sign in ((prev, -1), (new, 1)):
            if svc is None:
                continue
            for ip in cluster_ips(svc):
                _count(self._ips, _canonical(ip) or ip, sign)
            for port in node_ports(svc):
                _count(self._node_ports, port, sign)

    # -- cluster IPs ----------------------------------------------------------------------------

    @property
    def range_text(self) -> str:
        """The service CIDR, as error messages name it."""
        return str(self.network)

    def ip_problem(self, ip: str, own: Collection[str] = ()) -> str | None:
        """Why ``ip`` cannot be taken (None: it can); ``own`` are the IPs the Service holds."""
        canonical = _canonical(ip)
        if canonical is None:
            return f"failed to parse IP {ip}"
        if ipaddress.ip_address(canonical) not in self.network or canonical in (
            str(self.network.network_address),
            str(self.network.broadcast_address),
        ):
            return (
                f"the provided IP ({ip}) is not in the valid range. The range of valid IPs "
                f"is {self.range_text}"
            )
        if self._ips.get(canonical) and canonical not in {_canonical(o) for o in own}:
            return ALREADY_ALLOCATED_IP
        return None

    def next_ip(self) -> str:
        """A free cluster IP; 500 ``range is full`` when there is none."""
        size = self.network.num_addresses - 3  # neither network, broadcast nor the first
        for step in range(size):
            offset = 2 + (self._next_ip - 2 + step) % size
            ip = str(self.network.network_address + offset)
            if not self._ips.get(ip):
                self._next_ip = offset + 1
                return ip
        message = "Internal error occurred: failed to allocate a serviceIP: range is full"
        raise StatusError(_status.status(500, message, "InternalError"))

    # -- node ports -----------------------------------------------------------------------------

    def port_problem(self, port: int, own: Collection[int] = ()) -> str | None:
        """Why node port ``port`` cannot be taken (None: it can)."""
        low, high = self.ports
        if not low <= port <= high:
            return (
                f"provided port is not in the valid range. The range of valid ports is {low}-{high}"
            )
        if self._node_ports.get(port) and port not in own:
            return ALREADY_ALLOCATED_PORT
        return None

    def next_port(self, taken: Collection[int] = ()) -> int:
        """A free node port not in ``taken`` (those the Service being written already uses)."""
        low, high = self.ports
        size = high - low + 1
        for step in range(size):
            port = low + (self._next_port - low + step) % size
            if not self._node_ports.get(port) and port not in taken:
                self._next_port = port + 1
                return port
        message = "Internal error occurred: failed to allocate a nodePort: range is full"
        raise StatusError(_status.status(500, message, "InternalError"))
