"""Large watch chunks are parsed on a pool of worker threads: named, shared, and fork-safe."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from kubeproxy_config import ServiceConfig
from kubeproxy_config.errors import InvalidObject

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
    reason="reads thread names from /proc; the pool needs two cores",
)


def _events(n: int, start: int = 0) -> bytes:
    lines = []
    for i in range(start, start + n):
        meta = {"name": f"svc-{i}", "namespace": "default", "resourceVersion": str(100 + i)}
        spec = {"clusterIP": f"10.96.{i // 250}.{i % 250 + 1}", "ports": [{"port": 80}]}
        lines.append(json.dumps({"type": "ADDED", "object": {"metadata": meta, "spec": spec}}))
    return ("\n".join(lines) + "\n").encode()


def _thread_names() -> list[str]:
    names = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except FileNotFoundError:
            pass  # the thread ended meanwhile
    return names


def _ingest(n: int) -> int:
    with ServiceConfig() as config:
        rv, _, events, _ = config.channel("api").apply_watch_events(_events(n))
        config.flush(timeout=30)
        assert rv == str(100 + n - 1)
        assert events == n
        return len(config.state())


def test_large_chunk_uses_named_pool_threads_once() -> None:
    assert _ingest(400) == 400
    pool = [n for n in _thread_names() if n.startswith("kubeproxy-pars")]
    # One thread per core besides the caller's.
    assert 1 <= len(pool) <= len(os.sched_getaffinity(0)) - 1, _thread_names()
    # One pool per process: more chunks and configs start no more threads.
    for _ in range(3):
        assert _ingest(200) == 200
    assert [n for n in _thread_names() if n.startswith("kubeproxy-pars")] == pool


def test_error_late_in_large_chunk_names_its_event() -> None:
    data = _events(100) + b'{"type":"ADDED","object":{"metadata":{"name":"Bad_Name"}}}\n'
    data += _events(100, start=100)
    with ServiceConfig() as config:
        with pytest.raises(InvalidObject, match=r"events\[100\]"):
            config.channel("api").apply_watch_events(data)
        config.flush(timeout=30)
        assert len(config.state()) == 0  # nothing of a failed chunk is applied


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads (3.12+)
def test_forked_child_parses_large_chunks() -> None:
    assert _ingest(400) == 400  # the parent's pool exists before the fork
    pid = os.fork()
    if pid == 0:  # the child: the parent's pool threads are gone here
        code = 1
        try:
            code = 0 if _ingest(400) == 400 else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)  # polling a child process; there is nothing to wait on
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung parsing a large chunk")
