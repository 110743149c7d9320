"""SPEC §3 merge rules and §4 changes, against a pure-Python model (hypothesis stateful test).

Random SET/ADD/UPDATE/REMOVE batches from 2-3 sources created in a random order, over a small key
and value space so that conflicts, no-op updates and absent removals happen often. After every step
the config is flushed and compared with the model: the state (order and objects), the version (it
moves exactly when the model changed), ``state().changes`` (the model's diff), and the view a
handler builds by applying each delivered snapshot's changes.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from _helpers import WAIT, Recorder, svc, svc_dict
from kubeproxy_config import Operation, Service, ServiceConfig, ServiceUpdate, SourceChannel

NAMESPACES = ["default", "kube-system"]
NAMES = ["a", "b", "c", "d", "e", "f"]
KEYS = [(ns, name) for ns in NAMESPACES for name in NAMES]
IPS = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
SOURCES = ["api", "file", "zeta"]

Key = tuple[str, str]

keys_st = st.sampled_from(KEYS)
batch_st = st.dictionaries(keys_st, st.sampled_from(IPS), max_size=5)
removal_st = st.lists(
    st.tuples(keys_st, st.sampled_from(["key", "object", "dict"])),
    max_size=4,
    unique_by=lambda t: t[0],
)
how_st = st.sampled_from(["method", "send", "json"])


def key_str(key: Key) -> str:
    return f"{key[0]}/{key[1]}"


def make(key: Key, ip: str) -> Service:
    return svc(key[1], ns=key[0], ip=ip)


class MergeModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.config = ServiceConfig()
        self.recorder = Recorder()
        self.config.register_handler(self.recorder)
        self.channels: dict[str, SourceChannel] = {}
        self.order: list[str] = []  # creation order: the priority of sources
        self.model: dict[str, dict[Key, str]] = {}
        self.merged: dict[str, Service] = {}
        self.version = 0
        self.pending: list[str] = []  # sources created later, by a rule

    # ---- the model -------------------------------------------------------------------------

    def merge(self) -> dict[str, Service]:
        merged: dict[str, Service] = {}
        for source in reversed(self.order):  # the first-created source is applied last: it wins
            for key, ip in self.model[source].items():
                merged[key_str(key)] = make(key, ip)
        return merged

    def create(self, source: str) -> None:
        self.channels[source] = self.config.channel(source)
        self.order.append(source)
        self.model[source] = {}
        assert self.config.sources == tuple(self.order)

    # ---- sending ---------------------------------------------------------------------------

    def send(self, source: str, op: Operation, objs: list[Any], how: str) -> None:
        ch = self.channels[source]
        if how == "send":
            ch.send(ServiceUpdate(op, objs))
        elif how == "json":
            plain = [o.to_dict() if isinstance(o, Service) else o for o in objs]
            if op is Operation.REMOVE:
                plain = [
                    {"metadata": {"namespace": o.split("/")[0], "name": o.split("/")[1]}}
                    if isinstance(o, str)
                    else o
                    for o in plain
                ]
            ch.send_json(op, json.dumps(plain).encode())
        elif op is Operation.SET:
            ch.set(objs)
        elif op is Operation.ADD:
            ch.add(objs)
        elif op is Operation.UPDATE:
            ch.update(objs)
        else:
            ch.remove(objs)

    def check(self) -> None:
        """Flush, then compare the config with the model."""
        assert self.config.flush(WAIT)
        expected = self.merge()
        state = self.config.state()
        order = sorted(expected, key=lambda k: tuple(k.split("/")))
        assert [o.key for o in state] == order
        assert list(state) == [expected[k] for k in order]
        assert len(state) == len(expected)
        for key, obj in expected.items():
            assert state.get(key) == obj
            assert key in state
        if expected == self.merged:
            assert state.version == self.version, "a no-op update made a new version"
        else:
            assert state.version > self.version
            changes = state.changes
            added = {k: v for k, v in expected.items() if k not in self.merged}
            removed = {k: v for k, v in self.merged.items() if k not in expected}
            updated = {
                k: (self.merged[k], v)
                for k, v in expected.items()
                if k in self.merged and self.merged[k] != v
            }
            assert {o.key: o for o in changes.added} == added
            assert {o.key: o for o in changes.removed} == removed
            assert {old.key: (old, new) for old, new in changes.updated} == updated
            assert len(changes.added) == len(added)
            assert len(changes.removed) == len(removed)
            assert len(changes.updated) == len(updated)
        self.merged = expected
        self.version = state.version

    # ---- rules -----------------------------------------------------------------------------

    @initialize(order=st.permutations(SOURCES), initial=st.integers(min_value=2, max_value=3))
    def create_sources(self, order: list[str], initial: int) -> None:
        for source in order[:initial]:
            self.create(source)
        self.pending = list(order[initial:])

    @precondition(lambda self: bool(self.pending))
    @rule()
    def create_late_source(self) -> None:
        self.create(self.pending.pop())
        self.check()

    @rule(data=st.data(), items=batch_st, how=how_st)
    def set_all(self, data: st.DataObject, items: dict[Key, str], how: str) -> None:
        source = data.draw(st.sampled_from(self.order), label="source")
        self.send(source, Operation.SET, [make(k, ip) for k, ip in items.items()], how)
        self.model[source] = dict(items)
        self.check()

    @rule(
        data=st.data(),
        items=batch_st,
        how=how_st,
        op=st.sampled_from([Operation.ADD, Operation.UPDATE]),
        as_dicts=st.booleans(),
    )
    def add_or_update(
        self, data: st.DataObject, items: dict[Key, str], how: str, op: Operation, as_dicts: bool
    ) -> None:
        source = data.draw(st.sampled_from(self.order), label="source")
        objs: list[Any] = [
            svc_dict(k[1], ns=k[0], ip=ip) if as_dicts else make(k, ip) for k, ip in items.items()
        ]
        self.send(source, op, objs, how)
        self.model[source].update(items)
        self.check()

    @rule(data=st.data(), removals=removal_st, how=how_st)
    def remove_some(self, data: st.DataObject, removals: list[tuple[Key, str]], how: str) -> None:
        source = data.draw(st.sampled_from(self.order), label="source")
        objs: list[Any] = []
        for key, form in removals:
            # the content of a removed object does not matter: only its key
            if form == "key":
                objs.append(key_str(key))
            elif form == "object":
                objs.append(make(key, IPS[0]))
            else:
                objs.append(svc_dict(key[1], ns=key[0], ip=IPS[-1]))
            self.model[source].pop(key, None)
        self.send(source, Operation.REMOVE, objs, how)
        self.check()

    @rule(data=st.data())
    def resend_the_same(self, data: st.DataObject) -> None:
        """A SET of what the source already holds: never a change."""
        source = data.draw(st.sampled_from(self.order), label="source")
        self.channels[source].set([make(k, ip) for k, ip in self.model[source].items()])
        self.check()

    # ---- invariants ------------------------------------------------------------------------

    @invariant()
    def handler_view_matches_the_model(self) -> None:
        if not self.order:
            return
        assert self.config.flush(WAIT)
        assert self.config.stats()["handler_errors"] == 0  # the recorder checks each delivery
        assert self.recorder.view == self.merged
        versions = self.recorder.versions
        assert versions == sorted(set(versions))
        if self.version > 0:
            assert versions[-1] == self.version

    def teardown(self) -> None:
        assert self.config.close(WAIT)


MergeModel.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None, print_blob=True
)
TestMergeModel = MergeModel.TestCase
