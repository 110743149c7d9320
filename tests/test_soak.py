"""The soak of everything: two KubernetesSources follow a FakeAPIServer under random writes and
faults, with a proxy view on top.

One server holds Services, Endpoints and EndpointSlices in two namespaces. One source follows
namespace ``shop`` with streaming lists, the other ``ops`` with paginated lists (page size 7),
both with the consistency audit on; they feed one ServiceConfig, EndpointsConfig and
EndpointSliceConfig (one channel each), and two ProxyConfigs follow those (SPEC §9: one over the
slices, one over the legacy Endpoints). A writer thread creates, replaces and deletes objects
(seeded), while a fault thread drops watches, answers 500s, writes garbage lines, stalls watches
(for less than the sources' ``stall_timeout``), compacts the history (resumed watches get 410
Gone and relist), expires a paged list's continue token, loses events (only the audit heals
those) and moves the node to another zone (the proxies recategorise everything). An oversized
event fault exists but is off by default (``oversized_bytes``).

Every ``checkpoint_every`` seconds the writer pauses (faults go on): the configs must catch up
with the server, and each proxy view must equal the rule book recomputed from scratch over the
server's objects (``proxy_reference.compute``). At the end faults and writes stop and the same
holds, every handler's view built from the deliveries' ``changes`` equals the final state
(nothing lost, nothing stale), and a fresh ProxyConfig fed the final objects gives exactly the
soaked proxies' state.

The CI form runs ~8 s; ``KPC_SOAK_SECONDS=60 pytest tests/test_soak.py -s`` runs longer, and
``python benches/soak.py`` runs the same soak by hand and prints its figures.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from _soak_objects import MAKERS, NAMESPACES, ZONES, initial_names, random_name, service
from _soak_observe import Config, ErrorLog, SoakReport, ViewHandler, server_view, state_view
from _soak_proxy import PROXIES, ProxyViewHandler, fresh_mismatch, reference_mismatch
from kubeproxy_config import (
    EndpointsConfig,
    EndpointSliceConfig,
    ServiceConfig,
    Snapshot,
)
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer
from test_proxy_model import ports_of

SOAK_SECONDS = float(os.environ.get("KPC_SOAK_SECONDS", "6"))
SOAK_SEED = int(os.environ.get("KPC_SOAK_SEED", "20240611"))
CHECKPOINT_EVERY = float(os.environ.get("KPC_SOAK_CHECKPOINT_EVERY", "2"))
CONVERGE_DEADLINE = 30.0  # seconds the configs may take to catch up once writes pause or stop
STALL_TIMEOUT = 2.0  # the sources'; injected stalls stay below it
AUDIT_PERIOD = 0.5  # the sources': lost events are healed within about this
PAGE_SIZE = 7  # the sources' list pages: several per list, so continue tokens are used

# The two sources: name -> (namespace followed, watch_list).
SOURCES: dict[str, tuple[str, bool]] = {
    "streamed": (NAMESPACES[0], True),
    "paged": (NAMESPACES[1], False),
}

FAULTS = (
    "drop",
    "drop",
    "500",
    "garbage",
    "stall",
    "compact",
    "expire",
    "continue",
    "lose",
    "zone",
)
"""The fault mix, injected in rounds: each round is the mix shuffled (``drop`` twice). The soak
lasts at least one round. ``oversized`` joins it when ``run_soak(oversized_bytes=...)`` is set."""


# -- the soak --------------------------------------------------------------------------------


@dataclass
class Soaked:
    """What the soak's threads share."""

    server: FakeAPIServer
    configs: dict[str, Config]
    proxies: dict[str, Any]  # name -> ProxyConfig
    handlers: dict[str, ViewHandler]
    proxy_handlers: dict[str, ProxyViewHandler]
    report: SoakReport
    checkpoint_every: float
    oversized_bytes: int = 0
    # Held by the writer around each write and by a zone change, and by the main thread at a
    # checkpoint: while it holds it, nothing but faults changes the server or the proxies.
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    stop_writes: threading.Event = field(default_factory=threading.Event)
    stop_faults: threading.Event = field(default_factory=threading.Event)
    every_fault_once: threading.Event = field(default_factory=threading.Event)
    zones: dict[str, str] = field(default_factory=lambda: {s.name: s.zone for s in PROXIES})


def _writer(soak: Soaked, rng: random.Random) -> None:
    server, writes = soak.server, soak.report.writes
    while not soak.stop_writes.wait(rng.uniform(0.0005, 0.003)):  # pacing, not synchronisation
        kind = rng.choice(list(MAKERS))
        ns, name = rng.choice(NAMESPACES), random_name(kind, rng)
        with soak.write_lock:
            exists = server.get(kind, ns, name) is not None
            if exists and rng.random() < 0.3:
                server.delete(kind, ns, name)
                writes["delete"] += 1
            else:
                server.apply(MAKERS[kind](ns, name, rng))
                writes["replace" if exists else "create"] += 1


def _expire_continue(soak: Soaked, rng: random.Random) -> None:
    """Expire the continue token of a paged list in progress: make the sources relist, and as
    soon as the first page of a list is out, write and compact the history past that list's
    version, so its token is too old when the next page is asked for (410 Expired; the list
    starts over)."""
    server = soak.server
    # A slow server (every response delayed) lets the compaction land before the next page is
    # served; whether it did is counted from the server's log, not assumed.
    server.delay(0.02)
    try:
        lists = server.stats["list"]
        server.compact()
        server.drop_watches()
        if server.wait_for_requests("list", lists + 1, timeout=STALL_TIMEOUT):
            kind = rng.choice(list(MAKERS))
            ns, name = rng.choice(NAMESPACES), random_name(kind, rng)
            with soak.write_lock:
                exists = server.get(kind, ns, name) is not None
                server.apply(MAKERS[kind](ns, name, rng))
                soak.report.writes["replace" if exists else "create"] += 1
            server.compact()
    finally:
        server.delay(0)


def _faulter(soak: Soaked, rng: random.Random) -> None:
    server, faults, stop = soak.server, soak.report.faults, soak.stop_faults
    mix = list(FAULTS + (("oversized",) if soak.oversized_bytes else ()))
    deck: list[str] = []
    while not stop.wait(rng.uniform(0.05, 0.25)):  # pacing, not synchronisation
        if not deck:  # every fault once per round, in a random order
            if faults:
                soak.every_fault_once.set()
            deck = rng.sample(mix, len(mix))
        fault = deck.pop()
        if fault == "expire":
            # Hold the watches back while writes go on, compact past them and cut them: the
            # resumed watches ask for a compacted version and get 410 Gone, forcing a relist.
            server.stall_watches()
            stop.wait(0.05)  # let some writes happen meanwhile (not synchronisation)
            server.compact()
            server.drop_watches()
            server.resume_watches()
        elif fault == "continue":
            _expire_continue(soak, rng)
        elif fault == "drop":
            server.drop_watches()
        elif fault == "500":
            verbs = rng.choice([None, {"list"}, {"watch"}])
            server.fail_next(rng.randrange(1, 4), rng.choice([500, 503]), verbs=verbs)
        elif fault == "garbage":
            server.send_garbage()
        elif fault == "lose":  # changes that never reach the watches: the audit heals them
            server.lose_events(rng.randrange(1, 4))
        elif fault == "stall":
            server.stall_watches(rng.uniform(0.05, STALL_TIMEOUT / 4))
        elif fault == "zone":  # the node moved: every port of that proxy is categorised again
            name, zone = PROXIES[0].name, rng.choice((*ZONES, ""))
            with soak.write_lock:
                soak.proxies[name].set_zone(zone)
                soak.zones[name] = zone
        elif fault == "oversized":
            ns = rng.choice(NAMESPACES)
            obj = service(ns, random_name("Service", rng), rng)
            obj["metadata"]["annotations"] = {"soak/padding": "x" * soak.oversized_bytes}
            with soak.write_lock:
                server.apply(obj)
        else:
            server.compact()
        faults[fault] += 1


# The oversized-event fault: a Service this large, past the sources' event-line limit here (it
# still fits a list page, so the relist the refusal forces brings it in).
OVERSIZED_BYTES = 200_000
SOAK_SOURCE_OPTIONS: Mapping[str, Any] = {"max_event_bytes": 128 * 1024}


def run_soak(
    seconds: float = SOAK_SECONDS,
    seed: int = SOAK_SEED,
    *,
    checkpoint_every: float = CHECKPOINT_EVERY,
    oversized_bytes: int = OVERSIZED_BYTES,
    source_options: Mapping[str, Any] = SOAK_SOURCE_OPTIONS,
) -> SoakReport:
    """Run one soak; the report says whether the configs converged to the server's objects
    and the proxy views to the reference recomputation.

    ``oversized_bytes`` > 0 (the default) adds the oversized-event fault: a Service whose
    annotation is that large; 0 leaves it out. ``source_options`` are extra ``KubernetesSource``
    arguments for both sources (by default an event-line limit the fault's events exceed).
    """
    report = SoakReport(seconds=seconds, seed=seed)
    rng = random.Random(seed)
    errors = ErrorLog()
    logger = logging.getLogger("kubeproxy_config")
    logger.addHandler(errors)
    try:
        with (
            FakeAPIServer(bookmark_interval=0.2) as server,
            ServiceConfig() as services,
            EndpointsConfig() as endpoints,
            EndpointSliceConfig() as slices,
        ):
            configs: dict[str, Config] = {
                "Service": services,
                "Endpoints": endpoints,
                "EndpointSlice": slices,
            }
            for kind in configs:
                for ns in NAMESPACES:
                    for name in initial_names(kind):
                        server.apply(MAKERS[kind](ns, name, rng))
            inputs: dict[str, EndpointsConfig | EndpointSliceConfig] = {
                "Endpoints": endpoints,
                "EndpointSlice": slices,
            }
            proxies = {
                spec.name: spec.build(services, inputs[spec.endpoints_kind]) for spec in PROXIES
            }
            soak = Soaked(
                server,
                configs,
                proxies,
                {kind: ViewHandler() for kind in configs},
                {name: ProxyViewHandler() for name in proxies},
                report,
                checkpoint_every if checkpoint_every > 0 else seconds,
                oversized_bytes,
            )
            try:
                for kind, config in configs.items():
                    config.register_handler(soak.handlers[kind])
                for name, proxy in proxies.items():
                    proxy.register_handler(soak.proxy_handlers[name])
                _soak(soak, random.Random(rng.random()), dict(source_options))
            finally:
                for proxy in proxies.values():
                    proxy.close()
        report.requests = server.stats
    finally:
        logger.removeHandler(errors)
    report.handler_problems = [p for h in soak.handlers.values() for p in h.problems] + [
        p for h in soak.proxy_handlers.values() for p in h.problems
    ]
    report.errors_logged = errors.messages
    return report


def _soak(soak: Soaked, rng: random.Random, source_options: dict[str, Any]) -> None:
    server, report = soak.server, soak.report
    threads = [
        threading.Thread(target=_writer, args=(soak, random.Random(rng.random()))),
        threading.Thread(target=_faulter, args=(soak, random.Random(rng.random()))),
    ]
    with server.api_client() as api:
        sources = {
            name: KubernetesSource(
                api,
                services=cast(ServiceConfig, soak.configs["Service"]),
                endpoints=cast(EndpointsConfig, soak.configs["Endpoints"]),
                endpoint_slices=cast(EndpointSliceConfig, soak.configs["EndpointSlice"]),
                source=name,
                namespace=namespace,
                page_size=PAGE_SIZE,
                stall_timeout=STALL_TIMEOUT,
                watch_timeout=3.0,
                backoff_initial=0.01,
                backoff_max=0.2,
                watch_list=watch_list,
                audit_period=AUDIT_PERIOD,
                **source_options,
            )
            for name, (namespace, watch_list) in SOURCES.items()
        }
        try:
            for source in sources.values():
                source.start()
            for thread in threads:
                thread.start()
            end = time.monotonic() + report.seconds
            while (left := end - time.monotonic()) > 0 and not report.mismatch:
                soak.stop_faults.wait(min(left, soak.checkpoint_every))  # the soak's pacing
                if time.monotonic() < end:
                    with soak.write_lock:  # writes pause; faults go on
                        _checkpoint(soak)
            # A short soak still injects every fault: wait for the first round to end.
            soak.every_fault_once.wait(CONVERGE_DEADLINE)
        finally:
            soak.stop_faults.set()
            soak.stop_writes.set()
            for thread in threads:
                thread.join()
            server.resume_watches()
        if not report.mismatch:
            _checkpoint(soak, final=True)
        report.source = {name: source.stats() for name, source in sources.items()}
        for source in sources.values():
            source.stop()
    report.expired_continues = sum(
        1 for r in server.requests if r.verb == "list" and r.code == 410 and "continue=" in r.query
    )
    report.configs = {kind: config.stats() for kind, config in soak.configs.items()}
    report.proxies = {name: proxy.stats() for name, proxy in soak.proxies.items()}
    report.objects = {kind: len(config.state()) for kind, config in soak.configs.items()}
    report.ports = {name: len(proxy.state()) for name, proxy in soak.proxies.items()}


def _checkpoint(soak: Soaked, *, final: bool = False) -> None:
    """Wait until the configs equal the server's objects, then compare each proxy view with
    the reference recomputation; record a mismatch in the report. The inputs may still move
    while this runs (a relist from before the pause, an audit's SET): a comparison counts only
    when the configs' versions held still around it."""
    report = soak.report
    started = time.monotonic()
    deadline = started + CONVERGE_DEADLINE
    while True:
        converged = _converged(soak)
        if converged:
            versions = [config.state().version for config in soak.configs.values()]
            problems = _proxy_problems(soak, final=final)
            held = versions == [config.state().version for config in soak.configs.values()]
            if held and _converged(soak):
                break
        if time.monotonic() >= deadline:
            problems = [_mismatch(soak)] if not converged else ["the inputs never held still"]
            break
        time.sleep(0.02)  # polling against the deadline
    report.checkpoints += 1
    if not problems:
        report.proxy_checks += len(soak.proxies)
    else:
        report.mismatch = "; ".join(problems)
    if final:
        report.converge_seconds = time.monotonic() - started
        report.converged = not problems


def _converged(soak: Soaked) -> bool:
    """Whether every config, and its handler's view, equals the server's objects."""
    for kind, config in soak.configs.items():
        config.flush(1.0)
        want = server_view(soak.server, kind)
        if not state_view(config) == want == soak.handlers[kind].snapshot():
            return False
    return True


def _proxy_problems(soak: Soaked, *, final: bool) -> list[str]:
    problems = []
    for spec in PROXIES:
        proxy = soak.proxies[spec.name]
        if not proxy.flush(CONVERGE_DEADLINE):
            problems.append(f"{spec.name}: flush timed out")
            continue
        zone = soak.zones[spec.name]
        problems.append(reference_mismatch(proxy, spec, soak.server, zone))
        if soak.proxy_handlers[spec.name].ports() != ports_of(proxy.state()):
            problems.append(f"{spec.name}: the handler's view differs from the state")
        if final:
            problems.append(fresh_mismatch(proxy, spec, soak.server, zone))
    return [p for p in problems if p]


def _mismatch(soak: Soaked) -> str:
    out = []
    for kind, config in soak.configs.items():
        want, got = server_view(soak.server, kind), state_view(config)
        seen = soak.handlers[kind].snapshot()
        wrong = {k for k in want.keys() | got.keys() if want.get(k) != got.get(k)}
        out.append(f"{kind}: {len(wrong)} keys differ, e.g. {sorted(wrong)[:5]}")
        out.append(f"{kind}: handler view differs from state: {seen != got}")
    return "; ".join(out)


def test_soak_of_everything_converges() -> None:
    report = run_soak()
    print("\n" + "\n".join(report.lines()))
    assert report.converged, report.mismatch
    assert report.handler_problems == []
    assert report.errors_logged == []
    assert sum(report.writes.values()) > 0 and set(report.faults) == {*FAULTS, "oversized"}
    assert report.totals()["oversized"] > 0  # refused by the limit, then relisted
    assert report.proxy_checks >= 2 * len(PROXIES)  # a checkpoint under faults, and the end
    streamed, paged = report.totals("streamed"), report.totals("paged")
    assert streamed["watch_lists"] > 0 and paged["watch_lists"] == 0 and paged["pages"] > 0
    for per_resource in report.source.values():
        assert all(c["lists"] >= 1 and c["events"] > 0 for c in per_resource.values())
    # Relists forced by other faults heal lost events too; the audit must have found some.
    assert streamed["audits"] > 0 and paged["audits"] > 0
    assert report.totals()["audit_drift"] > 0
    assert all(ports > 0 for ports in report.ports.values())


def test_first_delivery_is_not_repeated_when_the_config_becomes_synced() -> None:
    """Found by the soak: a config becoming synced while a handler is inside its first call made
    the handler get that same version again, all of it as ``added`` (SPEC §4.1: increasing
    versions; §4: exact changes)."""
    entered, release = threading.Event(), threading.Event()
    calls: list[tuple[int, list[str]]] = []

    def handler(snapshot: Snapshot[Any]) -> None:
        calls.append((snapshot.version, [obj.key for obj in snapshot.changes.added]))
        entered.set()
        release.wait(CONVERGE_DEADLINE)

    with ServiceConfig() as config:
        config.register_handler(handler)
        channel = config.channel("api")
        channel.add([service("shop", "o1", random.Random(1))])
        assert entered.wait(CONVERGE_DEADLINE)  # the first call is in progress
        channel.mark_synced()
        release.set()
        assert config.flush(CONVERGE_DEADLINE)
    assert calls == [(1, ["shop/o1"])]
