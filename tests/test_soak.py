"""Soak with faults: a KubernetesSource follows a FakeAPIServer under random writes and faults.

A writer thread creates, replaces and deletes Services and Endpoints (seeded), while a fault
thread drops watches, answers 500s, writes garbage lines, stalls watches (for less than the
source's ``stall_timeout``) and compacts the history (so that resumed watches get 410 Gone and
relist).
At the end faults and writes stop and the configs must converge, within a deadline, to exactly the
server's objects (keys and resourceVersions), and every handler's view built from the deliveries'
``changes`` must equal the final state: nothing lost, nothing stale.

The CI form runs ~5 s; ``KPC_SOAK_SECONDS=60 pytest tests/test_soak.py -s`` runs longer, and
``python benches/soak.py`` runs the same soak by hand and prints its figures.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from kubeproxy_config import Changes, EndpointsConfig, ServiceConfig, Snapshot
from kubeproxy_config.sources.kubernetes import KubernetesSource, ResourceStats
from kubeproxy_config.testing import FakeAPIServer

SOAK_SECONDS = float(os.environ.get("KPC_SOAK_SECONDS", "5"))
SOAK_SEED = int(os.environ.get("KPC_SOAK_SEED", "20240611"))
CONVERGE_DEADLINE = 30.0  # seconds the configs may take to catch up once faults stop
STALL_TIMEOUT = 2.0  # the source's; injected stalls stay below it
AUDIT_PERIOD = 0.5  # the source's: lost events are healed within about this
NAMESPACES = ("shop", "ops")
NAMES = 25  # names per namespace and kind

Config = ServiceConfig | EndpointsConfig


# -- objects ---------------------------------------------------------------------------------


def service(ns: str, name: str, rng: random.Random) -> dict[str, Any]:
    ports = [
        {"name": f"p{i}", "port": rng.randrange(1, 65536), "protocol": rng.choice(["TCP", "UDP"])}
        for i in range(rng.randrange(1, 4))
    ]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": {"gen": str(rng.random())}},
        "spec": {"ports": ports, "selector": {"app": name}},
    }


def endpoints(ns: str, name: str, rng: random.Random) -> dict[str, Any]:
    ips = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"]
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": ns},
        "subsets": [
            {
                "addresses": [{"ip": ip} for ip in ips],
                "ports": [{"name": "p0", "port": rng.randrange(1, 65536)}],
            }
        ],
    }


MAKERS: dict[str, Callable[[str, str, random.Random], dict[str, Any]]] = {
    "Service": service,
    "Endpoints": endpoints,
}


# -- observing -------------------------------------------------------------------------------


class ViewHandler:
    """Builds the state from the deliveries' ``changes`` alone, checking them as it goes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.view: dict[str, str | None] = {}
        self.deliveries = 0
        self.problems: list[str] = []

    def __call__(self, snapshot: Snapshot[Any]) -> None:
        changes: Changes[Any] = snapshot.changes
        with self.lock:
            self.deliveries += 1
            for obj in changes.removed:
                if self.view.pop(obj.key, "absent") == "absent":
                    self.problems.append(f"removed {obj.key} was not seen")
            for old, new in changes.updated:
                if self.view.get(old.key) != old.resource_version:
                    self.problems.append(f"updated {old.key}: old version differs")
                self.view[new.key] = new.resource_version
            for obj in changes.added:
                if obj.key in self.view:
                    self.problems.append(f"added {obj.key} was already seen")
                self.view[obj.key] = obj.resource_version

    def snapshot(self) -> dict[str, str | None]:
        with self.lock:
            return dict(self.view)


class ErrorLog(logging.Handler):
    """Keeps the messages of ERROR records (a soak must log none: faults are warnings)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def state_view(config: Config) -> dict[str, str | None]:
    return {obj.key: obj.resource_version for obj in config.state()}


def server_view(server: FakeAPIServer, kind: str) -> dict[str, str | None]:
    return {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
        for o in server.objects(kind)
    }


# -- the soak --------------------------------------------------------------------------------


@dataclass
class SoakReport:
    """What a soak did and how it ended."""

    seconds: float
    seed: int
    writes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    source: dict[str, ResourceStats] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    configs: dict[str, dict[str, int]] = field(default_factory=dict)
    objects: dict[str, int] = field(default_factory=dict)
    converged: bool = False
    converge_seconds: float = 0.0
    mismatch: str = ""
    handler_problems: list[str] = field(default_factory=list)
    errors_logged: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        totals = Counter[str]()
        for counters in self.source.values():
            totals.update(counters)
        return [
            f"soak: {self.seconds:.0f} s, seed {self.seed}",
            f"  writes: {sum(self.writes.values())} {dict(sorted(self.writes.items()))}",
            f"  faults injected: {sum(self.faults.values())} {dict(sorted(self.faults.items()))}",
            f"  source: events {totals['events']}, lists {totals['lists']}, relists "
            f"{totals['relists']}, pages {totals['pages']}, watches {totals['watches']}, "
            f"resumes {totals['watch_restarts']}, errors {totals['errors']}, streamed lists "
            f"{totals['watch_lists']}, audits {totals['audits']} (drift {totals['audit_drift']})",
            f"  source per resource: {self.source}",
            f"  server requests: {self.requests}",
            f"  configs: {self.configs}",
            f"  final objects: {self.objects}; converged {self.converged} "
            f"({self.converge_seconds:.2f} s after the faults stopped)",
            f"  handler problems: {len(self.handler_problems)}, "
            f"errors logged: {len(self.errors_logged)}",
        ]


def _writer(
    server: FakeAPIServer, rng: random.Random, stop: threading.Event, writes: Counter[str]
) -> None:
    while not stop.wait(rng.uniform(0.0005, 0.003)):  # pacing, not synchronisation
        kind = rng.choice(list(MAKERS))
        ns, name = rng.choice(NAMESPACES), f"o{rng.randrange(NAMES)}"
        exists = server.get(kind, ns, name) is not None
        if exists and rng.random() < 0.3:
            server.delete(kind, ns, name)
            writes["delete"] += 1
        else:
            server.apply(MAKERS[kind](ns, name, rng))
            writes["replace" if exists else "create"] += 1


def _faulter(
    server: FakeAPIServer, rng: random.Random, stop: threading.Event, faults: Counter[str]
) -> None:
    while not stop.wait(rng.uniform(0.05, 0.25)):  # pacing, not synchronisation
        fault = rng.choice(["drop", "drop", "500", "garbage", "stall", "compact", "expire", "lose"])
        if fault == "expire":
            # Hold the watches back while writes go on, compact past them and cut them: the
            # resumed watches ask for a compacted version and get 410 Gone, forcing a relist.
            server.stall_watches()
            stop.wait(0.05)  # let some writes happen meanwhile (not synchronisation)
            server.compact()
            server.drop_watches()
            server.resume_watches()
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
        else:
            server.compact()
        faults[fault] += 1


def run_soak(
    seconds: float = SOAK_SECONDS, seed: int = SOAK_SEED, *, watch_list: bool = True
) -> SoakReport:
    """Run one soak (lists streamed, or paginated with ``watch_list=False``; the audit on);
    the report says whether the configs converged to the server's objects."""
    report = SoakReport(seconds=seconds, seed=seed)
    rng = random.Random(seed)
    errors = ErrorLog()
    logger = logging.getLogger("kubeproxy_config")
    logger.addHandler(errors)
    handlers = {"Service": ViewHandler(), "Endpoints": ViewHandler()}
    try:
        with (
            FakeAPIServer(bookmark_interval=0.2) as server,
            ServiceConfig() as services,
            EndpointsConfig() as endpoints_config,
        ):
            configs: dict[str, Config] = {"Service": services, "Endpoints": endpoints_config}
            for kind, config in configs.items():
                config.register_handler(handlers[kind])
                for ns in NAMESPACES:
                    for i in range(0, NAMES, 2):
                        server.apply(MAKERS[kind](ns, f"o{i}", rng))
            stop_writes, stop_faults = threading.Event(), threading.Event()
            threads = [
                threading.Thread(
                    target=_writer,
                    args=(server, random.Random(rng.random()), stop_writes, report.writes),
                ),
                threading.Thread(
                    target=_faulter,
                    args=(server, random.Random(rng.random()), stop_faults, report.faults),
                ),
            ]
            with (
                server.api_client() as api,
                KubernetesSource(
                    api,
                    services=services,
                    endpoints=endpoints_config,
                    page_size=7,
                    stall_timeout=STALL_TIMEOUT,
                    watch_timeout=3.0,
                    backoff_initial=0.01,
                    backoff_max=0.2,
                    watch_list=watch_list,
                    audit_period=AUDIT_PERIOD,
                ) as source,
            ):
                for thread in threads:
                    thread.start()
                stop_faults.wait(seconds)  # the soak's length, not synchronisation
                stop_faults.set()
                stop_writes.set()
                for thread in threads:
                    thread.join()
                server.resume_watches()
                report.converge_seconds, report.converged = _converge(server, configs, handlers)
                report.source = source.stats()
                if not report.converged:
                    report.mismatch = _mismatch(server, configs, handlers)
            report.requests = server.stats
            report.configs = {kind: config.stats() for kind, config in configs.items()}
            report.objects = {kind: len(config.state()) for kind, config in configs.items()}
    finally:
        logger.removeHandler(errors)
    report.handler_problems = [p for h in handlers.values() for p in h.problems]
    report.errors_logged = errors.messages
    return report


def _converge(
    server: FakeAPIServer, configs: dict[str, Config], handlers: dict[str, ViewHandler]
) -> tuple[float, bool]:
    started = time.monotonic()
    deadline = started + CONVERGE_DEADLINE
    while True:
        equal = True
        for kind, config in configs.items():
            config.flush(1.0)
            want = server_view(server, kind)
            equal = equal and state_view(config) == want == handlers[kind].snapshot()
        if equal:
            return time.monotonic() - started, True
        if time.monotonic() >= deadline:
            return time.monotonic() - started, False
        time.sleep(0.02)  # polling against the deadline


def _mismatch(
    server: FakeAPIServer, configs: dict[str, Config], handlers: dict[str, ViewHandler]
) -> str:
    out = []
    for kind, config in configs.items():
        want, got, seen = server_view(server, kind), state_view(config), handlers[kind].snapshot()
        wrong = {k for k in want.keys() | got.keys() if want.get(k) != got.get(k)}
        out.append(f"{kind}: {len(wrong)} keys differ, e.g. {sorted(wrong)[:5]}")
        out.append(f"{kind}: handler view differs from state: {seen != got}")
    return "; ".join(out)


@pytest.mark.parametrize("watch_list", [True, False], ids=["streamed", "paged"])
def test_soak_with_faults_converges(watch_list: bool) -> None:
    report = run_soak(watch_list=watch_list)
    print("\n" + "\n".join(report.lines()))
    assert report.converged, report.mismatch
    assert report.handler_problems == []
    assert report.errors_logged == []
    assert sum(report.writes.values()) > 0 and sum(report.faults.values()) > 0
    assert all(counters["lists"] >= 1 for counters in report.source.values())
    assert all(counters["events"] > 0 for counters in report.source.values())
    streamed = sum(counters["watch_lists"] for counters in report.source.values())
    assert (streamed > 0) == watch_list
    if report.faults["lose"]:
        assert sum(counters["audits"] for counters in report.source.values()) > 0


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
        channel.add([service("ns", "a", random.Random(1))])
        assert entered.wait(CONVERGE_DEADLINE)  # the first call is in progress
        channel.mark_synced()
        release.set()
        assert config.flush(CONVERGE_DEADLINE)
    assert calls == [(1, ["ns/a"])]
