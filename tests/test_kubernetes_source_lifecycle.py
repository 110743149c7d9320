"""KubernetesSource against FakeAPIServer: security (credentials, TLS) and lifecycle (start,
stop, restart), the other resources and the entry points."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from _helpers import wait_until
from _kube_env import (
    DEADLINE,
    MakeSource,
    assert_converges,
    eps,
    eps_slice,
    svc,
)
from kubeproxy_config import EndpointsConfig, EndpointSliceConfig, Error, ServiceConfig
from kubeproxy_config.sources.kubernetes import KubernetesSource, new_source_api
from kubeproxy_config.testing import FakeAPIServer

# -- security and lifecycle ------------------------------------------------------------------


def test_tls_with_token(services: ServiceConfig) -> None:
    with FakeAPIServer(tls=True, token="s3cret-token", bookmark_interval=0.1) as server:
        server.create(svc("a"))
        with (
            server.api_client() as api,
            KubernetesSource(api, services=services, backoff_initial=0.01) as source,
        ):
            assert source.wait_synced(DEADLINE)
            assert server.wait_for_watches(1, DEADLINE)
            server.create(svc("b"))
            assert_converges(services, server, "Service")
            assert server.active_watches == 1
            assert source.stop(timeout=DEADLINE)  # interrupts a TLS read too


def test_wrong_token_is_logged_once_and_not_synced(
    services: ServiceConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kubeproxy_config")
    with FakeAPIServer(tls=True, token="right-token") as server:
        server.create(svc("a"))
        configuration: Any = server.configuration()
        configuration.api_key = {"authorization": "wrong-token"}
        from kubernetes import client

        with (
            client.ApiClient(configuration) as api,
            KubernetesSource(
                api, services=services, backoff_initial=0.01, backoff_max=0.02, watch_list=False
            ) as source,
        ):
            assert server.wait_for_requests("list", 4, DEADLINE)
            assert not source.synced and not services.synced
            assert len(services.state()) == 0
        assert all(r.code == 401 for r in server.requests)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "401" in errors[0].getMessage() and "services" in errors[0].getMessage()
    assert source.stats()["services"]["errors"] >= 3  # the 4th may be in flight at stop
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "wrong-token" not in text and "right-token" not in text


def test_untrusted_certificate_is_logged_once_and_not_synced(
    services: ServiceConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kubeproxy_config")
    with FakeAPIServer(tls=True) as server:
        configuration: Any = server.configuration()
        configuration.ssl_ca_cert = None  # the system CAs do not trust the test CA
        from kubernetes import client

        with (
            client.ApiClient(configuration) as api,
            KubernetesSource(
                api, services=services, backoff_initial=0.01, backoff_max=0.02
            ) as source,
        ):
            assert wait_until(lambda: source.stats()["services"]["errors"] >= 3)
            assert not source.synced
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "CERTIFICATE_VERIFY_FAILED" in errors[0].getMessage()


def test_stop_ends_promptly_while_a_watch_is_open(
    fake_apiserver: FakeAPIServer,
    services: ServiceConfig,
    endpoints: EndpointsConfig,
    start_watching: MakeSource,
) -> None:
    # Reads would block for a minute (stall_timeout) without the interruption from stop().
    fake_apiserver.stall_watches()
    source = start_watching(services=services, endpoints=endpoints, stall_timeout=60.0)
    assert source.stop(timeout=DEADLINE)
    assert source.stop(timeout=0)  # idempotent
    assert wait_until(lambda: fake_apiserver.active_watches == 0)
    with pytest.raises(RuntimeError):
        source.start()
    fake_apiserver.resume_watches()


def pages_read(source: KubernetesSource, at_least: int) -> bool:
    return source.stats()["services"]["pages"] >= at_least


@pytest.mark.parametrize("streamed", [False, True])
def test_stopping_in_the_middle_of_a_list_is_not_an_error(
    fake_apiserver: FakeAPIServer,
    services: ServiceConfig,
    caplog: pytest.LogCaptureFixture,
    streamed: bool,
) -> None:
    """The read that stop() interrupts fails; that is the stop, not a failure to report. Ten
    stops each, landing wherever the list is (a page on the wire, between pages)."""
    fake_apiserver.load(svc(f"s{i:03}") for i in range(300))
    fake_apiserver.stall_watches()  # a streaming list's stream opens, then nothing comes
    for _ in range(10):
        with fake_apiserver.api_client() as api:
            source = KubernetesSource(api, services=services, watch_list=streamed, page_size=5)
            source.start()
            if streamed:
                assert fake_apiserver.wait_for_watches(1, DEADLINE)
            else:
                assert wait_until(partial(pages_read, source, 2), DEADLINE)
            with caplog.at_level(logging.DEBUG, logger="kubeproxy_config"):
                assert source.stop(timeout=DEADLINE)
        assert not source.synced
        assert source.stats()["services"]["errors"] == 0
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
        assert wait_until(lambda: fake_apiserver.active_watches == 0)
    fake_apiserver.resume_watches()


def test_closing_the_config_ends_the_source_quietly(
    fake_apiserver: FakeAPIServer, start_watching: MakeSource
) -> None:
    config = ServiceConfig()
    source = start_watching(services=config)
    config.close()
    fake_apiserver.create(svc("a"))  # the next event finds the channel closed
    assert source.stop(timeout=DEADLINE)


def test_resync_period_relists_without_a_new_version(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, start_watching: MakeSource
) -> None:
    fake_apiserver.create(svc("a"))
    source = start_watching(services=services, resync_period=0.5)
    services.flush(DEADLINE)
    version = services.state().version
    assert fake_apiserver.wait_for_requests("list", 2, DEADLINE)
    assert wait_until(lambda: source.stats()["services"]["relists"] >= 1)
    services.flush(DEADLINE)
    assert services.state().version == version
    assert_converges(services, fake_apiserver, "Service")


# -- other resources and entry points --------------------------------------------------------


def test_new_source_api_with_channels(
    fake_apiserver: FakeAPIServer,
    fake_api_client: Any,
    services: ServiceConfig,
    endpoints: EndpointsConfig,
) -> None:
    fake_apiserver.create(svc("a"))
    fake_apiserver.create(eps("a"))
    source = new_source_api(fake_api_client, services.channel("api"), endpoints.channel("api"))
    try:
        assert source.wait_synced(DEADLINE)
        assert fake_apiserver.wait_for_watches(2, DEADLINE)
        fake_apiserver.create(svc("b"))
        fake_apiserver.replace(eps("a", ip="10.9.9.9"))
        assert_converges(services, fake_apiserver, "Service")
        assert_converges(endpoints, fake_apiserver, "Endpoints")
        assert source.channels == (services.channel("api"), endpoints.channel("api"))
    finally:
        assert source.stop(timeout=DEADLINE)


def test_endpoint_slices(fake_apiserver: FakeAPIServer, make_source: MakeSource) -> None:
    fake_apiserver.create(eps_slice("web-1", "web", ip="10.1.0.1"))
    fake_apiserver.create(eps_slice("web-2", "web", ip="10.1.0.2"))
    with EndpointSliceConfig() as slices:
        source = make_source(endpoint_slices=slices, source="cluster").start()
        assert source.wait_synced(DEADLINE) and fake_apiserver.wait_for_watches(1, DEADLINE)
        fake_apiserver.create(eps_slice("db-1", "db", ip="10.2.0.1"))
        fake_apiserver.delete("EndpointSlice", "ns", "web-2")
        assert_converges(slices, fake_apiserver, "EndpointSlice")
        assert [e.addresses for e in slices.endpoints_for("ns/web")] == [("10.1.0.1",)]
        assert slices.sources == ("cluster",)
        paths = {r.path for r in fake_apiserver.requests if r.resource == "endpointslices"}
        assert paths == {"/apis/discovery.k8s.io/v1/endpointslices"}
        assert source.stop(timeout=DEADLINE)


def test_large_events_split_across_reads(
    fake_apiserver: FakeAPIServer, endpoints: EndpointsConfig, start_watching: MakeSource
) -> None:
    source = start_watching(endpoints=endpoints)
    big = eps("big")
    big["subsets"][0]["addresses"] = [
        {"ip": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"} for i in range(20000)
    ]  # about 400 KiB on one line: more than one read
    fake_apiserver.create(big)
    fake_apiserver.create(eps("small"))
    assert_converges(endpoints, fake_apiserver, "Endpoints")
    got = endpoints.state().get("ns/big")
    assert got is not None and len(got.subsets[0].addresses) == 20000
    assert source.stats()["endpoints"]["errors"] == 0


def test_default_client_from_kubeconfig(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-cluster config is tried first when KUBERNETES_SERVICE_HOST is set; without a service
    # account token it falls back to the kubeconfig.
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "1")
    path = str(fake_apiserver.kubeconfig())
    monkeypatch.setattr("kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", path)
    fake_apiserver.create(svc("a"))
    with KubernetesSource(services=services, backoff_initial=0.01) as source:
        assert source.wait_synced(DEADLINE)
        assert_converges(services, fake_apiserver, "Service")
    assert source.stop()


def test_default_client_without_config_is_a_clear_error(
    tmp_path: Path, services: ServiceConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    missing = str(tmp_path / "no-kubeconfig")
    monkeypatch.setattr("kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", missing)
    with pytest.raises(Error, match="cannot load a Kubernetes client configuration"):
        KubernetesSource(services=services)


def test_arguments_are_checked(fake_api_client: Any, services: ServiceConfig) -> None:
    with pytest.raises(ValueError, match="at least one"):
        KubernetesSource(fake_api_client)
    with pytest.raises(TypeError):
        KubernetesSource(fake_api_client, services=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        KubernetesSource(fake_api_client, services=services, page_size=-1)
