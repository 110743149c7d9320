"""A config's life around the merge: synced, stats, close, bad input, and the Endpoints and
EndpointSlice configs (SPEC §3)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from _helpers import WAIT, ep, eps, keys, settle, svc, svc_dict
from kubeproxy_config import (
    Endpoints,
    EndpointsConfig,
    EndpointSlice,
    EndpointSliceConfig,
    EndpointSliceUpdate,
    EndpointsUpdate,
    Operation,
    Service,
    ServiceConfig,
    ServiceUpdate,
    SourceChannel,
)
from kubeproxy_config.errors import ClosedError, Error, InvalidObject

# ---- synced ----------------------------------------------------------------------------------


def test_synced_needs_a_channel(config: ServiceConfig) -> None:
    assert config.synced is False
    assert config.wait_synced(0.05) is False


def test_synced_after_every_channel_set_or_mark_synced(config: ServiceConfig) -> None:
    api = config.channel("api")
    files = config.channel("file")
    api.add([svc("a")])
    settle(config)
    assert config.synced is False
    api.set([svc("a")])
    settle(config)
    assert config.synced is False  # "file" has not synced
    assert config.wait_synced(0.05) is False
    files.mark_synced()
    assert config.wait_synced(WAIT) is True
    assert config.synced is True


def test_empty_set_syncs(config: ServiceConfig) -> None:
    config.channel("api").set([])
    assert config.wait_synced(WAIT) is True
    assert config.state().version == 0


def test_a_new_channel_unsyncs_until_it_syncs(config: ServiceConfig) -> None:
    config.channel("api").set([svc("a")])
    assert config.wait_synced(WAIT)
    late = config.channel("late")
    assert config.synced is False
    late.send_json(Operation.SET, b"[]")
    assert config.wait_synced(WAIT) is True


# ---- stats -----------------------------------------------------------------------------------


STATS_KEYS = {
    "updates",
    "objects_merged",
    "versions",
    "deliveries",
    "coalesced_deliveries",
    "handler_errors",
    "conflicts",
    "handlers",
}


def test_stats_keys_and_counters(config: ServiceConfig) -> None:
    stats = config.stats()
    assert STATS_KEYS <= set(stats)
    assert all(isinstance(v, int) for v in stats.values())
    assert stats["updates"] == stats["objects_merged"] == stats["versions"] == 0
    ch = config.channel("api")
    ch.add([svc("a"), svc("b")])
    ch.remove(["default/a"])
    settle(config)
    stats = config.stats()
    assert stats["updates"] == 2
    assert stats["objects_merged"] >= 2
    assert stats["versions"] == config.state().version
    reg = config.register_handler(lambda snap: None)
    assert config.stats()["handlers"] == 1
    ch.add([svc("c")])
    settle(config)
    assert config.stats()["deliveries"] >= 1
    reg.cancel()
    assert config.stats()["handlers"] == 0


# ---- close -----------------------------------------------------------------------------------


def test_sends_after_close_raise_closed_error() -> None:
    config = ServiceConfig()
    ch = config.channel("api")
    ch.add([svc("a")])
    config.close()
    assert config.closed
    sends: list[Callable[[], None]] = [
        lambda: ch.add([svc("b")]),
        lambda: ch.set([]),
        lambda: ch.update([svc("b")]),
        lambda: ch.remove(["default/a"]),
        lambda: ch.send(ServiceUpdate(Operation.ADD, [svc("b")])),
        lambda: ch.send_json(Operation.ADD, json.dumps(svc_dict("b")).encode()),
        lambda: ch.mark_synced(),
    ]
    for send in sends:
        with pytest.raises(ClosedError) as info:
            send()
        assert isinstance(info.value, RuntimeError)
        assert isinstance(info.value, Error)
    assert keys(config.state()) == ["default/a"]  # what was queued before close was merged


def test_close_is_idempotent() -> None:
    config = ServiceConfig()
    assert config.close() is True
    assert config.close() is True
    assert config.closed


def test_context_manager_closes() -> None:
    with ServiceConfig() as config:
        ch = config.channel("api")
        assert not config.closed
    assert config.closed
    with pytest.raises(ClosedError):
        ch.add([svc("a")])


def test_channel_close_only_closes_that_channel(config: ServiceConfig) -> None:
    api = config.channel("api")
    files = config.channel("file")
    api.add([svc("a")])
    api.close()
    assert api.closed
    with pytest.raises(ClosedError):
        api.add([svc("b")])
    with pytest.raises(ClosedError):
        api.send_json(Operation.ADD, json.dumps(svc_dict("b")).encode())
    files.add([svc("c")])
    assert keys(settle(config)) == ["default/a", "default/c"]
    assert not config.closed


# ---- bad input -----------------------------------------------------------------------------


BAD_PORT = {"metadata": {"name": "bad", "namespace": "default"}, "spec": {"ports": [{"port": "x"}]}}

BAD_BATCHES: list[tuple[str, Callable[[SourceChannel], None], type[Exception]]] = [
    ("bad object among good", lambda ch: ch.add([svc("n1"), BAD_PORT, svc("n2")]), InvalidObject),
    ("bad dict in set", lambda ch: ch.set([svc("n1"), BAD_PORT]), InvalidObject),
    ("bad dict in update", lambda ch: ch.update([BAD_PORT]), InvalidObject),
    ("bad json among good", lambda ch: ch.add([svc("n1"), b"{not json"]), InvalidObject),
    ("wrong type in batch", lambda ch: ch.add([svc("n1"), 42]), TypeError),
    ("wrong type", lambda ch: ch.add(42), TypeError),
    ("wrong kind", lambda ch: ch.add([svc("n1"), ep("e")]), TypeError),
    ("bad key in remove", lambda ch: ch.remove(["default/a", "no-slash"]), InvalidObject),
    ("wrong type in remove", lambda ch: ch.remove(["default/a", 3.5]), TypeError),
    ("bad json", lambda ch: ch.send_json(Operation.ADD, b"{not json"), InvalidObject),
    (
        "bad item in json list",
        lambda ch: ch.send_json(Operation.SET, json.dumps([svc_dict("n1"), BAD_PORT]).encode()),
        InvalidObject,
    ),
    (
        "bad item in kubernetes list",
        lambda ch: ch.send_json(
            Operation.SET, json.dumps({"kind": "ServiceList", "items": [BAD_PORT]}).encode()
        ),
        InvalidObject,
    ),
    (
        "bad object in send",
        lambda ch: ch.send(ServiceUpdate(Operation.ADD, [svc("n1"), BAD_PORT])),
        InvalidObject,
    ),
]


@pytest.mark.parametrize(
    ("send", "error"), [(s, e) for _, s, e in BAD_BATCHES], ids=[i for i, _, _ in BAD_BATCHES]
)
def test_invalid_batch_is_rejected_whole(
    config: ServiceConfig, send: Callable[[SourceChannel], None], error: type[Exception]
) -> None:
    ch = config.channel("api")
    ch.set([svc("a"), svc("b")])
    before = settle(config)
    stats_before = config.stats()
    with pytest.raises(error):
        send(ch)
    after = settle(config)
    assert after.version == before.version
    assert list(after) == [svc("a"), svc("b")]
    assert config.stats()["versions"] == stats_before["versions"]
    ch.add([svc("c")])  # the channel still works
    assert keys(settle(config)) == ["default/a", "default/b", "default/c"]


def test_invalid_object_names_the_key_and_path(config: ServiceConfig) -> None:
    with pytest.raises(InvalidObject) as info:
        config.channel("api").add([svc("a"), BAD_PORT])
    assert isinstance(info.value, ValueError)
    assert info.value.key == "default/bad"
    assert "spec.ports[0].port" in info.value.path


def test_invalid_set_does_not_sync(config: ServiceConfig) -> None:
    ch = config.channel("api")
    with pytest.raises(InvalidObject):
        ch.set([BAD_PORT])
    assert config.flush(WAIT)
    assert config.synced is False


# ---- the other configs -----------------------------------------------------------------------


def test_endpoints_config_basics() -> None:
    with EndpointsConfig() as config:
        assert config.name == "endpoints"
        ch = config.channel("api")
        ch.set([ep("b", ips=["10.1.0.2"]), ep("a")])
        settle(config)
        ch.send(EndpointsUpdate(Operation.ADD, [ep("c")]))
        state = settle(config)
        assert keys(state) == ["default/a", "default/b", "default/c"]
        assert isinstance(state[0], Endpoints)
        assert state.changes.added == (ep("c"),)
        ch.update([ep("a", ips=["10.1.0.9"])])
        ch.remove(["default/b"])
        ch.send_json(Operation.REMOVE, json.dumps(ep("c").to_dict()).encode())
        state = settle(config)
        assert list(state) == [ep("a", ips=["10.1.0.9"])]
        assert config.synced
        with pytest.raises(TypeError):
            ch.add([svc("s")])


def test_endpoint_slice_config_basics() -> None:
    with EndpointSliceConfig() as config:
        assert config.name == "endpointslices"
        ch = config.channel("api")
        ch.set([eps("web-2", "web"), eps("web-1", "web")])
        ch.send(EndpointSliceUpdate(Operation.ADD, [eps("db-1", "db")]))
        state = settle(config)
        assert keys(state) == ["default/db-1", "default/web-1", "default/web-2"]
        assert isinstance(state[0], EndpointSlice)
        ch.remove([eps("web-2", "web")])
        assert keys(settle(config)) == ["default/db-1", "default/web-1"]


def test_config_names() -> None:
    with ServiceConfig(name="svc-a") as config:
        assert config.name == "svc-a"
    with ServiceConfig() as config:
        assert config.name == "services"


def test_endpoints_for_merges_the_slices_of_one_service() -> None:
    with EndpointSliceConfig() as config:
        ch = config.channel("api")
        ch.set(
            [
                eps("web-a", "web", ips=["10.1.0.1", "10.1.0.2"]),
                eps("web-b", "web", ips=["10.1.0.2", "10.1.0.3"]),
                eps("db-a", "db", ips=["10.2.0.1"]),
                eps("web-other-ns", "web", ns="other", ips=["10.3.0.1"]),
                eps("unlabelled", None, ips=["10.4.0.1"]),
            ]
        )
        settle(config)
        endpoints = config.endpoints_for("default/web")
        addresses = [a for e in endpoints for a in e.addresses]
        assert sorted(addresses) == ["10.1.0.1", "10.1.0.2", "10.1.0.3"]
        assert [a for e in config.endpoints_for("default/db") for a in e.addresses] == ["10.2.0.1"]
        assert [a for e in config.endpoints_for("other/web") for a in e.addresses] == ["10.3.0.1"]
        assert config.endpoints_for("default/nope") == ()
        ch.remove(["default/web-a"])
        settle(config)
        addresses = [a for e in config.endpoints_for("default/web") for a in e.addresses]
        assert sorted(addresses) == ["10.1.0.2", "10.1.0.3"]


def test_configs_are_independent() -> None:
    with ServiceConfig() as one, ServiceConfig() as two:
        one.channel("api").add([svc("a")])
        two.channel("other").add([svc("b")])
        assert keys(settle(one)) == ["default/a"]
        assert keys(settle(two)) == ["default/b"]
        assert one.sources == ("api",)
        assert isinstance(one.state().get("default/a"), Service)


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def config() -> Iterator[ServiceConfig]:
    """As in test_merge.py: closed by its context manager (no timeout), unlike conftest's."""
    with ServiceConfig() as cfg:
        yield cfg
