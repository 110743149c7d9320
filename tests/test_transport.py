"""The Rust list/watch transport as a user's client configuration drives it: TLS material,
client certificates, tokens refreshed after a 401 or by the client's hook, an HTTP proxy, and
settings it cannot honour. Everything over real loopback sockets against FakeAPIServer.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from typing import Any

import pytest

from _helpers import svc_dict, wait_until
from kubeproxy_config import Error, ServiceConfig
from kubeproxy_config.sources import kubernetes as kubernetes_source
from kubeproxy_config.sources._transport import resolve as original_resolve
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer

DEADLINE = 10.0


def svc(name: str) -> dict[str, Any]:
    return svc_dict(name, "ns")


def names(config: ServiceConfig) -> set[str]:
    config.flush(DEADLINE)
    return {obj.name for obj in config.state()}


def client_for(configuration: Any) -> Any:
    from kubernetes import client

    return client.ApiClient(configuration)


def assert_never_synced(configuration: Any, services: ServiceConfig) -> None:
    """A source with this configuration fails again and again and never syncs."""
    with (
        client_for(configuration) as api,
        KubernetesSource(api, services=services, backoff_initial=0.01, backoff_max=0.02) as source,
    ):
        assert wait_until(lambda: source.stats()["services"]["errors"] >= 2)
        assert not source.synced


# -- TLS ---------------------------------------------------------------------------------------


def test_client_certificates(services: ServiceConfig) -> None:
    with FakeAPIServer(tls=True, client_certs=True, bookmark_interval=0.1) as server:
        server.create(svc("a"))
        with (
            server.api_client() as api,
            KubernetesSource(api, services=services, backoff_initial=0.01) as source,
        ):
            assert source.wait_synced(DEADLINE)
            server.create(svc("b"))
            assert wait_until(lambda: names(services) == {"a", "b"})
            assert source.stats()["services"]["errors"] == 0


def test_without_the_client_certificate_the_server_refuses(
    services: ServiceConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kubeproxy_config")
    with FakeAPIServer(tls=True, client_certs=True) as server:
        configuration: Any = server.configuration()
        configuration.cert_file = configuration.key_file = None
        assert_never_synced(configuration, services)


def test_tls_server_name_is_the_name_verified(services: ServiceConfig) -> None:
    with FakeAPIServer(tls=True) as server:
        server.create(svc("a"))
        configuration: Any = server.configuration()
        configuration.tls_server_name = "localhost"  # the certificate names it too
        with (
            client_for(configuration) as api,
            KubernetesSource(api, services=services) as source,
        ):
            assert source.wait_synced(DEADLINE)
        configuration.tls_server_name = "elsewhere.example"
        assert_never_synced(configuration, services)


def test_verify_ssl_off_accepts_an_unknown_ca(services: ServiceConfig) -> None:
    with FakeAPIServer(tls=True) as server:
        server.create(svc("a"))
        configuration: Any = server.configuration()
        configuration.ssl_ca_cert = None
        configuration.verify_ssl = False
        with (
            client_for(configuration) as api,
            KubernetesSource(api, services=services) as source,
        ):
            assert source.wait_synced(DEADLINE)
            assert names(services) == {"a"}


# -- tokens ------------------------------------------------------------------------------------


def test_token_asked_again_after_a_401(services: ServiceConfig) -> None:
    with FakeAPIServer(tls=True, token="first", bookmark_interval=0.1) as server:
        server.create(svc("a"))
        configuration: Any = server.configuration()
        with (
            client_for(configuration) as api,
            KubernetesSource(api, services=services, backoff_initial=0.01) as source,
        ):
            assert source.wait_synced(DEADLINE) and server.wait_for_watches(1, DEADLINE)
            # The credentials rotate: the server wants a new token, the client has it.
            server.token = "second"
            configuration.api_key = {"authorization": "second"}
            server.drop_watches()
            assert server.wait_for_requests("watch", 2, DEADLINE)
            server.create(svc("b"))
            assert wait_until(lambda: names(services) == {"a", "b"})
            codes = [r.code for r in server.requests if r.verb == "watch"]
            assert 401 in codes and codes[-1] == 200
            assert source.stats()["services"]["lists"] == 1  # resumed, not relisted


def test_refresh_hook_runs_before_reconnecting(services: ServiceConfig) -> None:
    with FakeAPIServer(token="t0", bookmark_interval=0.1) as server:
        server.create(svc("a"))
        configuration: Any = server.configuration()
        current = {"token": "t0"}
        calls: list[str] = []

        def refresh(config: Any) -> None:  # as exec and OIDC auth plugins install it
            calls.append(current["token"])
            config.api_key["authorization"] = current["token"]

        configuration.refresh_api_key_hook = refresh
        with (
            client_for(configuration) as api,
            KubernetesSource(api, services=services, backoff_initial=0.01) as source,
        ):
            assert source.wait_synced(DEADLINE) and server.wait_for_watches(1, DEADLINE)
            current["token"] = server.token = "t1"
            server.drop_watches()
            server.create(svc("b"))
            assert wait_until(lambda: names(services) == {"a", "b"})
        assert "t1" in calls
        assert all(r.code != 401 for r in server.requests)  # refreshed before, not after


# -- proxy -------------------------------------------------------------------------------------


class ConnectProxy:
    """An HTTP proxy that only tunnels (``CONNECT``), on a real socket; counts its tunnels."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.tunnels: list[str] = []
        self._closing = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                return
            self.tunnels.append(target)
            host, port = target.rsplit(":", 1)
            with socket.create_connection((host, int(port))) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                pair = {client: upstream, upstream: client}
                while True:
                    ready, _, _ = select.select(list(pair), [], [], 30)
                    if not ready:
                        return
                    for sock in ready:
                        data = sock.recv(65536)
                        if not data:
                            return
                        pair[sock].sendall(data)

    def close(self) -> None:
        self._closing = True
        self.listener.close()


def test_https_through_an_http_proxy(services: ServiceConfig) -> None:
    proxy = ConnectProxy()
    try:
        with FakeAPIServer(tls=True, bookmark_interval=0.1) as server:
            server.create(svc("a"))
            configuration: Any = server.configuration()
            configuration.proxy = proxy.url
            with (
                client_for(configuration) as api,
                KubernetesSource(api, services=services) as source,
            ):
                assert source.wait_synced(DEADLINE)
                server.create(svc("b"))
                assert wait_until(lambda: names(services) == {"a", "b"})
            assert proxy.tunnels and all(t == f"127.0.0.1:{server.port}" for t in proxy.tunnels)
    finally:
        proxy.close()


# -- settings the transport refuses ------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("proxy", "https://127.0.0.1:3128", "proxy"),
        ("assert_hostname", False, "assert_hostname"),
        ("ssl_ca_cert", "/nonexistent/ca.pem", "ssl_ca_cert"),
        ("cert_file", "/nonexistent/client.pem", "cert_file"),
    ],
)
def test_unsupported_settings_fail_at_start_naming_them(
    services: ServiceConfig, setting: str, value: object, named: str
) -> None:
    with FakeAPIServer(tls=True) as server:
        configuration: Any = server.configuration()
        setattr(configuration, setting, value)
        with client_for(configuration) as api:
            source = KubernetesSource(api, services=services)
            with pytest.raises(Error, match=named):
                source.start()
            assert not source.synced
            assert source.stop(timeout=DEADLINE)


def test_a_bad_ca_file_is_named(services: ServiceConfig, tmp_path: Any) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with FakeAPIServer(tls=True) as server:
        configuration: Any = server.configuration()
        configuration.ssl_ca_cert = str(bad)
        with client_for(configuration) as api:
            with pytest.raises(Error, match="ssl_ca_cert"):
                KubernetesSource(api, services=services).start()


# -- no Python per event -----------------------------------------------------------------------


def test_no_python_runs_per_watch_event(
    services: ServiceConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop calls Python only to log and to get a token: count both over 500 events."""
    calls = {"log": 0, "authorization": 0}
    original_log = kubernetes_source._log

    def counting_log(level: int, message: str) -> None:
        calls["log"] += 1
        original_log(level, message)

    def counting_resolve(api_client: Any) -> Any:
        settings, authorization = original_resolve(api_client)

        def counted() -> str | None:
            calls["authorization"] += 1
            return authorization()

        return settings, counted

    monkeypatch.setattr(kubernetes_source, "_log", counting_log)
    monkeypatch.setattr("kubeproxy_config.sources.kubernetes.resolve", counting_resolve)
    logging.getLogger("kubeproxy_config").setLevel(logging.DEBUG)
    try:
        with FakeAPIServer(bookmark_interval=3600) as server:
            with (
                server.api_client() as api,
                KubernetesSource(api, services=services) as source,
            ):
                assert source.wait_synced(DEADLINE) and server.wait_for_watches(1, DEADLINE)
                before = dict(calls)
                for i in range(500):
                    server.create(svc(f"s{i}"))
                assert wait_until(lambda: source.stats()["services"]["events"] >= 500)
                assert calls == before, f"Python was called during the events: {before} -> {calls}"
    finally:
        logging.getLogger("kubeproxy_config").setLevel(logging.NOTSET)
