"""KubernetesSource's size limits: a watch event line over ``max_event_bytes`` or a list page
over ``max_page_bytes`` is refused while being read, logged, counted, and recovered from (a
relist, or a retried list), with nothing the configs held lost on the way."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from _helpers import wait_until
from _kube_env import DEADLINE, MakeSource, assert_converges, svc
from kubeproxy_config import ServiceConfig, Snapshot, metrics
from kubeproxy_config.sources.kubernetes import (
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_PAGE_BYTES,
    KubernetesSource,
)
from kubeproxy_config.testing import FakeAPIServer

LIMIT = 64 * 1024
HUGE = 32 * 1024 * 1024  # far more than socket buffers hold: the server cannot write it all


def keys_seen(services: ServiceConfig) -> list[frozenset[str]]:
    """The keys of every snapshot delivered to a handler from now on."""
    seen: list[frozenset[str]] = []

    def update(snapshot: Snapshot[Any]) -> None:
        seen.append(frozenset(obj.key for obj in snapshot))

    services.register_handler(update)
    return seen


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_an_oversized_event_line_is_cut_counted_and_healed_by_a_relist(
    fake_apiserver: FakeAPIServer,
    services: ServiceConfig,
    start_watching: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="kubeproxy_config")
    fake_apiserver.create(svc("a"))
    fake_apiserver.create(svc("b"))
    source = start_watching(services=services, max_event_bytes=LIMIT)
    assert services.flush(DEADLINE)
    seen = keys_seen(services)
    fake_apiserver.stall_watches()  # queue events around the oversized line, sent together
    fake_apiserver.create(svc("before"))
    assert fake_apiserver.send_oversized(HUGE) == 1
    fake_apiserver.create(svc("after"))
    fake_apiserver.delete("Service", "ns", "a")
    fake_apiserver.resume_watches()
    assert wait_until(lambda: source.stats()["services"]["relists"] == 1, DEADLINE)
    assert_converges(services, fake_apiserver, "Service")
    assert "default/oversized" not in services.state()
    stats = source.stats()["services"]
    assert stats["oversized"] == 1 and stats["errors"] >= 1
    registry = CollectorRegistry()
    metrics.register(source, registry=registry)
    labels = {"source": "api", "resource": "services"}
    assert registry.get_sample_value("kubeproxy_config_source_oversized_total", labels) == 1
    # Reading stopped one byte past the limit, so most of the line was never even sent.
    assert fake_apiserver.oversized_bytes_written < HUGE
    message = next(m for m in warnings_of(caplog) if "max_event_bytes" in m)
    assert f"a watch event line is over the limit of {LIMIT} bytes" in message
    assert f"{LIMIT + 1} bytes read so far" in message and "relisting" in message
    # What the config held was never dropped while the source recovered.
    assert seen and all("ns/b" in keys for keys in seen)


def test_an_object_too_large_for_an_event_arrives_through_the_relist(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, start_watching: Any
) -> None:
    fake_apiserver.create(svc("a"))
    fake_apiserver.create(svc("big"))
    source = start_watching(services=services, max_event_bytes=LIMIT)
    # A real change whose event is over the limit; the list page that follows is not.
    padding = {"metadata": {"annotations": {"padding": "x" * (2 * LIMIT)}}}
    fake_apiserver.patch("Service", "ns", "big", padding)
    fake_apiserver.create(svc("later"))
    assert_converges(services, fake_apiserver, "Service")
    big = services.state().get("ns/big")
    stored = fake_apiserver.get("Service", "ns", "big")
    assert big is not None and stored is not None
    assert big.resource_version == stored["metadata"]["resourceVersion"]
    stats = source.stats()["services"]
    assert stats["oversized"] == 1 and stats["relists"] == 1


def test_an_oversized_initial_event_lists_in_pages_instead(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, make_source: MakeSource
) -> None:
    fake_apiserver.create(svc("a"))
    padding = {"annotations": {"padding": "x" * (2 * LIMIT)}}
    fake_apiserver.create({**svc("big"), "metadata": {**svc("big")["metadata"], **padding}})
    source = make_source(services=services, watch_list=None, max_event_bytes=LIMIT).start()
    assert source.wait_synced(DEADLINE)
    assert_converges(services, fake_apiserver, "Service")
    stats = source.stats()["services"]
    assert stats["oversized"] == 1 and stats["lists"] == 1
    # Listed in pages this once, without giving up streaming lists for good.
    assert stats["watch_lists"] == 0 and stats["watch_list_fallbacks"] == 0
    assert fake_apiserver.stats["list"] == 1


@pytest.mark.parametrize("announce", [False, True], ids=["chunked", "content-length"])
def test_an_oversized_list_page_is_a_failed_list_retried(
    fake_apiserver: FakeAPIServer,
    services: ServiceConfig,
    make_source: MakeSource,
    caplog: pytest.LogCaptureFixture,
    announce: bool,
) -> None:
    caplog.set_level(logging.WARNING, logger="kubeproxy_config")
    for name in ("a", "b"):
        fake_apiserver.create(svc(name))
    fake_apiserver.oversize_next_lists(1, HUGE, announce=announce)
    source = make_source(services=services, max_page_bytes=LIMIT).start()
    assert source.wait_synced(DEADLINE)
    assert_converges(services, fake_apiserver, "Service")
    stats = source.stats()["services"]
    assert stats["oversized"] == 1 and stats["errors"] == 1 and stats["lists"] == 1
    assert fake_apiserver.stats["list"] == 2
    message = next(m for m in warnings_of(caplog) if "max_page_bytes" in m)
    assert f"a list page is over the limit of {LIMIT} bytes" in message
    assert "retrying the list after a backoff" in message
    if announce:
        assert f"the server announced {HUGE} bytes; not read" in message
    else:
        assert f"{LIMIT + 1} bytes read so far" in message
    assert fake_apiserver.oversized_bytes_written < HUGE


def test_an_oversized_relist_keeps_what_the_config_holds(
    fake_apiserver: FakeAPIServer, services: ServiceConfig, start_watching: Any
) -> None:
    fake_apiserver.create(svc("a"))
    source = start_watching(services=services, max_page_bytes=LIMIT, page_size=1)
    assert services.flush(DEADLINE)
    seen = keys_seen(services)
    fake_apiserver.create(svc("b"))
    assert wait_until(lambda: "ns/b" in services.state(), DEADLINE)
    # The relist that follows an expired version meets two oversized pages first.
    fake_apiserver.oversize_next_lists(2, HUGE)
    fake_apiserver.fail_next(1, 410, verbs={"watch"})
    fake_apiserver.drop_watches()
    assert wait_until(lambda: source.stats()["services"]["relists"] == 1, DEADLINE)
    assert_converges(services, fake_apiserver, "Service")
    stats = source.stats()["services"]
    assert stats["oversized"] == 2
    assert seen and all("ns/a" in keys for keys in seen)


def test_the_defaults_are_documented_values() -> None:
    assert DEFAULT_MAX_EVENT_BYTES == 16 * 1024 * 1024
    assert DEFAULT_MAX_PAGE_BYTES == 256 * 1024 * 1024


@pytest.mark.parametrize("name", ["max_event_bytes", "max_page_bytes"])
@pytest.mark.parametrize("value", [0, -1, sys.maxsize + 1])
def test_out_of_range_limits_are_refused(
    fake_api_client: Any, services: ServiceConfig, name: str, value: int
) -> None:
    options: dict[str, Any] = {name: value}
    with pytest.raises(ValueError, match=name):
        KubernetesSource(fake_api_client, services=services, **options)


@pytest.mark.parametrize("name", ["max_event_bytes", "max_page_bytes"])
@pytest.mark.parametrize("value", [1.5, "16Mi", True, None])
def test_limits_of_another_type_are_refused(
    fake_api_client: Any, services: ServiceConfig, name: str, value: object
) -> None:
    options: dict[str, Any] = {name: value}
    with pytest.raises(TypeError, match=name):
        KubernetesSource(fake_api_client, services=services, **options)
