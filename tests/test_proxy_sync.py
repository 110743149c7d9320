"""ProxyConfig through the public API (SPEC §9): sync after both inputs, exact accumulated
changes and notes for a busy handler, trigger times, topology changes, and bad use."""

from __future__ import annotations

import threading

import pytest

from _helpers import WAIT, wait_until
from _proxy_env import TRIGGER, endpoint, env, port, service, slice_of
from kubeproxy_config import EndpointSliceConfig, ProxyConfig, ProxySnapshot, ServiceConfig

# ---- sync, changes and notes -----------------------------------------------------------------


def test_synced_only_after_both_inputs_and_on_synced_once() -> None:
    with env() as e:
        calls: list[str] = []

        class Handler:
            def on_proxy_update(self, state: ProxySnapshot) -> None:
                calls.append("update")

            def on_synced(self) -> None:
                calls.append("synced")

        e.proxy.register_handler(Handler())
        e.svc.set([service("web")])
        assert e.services.flush(WAIT)
        assert not e.proxy.wait_synced(0.2)
        assert not e.proxy.synced
        e.eps.set([])
        assert e.proxy.wait_synced(WAIT)
        e.state()
        e.svc.add([service("other")])
        e.state()
        assert calls.count("synced") == 1


def test_busy_handler_gets_exact_accumulated_changes_and_updated_services() -> None:
    with env() as e:
        e.set([service("a"), service("b"), service("c")], [])
        entered, release = threading.Event(), threading.Event()
        seen: list[ProxySnapshot] = []

        def handler(state: ProxySnapshot) -> None:
            seen.append(state)
            if len(seen) == 2:
                entered.set()
                assert release.wait(WAIT)

        e.proxy.register_handler(handler)
        assert e.proxy.flush(WAIT)
        assert seen[0].full_sync and len(seen[0].changes.added) == 3
        e.svc.add([service("a", clusterIP="10.96.0.2")])
        assert entered.wait(WAIT)
        # While the handler is busy: b changes and changes back, c goes, a slice of a is written
        # twice with equal endpoints, d comes.
        e.svc.add([service("b", clusterIP="10.96.0.3")])
        e.svc.add([service("b")])
        e.svc.remove(["ns/c"])
        e.eps.add([slice_of("a", "a-1", [])])
        e.eps.add([slice_of("a", "a-1", [], annotations={"x": "y"})])
        e.svc.add([service("d")])
        assert e.services.flush(WAIT) and e.slices.flush(WAIT)
        # Every input delivery is one update of the view: once the view has merged them all,
        # the busy handler's next call holds everything at once.
        fed = e.services.stats()["deliveries"] + e.slices.stats()["deliveries"]
        assert wait_until(lambda: e.proxy.stats()["updates"] >= fed)
        release.set()
        assert e.proxy.flush(WAIT)
        last = seen[-1]
        assert len(seen) == 3, [s.version for s in seen]
        assert [p.key for p in last.changes.added] == ["ns/d:http/TCP"]
        assert [p.key for p in last.changes.removed] == ["ns/c:http/TCP"]
        assert last.changes.updated == ()
        assert last.updated_services == ("ns/a", "ns/c", "ns/d")
        assert not last.full_sync and not last.conntrack_cleanup_required


def test_a_slice_write_with_equal_endpoints_is_an_update_of_its_service() -> None:
    with env() as e:
        e.set([service("web", ports=[{"name": "http", "port": 53, "protocol": "UDP"}])], [])
        got: list[ProxySnapshot] = []
        e.proxy.register_handler(got.append)
        assert e.proxy.flush(WAIT)
        sl = slice_of("web", "w", [endpoint("10.0.0.1")], protocol="UDP")
        e.eps.add([sl])
        assert e.proxy.flush(WAIT)
        sl["metadata"]["annotations"] = {"note": "rewritten"}
        e.eps.add([sl])
        assert e.proxy.flush(WAIT)
        assert not got[-1].changes and got[-1].updated_services == ("ns/web",)
        assert got[-1].conntrack_cleanup_required


def test_trigger_times_later_than_start_of_changed_slices() -> None:
    with env() as e:
        e.set([service("web")], [])
        got: list[ProxySnapshot] = []
        e.proxy.register_handler(got.append)
        assert e.proxy.flush(WAIT)
        e.eps.add(
            [
                slice_of(
                    "web",
                    "w1",
                    [endpoint("10.0.0.1")],
                    annotations={TRIGGER: "2099-01-01T00:00:00.5Z"},
                ),
                slice_of(
                    "web",
                    "w2",
                    [endpoint("10.0.0.2")],
                    annotations={TRIGGER: "2001-01-01T00:00:00Z"},
                ),
                slice_of("web", "w3", [endpoint("10.0.0.3")], annotations={TRIGGER: "not a time"}),
            ]
        )
        assert e.proxy.flush(WAIT)
        assert got[-1].trigger_times == {"ns/web": (4070908800.5,)}
        e.svc.add([service("web", clusterIP="10.96.0.7")])
        assert e.proxy.flush(WAIT)
        assert got[-1].trigger_times == {}


def test_set_node_name_is_a_full_sync_of_every_service() -> None:
    with env(node_name="n1") as e:
        e.set([service("a"), service("b")], [slice_of("a", "a1", [endpoint("10.0.0.1", "n2")])])
        got: list[ProxySnapshot] = []
        e.proxy.register_handler(got.append)
        assert e.proxy.flush(WAIT)
        e.proxy.set_node_name("n2")
        assert e.proxy.flush(WAIT)
        assert got[-1].full_sync and got[-1].updated_services == ("ns/a", "ns/b")
        (ep,) = port(got[-1], "ns/a:http/TCP").endpoints
        assert ep.is_local
        assert e.proxy.node_name == "n2"


def test_unchanged_ports_are_the_same_objects_and_a_raising_handler_does_not_stop_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with env() as e:
        before = e.set([service("a"), service("b")], [])
        good: list[ProxySnapshot] = []

        def bad(state: ProxySnapshot) -> None:
            raise RuntimeError("boom")

        e.proxy.register_handler(bad)
        e.proxy.register_handler(good.append)
        e.svc.add([service("b", clusterIP="10.96.0.9")])
        after = e.state()
        assert before.get("ns/a:http/TCP") == after.get("ns/a:http/TCP")
        assert good and good[-1].version == after.version
        assert e.proxy.stats()["handler_errors"] >= 1


def test_wrong_inputs_are_type_errors() -> None:
    with ServiceConfig() as sc, EndpointSliceConfig() as ec:
        with pytest.raises(TypeError, match="ServiceConfig"):
            ProxyConfig(ec, ec)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="EndpointSliceConfig"):
            ProxyConfig(sc, sc)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="ip_family"):
            ProxyConfig(sc, ec, ip_family="IPv5")


def test_first_delivery_is_a_full_sync_even_for_a_handler_registered_before_any_state() -> None:
    with env() as e:
        got: list[ProxySnapshot] = []
        e.proxy.register_handler(got.append)
        e.set([service("web")], [])
        e.svc.add([service("other")])
        assert e.proxy.flush(WAIT)
        assert got[0].full_sync and [p.key for p in got[0].changes.added] == ["ns/web:http/TCP"]
        assert not got[-1].full_sync
