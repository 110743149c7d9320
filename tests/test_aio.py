"""SPEC §4 asyncio: ``async for snap in config.snapshots()`` yields coalesced snapshots.

Every test runs its coroutine under ``asyncio.run`` and bounds each await with ``wait_for``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from _helpers import WAIT, Recorder, apply_changes, as_map, keys, svc
from kubeproxy_config import Service, ServiceConfig, Snapshot

pytestmark = pytest.mark.timeout(30)


async def next_snapshot(it: AsyncIterator[Snapshot[Service]]) -> Snapshot[Service]:
    return await asyncio.wait_for(it.__anext__(), WAIT)


def in_thread(fn: Any, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=fn, args=args)
    thread.start()
    return thread


def test_receives_the_current_state_first(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("b"), svc("a")])
    ch.add([svc("c")])
    assert config.flush(WAIT)

    async def main() -> Snapshot[Service]:
        it = config.snapshots()
        try:
            return await next_snapshot(it)
        finally:
            await it.aclose()  # type: ignore[attr-defined]

    first = asyncio.run(main())
    assert first.version == config.state().version
    assert list(first) == [svc("a"), svc("b"), svc("c")]
    assert set(first.changes.added) == {svc("a"), svc("b"), svc("c")}
    assert first.changes.removed == () and first.changes.updated == ()


def test_receives_updates_sent_from_another_thread(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("a")])
    assert config.flush(WAIT)

    async def main() -> list[Snapshot[Service]]:
        got: list[Snapshot[Service]] = []
        async for snap in config.snapshots():
            got.append(snap)
            if len(got) == 1:
                in_thread(ch.add, [svc("b")]).join(WAIT)
            elif len(got) == 2:
                in_thread(ch.remove, ["default/a"]).join(WAIT)
            else:
                break
        return got

    got = asyncio.run(asyncio.wait_for(main(), WAIT))
    assert [keys(s) for s in got] == [["default/a"], ["default/a", "default/b"], ["default/b"]]
    assert [s.changes.added for s in got[1:]] == [(svc("b"),), ()]
    assert got[2].changes.removed == (svc("a"),)
    versions = [s.version for s in got]
    assert versions == sorted(set(versions))


def test_a_slow_consumer_gets_the_newest_with_accumulated_changes(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("x"), svc("y")])
    assert config.flush(WAIT)
    probe = Recorder()  # tells when each version exists
    config.register_handler(probe)
    assert config.flush(WAIT)

    def produce() -> int:
        """Several versions, each merged before the next is sent; returns the last version."""
        version = config.state().version
        sends: list[Callable[[], None]] = [
            lambda: ch.add([svc("z")]),  # added then removed: appears nowhere
            lambda: ch.remove(["default/z"]),
            lambda: ch.update([svc("x", ip="10.0.0.2")]),  # updated then removed: removed, old
            lambda: ch.remove(["default/x"]),
            lambda: ch.update([svc("y", ip="10.0.0.2")]),
            lambda: ch.add([svc("w")]),
        ]
        for send in sends:
            send()
            version += 1
            assert probe.wait_version(version)
        return version

    async def main() -> tuple[Snapshot[Service], Snapshot[Service], int]:
        it = config.snapshots()
        try:
            first = await next_snapshot(it)
            busy = asyncio.Event()  # the consumer is busy elsewhere while versions are produced
            loop = asyncio.get_running_loop()
            producer = loop.run_in_executor(None, produce)
            producer.add_done_callback(lambda _: busy.set())
            await asyncio.wait_for(busy.wait(), WAIT)
            last = await producer
            second = await next_snapshot(it)
            return first, second, last
        finally:
            await it.aclose()  # type: ignore[attr-defined]

    first, second, last = asyncio.run(main())
    assert first.version == 1
    assert second.version == last == config.state().version
    assert list(second) == list(config.state())
    assert second.changes.added == (svc("w"),)
    assert second.changes.removed == (svc("x"),)
    assert second.changes.updated == ((svc("y"), svc("y", ip="10.0.0.2")),)


def test_the_view_from_snapshots_follows_the_state(config: ServiceConfig) -> None:
    """Many updates from another thread; applying each snapshot's changes rebuilds the state."""
    ch = config.channel("api")

    def produce() -> None:
        for i in range(200):
            ch.add([svc(f"s{i % 13}", ip=f"10.0.0.{i % 5 + 1}")])
            if i % 7 == 0:
                ch.remove([f"default/s{i % 13}"])
        ch.add([svc("last")])

    async def main() -> dict[str, Any]:
        view: dict[str, Any] = {}
        async for snap in config.snapshots():
            apply_changes(view, snap.changes)
            if snap.version == 1:
                in_thread(produce)
            if "default/last" in view:
                break
        return view

    ch.add([svc("s0")])
    assert config.flush(WAIT)
    view = asyncio.run(asyncio.wait_for(main(), WAIT))
    assert config.flush(WAIT)
    assert view == as_map(config.state())


def versions_seen(
    on_snapshot: Callable[[ServiceConfig], object],
) -> tuple[ServiceConfig, list[int]]:
    """Iterate a config holding one Service, calling ``on_snapshot(config)`` after each
    snapshot, until the iteration ends; the versions seen. The config is closed at the end."""
    config = ServiceConfig()
    config.channel("api").set([svc("a")])
    assert config.flush(WAIT)

    async def main() -> list[int]:
        versions: list[int] = []
        async for snap in config.snapshots():
            versions.append(snap.version)
            on_snapshot(config)
        return versions

    try:
        return config, asyncio.run(asyncio.wait_for(main(), WAIT))
    finally:
        config.close(timeout=WAIT)


def test_iteration_ends_when_the_config_closes_from_another_thread() -> None:
    config, versions = versions_seen(lambda config: in_thread(config.close))
    assert versions == [1]
    assert config.closed


def test_iteration_ends_when_the_config_closes_inside_the_loop() -> None:
    def close_inside(config: ServiceConfig) -> None:
        assert config.close(timeout=WAIT)

    _, versions = versions_seen(close_inside)
    assert versions == [1]


def test_iteration_ends_when_the_config_closes_while_waiting() -> None:
    """The consumer is parked in ``__anext__`` (nothing new to deliver) when the config closes."""

    def close_once_waiting(config: ServiceConfig) -> None:
        # Runs once the loop waits for the next snapshot.
        asyncio.get_running_loop().call_soon(in_thread, config.close)

    _, versions = versions_seen(close_once_waiting)
    assert versions == [1]


def test_snapshots_of_a_closed_config_end_at_once() -> None:
    config = ServiceConfig()
    config.channel("api").set([svc("a")])
    config.close()

    async def main() -> int:
        n = 0
        async for _ in config.snapshots():
            n += 1
        return n

    assert asyncio.run(asyncio.wait_for(main(), WAIT)) == 0


def test_breaking_out_cancels_the_registration(config: ServiceConfig) -> None:
    config.channel("api").set([svc("a")])
    assert config.flush(WAIT)
    during: list[int] = []

    async def main() -> None:
        async for _ in config.snapshots():
            during.append(config.stats()["handlers"])
            break

    asyncio.run(asyncio.wait_for(main(), WAIT))
    assert during == [1]
    assert config.stats()["handlers"] == 0
    config.channel("api").add([svc("b")])  # deliveries go on without a consumer
    assert config.flush(WAIT)


def test_aclose_cancels_the_registration_at_once(config: ServiceConfig) -> None:
    config.channel("api").set([svc("a")])
    assert config.flush(WAIT)

    async def main() -> tuple[int, int]:
        it = config.snapshots()
        await next_snapshot(it)
        during = config.stats()["handlers"]
        await it.aclose()  # type: ignore[attr-defined]
        return during, config.stats()["handlers"]

    assert asyncio.run(main()) == (1, 0)


def test_two_iterators_are_independent(config: ServiceConfig) -> None:
    ch = config.channel("api")
    ch.set([svc("a")])
    assert config.flush(WAIT)

    async def main() -> tuple[list[str], list[str]]:
        one, two = config.snapshots(), config.snapshots()
        try:
            first_one = await next_snapshot(one)
            first_two = await next_snapshot(two)
            assert config.stats()["handlers"] == 2
            await asyncio.get_running_loop().run_in_executor(None, ch.add, [svc("b")])
            second_one = await next_snapshot(one)
            return keys(first_one) + keys(first_two), keys(second_one)
        finally:
            await one.aclose()  # type: ignore[attr-defined]
            await two.aclose()  # type: ignore[attr-defined]

    firsts, second = asyncio.run(main())
    assert firsts == ["default/a", "default/a"]
    assert second == ["default/a", "default/b"]
    assert config.stats()["handlers"] == 0
