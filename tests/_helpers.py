"""Helpers shared by the config tests (SPEC §3, §4): object builders and recording handlers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kubeproxy_config import (
    Changes,
    Endpoints,
    EndpointSlice,
    Service,
    Snapshot,
)

WAIT = 10.0
"""Generous timeout for every Event/flush wait: reaching it means a hang, never a slow run."""


CLI_TIMEOUT = 60.0  # a bound for a whole command; never reached when things work


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m kubeproxy_config ARGS`` and capture its output (text)."""
    return subprocess.run(
        [sys.executable, "-m", "kubeproxy_config", *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        env=env,
        check=False,
    )


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; whether it held."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def svc_dict(
    name: str, ns: str = "default", ip: str = "10.0.0.1", port: int = 80
) -> dict[str, Any]:
    """A Service in Kubernetes JSON shape."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"clusterIP": ip, "ports": [{"port": port}]},
    }


def svc(name: str, ns: str = "default", ip: str = "10.0.0.1", port: int = 80) -> Service:
    """A parsed Service."""
    return Service.from_dict(svc_dict(name, ns, ip, port))


def ep(name: str, ns: str = "default", ips: Iterable[str] = ("10.1.0.1",)) -> Endpoints:
    """An Endpoints object with one subset of ready addresses on port 8080."""
    return Endpoints.from_dict(
        {
            "metadata": {"name": name, "namespace": ns},
            "subsets": [
                {"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": 8080}]},
            ],
        }
    )


def eps(
    name: str,
    service: str | None,
    ns: str = "default",
    ips: Iterable[str] = ("10.1.0.1",),
) -> EndpointSlice:
    """An IPv4 EndpointSlice of ``service`` (label kubernetes.io/service-name), one address each."""
    metadata: dict[str, Any] = {"name": name, "namespace": ns}
    if service is not None:
        metadata["labels"] = {"kubernetes.io/service-name": service}
    return EndpointSlice.from_dict(
        {
            "metadata": metadata,
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
            "ports": [{"port": 8080}],
        }
    )


def keys(objs: Iterable[Any]) -> list[str]:
    """The keys of ``objs``, in iteration order."""
    return [obj.key for obj in objs]


def as_map(objs: Iterable[Any]) -> dict[str, Any]:
    """``{key: object}`` of ``objs``."""
    return {obj.key: obj for obj in objs}


def apply_changes(view: dict[str, Any], changes: Changes[Any]) -> None:
    """Apply a delivery's ``changes`` to ``view``, checking they are consistent with it."""
    for obj in changes.removed:
        assert view.get(obj.key) == obj, f"removed {obj.key} differs from what was seen"
        del view[obj.key]
    for old, new in changes.updated:
        assert old.key == new.key
        assert old != new, f"{old.key} 'updated' to an equal object"
        assert view.get(old.key) == old, f"updated {old.key}: old differs from what was seen"
        view[new.key] = new
    for obj in changes.added:
        assert obj.key not in view, f"added {obj.key} was already seen"
        view[obj.key] = obj


class Recorder:
    """A plain-callable handler recording every snapshot, its thread and the view it builds.

    ``wait_version(v)`` blocks (with a timeout) until a snapshot of version ``>= v`` arrived.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.snapshots: list[Snapshot[Any]] = []
        self.threads: list[int] = []
        self.view: dict[str, Any] = {}

    def __call__(self, snapshot: Snapshot[Any]) -> None:
        with self.cond:
            self.snapshots.append(snapshot)
            self.threads.append(threading.get_ident())
            apply_changes(self.view, snapshot.changes)
            self.cond.notify_all()

    @property
    def versions(self) -> list[int]:
        with self.lock:
            return [s.version for s in self.snapshots]

    @property
    def last_version(self) -> int | None:
        with self.lock:
            return self.snapshots[-1].version if self.snapshots else None

    def wait_version(self, version: int, timeout: float = WAIT) -> bool:
        with self.cond:
            return self.cond.wait_for(
                lambda: bool(self.snapshots) and self.snapshots[-1].version >= version, timeout
            )

    def wait_keys(self, expected: Iterable[str], timeout: float = WAIT) -> bool:
        """Wait until the last snapshot holds exactly the keys ``expected``."""
        want = sorted(expected)
        with self.cond:
            return self.cond.wait_for(
                lambda: bool(self.snapshots) and sorted(self.view) == want, timeout
            )

    def wait_calls(self, n: int, timeout: float = WAIT) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.snapshots) >= n, timeout)


FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def web_service(**spec: Any) -> dict[str, Any]:
    return {"kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}


def web_endpoints(address: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "web"},
        "subsets": [{"addresses": [address], "ports": [{"port": 80}]}],
    }


def slice_dict(**fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": "s-1"}, "addressType": "IPv4", **fields}


def settle(config: Any) -> Snapshot[Any]:
    """Wait until everything sent is merged, then return the state."""
    assert config.flush(WAIT)
    state: Snapshot[Any] = config.state()
    return state
