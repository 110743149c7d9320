"""KubernetesSource and new_source_api against FakeAPIServer over real loopback sockets.

Every test ends by checking that the config's state equals the server's objects (keys and
resourceVersions, which change with every write): nothing lost, nothing stale. Waits poll a
condition against a deadline; nothing sleeps in place of synchronisation.
"""

from __future__ import annotations

from _helpers import wait_until
from _kube_env import (
    DEADLINE,
    MakeSource,
    assert_converges,
    eps,
    query_of,
    requests_of,
    state_view,
    svc,
)
from kubeproxy_config import EndpointsConfig, ServiceConfig
from kubeproxy_config.testing import FakeAPIServer

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
