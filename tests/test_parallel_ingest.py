"""Large watch chunks may be parsed on a pool of worker threads: sized by
``KUBEPROXY_CONFIG_PARSE_THREADS`` (default: one per core beyond the first), named, one per process,
and made anew in a forked child. Each check runs in a fresh interpreter, since the pool is made
once per process on first use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from kubeproxy_config import ServiceConfig
from kubeproxy_config.errors import InvalidObject

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads thread names from /proc"
)

VAR = "KUBEPROXY_CONFIG_PARSE_THREADS"

# Shared by the child interpreters: a chunk of n ADDED events, ingest, and the pool's threads.
PRELUDE = textwrap.dedent(
    """
    import json, os
    from kubeproxy_config import ServiceConfig

    def events(n, start=0):
        lines = []
        for i in range(start, start + n):
            meta = {"name": f"svc-{i}", "namespace": "default", "resourceVersion": str(100 + i)}
            spec = {"clusterIP": f"10.96.{i // 250}.{i % 250 + 1}", "ports": [{"port": 80}]}
            obj = {"metadata": meta, "spec": spec}
            lines.append(json.dumps({"type": "ADDED", "object": obj}))
        return ("\\n".join(lines) + "\\n").encode()

    def ingest(n):
        with ServiceConfig() as config:
            rv, _, count, _ = config.channel("api").apply_watch_events(events(n))
            config.flush(timeout=30)
            assert rv == str(100 + n - 1) and count == n
            return len(config.state())

    def pool_threads():
        names = []
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/comm") as f:
                    names.append(f.read().strip())
            except FileNotFoundError:
                pass  # the thread ended meanwhile
        return sorted(n for n in names if n.startswith("kubeproxy-pars"))
    """
)


def run_child(code: str, threads: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != VAR}
    if threads is not None:
        env[VAR] = threads
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_pool_threads_are_named_and_made_once() -> None:
    out = run_child(
        """
        import time
        assert pool_threads() == []  # nothing before the first large chunk
        assert ingest(400) == 400
        # A pool thread names itself once it runs, which may be after the chunk is parsed.
        deadline = time.monotonic() + 30
        while len(pool_threads()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling /proc until both have started
        first = pool_threads()
        for _ in range(3):
            assert ingest(200) == 200
        assert pool_threads() == first
        print(len(first))
        """,
        threads="2",
    )
    assert out.split() == ["2"]


def test_zero_threads_parses_on_the_callers_thread() -> None:
    out = run_child("assert ingest(400) == 400\nprint(len(pool_threads()))", threads="0")
    assert out.split() == ["0"]


def test_default_is_one_thread_per_core_beyond_the_callers() -> None:
    out = run_child("assert ingest(400) == 400\nprint(len(pool_threads()))", threads=None)
    cores = len(os.sched_getaffinity(0))
    assert int(out) <= cores - 1
    if cores > 1:
        assert int(out) >= 1


def test_forked_child_makes_its_own_pool() -> None:
    # The parent's pool threads do not exist in the child: using the parent's pool there would
    # wait forever for them.
    out = run_child(
        """
        import time
        assert ingest(400) == 400 and len(pool_threads()) == 1
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = 0 if ingest(400) == 400 and len(pool_threads()) == 1 else 1
            finally:
                os._exit(code)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print(os.waitstatus_to_exitcode(status))
                break
            time.sleep(0.05)  # polling a child process: there is nothing to wait on
        else:
            os.kill(pid, 9)
            print("hung")
        """,
        threads="1",
    )
    assert out.split() == ["0"]


def test_error_late_in_large_chunk_names_its_event() -> None:
    # In this process the pool may be off (one core); the split itself is checked in Rust with
    # every piece count, and here through the Python API with whatever pool there is.
    def events(n: int, start: int) -> bytes:
        lines = []
        for i in range(start, start + n):
            obj = {"metadata": {"name": f"svc-{i}"}, "spec": {"ports": [{"port": 80}]}}
            lines.append(json.dumps({"type": "ADDED", "object": obj}))
        return ("\n".join(lines) + "\n").encode()

    data = events(100, 0) + b'{"type":"ADDED","object":{"metadata":{"name":"Bad_Name"}}}\n'
    data += events(100, 100)
    with ServiceConfig() as config:
        with pytest.raises(InvalidObject, match=r"events\[100\]"):
            config.channel("api").apply_watch_events(data)
        config.flush(timeout=30)
        assert len(config.state()) == 0  # nothing of a failed chunk is applied
