"""Security review of the surfaces outside input reaches: the metrics/health server (loopback by
default, nothing served but metrics and health), recordings played back (data only: nothing
executed, nothing written, no hang or crash on a hostile file), and numbers of seconds given to
the API (a huge value is capped or refused, never a Rust panic)."""

from __future__ import annotations

import http.client
import json
import math
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _helpers import WAIT, svc_dict
from kubeproxy_config import (
    EndpointSliceConfig,
    ProxyConfig,
    RecordingError,
    ServiceConfig,
    metrics,
)
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer, replay

HEADER = json.dumps({"kubeproxy-config-recording": 1})


def request(url: str, method: str, path: str) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=WAIT)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# -- the metrics and health server -------------------------------------------------------------


def test_metrics_server_binds_loopback_by_default() -> None:
    with ServiceConfig() as config, metrics.serve(config, port=0) as server:
        assert server.address == "127.0.0.1"
        assert server.url.startswith("http://127.0.0.1:")
        # The listening socket itself, not only what the object says.
        assert server._server.socket.getsockname()[0] == "127.0.0.1"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/metrics/",
        "/metricsx",
        "/../../../etc/passwd",
        "/metrics/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/healthz/../metrics/x",
        "/debug/pprof/",
        "/configz",
    ],
)
def test_metrics_server_serves_nothing_but_its_four_paths(path: str) -> None:
    with ServiceConfig() as config, metrics.serve(config, port=0) as server:
        status, body = request(server.url, "GET", path)
        assert (status, body) == (404, b"404 page not found\n")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_metrics_server_answers_only_get(method: str) -> None:
    with ServiceConfig() as config, metrics.serve(config, port=0) as server:
        for path in ("/metrics", "/healthz", "/readyz"):
            status, body = request(server.url, method, path)
            assert status == 501, (method, path)
            assert b"kubeproxy_config" not in body
        assert request(server.url, "GET", "/metrics?name[]=x")[0] == 200  # still serving


# -- recordings played back --------------------------------------------------------------------


def recording(tmp_path: Path, *records: dict[str, Any]) -> Path:
    path = tmp_path / "hostile.ndjson"
    path.write_text("\n".join([HEADER, *(json.dumps(r) for r in records)]) + "\n")
    return path


def listing(*dirs: Path) -> set[str]:
    return {str(p) for d in dirs for p in d.rglob("*")}


def test_a_hostile_recording_is_played_as_data_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects whose text looks like code, paths or YAML tags are stored as plain strings or
    refused as invalid; nothing runs and no file appears anywhere near the replay."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    canary = tmp_path / "pwned"
    hostile = svc_dict("evil", "ns")
    hostile["metadata"]["annotations"] = {
        "yaml": "!!python/object/apply:os.system ['touch " + str(canary) + "']",
        "pickle": "cos\nsystem\n(S'touch " + str(canary) + "'\ntR.",
        "path": "../../../../" + str(canary),
        "shell": "$(touch " + str(canary) + ")",
    }
    page = json.dumps(
        {"kind": "ServiceList", "metadata": {"resourceVersion": "5"}, "items": [hostile]}
    )
    path = recording(
        tmp_path,
        {"t": 0, "resource": "services", "op": "begin_list"},
        {"t": 0, "resource": "services", "op": "page", "data": page},
        {"t": 0, "resource": "services", "op": "commit"},
        {"t": 0, "resource": "../../etc", "op": "page", "data": page},  # no such resource
        {"t": 0, "resource": "services", "op": "page", "data": "!!python/object:os.system"},
    )
    before = listing(tmp_path)
    with ServiceConfig() as services:
        played = replay(path, services=services)
        assert services.flush(WAIT)
        [stored] = list(services.state())
        assert dict(stored.annotations) == hostile["metadata"]["annotations"]
    assert played == {"services": 4}
    assert listing(tmp_path) == before
    assert not canary.exists()


@pytest.mark.parametrize("t", [1e308, 1e12, -1.0])
def test_a_recording_with_an_impossible_time_is_refused_not_waited_for(
    tmp_path: Path, t: float
) -> None:
    path = recording(tmp_path, {"t": t, "resource": "services", "op": "begin_list"})
    with ServiceConfig() as services, pytest.raises(RecordingError, match="line 2: t "):
        replay(path, services=services, speed=0.5)


def test_ctrl_c_stops_a_paced_replay(tmp_path: Path) -> None:
    """A recording whose next record is due in an hour: SIGINT ends the wait."""
    path = recording(
        tmp_path,
        {"t": 0, "resource": "services", "op": "begin_list"},
        {"t": 3600, "resource": "services", "op": "commit"},
    )
    started = threading.Event()

    def interrupt() -> None:
        started.wait(WAIT)
        os.kill(os.getpid(), signal.SIGINT)

    with ServiceConfig() as services:
        # The first record plays at once; the SIGINT then lands during the hour's wait (or just
        # before it, which the replay checks between records too).
        killer = threading.Thread(target=interrupt)
        killer.start()
        started.set()
        try:
            with pytest.raises(KeyboardInterrupt):
                replay(path, services=services, speed=1.0)
        finally:
            killer.join(WAIT)
        assert not services.synced


# -- seconds given to the API ------------------------------------------------------------------


def test_huge_intervals_are_capped_not_a_panic() -> None:
    with ServiceConfig(min_interval=1e300) as services, EndpointSliceConfig() as slices:
        ProxyConfig(services, slices, node_name="node-a", min_interval=1e300).close()
        assert services.flush(1e300)


@pytest.mark.parametrize("bad", [math.inf, math.nan, -1.0])
def test_bad_intervals_are_refused_by_name(bad: float) -> None:
    with pytest.raises(ValueError, match="min_interval must be a number of seconds"):
        ServiceConfig(min_interval=bad)
    with ServiceConfig() as services, EndpointSliceConfig() as slices:
        with pytest.raises(ValueError, match="min_interval must be a number of seconds"):
            ProxyConfig(services, slices, node_name="node-a", min_interval=bad)
        with pytest.raises(ValueError, match="timeout must be a number of seconds"):
            services.flush(bad)


@pytest.fixture
def source() -> Iterator[KubernetesSource]:
    from kubernetes import client

    with FakeAPIServer() as server, ServiceConfig() as services:
        server.create(svc_dict("a", "ns"))
        with client.ApiClient(server.configuration()) as api:
            source = KubernetesSource(
                api, services=services, resync_period=1e300, audit_period=1e300
            )
            with source:
                yield source


def test_a_source_takes_huge_periods_and_timeouts(source: KubernetesSource) -> None:
    assert source.wait_synced(1e300)


@pytest.mark.parametrize("bad", [math.inf, math.nan, -1.0])
def test_a_source_refuses_bad_timeouts_by_name(source: KubernetesSource, bad: float) -> None:
    with pytest.raises(ValueError, match="timeout must be a number of seconds"):
        source.wait_synced(bad)
