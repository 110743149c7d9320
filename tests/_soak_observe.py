"""What the soak (``test_soak.py``) observes and reports: handlers that rebuild each config's
state from the deliveries' ``changes``, the errors logged, and the figures of a run."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kubeproxy_config import (
    Changes,
    EndpointsConfig,
    EndpointSliceConfig,
    ServiceConfig,
    Snapshot,
)
from kubeproxy_config.sources.kubernetes import ResourceStats
from kubeproxy_config.testing import FakeAPIServer

Config = ServiceConfig | EndpointsConfig | EndpointSliceConfig


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


@dataclass
class SoakReport:
    """What a soak did and how it ended."""

    seconds: float
    seed: int
    writes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    source: dict[str, dict[str, ResourceStats]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    expired_continues: int = 0  # paged list requests answered 410 for an expired token
    configs: dict[str, dict[str, int]] = field(default_factory=dict)
    proxies: dict[str, dict[str, int]] = field(default_factory=dict)
    objects: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    checkpoints: int = 0
    proxy_checks: int = 0  # proxy views compared with the reference recomputation
    converged: bool = False
    converge_seconds: float = 0.0
    mismatch: str = ""
    handler_problems: list[str] = field(default_factory=list)
    errors_logged: list[str] = field(default_factory=list)

    def totals(self, source: str | None = None) -> Counter[str]:
        """Counters summed over resources (of one source, or of both)."""
        out = Counter[str]()
        for name, per_resource in self.source.items():
            if source is None or name == source:
                for counters in per_resource.values():
                    out.update({k: v for k, v in counters.items() if isinstance(v, int)})
        return out

    def lines(self) -> list[str]:
        totals = self.totals()
        out = [
            f"soak: {self.seconds:.0f} s, seed {self.seed}",
            f"  writes: {sum(self.writes.values())} {dict(sorted(self.writes.items()))}",
            f"  faults injected: {sum(self.faults.values())} {dict(sorted(self.faults.items()))}"
            f"; expired continue tokens hit: {self.expired_continues}",
            f"  sources: events {totals['events']}, lists {totals['lists']}, relists "
            f"{totals['relists']}, pages {totals['pages']}, watches {totals['watches']}, "
            f"resumes {totals['watch_restarts']}, errors {totals['errors']}, rejected "
            f"{totals['rejected']}, streamed lists {totals['watch_lists']}, audits "
            f"{totals['audits']} (drift repaired {totals['audit_drift']})",
        ]
        for name in self.source:
            t = self.totals(name)
            out.append(
                f"  source {name}: events {t['events']}, lists {t['lists']} (streamed "
                f"{t['watch_lists']}), relists {t['relists']}, pages {t['pages']}, errors "
                f"{t['errors']}, audits {t['audits']} (drift {t['audit_drift']})"
            )
        out += [
            f"  server requests: {self.requests}",
            f"  configs: {self.configs}",
            f"  proxies: {self.proxies}",
            f"  checkpoints {self.checkpoints}, proxy view checks {self.proxy_checks} (each equal"
            " to the reference recomputation)",
            f"  final objects: {self.objects}, proxy ports: {self.ports}; converged "
            f"{self.converged} ({self.converge_seconds:.2f} s after the faults stopped)",
            f"  handler problems: {len(self.handler_problems)}, "
            f"errors logged: {len(self.errors_logged)}",
        ]
        return out
