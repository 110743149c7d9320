"""kubeproxy_config.metrics.register (SPEC §10): every documented metric is exported on a fresh
registry and moves when what it counts happens, driven through the public API."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from _helpers import WAIT, svc, wait_until
from _metrics_env import Gate, ReportingSource, Samples, names, scrape, value
from _proxy_env import TRIGGER, Env, endpoint, env, service, slice_of
from kubeproxy_config import EndpointSliceConfig, ProxyConfig, ServiceConfig, metrics
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer

README = Path(__file__).resolve().parent.parent / "README.md"


def documented_metrics() -> set[str]:
    """The metric names the README's operators' section lists."""
    text = README.read_text()
    section = text[text.index("## Operating a proxy") :]
    return set(re.findall(r"`(kubeproxy_config_[a-z_]+)", section))


def of_handler(samples: Samples, name: str, handler: str) -> float | None:
    return value(samples, f"kubeproxy_config_{name}", config="services", handler=handler)


def exported_name(sample: str) -> str:
    return re.sub(r"_(bucket|count|sum)$", "", sample)


class Handler:
    def on_service_update(self, snapshot: object) -> None:
        pass


def test_every_documented_metric_is_exported_on_a_fresh_registry() -> None:
    documented = documented_metrics()
    assert len(documented) >= 17, documented
    registry = CollectorRegistry()
    source = ReportingSource("api")
    source.figures["services"] = {
        "events": 3,
        "relists": 1,
        "watch_restarts": 2,
        "audit_drift": 0,
        "oversized": 0,
        "last_event_age_seconds": 1.5,
        "last_bookmark_age_seconds": 0.5,
    }
    with env() as e:
        e.services.register_handler(Handler())
        e.proxy.register_handler(lambda state: None)
        metrics.register(e.services, e.slices, e.proxy, source, registry=registry)
        e.set([service("web")], [slice_of("web", "w1", [endpoint("10.0.0.1")])])
        exported = {exported_name(n) for n in names(scrape(registry))}
    assert documented <= exported, documented - exported


def test_config_counters_and_gauges_move() -> None:
    registry = CollectorRegistry()
    with ServiceConfig(name="svc") as config:
        metrics.register(config, registry=registry)
        before = scrape(registry)
        assert value(before, "kubeproxy_config_objects", config="svc") == 0
        assert value(before, "kubeproxy_config_synced", config="svc") == 0
        assert value(before, "kubeproxy_config_updates_total", config="svc") == 0
        a, b = config.channel("a"), config.channel("b")
        a.set([svc("web")])
        b.set([svc("web", ip="10.0.0.9"), svc("db")])  # web conflicts: "a" came first
        assert config.flush(WAIT)
        after = scrape(registry)
    assert value(after, "kubeproxy_config_objects", config="svc") == 2
    assert value(after, "kubeproxy_config_synced", config="svc") == 1
    assert value(after, "kubeproxy_config_updates_total", config="svc") == 2
    assert (
        value(after, "kubeproxy_config_versions_total", config="svc") == config.stats()["versions"]
    )
    assert value(after, "kubeproxy_config_conflicts_total", config="svc") == 1


def test_handler_counters_are_per_handler_with_a_stable_bounded_label() -> None:
    registry = CollectorRegistry()

    def failing(snapshot: object) -> None:
        raise RuntimeError("boom")

    with ServiceConfig() as config:
        metrics.register(config, registry=registry)
        first = config.register_handler(Handler())
        config.register_handler(Handler())
        config.register_handler(failing)
        config.channel("a").set([svc("web")])
        assert config.flush(WAIT)
        samples = scrape(registry)
        label = f"{Handler.__module__}.{Handler.__qualname__}"
        for index in (0, 1):
            handler = f"{label}#{index}"
            assert of_handler(samples, "deliveries_total", handler) == 1
            assert of_handler(samples, "handler_errors_total", handler) == 0
            assert of_handler(samples, "handler_duration_seconds_count", handler) == 1
        bad = f"{failing.__module__}.{failing.__qualname__}#0"
        assert of_handler(samples, "handler_errors_total", bad) == 1
        # Churn: a cancelled handler's index is reused, so labels stay bounded.
        first.cancel()
        config.register_handler(Handler())
        assert config.flush(WAIT)
        handlers = {
            dict(labels)["handler"]
            for name, labels in scrape(registry)
            if name == "kubeproxy_config_deliveries_total"
        }
    assert handlers == {f"{label}#0", f"{label}#1", bad}


@contextlib.contextmanager
def gated_config() -> Iterator[tuple[ServiceConfig, CollectorRegistry, Gate]]:
    """A config with its metrics in a fresh registry and one handler that ``Gate`` holds."""
    registry = CollectorRegistry()
    gate = Gate()
    with ServiceConfig() as config:
        metrics.register(config, registry=registry)
        config.register_handler(gate)
        yield config, registry, gate


def test_coalesced_deliveries_are_counted_per_handler() -> None:
    with gated_config() as (config, registry, gate):
        channel = config.channel("a")
        channel.set([svc("a")])
        assert gate.entered.wait(WAIT)
        # Two more versions while the handler is busy.
        channel.add([svc("b")])
        assert wait_until(lambda: config.state().version == 2)
        channel.add([svc("c")])
        assert wait_until(lambda: config.state().version == 3)
        gate.release.set()
        assert config.flush(WAIT)
        label = f"{Gate.__module__}.{Gate.__qualname__}#0"
        samples = scrape(registry)
    coalesced = "kubeproxy_config_coalesced_deliveries_total"
    assert value(samples, coalesced, config="services", handler=label) == 1


def test_lag_grows_while_a_handler_is_held_and_drops_after() -> None:
    with gated_config() as (config, registry, gate):
        label = f"{Gate.__module__}.{Gate.__qualname__}#0"

        def lag() -> float:
            got = value(
                scrape(registry),
                "kubeproxy_config_handler_lag_seconds",
                config="services",
                handler=label,
            )
            assert got is not None
            return got

        assert lag() == 0
        config.channel("a").set([svc("web")])
        assert gate.entered.wait(WAIT)
        first = lag()
        assert wait_until(lambda: lag() > first)
        gate.release.set()
        assert config.flush(WAIT)
        assert lag() == 0


def trigger_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@contextlib.contextmanager
def web_view(handler: Callable[[Any], None]) -> Iterator[tuple[Env, CollectorRegistry]]:
    """A proxy view of the service "web" with ``handler`` registered, its metrics in a fresh
    registry."""
    registry = CollectorRegistry()
    with env() as e:
        e.set([service("web")], [])
        e.proxy.register_handler(handler)
        metrics.register(e.proxy, registry=registry)
        yield e, registry


def test_network_programming_latency_is_observed_per_trigger_time_when_the_call_returns() -> None:
    gate = Gate()
    name = "kubeproxy_config_network_programming_duration_seconds"
    with web_view(gate) as (e, registry):
        assert gate.entered.wait(WAIT)
        gate.release.set()
        assert e.proxy.flush(WAIT)
        assert value(scrape(registry), f"{name}_count", config="proxy") == 0
        gate.release.clear()
        gate.entered.clear()
        changed_at = time.time()  # later than the view's start
        e.eps.add(
            [
                slice_of(
                    "web",
                    "w1",
                    [endpoint("10.0.0.1")],
                    annotations={TRIGGER: trigger_time(changed_at)},
                ),
                slice_of("web", "w2", [endpoint("10.0.0.2")]),  # no annotation: no sample
                slice_of(
                    "web",
                    "w3",
                    [endpoint("10.0.0.3")],
                    annotations={TRIGGER: "2001-01-01T00:00:00Z"},  # before start: no sample
                ),
            ]
        )
        assert gate.entered.wait(WAIT)
        # Observed when the call returns, not when it starts.
        assert value(scrape(registry), f"{name}_count", config="proxy") == 0
        gate.release.set()
        assert e.proxy.flush(WAIT)
        returned = time.time()
        samples = scrape(registry)
    assert value(samples, f"{name}_count", config="proxy") == 1
    total = value(samples, f"{name}_sum", config="proxy")
    assert total is not None and 0 <= total <= returned - changed_at + 0.001
    assert value(samples, f"{name}_bucket", config="proxy", le="0.25") in (0, 1)
    assert value(samples, f"{name}_bucket", config="proxy", le="300.0") == 1
    assert value(samples, f"{name}_bucket", config="proxy", le="+Inf") == 1


def test_a_handler_that_raises_programs_nothing() -> None:
    def failing(state: object) -> None:
        raise RuntimeError("sync failed")

    name = "kubeproxy_config_network_programming_duration_seconds_count"
    with web_view(failing) as (e, registry):
        assert e.proxy.flush(WAIT)
        annotated = {TRIGGER: trigger_time(time.time())}
        e.eps.add([slice_of("web", "w1", [endpoint("10.0.0.1")], annotations=annotated)])
        assert e.proxy.flush(WAIT)
        assert value(scrape(registry), name, config="proxy") == 0


def test_sources_report_what_their_stats_carry_and_nothing_else() -> None:
    registry = CollectorRegistry()
    source = ReportingSource("api")
    source.figures["services"] = {"events": 7, "relists": 1, "last_event_age_seconds": None}
    metrics.register(source, registry=registry)
    samples = scrape(registry)
    labels = {"source": "api", "resource": "services"}
    assert value(samples, "kubeproxy_config_source_events_total", **labels) == 7
    assert value(samples, "kubeproxy_config_source_relists_total", **labels) == 1
    # Not reported (absent, or None: nothing heard yet): not exported.
    assert value(samples, "kubeproxy_config_source_watch_restarts_total", **labels) is None
    assert value(samples, "kubeproxy_config_source_last_event_age_seconds", **labels) is None
    source.figures["services"].update(watch_restarts=2, last_event_age_seconds=4.0)
    samples = scrape(registry)
    assert value(samples, "kubeproxy_config_source_watch_restarts_total", **labels) == 2
    assert value(samples, "kubeproxy_config_source_last_event_age_seconds", **labels) == 4.0


def test_register_again_extends_the_registrys_one_collector() -> None:
    registry = CollectorRegistry()
    with ServiceConfig() as services, EndpointSliceConfig() as slices:
        first = metrics.register(services, registry=registry)
        assert metrics.register(slices, services, registry=registry) is first
        samples = scrape(registry)
    assert value(samples, "kubeproxy_config_objects", config="services") == 0
    assert value(samples, "kubeproxy_config_objects", config="endpointslices") == 0


def test_bad_objects_and_clashing_names_are_refused() -> None:
    registry = CollectorRegistry()
    with pytest.raises(TypeError, match="got int"):
        metrics.register(42, registry=registry)
    with ServiceConfig() as a, ServiceConfig() as b:
        with pytest.raises(ValueError, match="'services'"):
            metrics.register(a, b, registry=registry)
    with pytest.raises(ValueError, match="health_timeout"):
        metrics.serve(port=0, health_timeout=0)


def test_collection_holds_configs_weakly() -> None:
    registry = CollectorRegistry()
    config = ServiceConfig(name="gone")
    metrics.register(config, registry=registry)
    assert value(scrape(registry), "kubeproxy_config_objects", config="gone") == 0
    config.close()
    del config
    assert value(scrape(registry), "kubeproxy_config_objects", config="gone") is None


def test_proxy_config_input_feeds_are_labelled_by_the_view() -> None:
    registry = CollectorRegistry()
    with ServiceConfig() as services, EndpointSliceConfig() as slices:
        proxy = ProxyConfig(services, slices, name="v4")
        try:
            metrics.register(services, registry=registry)
            samples = scrape(registry)
        finally:
            proxy.close()
    name = "kubeproxy_config_handler_lag_seconds"
    assert value(samples, name, config="services", handler="ProxyConfig(v4)#0") == 0


def api_service(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}]},
    }


def test_kubernetes_source_counters_move_with_the_fake_servers_traffic(
    fake_apiserver: FakeAPIServer,
) -> None:
    registry = CollectorRegistry()
    client: Any = fake_apiserver.api_client()
    labels = {"source": "api", "resource": "services"}

    def counter(name: str) -> float:
        got = value(scrape(registry), f"kubeproxy_config_source_{name}_total", **labels)
        assert got is not None, f"{name} not exported"
        return got

    fake_apiserver.create(api_service("a"))
    with ServiceConfig() as config:
        source = KubernetesSource(client, services=config, backoff_initial=0.01, backoff_max=0.1)
        try:
            metrics.register(config, source, registry=registry)
            source.start()
            assert source.wait_synced(WAIT) and fake_apiserver.wait_for_watches(1, WAIT)
            events, restarts, relists = counter("events"), counter("watch_restarts"), 0
            assert counter("relists") == relists
            fake_apiserver.create(api_service("b"))
            assert wait_until(lambda: counter("events") > events)
            assert fake_apiserver.drop_watches() == 1
            assert wait_until(lambda: counter("watch_restarts") > restarts)
            assert counter("relists") == relists
            fake_apiserver.fail_next(1, 410, verbs={"watch"})
            fake_apiserver.drop_watches()
            assert wait_until(lambda: counter("relists") == relists + 1)
            assert wait_until(
                lambda: value(scrape(registry), "kubeproxy_config_objects", config="services") == 2
            )
        finally:
            source.stop()
            client.close()


def test_a_source_whose_stats_raise_is_left_out_of_the_scrape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(ReportingSource):
        def stats(self) -> dict[str, dict[str, Any]]:
            raise RuntimeError("transport gone")

    caplog.set_level(logging.ERROR, logger="kubeproxy_config")
    registry = CollectorRegistry()
    good = ReportingSource("file")
    good.figures["services"] = {"events": 1}
    broken = Broken("api")  # held here: metrics hold what they watch weakly
    metrics.register(broken, good, registry=registry)
    samples = scrape(registry)
    labels = {"resource": "services"}
    assert value(samples, "kubeproxy_config_source_events_total", source="file", **labels) == 1
    assert value(samples, "kubeproxy_config_source_events_total", source="api", **labels) is None
    assert "transport gone" in caplog.text
