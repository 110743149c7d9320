"""A userspace TCP proxy built on ``ProxyConfig``: one loopback listener per TCP service port.

Each TCP service port of the view gets a listener on ``listen_host`` (port chosen by the OS; look
it up with ``TcpProxy.address(key)``). A connection is forwarded to the port's endpoints in
round-robin, or to the client's previous endpoint while its ClientIP session affinity lasts; a
port with no usable endpoint closes the connection at once (kube-proxy rejects it). Listeners are
opened, updated and closed as snapshots arrive from ``config.snapshots()``, which hands them to
the event loop's thread. Connections already open are left alone, as kube-proxy leaves their
conntrack entries.

Against a cluster (the current kubeconfig) or the fake API server::

    python -m kubeproxy_config.testing serve --manifests DIR --kubeconfig-out /tmp/kubeconfig &
    KUBECONFIG=/tmp/kubeconfig python -m kubeproxy_config.examples.tcp_proxy --node-name node-a

Embedded: build a ``ProxyConfig`` over configs fed by a source, then
``await TcpProxy("127.0.0.1").run(proxy_config)``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kubeproxy_config import (
    EndpointInfo,
    EndpointSliceConfig,
    KubernetesSource,
    ProxyConfig,
    ProxySnapshot,
    ServiceConfig,
    ServicePortInfo,
)

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5.0  # seconds to reach an endpoint


def usable_endpoints(port: ServicePortInfo) -> tuple[EndpointInfo, ...]:
    """The endpoints for traffic to the cluster IP: this node's only under
    ``internalTrafficPolicy: Local``, else the cluster's (terminating fallback included)."""
    chosen = port.local_endpoints if port.internal_policy_local else port.cluster_endpoints
    return chosen or ()


@dataclass
class _Listener:
    port: ServicePortInfo
    server: asyncio.Server
    address: tuple[str, int]
    turn: int = 0  # round-robin position
    # client IP -> (endpoint address, expiry) for ClientIP session affinity
    affinity: dict[str, tuple[str, float]] = field(default_factory=dict)


class TcpProxy:
    """Forwards TCP connections on ``listen_host`` to the endpoints of a ``ProxyConfig``'s view."""

    def __init__(
        self, listen_host: str = "127.0.0.1", *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.listen_host = listen_host
        self._clock = clock
        self._listeners: dict[str, _Listener] = {}
        self._connections: set[asyncio.Task[None]] = set()
        self._streams: set[asyncio.StreamWriter] = set()  # both sides of every connection

    def address(self, key: str) -> tuple[str, int] | None:
        """Where the service port ``key`` (``"ns/name:port_name/TCP"``) listens, if it does."""
        listener = self._listeners.get(key)
        return None if listener is None else listener.address

    def service_port(self, key: str) -> ServicePortInfo | None:
        """The ``ServicePortInfo`` the listener of ``key`` currently forwards by."""
        listener = self._listeners.get(key)
        return None if listener is None else listener.port

    async def run(self, config: ProxyConfig) -> None:
        """Follow ``config`` until it closes (or this task is cancelled), then close everything.
        Nothing is programmed before both inputs are synced, as in kube-proxy."""
        try:
            while not config.closed and not await asyncio.to_thread(config.wait_synced, 0.5):
                pass
            async for state in config.snapshots():
                await self.apply(state)
        finally:
            await self.close()

    async def apply(self, state: ProxySnapshot) -> None:
        """Program one snapshot: the whole view on a full sync, else only its ``changes``."""
        if state.full_sync:
            wanted = {port.key: port for port in state}
            for key in self._listeners.keys() - wanted.keys():
                self._stop_listening(key)
            ports = list(wanted.values())
        else:
            for old in state.changes.removed:
                self._stop_listening(old.key)
            ports = [*state.changes.added, *(new for _, new in state.changes.updated)]
        for port in ports:
            if port.protocol != "TCP":
                continue
            listener = self._listeners.get(port.key)
            if listener is None:
                forward = functools.partial(self._forward, port.key)
                server = await asyncio.start_server(forward, self.listen_host, 0)
                address = (self.listen_host, server.sockets[0].getsockname()[1])
                self._listeners[port.key] = _Listener(port, server, address)
                log.info("%s listens on %s:%d", port.key, *address)
            else:
                listener.port = port
                if port.session_affinity_timeout == 0:
                    listener.affinity.clear()

    async def close(self) -> None:
        """Close every listener and every forwarded connection."""
        for key in list(self._listeners):
            self._stop_listening(key)
        for stream in list(self._streams):
            stream.close()  # their pipes see EOF and end
        await asyncio.gather(*self._connections, return_exceptions=True)

    def _stop_listening(self, key: str) -> None:
        listener = self._listeners.pop(key, None)
        if listener is not None:
            listener.server.close()  # no wait: open connections carry on
            log.info("%s closed", key)

    def _pick(self, listener: _Listener, client_ip: str) -> EndpointInfo | None:
        endpoints = usable_endpoints(listener.port)
        timeout, now = listener.port.session_affinity_timeout, self._clock()
        # The client's endpoint while its affinity lasts and that endpoint is still usable, else
        # the next one in turn. Each connection renews the affinity (iptables' "recent" match).
        address, expiry = listener.affinity.get(client_ip, ("", 0.0))
        live = timeout > 0 and expiry > now
        chosen = next((e for e in endpoints if e.address == address), None) if live else None
        if chosen is None and endpoints:
            chosen = endpoints[listener.turn % len(endpoints)]
            listener.turn += 1
        if chosen is not None and timeout > 0:
            listener.affinity[client_ip] = (chosen.address, now + timeout)
        return chosen

    async def _forward(
        self, key: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        opened = [writer]
        self._streams.add(writer)
        try:
            listener = self._listeners.get(key)
            client_ip = writer.get_extra_info("peername")[0]
            endpoint = None if listener is None else self._pick(listener, client_ip)
            if endpoint is None:
                return  # no usable endpoint: close at once (kube-proxy rejects)
            connect = asyncio.open_connection(endpoint.ip, endpoint.port)
            up_reader, upstream = await asyncio.wait_for(connect, CONNECT_TIMEOUT)
            opened.append(upstream)
            self._streams.add(upstream)
            if not writer.is_closing():  # close() may have run meanwhile
                await asyncio.gather(_pipe(reader, upstream), _pipe(up_reader, writer))
        except (OSError, asyncio.TimeoutError):
            pass  # the endpoint refused or timed out, or a side reset: close both
        finally:
            for stream in opened:
                stream.close()
                self._streams.discard(stream)
            self._connections.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then pass the half-close on."""
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _main(args: argparse.Namespace) -> None:
    with ServiceConfig() as services, EndpointSliceConfig() as slices:
        with ProxyConfig(services, slices, node_name=args.node_name, zone=args.zone) as config:
            source = KubernetesSource(services=services, endpoint_slices=slices).start()
            try:
                await TcpProxy(args.listen_host).run(config)
            finally:
                source.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m kubeproxy_config.examples.tcp_proxy")
    parser.add_argument("--listen-host", default="127.0.0.1", help="address of the listeners")
    parser.add_argument("--node-name", default="", help="this node (traffic policies, topology)")
    parser.add_argument("--zone", default="", help="this node's zone (topology hints)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
