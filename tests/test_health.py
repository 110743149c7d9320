"""kubeproxy_config.metrics.serve (SPEC §10): /metrics, /healthz, /livez and /readyz over real
HTTP, with kube-proxy's JSON fields and codes; and the command line's bind-address flags."""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import kubeproxy_config
from _helpers import WAIT, svc, wait_until
from _metrics_env import Gate, ReportingSource, get, get_json, parse, value
from kubeproxy_config import ServiceConfig, metrics
from kubeproxy_config.cli import main
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer

EXAMPLES = str(Path(kubeproxy_config.__file__).parent / "examples")


def code_of(url: str) -> int:
    return get(url)[0]


def test_readyz_turns_200_once_every_config_is_synced() -> None:
    with ServiceConfig() as config, metrics.serve(config, port=0) as server:
        assert server.port != 0 and server.url == f"http://127.0.0.1:{server.port}"
        channel = config.channel("api")
        code, body = get_json(server.url + "/readyz")
        assert (code, body) == (503, {"ready": False, "synced": {"services": False}})
        channel.set([svc("web")])
        assert wait_until(lambda: code_of(server.url + "/readyz") == 200)
        assert get_json(server.url + "/readyz")[1]["synced"] == {"services": True}


def test_healthz_and_livez_fail_while_a_handler_holds_a_version_past_the_timeout() -> None:
    gate = Gate()
    with ServiceConfig() as config, metrics.serve(config, port=0, health_timeout=0.2) as server:
        config.register_handler(gate)
        for path in ("/healthz", "/livez"):
            code, body = get_json(server.url + path)
            assert code == 200 and body["healthy"] is True
            # kube-proxy reports "now" as lastUpdated while healthy.
            assert body["lastUpdated"] == body["currentTime"]
        config.channel("api").set([svc("web")])
        assert gate.entered.wait(WAIT)
        assert wait_until(lambda: code_of(server.url + "/healthz") == 503)
        code, body = get_json(server.url + "/livez")
        assert code == 503 and body["healthy"] is False
        assert body["status"]["services"]["healthy"] is False
        last = datetime.fromisoformat(body["lastUpdated"].replace("Z", "+00:00"))
        now = datetime.fromisoformat(body["currentTime"].replace("Z", "+00:00"))
        assert last < now
        assert any("handler" in reason for reason in body["reasons"])
        gate.release.set()
        assert config.flush(WAIT)
        for path in ("/healthz", "/livez"):
            assert code_of(server.url + path) == 200


def test_a_source_silent_past_its_stall_timeout_is_unhealthy() -> None:
    source = ReportingSource("api", stall_timeout=5.0)
    source.figures["services"] = {"last_event_age_seconds": 30.0, "last_bookmark_age_seconds": 1.0}
    with metrics.serve(source, port=0) as server:
        assert code_of(server.url + "/healthz") == 200  # a bookmark came 1 s ago
        source.figures["services"]["last_bookmark_age_seconds"] = 6.0
        code, body = get_json(server.url + "/livez")
        assert code == 503
        assert body["reasons"] == [
            "source 'api' services: nothing heard for 6.0 s (stall timeout 5 s)"
        ]
        assert code_of(server.url + "/healthz") == 503
        source.figures["services"]["last_event_age_seconds"] = 0.1
        assert code_of(server.url + "/healthz") == 200
        # Without a stall timeout, or before anything was heard, a source is not judged.
        source.stall_timeout = None
        source.figures["services"] = {"last_event_age_seconds": 1e6}
        assert code_of(server.url + "/healthz") == 200


def test_a_stalled_watch_makes_the_kubernetes_source_unhealthy(
    fake_apiserver: FakeAPIServer,
) -> None:
    client: Any = fake_apiserver.api_client()
    with ServiceConfig() as config:
        source = KubernetesSource(client, services=config, stall_timeout=0.5, backoff_initial=0.01)
        try:
            source.start()
            assert source.wait_synced(WAIT)
            reported = source.stats()["services"]
            assert reported["last_bookmark_age_seconds"] is not None
            assert source.stall_timeout == 0.5
            with metrics.serve(source, port=0) as server:
                assert wait_until(lambda: code_of(server.url + "/healthz") == 200)
                fake_apiserver.stall_watches()
                assert wait_until(lambda: code_of(server.url + "/livez") == 503)
                assert code_of(server.url + "/healthz") == 503
                fake_apiserver.resume_watches()
                assert wait_until(lambda: code_of(server.url + "/healthz") == 200)
        finally:
            source.stop()
            client.close()


def test_metrics_endpoint_serves_the_exposition_and_unknown_paths_are_404() -> None:
    with ServiceConfig(name="svc") as config, metrics.serve(config, port=0) as server:
        config.channel("api").set([svc("web")])
        assert config.flush(WAIT)
        code, content_type, body = get(server.url + "/metrics")
        assert code == 200 and content_type.startswith("text/plain")
        assert value(parse(body.decode()), "kubeproxy_config_objects", config="svc") == 1
        assert code_of(server.url + "/nope") == 404
    # Closed: the port is released.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0
    server.close()  # idempotent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_cli_serves_metrics_and_health_on_kube_proxys_flags() -> None:
    metrics_port, healthz_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubeproxy_config",
            "watch",
            "--manifests",
            EXAMPLES,
            "-o",
            "json",
            "--metrics-bind-address",
            f"127.0.0.1:{metrics_port}",
            "--healthz-bind-address",
            f"127.0.0.1:{healthz_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def ready() -> bool:
            try:
                return code_of(f"http://127.0.0.1:{healthz_port}/readyz") == 200
            except OSError:
                return proc.poll() is not None  # not listening yet, unless it exited

        assert wait_until(ready), "the health server never answered"
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert code_of(f"http://127.0.0.1:{healthz_port}/healthz") == 200
        code, _, body = get(f"http://127.0.0.1:{metrics_port}/metrics")
        samples = parse(body.decode())
        assert code == 200
        objects = value(samples, "kubeproxy_config_objects", config="services")
        assert objects is not None and objects > 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=WAIT)
        if proc.stderr:
            proc.stderr.close()


def test_cli_rejects_a_bad_bind_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", "--manifests", EXAMPLES, "--metrics-bind-address", "10249"]) == 2
    err = capsys.readouterr().err
    assert "--metrics-bind-address" in err and "HOST:PORT" in err


def test_cli_names_the_flag_whose_address_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        address = f"127.0.0.1:{port}"
        args = ["watch", "--manifests", EXAMPLES, "--once", "--healthz-bind-address", address]
        assert main(args) == 1
    err = capsys.readouterr().err
    assert f"--healthz-bind-address: cannot listen on 127.0.0.1:{port}" in err


def test_bind_addresses_parse_as_kube_proxy_writes_them() -> None:
    from kubeproxy_config._metrics_flags import parse_bind_address

    assert parse_bind_address("127.0.0.1:10249") == ("127.0.0.1", 10249)
    assert parse_bind_address("0.0.0.0:10256") == ("0.0.0.0", 10256)
    assert parse_bind_address("[::1]:10249") == ("::1", 10249)
    for bad in ("10249", "host:", ":80", "host:99999", "host:http"):
        with pytest.raises(argparse.ArgumentTypeError, match="HOST:PORT"):
            parse_bind_address(bad)


def test_serves_on_ipv6_loopback() -> None:
    try:
        server = metrics.serve(port=0, address="::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with server:
        assert server.url == f"http://[::1]:{server.port}"
        assert code_of(server.url + "/readyz") == 200  # no config given: nothing to wait for
