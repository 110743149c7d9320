"""SPEC §3: configs, channels and the merge rules; SPEC §4: the Snapshot API (no handlers)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence

import pytest

from _helpers import keys, settle, svc, svc_dict
from kubeproxy_config import (
    Operation,
    ServiceConfig,
    ServiceUpdate,
    SourceChannel,
)


@pytest.fixture
def config() -> Iterator[ServiceConfig]:
    with ServiceConfig() as cfg:
        yield cfg


# ---- channels ------------------------------------------------------------------------------


def test_channel_is_the_same_object_for_the_same_name(config: ServiceConfig) -> None:
    a = config.channel("api")
    assert isinstance(a, SourceChannel)
    assert config.channel("api") is a
    assert config.channel("file") is not a
    assert a.name == "api"
    assert config.sources == ("api", "file")


def test_empty_channel_name_raises_value_error(config: ServiceConfig) -> None:
    with pytest.raises(ValueError):
        config.channel("")
    assert config.sources == ()


def test_sources_in_creation_order(config: ServiceConfig) -> None:
    for name in ["zeta", "api", "file", "api", "mid"]:
        config.channel(name)
    assert config.sources == ("zeta", "api", "file", "mid")


# ---- operations ----------------------------------------------------------------------------


def test_empty_config_is_version_zero_without_objects(config: ServiceConfig) -> None:
    state = config.state()
    assert state.version == 0
    assert len(state) == 0
    assert list(state) == []
    assert not state.changes


def test_set_replaces_everything_the_source_had(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("a"), svc("b"), svc("c")])
    assert keys(settle(config)) == ["default/a", "default/b", "default/c"]
    ch.set([svc("b", ip="10.0.0.2"), svc("d")])
    state = settle(config)
    assert keys(state) == ["default/b", "default/d"]
    assert state.get("default/b") == svc("b", ip="10.0.0.2")


def test_empty_set_clears_the_source(config: ServiceConfig) -> None:
    ch = config.channel("api")
    other = config.channel("file")
    ch.set([svc("a"), svc("b")])
    other.set([svc("z")])
    assert len(settle(config)) == 3
    ch.set([])
    assert keys(settle(config)) == ["default/z"]


@pytest.mark.parametrize("op", ["add", "update"])
def test_add_and_update_add_or_replace(config: ServiceConfig, op: str) -> None:
    send = getattr(config.channel("api"), op)
    send([svc("a")])  # an update of an absent key adds it, as an add does
    send([svc("b"), svc("a", ip="10.0.0.7")])
    state = settle(config)
    assert keys(state) == ["default/a", "default/b"]
    assert state.get("default/a") == svc("a", ip="10.0.0.7")


def test_remove_by_object_key_and_dict(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("a"), svc("b"), svc("c"), svc("d")])
    settle(config)
    ch.remove([svc("a")])
    ch.remove(["default/b"])
    ch.remove([svc_dict("c")])
    assert keys(settle(config)) == ["default/d"]


def test_remove_by_object_ignores_the_content(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("a", ip="10.0.0.1")])
    settle(config)
    ch.remove([svc("a", ip="10.9.9.9")])  # a REMOVE names a key: the stored content is irrelevant
    assert keys(settle(config)) == []


def test_remove_of_absent_keys_is_ignored(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("a")])
    before = settle(config)
    ch.remove(["default/nope", "other/a", svc("zz")])
    after = settle(config)
    assert keys(after) == ["default/a"]
    assert after.version == before.version
    ch.remove(["default/nope", "default/a"])  # absent keys beside a present one
    assert keys(settle(config)) == []


def test_remove_only_touches_the_sending_source(config: ServiceConfig) -> None:
    first = config.channel("first")
    second = config.channel("second")
    first.set([svc("a")])
    second.set([svc("b")])
    settle(config)
    second.remove(["default/a"])  # second does not hold a: ignored
    assert keys(settle(config)) == ["default/a", "default/b"]


def test_updates_of_one_source_are_applied_in_order(config: ServiceConfig) -> None:
    ch = config.channel("api")
    for i in range(200):
        ch.add([svc("a", ip=f"10.0.{i // 250}.{i % 250}")])
        if i % 3 == 0:
            ch.remove(["default/a"])
    ch.add([svc("b")])
    ch.remove(["default/b"])
    ch.set([svc("c")])
    ch.add([svc("c", ip="10.0.0.9")])
    state = settle(config)
    assert keys(state) == ["default/c"]
    assert state[0] == svc("c", ip="10.0.0.9")


def test_send_update_records_every_operation(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.send(ServiceUpdate(Operation.SET, [svc("a"), svc("b")]))
    ch.send(ServiceUpdate(Operation.ADD, [svc("c")]))
    ch.send(ServiceUpdate(Operation.UPDATE, [svc("a", ip="10.0.0.5")]))
    ch.send(ServiceUpdate(Operation.REMOVE, ["default/b"]))
    state = settle(config)
    assert list(state) == [svc("a", ip="10.0.0.5"), svc("c")]
    ch.send(ServiceUpdate(Operation.SET, []))
    assert keys(settle(config)) == []


def test_send_accepts_dicts_in_an_update(config: ServiceConfig) -> None:
    config.channel("api").send(ServiceUpdate(Operation.ADD, [svc_dict("a"), svc_dict("b")]))
    assert list(settle(config)) == [svc("a"), svc("b")]


def test_channels_accept_dicts_json_objects_and_client_models(config: ServiceConfig) -> None:
    client = pytest.importorskip("kubernetes.client")
    model = client.V1Service(
        metadata=client.V1ObjectMeta(name="m", namespace="default"),
        spec=client.V1ServiceSpec(cluster_ip="10.0.0.1", ports=[client.V1ServicePort(port=80)]),
    )
    ch = config.channel("api")
    ch.add([svc_dict("d"), json.dumps(svc_dict("s")), json.dumps(svc_dict("b")).encode(), model])
    ch.add([svc("o")])
    state = settle(config)
    assert list(state) == [svc("b"), svc("d"), svc("m"), svc("o"), svc("s")]


def test_send_json_kubernetes_list(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.add([svc("old")])
    body = {"kind": "ServiceList", "apiVersion": "v1", "items": [svc_dict("a"), svc_dict("b")]}
    ch.send_json(Operation.SET, json.dumps(body).encode())
    assert list(settle(config)) == [svc("a"), svc("b")]


def test_send_json_list_single_object_str_and_remove(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.send_json(Operation.ADD, json.dumps([svc_dict("a"), svc_dict("b")]).encode())
    ch.send_json(Operation.UPDATE, json.dumps(svc_dict("a", ip="10.0.0.3")).encode())
    ch.send_json(Operation.ADD, json.dumps(svc_dict("c")))  # str is accepted too
    assert list(settle(config)) == [svc("a", ip="10.0.0.3"), svc("b"), svc("c")]
    ch.send_json(Operation.REMOVE, json.dumps(svc_dict("b")).encode())
    ch.send_json("REMOVE", json.dumps([svc_dict("c")]).encode())
    assert list(settle(config)) == [svc("a", ip="10.0.0.3")]


def test_send_json_empty_list_set_clears(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("a")])
    settle(config)
    ch.send_json(Operation.SET, b'{"kind": "ServiceList", "apiVersion": "v1", "items": []}')
    assert keys(settle(config)) == []


# ---- two sources -----------------------------------------------------------------------------


def winner_and_loser(config: ServiceConfig) -> tuple[SourceChannel, SourceChannel]:
    """Two channels in priority order: the first created wins a conflict."""
    return config.channel("winner"), config.channel("loser")


def test_first_created_channel_wins_a_conflict(config: ServiceConfig) -> None:
    second = config.channel("second")  # created first, so it wins although named "second"
    first = config.channel("first")
    first.add([svc("x", ip="10.0.0.1")])
    assert settle(config).get("default/x") == svc("x", ip="10.0.0.1")
    second.add([svc("x", ip="10.0.0.2")])
    assert settle(config).get("default/x") == svc("x", ip="10.0.0.2")
    first.add([svc("x", ip="10.0.0.3")])  # the loser's change does not show
    state = settle(config)
    assert list(state) == [svc("x", ip="10.0.0.2")]


def test_conflicts_are_counted(config: ServiceConfig) -> None:
    winner, loser = winner_and_loser(config)
    winner.set([svc("x"), svc("y")])
    settle(config)
    assert config.stats()["conflicts"] == 0
    loser.set([svc("x", ip="10.0.0.2"), svc("z")])
    settle(config)
    assert config.stats()["conflicts"] >= 1


def test_when_the_winner_removes_the_key_the_other_object_shows(config: ServiceConfig) -> None:
    winner, loser = winner_and_loser(config)
    winner.add([svc("x", ip="10.0.0.1")])
    loser.add([svc("x", ip="10.0.0.2")])
    before = settle(config)
    assert before.get("default/x") == svc("x", ip="10.0.0.1")
    winner.remove(["default/x"])
    state = settle(config)
    assert list(state) == [svc("x", ip="10.0.0.2")]
    assert state.version > before.version
    assert state.changes.updated == ((svc("x", ip="10.0.0.1"), svc("x", ip="10.0.0.2")),)
    loser.remove(["default/x"])
    assert keys(settle(config)) == []


def test_winner_set_without_the_key_reveals_the_other(config: ServiceConfig) -> None:
    winner, loser = winner_and_loser(config)
    winner.set([svc("x", ip="10.0.0.1"), svc("y")])
    loser.set([svc("x", ip="10.0.0.2")])
    settle(config)
    winner.set([svc("y")])
    assert list(settle(config)) == [svc("x", ip="10.0.0.2"), svc("y")]


def test_loser_removing_its_copy_does_not_change_the_winner(config: ServiceConfig) -> None:
    winner, loser = winner_and_loser(config)
    winner.add([svc("x", ip="10.0.0.1")])
    loser.add([svc("x", ip="10.0.0.2")])
    before = settle(config)
    loser.remove(["default/x"])
    after = settle(config)
    assert list(after) == [svc("x", ip="10.0.0.1")]
    assert after.version == before.version
    winner.remove(["default/x"])  # the loser no longer holds x: nothing is left
    assert keys(settle(config)) == []


# ---- no-op updates -------------------------------------------------------------------------


def test_an_equal_object_is_not_a_change(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.add([svc("a")])
    first = settle(config)
    ch.add([svc("a")])
    ch.update([svc_dict("a")])
    ch.send_json(Operation.ADD, json.dumps(svc_dict("a")).encode())
    after = settle(config)
    assert after.version == first.version
    assert config.stats()["versions"] == 1


def test_reset_of_unchanged_state_produces_no_version(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("a"), svc("b")])
    first = settle(config)
    ch.set([svc("b"), svc("a")])
    ch.set([svc_dict("a"), svc_dict("b")])
    assert settle(config).version == first.version


def test_an_update_that_comes_back_within_one_source_still_versions_each_change(
    config: ServiceConfig,
) -> None:
    ch = config.channel("api")
    ch.add([svc("a")])
    v1 = settle(config).version
    ch.add([svc("a", ip="10.0.0.2")])
    v2 = settle(config).version
    ch.add([svc("a")])
    state = settle(config)
    assert v1 < v2 < state.version
    assert state.changes.updated == ((svc("a", ip="10.0.0.2"), svc("a")),)


# ---- the snapshot --------------------------------------------------------------------------


def test_state_is_a_sequence_sorted_by_namespace_then_name(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("y", ns="a"), svc("x", ns="a-b"), svc("b", ns="z"), svc("a", ns="z")])
    ch.add([svc("m", ns="a"), svc("a", ns="b")])
    state = settle(config)
    assert isinstance(state, Sequence)
    assert keys(state) == ["a/m", "a/y", "a-b/x", "b/a", "z/a", "z/b"]


def test_snapshot_lookup_and_indexing(config: ServiceConfig) -> None:
    objs = [svc("a"), svc("b", ip="10.0.0.2"), svc("c", ns="kube-system")]
    config.channel("api").set(objs)
    state = settle(config)
    a, b, c = objs
    assert len(state) == 3
    assert state.get("default/b") == b
    assert state.get("default", "b") == b
    assert state.get("default/nope") is None
    assert state.get("kube-system", "a") is None
    assert "default/a" in state
    assert "kube-system/c" in state
    assert "default/c" not in state
    assert state[0] == a
    assert state[2] == c
    assert state[-1] == c
    assert state[-3] == a
    assert list(state[0:2]) == [a, b]
    assert list(state[1:]) == [b, c]
    assert list(state[::-1]) == [c, b, a]
    assert list(state[5:]) == []
    with pytest.raises(IndexError):
        state[3]
    with pytest.raises(IndexError):
        state[-4]


def test_snapshot_has_the_sequence_methods(config: ServiceConfig) -> None:
    a, b, c = svc("a"), svc("b"), svc("c")
    config.channel("api").set([c, a, b])
    state = settle(config)
    assert list(reversed(state)) == [c, b, a]
    assert state.index(b) == 1
    assert state.count(c) == 1
    assert state.count(svc("c", ip="10.9.9.9")) == 0


def test_versions_are_monotonic(config: ServiceConfig) -> None:
    ch = config.channel("api")
    seen = [config.state().version]
    for i in range(5):
        ch.add([svc(f"s{i}")])
        seen.append(settle(config).version)
    ch.remove(["default/s0"])
    seen.append(settle(config).version)
    assert all(a < b for a, b in itertools.pairwise(seen))
    assert config.stats()["versions"] == seen[-1]


def test_changes_are_relative_to_the_previous_version(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("a"), svc("b"), svc("c")])
    first = settle(config)
    assert first.version == 1
    assert set(first.changes.added) == {svc("a"), svc("b"), svc("c")}
    assert first.changes.updated == ()
    assert first.changes.removed == ()
    ch.set([svc("a"), svc("b", ip="10.0.0.2"), svc("d")])  # one batch: one version
    second = settle(config)
    assert second.version == 2
    assert second.changes.added == (svc("d"),)
    assert second.changes.updated == ((svc("b"), svc("b", ip="10.0.0.2")),)
    assert second.changes.removed == (svc("c"),)
    assert bool(second.changes)
    ch.remove(["default/a"])
    third = settle(config)
    assert third.changes.added == ()
    assert third.changes.updated == ()
    assert third.changes.removed == (svc("a"),)


def test_snapshots_are_immutable(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("a"), svc("b")])
    old = settle(config)
    old_list = list(old)
    old_added = old.changes.added
    ch.add([svc("a", ip="10.0.0.9"), svc("c")])
    ch.remove(["default/b"])
    new = settle(config)
    assert keys(new) == ["default/a", "default/c"]
    assert list(old) == old_list == [svc("a"), svc("b")]
    assert old.get("default/a") == svc("a")
    assert "default/c" not in old
    assert old.version == 1
    assert old.changes.added == old_added
    with pytest.raises((TypeError, AttributeError)):
        old[0] = svc("z")  # type: ignore[index]
    with pytest.raises((TypeError, AttributeError)):
        old.version = 7  # type: ignore[misc]
