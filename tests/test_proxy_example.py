"""The userspace TCP proxy example end to end, over real loopback sockets.

FakeAPIServer -> KubernetesSource (list and watch) -> ServiceConfig + EndpointSliceConfig ->
ProxyConfig -> ``examples.tcp_proxy.TcpProxy`` -> TCP backends. The backends listen on distinct
loopback addresses (127.0.0.2-4, all on ``lo`` under Linux) and one shared port, so each is one
endpoint of the EndpointSlice; each reads a request to EOF, answers with its own address and the
request, and closes. Waits poll the proxy's programmed state against a deadline; nothing sleeps in
place of synchronisation.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kubeproxy_config import EndpointSliceConfig, KubernetesSource, ProxyConfig, ServiceConfig
from kubeproxy_config.examples.tcp_proxy import TcpProxy, usable_endpoints
from kubeproxy_config.testing import FakeAPIServer

pytestmark = [
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="needs 127.0.0.0/8 routed to lo"
    ),
    pytest.mark.timeout(30),
]

Obj = dict[str, Any]
DEADLINE = 10.0  # seconds any single wait may take
KEY = "ns/web:http/TCP"
BACKENDS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
READY: Obj = {"ready": True}
TERMINATING: Obj = {"ready": False, "serving": True, "terminating": True}
NOT_READY: Obj = {"ready": False, "serving": False}


def service(affinity_timeout: int = 0) -> Obj:
    spec: Obj = {
        "clusterIP": "10.96.0.10",
        "ports": [
            # targetPort is the endpoint controller's business: the slice's port is what counts.
            {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
            {"name": "dns", "port": 53, "protocol": "UDP"},
        ],
    }
    if affinity_timeout:
        spec["sessionAffinity"] = "ClientIP"
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": affinity_timeout}}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": spec,
    }


def endpoint_slice(port: int, conditions: dict[str, Obj]) -> Obj:
    """The slice of ``web``: one endpoint per backend IP in ``conditions``, all on ``port``."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-1",
            "namespace": "ns",
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": c} for ip, c in conditions.items()],
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
    }


@dataclass
class Cluster:
    server: FakeAPIServer
    config: ProxyConfig


@pytest.fixture
def cluster(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> Iterator[Cluster]:
    with (
        ServiceConfig() as services,
        EndpointSliceConfig() as slices,
        ProxyConfig(services, slices) as config,
    ):
        source = KubernetesSource(
            fake_api_client,
            services=services,
            endpoint_slices=slices,
            backoff_initial=0.01,
            backoff_max=0.1,
        ).start()
        try:
            yield Cluster(fake_apiserver, config)
        finally:
            assert source.stop(timeout=DEADLINE)


# -- asyncio helpers -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def backends(ips: tuple[str, ...] = BACKENDS) -> AsyncIterator[int]:
    """TCP servers on ``ips``, all on one port (yielded), each answering with its own IP."""

    def answer(name: str) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                request = await reader.read()
                writer.write(name.encode() + b" got " + request)
                await writer.drain()
            writer.close()

        return handle

    servers: list[asyncio.Server] = []
    for _attempt in range(20):  # the port picked on the first IP may be taken on another
        try:
            first = await asyncio.start_server(answer(ips[0]), ips[0], 0)
            servers.append(first)
            port: int = first.sockets[0].getsockname()[1]
            for ip in ips[1:]:
                servers.append(await asyncio.start_server(answer(ip), ip, port))
            break
        except OSError:
            for server in servers:
                server.close()
            servers.clear()
    else:
        pytest.fail("no port free on every backend address")
    try:
        yield port
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


@contextlib.asynccontextmanager
async def running(
    config: ProxyConfig, clock: Callable[[], float] = time.monotonic
) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", clock=clock)
    task = asyncio.create_task(proxy.run(config))
    try:
        yield proxy
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def fetch(proxy: TcpProxy, client_ip: str = "127.0.0.1") -> str:
    """Send a request through the proxy from ``client_ip``, half-close, read the answer to EOF:
    the backend that answered ("" if the connection was closed without data)."""
    address = proxy.address(KEY)
    assert address is not None, f"{KEY} does not listen"
    reader, writer = await asyncio.open_connection(*address, local_addr=(client_ip, 0))
    try:
        writer.write(b"ping")
        writer.write_eof()
        answer = (await asyncio.wait_for(reader.read(), DEADLINE)).decode()
    except ConnectionResetError:
        answer = ""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    name, _, request = answer.partition(" got ")
    assert request == ("ping" if answer else ""), answer  # both directions, and the half-close
    return name


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` (a state condition) until it holds or the deadline passes."""
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out waiting until {what}")
        await asyncio.sleep(0.01)


def programmed(proxy: TcpProxy) -> set[str] | None:
    """The IPs the listener of ``KEY`` forwards to now (None: no listener)."""
    port = proxy.service_port(KEY)
    return None if port is None else {e.ip for e in usable_endpoints(port)}


async def serve_every_backend(
    cluster: Cluster, proxy: TcpProxy, port: int, service_object: dict[str, Any] | None = None
) -> None:
    """Create the Service and a slice with every backend ready; wait until all are programmed."""
    cluster.server.create(service() if service_object is None else service_object)
    cluster.server.create(endpoint_slice(port, dict.fromkeys(BACKENDS, READY)))
    await until(lambda: programmed(proxy) == set(BACKENDS), "every backend is programmed")


def known(proxy: TcpProxy) -> set[str] | None:
    """The IPs of every endpoint of ``KEY`` the proxy knows, usable or not."""
    port = proxy.service_port(KEY)
    return None if port is None else {e.ip for e in port.endpoints}


# -- tests -----------------------------------------------------------------------------------


def test_round_robin_reaches_every_backend(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with backends() as port, running(cluster.config) as proxy:
            await serve_every_backend(cluster, proxy, port)
            assert proxy.address("ns/web:dns/UDP") is None  # TCP only
            got = [await fetch(proxy) for _ in range(2 * len(BACKENDS))]
            assert sorted(got[: len(BACKENDS)]) == sorted(BACKENDS)
            assert got[len(BACKENDS) :] == got[: len(BACKENDS)]

    asyncio.run(scenario())


def test_removed_endpoint_and_deleted_service(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with backends() as port, running(cluster.config) as proxy:
            await serve_every_backend(cluster, proxy, port)
            kept = BACKENDS[:2]
            cluster.server.replace(endpoint_slice(port, dict.fromkeys(kept, READY)))
            await until(lambda: programmed(proxy) == set(kept), f"only {kept} are programmed")
            got = [await fetch(proxy) for _ in range(4)]
            assert sorted(got) == sorted(kept * 2) and got[0] != got[1]
            # The Service goes: its listener closes and the port refuses connections.
            address = proxy.address(KEY)
            assert address is not None
            cluster.server.delete("Service", "ns", "web")
            await until(lambda: proxy.address(KEY) is None, "the listener is closed")
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection(*address)

    asyncio.run(scenario())


def test_terminating_endpoint_is_the_fallback(cluster: Cluster) -> None:
    a, b, _ = BACKENDS

    async def scenario() -> None:
        async with backends() as port, running(cluster.config) as proxy:
            cluster.server.create(service())
            cluster.server.create(endpoint_slice(port, {a: TERMINATING, b: NOT_READY}))
            await until(lambda: programmed(proxy) == {a}, "the terminating endpoint is used")
            assert [await fetch(proxy) for _ in range(3)] == [a] * 3
            # Once another endpoint is ready, the terminating one gets nothing.
            cluster.server.replace(endpoint_slice(port, {a: TERMINATING, b: READY}))
            await until(lambda: programmed(proxy) == {b}, "only the ready endpoint is used")
            assert [await fetch(proxy) for _ in range(3)] == [b] * 3

    asyncio.run(scenario())


def test_client_ip_affinity_sticks_until_timeout(cluster: Cluster) -> None:
    now = [1000.0]

    async def scenario() -> None:
        async with backends() as port, running(cluster.config, clock=lambda: now[0]) as proxy:
            await serve_every_backend(cluster, proxy, port, service(affinity_timeout=60))
            port_info = proxy.service_port(KEY)
            assert port_info is not None and port_info.session_affinity_timeout == 60
            first = {await fetch(proxy) for _ in range(4)}
            other = {await fetch(proxy, client_ip="127.0.0.9") for _ in range(4)}
            assert len(first) == 1 and len(other) == 1
            now[0] += 59  # each connection renews the entry: still inside the timeout
            assert await fetch(proxy) in first
            now[0] += 61  # expired: round-robin moves on to another backend
            assert await fetch(proxy) not in first
            # The sticky backend's endpoint goes: its clients move to a remaining one.
            (sticky,) = other
            rest = tuple(ip for ip in BACKENDS if ip != sticky)
            cluster.server.replace(endpoint_slice(port, dict.fromkeys(rest, READY)))
            await until(lambda: programmed(proxy) == set(rest), f"only {rest} are programmed")
            moved = {await fetch(proxy, client_ip="127.0.0.9") for _ in range(3)}
            assert len(moved) == 1 and moved <= set(rest)

    asyncio.run(scenario())


def test_no_endpoints_closes_at_once(cluster: Cluster) -> None:
    a = BACKENDS[0]

    async def scenario() -> None:
        async with backends() as port, running(cluster.config) as proxy:
            cluster.server.create(service())  # no slice yet
            await until(lambda: programmed(proxy) == set(), "the port listens, no endpoints")
            assert await fetch(proxy) == ""
            # An endpoint that is not ready (its backend is up) is not used either.
            cluster.server.create(endpoint_slice(port, {a: NOT_READY}))
            await until(lambda: known(proxy) == {a}, "the not-ready endpoint is known")
            assert await fetch(proxy) == ""
            cluster.server.replace(endpoint_slice(port, {a: READY}))
            await until(lambda: programmed(proxy) == {a}, "the endpoint is ready")
            assert await fetch(proxy) == a

    asyncio.run(scenario())
