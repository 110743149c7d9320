"""Resource hygiene of the metrics and health server (SPEC §10): start/stop cycles leave no
thread, fd, socket or memory behind, including connections a scraper keeps open between scrapes.

Each cycle serves a config, a proxy view and a source, scrapes ``/metrics``, ``/healthz``,
``/livez`` and ``/readyz`` on fresh connections and twice on a keep-alive one, which it still
holds when the server is closed. ``close()`` waits up to the server's poll interval (0.5 s), so
the CI form runs 16 cycles; ``python benches/hygiene.py`` runs 100.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from _hygiene import LINUX_ONLY, WAIT, Figures, counts, cycles
from kubeproxy_config import EndpointSliceConfig, ProxyConfig, ServiceConfig, metrics

pytestmark = LINUX_ONLY

CI_CYCLES = 16


class FakeSource:
    """A source as the collector and the health checks read it."""

    stall_timeout = 60.0

    def stats(self) -> dict[str, dict[str, object]]:
        return {
            "services": {
                "events": 3,
                "relists": 1,
                "watch_restarts": 0,
                "audit_drift": 0,
                "last_event_age_seconds": 0.5,
                "last_bookmark_age_seconds": 0.1,
            }
        }


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            response.read()
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:  # 503 while not synced is an answer too
        exc.read()
        exc.close()
        return exc.code


def scrape_cycle(
    services: ServiceConfig, slices: EndpointSliceConfig, proxy: ProxyConfig, source: FakeSource
) -> Callable[[int], None]:
    def cycle(i: int) -> None:
        with metrics.serve(services, slices, proxy, source, port=0) as server:
            for path in ("/metrics", "/healthz", "/livez", "/readyz"):
                assert get(server.url + path) in (200, 503)
            assert get(server.url + "/nothing") == 404
            held = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
            for path in ("/metrics", "/readyz"):
                held.request("GET", path)
                response = held.getresponse()
                response.read()
                assert response.status == 200
        # Closed with the connection held: nothing answers on it any more.
        try:
            held.request("GET", "/healthz")
            answered = held.getresponse().status
        except (ConnectionError, http.client.HTTPException):
            answered = 0
        finally:
            held.close()
        assert answered == 0, f"a held connection was answered {answered} after close()"

    return cycle


def run(n: int, warmup: int = 3) -> Figures:
    with (
        ServiceConfig() as services,
        EndpointSliceConfig() as slices,
        ProxyConfig(services, slices, node_name="node-a") as proxy,
    ):
        for config in (services, slices):
            config.channel("api").mark_synced()
        assert proxy.wait_synced(WAIT)
        cycle = scrape_cycle(services, slices, proxy, FakeSource())
        return cycles(n, warmup, cycle, "metrics server start/stop")


def test_metrics_server_start_stop_cycles() -> None:
    print("\n" + run(CI_CYCLES).line())


def test_close_ends_connections_a_scraper_holds_open() -> None:
    """Found by the hygiene cycles: ``close()`` left a scraper's keep-alive connection open,
    its thread still answering requests (health included) after the server was closed, until
    the scraper hung up."""
    with ServiceConfig() as services:
        services.channel("api").mark_synced()
        before = counts()
        server = metrics.serve(services, port=0)
        held = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
        held.request("GET", "/healthz")
        assert held.getresponse().read()
        server.close()
        after = counts()
        try:
            with pytest.raises((ConnectionError, http.client.HTTPException)):
                held.request("GET", "/healthz")
                held.getresponse()
        finally:
            held.close()
        # Only the client's own socket was left when close() returned; the server's thread and
        # socket for that connection were gone.
        assert after["sockets"] <= before["sockets"] + 1
