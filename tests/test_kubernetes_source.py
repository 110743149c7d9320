"""KubernetesSource and new_source_api against FakeAPIServer over real loopback sockets.

Every test ends by checking that the config's state equals the server's objects (keys and
resourceVersions, which change with every write): nothing lost, nothing stale. Waits poll a
condition against a deadline; nothing sleeps in place of synchronisation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from _helpers import wait_until
from kubeproxy_config import EndpointsConfig, EndpointSliceConfig, Error, ServiceConfig
from kubeproxy_config.sources.kubernetes import KubernetesSource, new_source_api
from kubeproxy_config.testing import FakeAPIServer

Obj = dict[str, Any]
Config = ServiceConfig | EndpointsConfig | EndpointSliceConfig
MakeSource = Callable[..., KubernetesSource]
DEADLINE = 10.0  # seconds any single wait may take


# -- objects ---------------------------------------------------------------------------------


def svc(name: str, namespace: str = "ns", port: int = 80, **labels: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"ports": [{"port": port, "protocol": "TCP"}]},
    }


def eps(name: str, namespace: str = "ns", ip: str = "10.1.0.1") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": namespace},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"port": 8080}]}],
    }


def eps_slice(name: str, service: str, namespace: str = "ns", ip: str = "10.1.0.2") -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }


# -- waiting and comparing -------------------------------------------------------------------


def state_view(config: Config) -> dict[str, str | None]:
    return {obj.key: obj.resource_version for obj in config.state()}


def server_view(
    server: FakeAPIServer,
    kind: str,
    namespace: str | None = None,
    label_selector: str | None = None,
) -> dict[str, str | None]:
    return {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
        for o in server.objects(kind, namespace, label_selector=label_selector)
    }


def assert_converges(
    config: Config,
    server: FakeAPIServer,
    kind: str,
    namespace: str | None = None,
    label_selector: str | None = None,
) -> None:
    """The config ends up holding exactly the server's objects, at their resourceVersions."""

    def equal() -> bool:
        config.flush(DEADLINE)
        return state_view(config) == server_view(server, kind, namespace, label_selector)

    wait_until(equal)
    assert state_view(config) == server_view(server, kind, namespace, label_selector)


def query_of(record: Any) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(record.query).items()}


def requests_of(server: FakeAPIServer, verb: str, resource: str = "services") -> list[Any]:
    return [r for r in server.requests if r.verb == verb and r.resource == resource]


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def make_source(fake_api_client: Any) -> Iterator[MakeSource]:
    """Build sources with fast retries on ``fake_api_client``; all stopped afterwards. They
    list in pages unless told otherwise (streaming lists: ``test_watch_list.py``)."""
    made: list[KubernetesSource] = []

    def make(api_client: Any = None, **options: Any) -> KubernetesSource:
        options.setdefault("watch_list", False)
        options.setdefault("backoff_initial", 0.01)
        options.setdefault("backoff_max", 0.1)
        options.setdefault("stall_timeout", 5.0)
        source = KubernetesSource(api_client or fake_api_client, **options)
        made.append(source)
        return source

    yield make
    for source in made:
        assert source.stop(timeout=DEADLINE)


@pytest.fixture
def start_watching(make_source: MakeSource, fake_apiserver: FakeAPIServer) -> MakeSource:
    """Build a source, start it, and wait until it is synced and watching every resource."""

    def start(**options: Any) -> KubernetesSource:
        source = make_source(**options).start()
        resources = ("services", "endpoints", "endpoint_slices")
        watches = sum(options.get(name) is not None for name in resources)
        assert source.wait_synced(DEADLINE) and fake_apiserver.wait_for_watches(watches, DEADLINE)
        return source

    return start


# -- list and watch --------------------------------------------------------------------------


def test_initial_list_equals_server(
    fake_apiserver: FakeAPIServer,
    services: ServiceConfig,
    endpoints: EndpointsConfig,
    make_source: MakeSource,
) -> None:
    for i in range(5):
        fake_apiserver.create(svc(f"s{i}", port=80 + i))
        fake_apiserver.create(eps(f"s{i}", ip=f"10.1.0.{i + 1}"))
    fake_apiserver.create(svc("other", namespace="kube-system"))
    source = make_source(services=services, endpoints=endpoints)
    assert not source.synced and not source.wait_synced(0)
    source.start()
    assert source.wait_synced(DEADLINE) and source.synced
    # The SET is queued when the source is synced; the configs are synced once it is merged.
    assert services.wait_synced(DEADLINE) and endpoints.wait_synced(DEADLINE)
    assert_converges(services, fake_apiserver, "Service")
    assert_converges(endpoints, fake_apiserver, "Endpoints")
    got = services.state().get("ns/s3")
    assert got is not None and got.ports[0].port == 83
    ep = endpoints.state().get("ns/s2")
    assert ep is not None and ep.subsets[0].addresses[0].ip == "10.1.0.3"
    stats = source.stats()
    assert set(stats) == {"services", "endpoints"}
    assert stats["services"]["lists"] == 1 and stats["services"]["errors"] == 0
    assert services.sources == ("api",)


def test_watch_events_follow_the_server(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, make_source: MakeSource
) -> None:
    fake_apiserver.create(svc("keep"))
    fake_apiserver.create(svc("change"))
    fake_apiserver.create(svc("drop"))
    source = make_source(services=services).start()
    assert source.wait_synced(DEADLINE)
    assert fake_apiserver.wait_for_watches(1, DEADLINE)
    fake_apiserver.create(svc("new", port=8443))
    fake_apiserver.patch("Service", "ns", "change", {"spec": {"ports": [{"port": 9090}]}})
    fake_apiserver.delete("Service", "ns", "drop")
    assert_converges(services, fake_apiserver, "Service")
    changed = services.state().get("ns/change")
    assert changed is not None and changed.ports[0].port == 9090
    new = services.state().get("ns/new")
    assert new is not None and new.to_dict()["spec"]["ports"][0]["port"] == 8443
    assert "ns/drop" not in services.state()
    stats = source.stats()["services"]
    assert stats["events"] >= 3 and stats["lists"] == 1 and stats["relists"] == 0
    assert fake_apiserver.stats["list"] == 1


def test_pagination_with_writes_between_pages(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, make_source: MakeSource
) -> None:
    for i in range(10):
        fake_apiserver.create(svc(f"s{i:02}"))
    fake_apiserver.delay(0.2)  # every response waits: the writes below land mid-list
    source = make_source(services=services, page_size=3).start()
    assert fake_apiserver.wait_for_requests("list", 1, DEADLINE)
    fake_apiserver.create(svc("s99"))
    fake_apiserver.delete("Service", "ns", "s08")  # in a later page of the list's snapshot
    fake_apiserver.patch("Service", "ns", "s07", {"metadata": {"labels": {"x": "y"}}})
    assert source.wait_synced(DEADLINE)
    fake_apiserver.delay(0)
    assert_converges(services, fake_apiserver, "Service")
    lists = requests_of(fake_apiserver, "list")
    assert len(lists) == 4  # 10 objects, 3 per page
    assert all(query_of(r)["limit"] == "3" for r in lists)
    assert ["continue" in query_of(r) for r in lists] == [False, True, True, True]
    stats = source.stats()["services"]
    assert (stats["lists"], stats["pages"], stats["relists"]) == (1, 4, 0)
    got = services.state().get("ns/s07")
    assert got is not None and dict(got.labels) == {"x": "y"}


def test_expired_continue_token_lists_again_in_one_page(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, make_source: MakeSource
) -> None:
    for i in range(6):
        fake_apiserver.create(svc(f"s{i}"))
    fake_apiserver.delay(0.3)
    source = make_source(services=services, page_size=2).start()
    assert fake_apiserver.wait_for_requests("list", 1, DEADLINE)
    fake_apiserver.delete("Service", "ns", "s5")
    fake_apiserver.compact()  # the first page's continue token is now expired
    assert source.wait_synced(DEADLINE)
    fake_apiserver.delay(0)
    assert_converges(services, fake_apiserver, "Service")
    codes = [
        (r.code, "continue" in query_of(r), "limit" in query_of(r))
        for r in requests_of(fake_apiserver, "list")
    ]
    assert codes == [(200, False, True), (410, True, True), (200, False, False)]
    assert "ns/s5" not in services.state()


def test_410_during_watch_relists_and_drops_what_was_deleted(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, start_watching: MakeSource
) -> None:
    for name in ("a", "b", "c"):
        fake_apiserver.create(svc(name))
    source = start_watching(services=services)
    fake_apiserver.stall_watches()  # the source misses these events ...
    fake_apiserver.delete("Service", "ns", "a")
    fake_apiserver.create(svc("d"))
    fake_apiserver.patch("Service", "ns", "c", {"spec": {"ports": [{"port": 81}]}})
    fake_apiserver.compact()  # ... and cannot replay them: its version is compacted away
    fake_apiserver.drop_watches()
    assert fake_apiserver.wait_for_requests("list", 2, DEADLINE)
    fake_apiserver.resume_watches()
    assert_converges(services, fake_apiserver, "Service")
    assert "ns/a" not in services.state()
    stats = source.stats()["services"]
    assert stats["relists"] == 1 and stats["lists"] == 2
    watches = requests_of(fake_apiserver, "watch")
    assert all(w.code == 200 for w in watches)


def test_410_answer_to_the_watch_request_relists(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, start_watching: MakeSource
) -> None:
    fake_apiserver.create(svc("a"))
    source = start_watching(services=services)
    fake_apiserver.fail_next(1, 410, verbs={"watch"})
    fake_apiserver.drop_watches()
    assert fake_apiserver.wait_for_requests("list", 2, DEADLINE)
    fake_apiserver.create(svc("b"))
    assert_converges(services, fake_apiserver, "Service")
    assert source.stats()["services"]["relists"] == 1


def test_dropped_watch_resumes_without_relist(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, start_watching: MakeSource
) -> None:
    fake_apiserver.create(svc("a"))
    fake_apiserver.create(svc("b"))
    source = start_watching(services=services)
    fake_apiserver.stall_watches()
    rv_before = fake_apiserver.resource_version
    fake_apiserver.delete("Service", "ns", "a")
    fake_apiserver.create(svc("c"))
    fake_apiserver.patch("Service", "ns", "b", {"spec": {"ports": [{"port": 81}]}})
    assert fake_apiserver.drop_watches() == 1
    assert fake_apiserver.wait_for_requests("watch", 2, DEADLINE)
    fake_apiserver.resume_watches()
    assert_converges(services, fake_apiserver, "Service")
    assert fake_apiserver.stats["list"] == 1
    resumed = requests_of(fake_apiserver, "watch")[1]
    assert query_of(resumed)["resourceVersion"] == str(rv_before)
    stats = source.stats()["services"]
    assert stats["relists"] == 0 and stats["watch_restarts"] >= 1 and stats["errors"] >= 1


def test_watch_timeout_resumes_without_relist(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, start_watching: MakeSource
) -> None:
    fake_apiserver.create(svc("a"))
    source = start_watching(services=services, watch_timeout=0.5)
    assert fake_apiserver.wait_for_requests("watch", 2, DEADLINE)
    fake_apiserver.create(svc("b"))
    assert_converges(services, fake_apiserver, "Service")
    first = requests_of(fake_apiserver, "watch")[0]
    assert query_of(first)["timeoutSeconds"] == "1"
    assert query_of(first)["allowWatchBookmarks"] == "true"
    stats = source.stats()["services"]
    assert stats["lists"] == 1 and stats["errors"] == 0 and stats["watch_restarts"] >= 1


def test_500s_are_retried_with_backoff(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, make_source: MakeSource
) -> None:
    fake_apiserver.create(svc("a"))
    fake_apiserver.fail_next(3)
    source = make_source(services=services).start()
    assert source.wait_synced(DEADLINE)
    assert [r.code for r in requests_of(fake_apiserver, "list")] == [500, 500, 500, 200]
    assert source.stats()["services"]["errors"] == 3
    # The same on a watch: retried from the same version, no relist.
    assert fake_apiserver.wait_for_watches(1, DEADLINE)
    fake_apiserver.fail_next(3, 503, verbs={"watch"})
    fake_apiserver.drop_watches()
    fake_apiserver.create(svc("b"))
    assert fake_apiserver.wait_for_requests("watch", 5, DEADLINE)
    assert_converges(services, fake_apiserver, "Service")
    assert [r.code for r in requests_of(fake_apiserver, "watch")][:5] == [200, 503, 503, 503, 200]
    assert fake_apiserver.stats["list"] == 4


def test_garbage_line_reconnects_without_corruption(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, start_watching: MakeSource
) -> None:
    fake_apiserver.create(svc("a"))
    source = start_watching(services=services)
    fake_apiserver.stall_watches()  # queue events around the garbage, sent together
    fake_apiserver.create(svc("before"))
    assert fake_apiserver.send_garbage() == 1
    fake_apiserver.create(svc("after"))
    fake_apiserver.delete("Service", "ns", "a")
    fake_apiserver.resume_watches()
    assert fake_apiserver.wait_for_requests("watch", 2, DEADLINE)
    assert_converges(services, fake_apiserver, "Service")
    assert fake_apiserver.stats["list"] == 1
    stats = source.stats()["services"]
    assert stats["errors"] >= 1 and stats["relists"] == 0


def test_stalled_watch_is_abandoned_and_resumed(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, start_watching: MakeSource
) -> None:
    fake_apiserver.create(svc("a"))
    source = start_watching(services=services, stall_timeout=0.5)
    fake_apiserver.stall_watches()  # no bytes at all, not even bookmarks
    fake_apiserver.create(svc("b"))
    assert fake_apiserver.wait_for_requests("watch", 2, DEADLINE)  # abandoned, reconnected
    fake_apiserver.resume_watches()
    assert_converges(services, fake_apiserver, "Service")
    assert fake_apiserver.stats["list"] == 1
    stats = source.stats()["services"]
    assert stats["errors"] >= 1 and stats["watch_restarts"] >= 1 and stats["relists"] == 0


def test_bookmark_advances_the_resume_version(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, start_watching: MakeSource
) -> None:
    fake_apiserver.create(svc("a"))
    source = start_watching(services=services)
    listed_rv = query_of(requests_of(fake_apiserver, "watch")[0])["resourceVersion"]
    for i in range(3):  # other resources move the global version; no Service events
        fake_apiserver.create(eps(f"e{i}"))
    latest = str(fake_apiserver.resource_version)
    assert latest != listed_rv
    assert wait_until(lambda: source.resource_versions()["services"] == latest)
    fake_apiserver.drop_watches()
    assert fake_apiserver.wait_for_requests("watch", 2, DEADLINE)
    assert query_of(requests_of(fake_apiserver, "watch")[1])["resourceVersion"] == latest
    assert fake_apiserver.stats["list"] == 1
    assert_converges(services, fake_apiserver, "Service")


def test_namespace_and_label_selector(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, start_watching: MakeSource
) -> None:
    fake_apiserver.create(svc("web1", "a", app="web"))
    fake_apiserver.create(svc("db1", "a", app="db"))
    fake_apiserver.create(svc("web2", "b", app="web"))
    start_watching(services=services, namespace="a", label_selector="app=web")
    fake_apiserver.create(svc("web3", "a", app="web"))
    fake_apiserver.create(svc("web4", "b", app="web"))  # other namespace
    fake_apiserver.patch("Service", "a", "db1", {"metadata": {"labels": {"app": "web"}}})
    fake_apiserver.patch("Service", "a", "web1", {"metadata": {"labels": {"app": "db"}}})
    assert_converges(services, fake_apiserver, "Service", "a", "app=web")
    assert sorted(state_view(services)) == ["a/db1", "a/web3"]
    for record in fake_apiserver.requests:
        if record.resource == "services":
            assert record.path == "/api/v1/namespaces/a/services"
            assert query_of(record)["labelSelector"] == "app=web"


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
