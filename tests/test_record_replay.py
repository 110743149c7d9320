"""Record and replay (SPEC §11): what a KubernetesSource receives, written as it arrives, plays
back into fresh configs to the state the source reached; a bad recording names its line.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from _helpers import WAIT, svc_dict, wait_until
from kubeproxy_config import EndpointsConfig, RecordingError, ServiceConfig
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer, replay


def svc(name: str, port: int = 80) -> dict[str, Any]:
    return svc_dict(name, "ns", port=port)


def eps(name: str, ip: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": "ns"},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"port": 8080}]}],
    }


def view(config: ServiceConfig | EndpointsConfig) -> dict[str, str | None]:
    config.flush(WAIT)
    return {o.key: o.resource_version for o in config.state()}


def server_view(server: FakeAPIServer, kind: str) -> dict[str, str]:
    return {
        f"ns/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
        for o in server.objects(kind)
    }


def record_a_busy_source(path: Path, **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Record a source through writes, a relist, a garbage line and lost events healed by an
    audit; returns the server's final Services and Endpoints (keys to versions)."""
    with (
        FakeAPIServer(bookmark_interval=0.1) as server,
        ServiceConfig() as services,
        EndpointsConfig() as endpoints,
    ):
        for i in range(10):
            server.create(svc(f"s{i}"))
            server.create(eps(f"s{i}", f"10.0.0.{i + 1}"))
        source = KubernetesSource(
            server.api_client(),
            services=services,
            endpoints=endpoints,
            record=path,
            audit_period=0.5,
            backoff_initial=0.01,
            **options,
        )
        with source:
            assert source.wait_synced(WAIT) and server.wait_for_watches(2, WAIT)
            server.replace(svc("s1", port=81))
            server.delete("Service", "ns", "s2")
            server.send_garbage()
            server.create(svc("n1"))
            server.lose_events(1)
            server.replace(eps("s3", "10.9.9.9"))
            server.compact()
            server.drop_watches()  # resumes too old: a relist
            server.create(eps("n2", "10.1.1.1"))
            expect = (server_view(server, "Service"), server_view(server, "Endpoints"))
            assert wait_until(lambda: (view(services), view(endpoints)) == expect)
        return expect


@pytest.mark.parametrize("name", ["rec.ndjson", "rec.ndjson.gz"])
def test_a_recording_replays_to_the_state_the_source_reached(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    want_services, want_endpoints = record_a_busy_source(path)
    with ServiceConfig() as services, EndpointsConfig() as endpoints:
        played = replay(path, services=services, endpoints=endpoints)
        assert played["services"] > 0 and played["endpoints"] > 0
        assert view(services) == want_services
        assert view(endpoints) == want_endpoints
    if name.endswith(".gz"):
        with gzip.open(path, "rt") as f:
            assert "kubeproxy-config-recording" in f.readline()


def test_a_paged_recording_replays_too(tmp_path: Path) -> None:
    path = tmp_path / "paged.ndjson"
    want_services, _ = record_a_busy_source(path, watch_list=False, page_size=3)
    ops = {json.loads(line)["op"] for line in path.read_text().splitlines()[1:]}
    assert {"page", "events", "commit", "error"} <= ops
    with ServiceConfig() as services:
        replay(path, services=services, speed=1000.0)
        assert view(services) == want_services


def test_a_truncated_or_corrupt_recording_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rec.ndjson"
    record_a_busy_source(path)
    lines = path.read_text().splitlines(keepends=True)
    broken = tmp_path / "broken.ndjson"
    broken.write_text("".join(lines[:5]) + lines[5][: len(lines[5]) // 2] + "\n")
    with ServiceConfig() as services, pytest.raises(RecordingError, match="line 6"):
        replay(broken, services=services)
    cut = tmp_path / "cut.ndjson.gz"
    data = gzip.compress(path.read_bytes())
    cut.write_bytes(data[: len(data) // 2])
    with ServiceConfig() as services, pytest.raises(RecordingError, match=r"cut\.ndjson\.gz"):
        replay(cut, services=services)


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("", "line 1"),
        ('{"something": 1}\n', "lacks"),
        ('{"kubeproxy-config-recording": 99}\n', "version 99"),
        ("not json\n", "no JSON header"),
    ],
)
def test_not_a_recording(tmp_path: Path, header: str, named: str) -> None:
    path = tmp_path / "x.ndjson"
    path.write_text(header)
    with ServiceConfig() as services, pytest.raises(RecordingError, match=named):
        replay(path, services=services)


def test_a_missing_file_and_a_bad_speed(tmp_path: Path) -> None:
    with ServiceConfig() as services:
        with pytest.raises(RecordingError, match="nothing-here"):
            replay(tmp_path / "nothing-here", services=services)
        with pytest.raises(ValueError, match="speed"):
            replay(tmp_path / "x", services=services, speed=0)


# -- the command line --------------------------------------------------------------------------


RECORD = (sys.executable, "-m", "kubeproxy_config", "record")


def test_record_and_replay_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "cluster.ndjson.gz"
    with FakeAPIServer(bookmark_interval=0.1) as server:
        server.create(svc("web"))
        server.create(eps("web", "10.0.0.1"))
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig")
        env = {**os.environ, "HOME": str(tmp_path)}
        recorder = subprocess.Popen(
            [*RECORD, "-A", "-o", str(path), "--kubeconfig", str(kubeconfig)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.wait_for_watches(3, WAIT)
            server.replace(eps("web", "10.0.0.2"))
            server.create(svc("db", port=5432))
            server.create(eps("db", "10.0.0.9"))

            def recorded_db() -> bool:
                # The gzip stream is still open: decompress what is flushed so far.
                with contextlib.suppress(OSError, zlib.error):
                    return b"10.0.0.9" in zlib.decompressobj(31).decompress(path.read_bytes())
                return False

            assert wait_until(recorded_db)
        finally:
            recorder.send_signal(signal.SIGINT)
            _, err = recorder.communicate(timeout=WAIT)
        assert recorder.returncode == 0, err
        assert "recorded" in err
    replayed = subprocess.run(
        [sys.executable, "-m", "kubeproxy_config", "replay", str(path), "--once", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stderr
    document = json.loads(replayed.stdout)
    shown = {
        s["name"]: (s["ports"][0]["port"], s["endpoints"]["ready"]) for s in document["services"]
    }
    assert shown == {"web": (80, ["10.0.0.2"]), "db": (5432, ["10.0.0.9"])}


def test_replay_of_a_corrupt_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text('{"kubeproxy-config-recording": 1}\n{"t": 0, "resource": \n')
    result = subprocess.run(
        [sys.executable, "-m", "kubeproxy_config", "replay", str(path), "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "line 2" in result.stderr
