"""The benchmark baseline (benches/baseline.py) merges exactly like the package.

A seeded random sequence of SET / ADD / UPDATE / REMOVE over three sources with overlapping keys
(conflicts, hidden objects surfacing, equal re-adds, removals of absent keys, empty SETs) is sent
to a ``ServiceConfig`` and to both baseline variants; after each step the merged states, whether a
new version was produced, and the changes of that version must agree. So benchmark ratios compare
equal work.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest

from kubeproxy_config import Service, ServiceConfig, Snapshot

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benches import generator
from benches.baseline import (
    BaselineChanges,
    BaselineConfig,
    BaselineSnapshot,
    object_key,
)

SOURCES = ("api", "file", "extra")
KEYS = 14
VARIANTS = 3
STEPS = 300


def _pool() -> list[list[dict[str, Any]]]:
    """``KEYS`` services, ``VARIANTS`` different versions each, in the package's canonical JSON
    (what ``to_dict()`` gives back), so equal content is equal as dicts too."""
    pool = []
    for svc in generator.services(KEYS, seed=3):
        variants = [svc] + [generator.modified(svc, r) for r in range(1, VARIANTS)]
        pool.append([Service.from_dict(v).to_dict() for v in variants])
    return pool


def _random_step(
    rng: random.Random, pool: list[list[dict[str, Any]]]
) -> tuple[int, str, list[Any]]:
    source = rng.randrange(len(SOURCES))
    roll = rng.random()

    def pick(n: int) -> list[dict[str, Any]]:
        return [rng.choice(pool[i]) for i in rng.sample(range(KEYS), n)]

    if roll < 0.12:
        return source, "SET", pick(rng.randrange(0, 7))
    if roll < 0.55:
        return source, rng.choice(["ADD", "UPDATE"]), pick(rng.randrange(1, 4))
    keys: list[Any] = [object_key(o) for o in pick(rng.randrange(1, 4))]
    if rng.random() < 0.3:  # objects instead of keys
        keys = [rng.choice(pool[i]) for i in rng.sample(range(KEYS), 2)]
    return source, "REMOVE", keys


def _keys(objs: tuple[Any, ...]) -> list[str]:
    return sorted(object_key(o) if isinstance(o, dict) else o.key for o in objs)


def _changes_of(snap: Snapshot[Service]) -> tuple[list[str], list[str], list[str]]:
    ch = snap.changes
    return _keys(ch.added), sorted(new.key for _, new in ch.updated), _keys(ch.removed)


def _baseline_changes(ch: BaselineChanges) -> tuple[list[str], list[str], list[str]]:
    return _keys(ch.added), _keys(tuple(new for _, new in ch.updated)), _keys(ch.removed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_baseline_merges_like_the_package(seed: int) -> None:
    rng = random.Random(seed)
    pool = _pool()
    seen: list[BaselineSnapshot] = []
    with (
        ServiceConfig() as pkg,
        BaselineConfig() as full,
        BaselineConfig(delta=True) as delta,
    ):
        delta.register_handler(seen.append)
        channels = [(pkg.channel(s), full.channel(s), delta.channel(s)) for s in SOURCES]
        changed_steps = 0
        for step in range(STEPS):
            source, op, items = _random_step(rng, pool)
            before = (pkg.state().version, full.state().version)
            for ch in channels[source]:
                {"SET": ch.set, "ADD": ch.add, "UPDATE": ch.update, "REMOVE": ch.remove}[op](items)
            assert pkg.flush(5) and full.flush(5) and delta.flush(5)
            p_state, f_state = pkg.state(), full.state()
            where = f"seed {seed} step {step}: {op} {SOURCES[source]}"

            p_changed = p_state.version != before[0]
            assert p_changed == (f_state.version != before[1]), where
            assert f_state.version == delta.state().version, where
            assert {s.key: s.to_dict() for s in p_state} == dict(f_state.objects or {}), where
            assert [s.key for s in p_state] == [object_key(o) for o in f_state], where
            if p_changed:
                changed_steps += 1
                assert seen[-1].version == f_state.version and seen[-1].changes is not None
                assert _changes_of(p_state) == _baseline_changes(seen[-1].changes), where
        assert pkg.stats()["conflicts"] > 0
    # The sequence exercised both outcomes.
    assert 0 < changed_steps < STEPS


def test_baseline_full_mode_hands_every_handler_a_copy() -> None:
    svcs = generator.services(3)
    got: list[BaselineSnapshot] = []
    with BaselineConfig() as full:
        full.channel("api").set(svcs)
        full.register_handler(got.append)  # registered after state exists: gets it at once
        full.channel("api").remove([object_key(svcs[0])])
        full.channel("api").remove(["absent/key"])  # ignored: no version, no call
        assert full.flush(5)
    assert [s.version for s in got] == [1, 2]
    assert [len(s) for s in got] == [3, 2]
    assert got[0].objects is not got[1].objects
