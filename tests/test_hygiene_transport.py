"""Resource hygiene of the Rust transport: KubernetesSource start/stop cycles, each stopped at a
given phase, leave no thread, fd, socket or memory behind (on the client side nor, once the
client is gone, on the server's).

The phases, reached by synchronising with the source and the server, never by sleeping:
- ``list``: in the middle of a big paginated list (pages read, the list not complete);
- ``streamed``: inside a streaming list whose stream the server holds back;
- ``watch``: watching, with events on their way;
- ``backoff``: waiting to retry after the server answered 500 (a 30 s backoff, so a stop that
  does not interrupt it fails the run).
The CI form runs the full 200 cycles (a few seconds); ``python benches/hygiene.py`` too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from _helpers import wait_until
from _hygiene import LINUX_ONLY, WAIT, Figures, cycles
from kubeproxy_config import EndpointsConfig, ServiceConfig
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer

pytestmark = LINUX_ONLY

CI_CYCLES = 200
PHASES = ("list", "streamed", "watch", "backoff")
BIG_LIST = 600  # Services on the list phase's server: 120 pages of 5
BACKOFF = 30.0  # seconds: far longer than any stop may take


def service(name: str, port: int, padding: int = 0) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "kind": "Service",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"ports": [{"port": port}]},
    }
    if padding:
        obj["metadata"]["annotations"] = {"pad": "x" * padding}
    return obj


def endpoints(name: str, ip: str) -> dict[str, Any]:
    return {
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": "ns"},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"port": 8080}]}],
    }


def counter(source: KubernetesSource, name: str) -> int:
    stats: dict[str, Any] = dict(source.stats())
    return sum(int(figures[name]) for figures in stats.values())


@contextmanager
def servers() -> Iterator[dict[str, FakeAPIServer]]:
    """One server per phase (a fault on one must not reach the others)."""
    with ExitStack() as stack:
        out = {phase: stack.enter_context(FakeAPIServer(bookmark_interval=0.1)) for phase in PHASES}
        out["list"].load(service(f"s{i:04}", 80 + i % 100, padding=200) for i in range(BIG_LIST))
        for i in range(3):
            for phase in ("streamed", "watch"):
                out[phase].create(service(f"s{i}", 80 + i))
                out[phase].create(endpoints(f"s{i}", f"10.0.0.{i + 1}"))
        # Every request of the backoff phase fails (until the end of the run).
        out["backoff"].fail_next(10**9, 500)
        yield out


def make_cycle(
    server: dict[str, FakeAPIServer], services: ServiceConfig, endpoints_config: EndpointsConfig
) -> Callable[[int], None]:
    def cycle(i: int) -> None:
        phase = PHASES[i % len(PHASES)]
        srv = server[phase]
        srv.reset_stats()  # the request log would grow with the cycles
        options: dict[str, Any] = {"backoff_initial": 0.01, "watch_list": phase == "streamed"}
        targets: dict[str, Any] = {"services": services}
        if phase == "list":
            options["page_size"] = 5
        elif phase == "watch":
            targets["endpoints"] = endpoints_config
        elif phase == "backoff":
            options.update(backoff_initial=BACKOFF, backoff_max=BACKOFF)
        elif phase == "streamed":
            srv.stall_watches()  # the streaming list's events are held back
        with srv.api_client() as api:
            source = KubernetesSource(api, source=f"src-{phase}", **targets, **options)
            source.start()
            try:
                if phase == "list":  # some pages read, the list not complete
                    assert wait_until(lambda: counter(source, "pages") >= 2, WAIT)
                elif phase == "streamed":  # the stream is open, nothing has come yet
                    assert srv.wait_for_watches(1, WAIT)
                elif phase == "watch":  # watching, with events on their way
                    assert source.wait_synced(WAIT)
                    assert srv.wait_for_watches(2, WAIT)
                    for k in range(3):
                        srv.apply(service(f"s{k}", 1000 + (i + k) % 1000))
                    srv.compact()  # the history would grow with the cycles
                else:  # the first request failed: it is waiting to retry
                    assert wait_until(lambda: counter(source, "errors") >= 1, WAIT)
            finally:
                assert source.stop(timeout=WAIT), f"{phase}: the source did not stop"
                srv.resume_watches()
            if phase in ("list", "streamed", "backoff"):
                assert counter(source, "lists") == 0, f"{phase}: the phase was not reached"
        assert wait_until(lambda: srv.active_watches == 0, WAIT), "a watch stayed open"

    return cycle


def run(n: int, warmup: int = 8) -> Figures:
    with servers() as server, ServiceConfig() as services, EndpointsConfig() as endpoints_config:
        return cycles(
            n, warmup, make_cycle(server, services, endpoints_config), "KubernetesSource phases"
        )


def test_kubernetes_source_stopped_at_every_phase() -> None:
    print("\n" + run(CI_CYCLES).line())
