"""FileSource: manifests from a directory or file, watched for changes (SPEC §5)."""

from __future__ import annotations

import importlib.resources
import logging
import os
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeproxy_config import (
    EndpointsConfig,
    EndpointSliceConfig,
    ServiceConfig,
    Snapshot,
)
from kubeproxy_config.sources import FileSource

WAIT = 10.0  # generous bound for a watched change to arrive; never reached when things work


class Recorder:
    """A handler remembering the newest snapshot; ``wait_for`` blocks until a predicate holds."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.latest: Snapshot[Any] | None = None

    def __call__(self, snapshot: Snapshot[Any]) -> None:
        with self._cond:
            self.latest = snapshot
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[Snapshot[Any]], bool], timeout: float = WAIT) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: self.latest is not None and predicate(self.latest), timeout
            )

    def keys(self) -> set[str]:
        with self._cond:
            return set() if self.latest is None else {o.key for o in self.latest}


class Cluster:
    """The three configs, each with a Recorder."""

    def __init__(self) -> None:
        self.services = ServiceConfig()
        self.endpoints = EndpointsConfig()
        self.slices = EndpointSliceConfig()
        self.svc = Recorder()
        self.eps = Recorder()
        self.sl = Recorder()
        self.services.register_handler(self.svc)
        self.endpoints.register_handler(self.eps)
        self.slices.register_handler(self.sl)

    def source(self, path: Path, **kwargs: Any) -> FileSource:
        return FileSource(
            path,
            services=self.services,
            endpoints=self.endpoints,
            endpoint_slices=self.slices,
            **kwargs,
        )

    def flush(self) -> None:
        for config in (self.services, self.endpoints, self.slices):
            assert config.flush(WAIT)

    def close(self) -> None:
        for config in (self.services, self.endpoints, self.slices):
            config.close()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    try:
        yield c
    finally:
        c.close()


def service(name: str, namespace: str = "shop", port: int = 80, kind: str = "Service") -> str:
    return textwrap.dedent(
        f"""\
        apiVersion: v1
        kind: {kind}
        metadata:
          name: {name}
          namespace: {namespace}
        spec:
          clusterIP: 10.96.0.{port % 250}
          ports:
            - name: http
              port: {port}
              targetPort: 8080
        """
    )


def endpoints(name: str, ip: str, namespace: str = "shop") -> str:
    return textwrap.dedent(
        f"""\
        apiVersion: v1
        kind: Endpoints
        metadata: {{name: {name}, namespace: {namespace}}}
        subsets:
          - addresses: [{{ip: {ip}}}]
            ports: [{{name: http, port: 8080}}]
        """
    )


SLICE = """\
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abcde
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
  - addresses: [10.244.1.5]
    conditions: {ready: true}
    zone: zone-a
ports: [{name: http, port: 8080}]
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def ports(snapshot: Snapshot[Any], key: str) -> list[int]:
    svc = snapshot.get(key)
    return [] if svc is None else [p.port for p in svc.ports]


# ---- loading ---------------------------------------------------------------------------------


def test_initial_load_of_a_directory(tmp_path: Path, cluster: Cluster) -> None:
    write(tmp_path / "services.yaml", service("web") + "---\n" + service("cart", port=81))
    write(tmp_path / "nested" / "deeper" / "endpoints.yml", endpoints("web", "10.244.1.5"))
    write(tmp_path / "slices.json", "")  # an empty file is no error
    write(tmp_path / "nested" / "slice.yaml", SLICE)
    write(tmp_path / "notes.txt", service("ignored"))  # not a manifest suffix
    write(tmp_path / ".hidden" / "svc.yaml", service("hidden"))
    write(tmp_path / ".backup.yaml", service("dotfile"))

    with cluster.source(tmp_path) as source:
        cluster.flush()
        assert source.last_errors == {}
        assert {s.key for s in cluster.services.state()} == {"shop/web", "shop/cart"}
        assert [e.key for e in cluster.endpoints.state()] == ["shop/web"]
        assert [s.key for s in cluster.slices.state()] == ["shop/web-abcde"]
        assert cluster.services.sources == ("file",)
        assert all(c.synced for c in (cluster.services, cluster.endpoints, cluster.slices))
        assert cluster.slices.endpoints_for("shop/web")[0].zone == "zone-a"


def test_single_file(tmp_path: Path, cluster: Cluster) -> None:
    path = tmp_path / "one.yaml"
    write(path, service("web") + "---\n" + endpoints("web", "10.244.1.5"))
    write(tmp_path / "other.yaml", service("other"))
    with cluster.source(path, source="static"):
        cluster.flush()
        assert [s.key for s in cluster.services.state()] == ["shop/web"]
        assert cluster.services.sources == ("static",)
        write(path, service("web", port=90))
        assert cluster.svc.wait_for(lambda s: ports(s, "shop/web") == [90])
        assert cluster.eps.wait_for(lambda s: len(s) == 0)


def test_multi_document_and_list_kinds(tmp_path: Path, cluster: Cluster) -> None:
    typed_list = textwrap.dedent(
        """\
        apiVersion: v1
        kind: ServiceList
        items:
          - metadata: {name: a, namespace: x}
            spec: {ports: [{port: 1}]}
          - metadata: {name: b, namespace: x}
            spec: {ports: [{port: 2}]}
        ---
        ---
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Endpoints
            metadata: {name: a, namespace: x}
          - apiVersion: v1
            kind: ConfigMap
            metadata: {name: settings, namespace: x}
            data: {a: b}
        """
    )
    write(tmp_path / "lists.yaml", typed_list)
    write(
        tmp_path / "list.json",
        '{"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1", "items": ['
        '{"metadata": {"name": "a-1", "namespace": "x"}, "addressType": "IPv4", "endpoints": []}'
        "]}",
    )
    with cluster.source(tmp_path) as source:
        cluster.flush()
        assert source.last_errors == {}
        assert [s.key for s in cluster.services.state()] == ["x/a", "x/b"]
        assert [e.key for e in cluster.endpoints.state()] == ["x/a"]
        assert [s.key for s in cluster.slices.state()] == ["x/a-1"]


def test_other_kinds_and_documents_without_kind_are_ignored(
    tmp_path: Path, cluster: Cluster
) -> None:
    write(
        tmp_path / "mixed.yaml",
        textwrap.dedent(
            """\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec: {replicas: "not validated: not our kind"}
            ---
            # Knative's Service is another kind with the same name.
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata: {name: knative}
            spec: {template: {}}
            ---
            replicaCount: 3   # Helm values: no kind at all
            """
        )
        + "---\n"
        + service("web"),
    )
    with cluster.source(tmp_path) as source:
        cluster.flush()
        assert source.last_errors == {}
        assert [s.key for s in cluster.services.state()] == ["shop/web"]


def test_only_the_given_configs_are_fed(tmp_path: Path) -> None:
    # An invalid EndpointSlice does not matter to a source that does not read slices.
    write(tmp_path / "a.yaml", service("web") + "---\n" + SLICE.replace("IPv4", "IPv9"))
    with ServiceConfig() as services, FileSource(tmp_path, services=services) as source:
        assert services.flush(WAIT)
        assert source.last_errors == {}
        assert [s.key for s in services.state()] == ["shop/web"]
    with pytest.raises(ValueError, match="services="):
        FileSource(tmp_path)


def test_empty_directory_sets_every_channel(tmp_path: Path, cluster: Cluster) -> None:
    configs = (cluster.services, cluster.endpoints, cluster.slices)
    source = cluster.source(tmp_path)
    assert not any(c.synced for c in configs)  # channels exist, nothing sent yet
    with source:
        for config in configs:
            assert config.wait_synced(WAIT)
            assert len(config.state()) == 0


def test_first_file_in_path_order_wins(tmp_path: Path, cluster: Cluster) -> None:
    write(tmp_path / "b.yaml", service("web", port=2))
    write(tmp_path / "a" / "z.yaml", service("web", port=1))
    with cluster.source(tmp_path):
        cluster.flush()
        assert ports(cluster.services.state(), "shop/web") == [1]
        (tmp_path / "a" / "z.yaml").unlink()
        assert cluster.svc.wait_for(lambda s: ports(s, "shop/web") == [2])


def test_reload_without_watching(tmp_path: Path, cluster: Cluster) -> None:
    write(tmp_path / "a.yaml", service("web"))
    source = cluster.source(tmp_path)
    source.reload()
    cluster.flush()
    assert [s.key for s in cluster.services.state()] == ["shop/web"]
    assert not source.running
    write(tmp_path / "a.yaml", service("cart"))
    source.reload()
    cluster.flush()
    assert [s.key for s in cluster.services.state()] == ["shop/cart"]


# ---- watching --------------------------------------------------------------------------------


def test_file_added_changed_and_removed(tmp_path: Path, cluster: Cluster) -> None:
    write(tmp_path / "web.yaml", service("web"))
    with cluster.source(tmp_path) as source:
        assert source.running
        cluster.flush()
        assert cluster.svc.keys() == {"shop/web"}

        write(
            tmp_path / "sub" / "cart.yaml", service("cart") + "---\n" + endpoints("cart", "1.2.3.4")
        )
        assert cluster.svc.wait_for(lambda s: "shop/cart" in s)
        assert cluster.eps.wait_for(lambda s: "shop/cart" in s)

        write(tmp_path / "web.yaml", service("web", port=8080))
        assert cluster.svc.wait_for(lambda s: ports(s, "shop/web") == [8080])

        (tmp_path / "sub" / "cart.yaml").unlink()
        assert cluster.svc.wait_for(lambda s: "shop/cart" not in s)
        assert cluster.eps.wait_for(lambda s: len(s) == 0)
        assert cluster.svc.keys() == {"shop/web"}

        # Replaced by rename, as editors and `kubectl`-style tools do.
        write(tmp_path / "web.yaml.tmp", service("web", port=9090))
        os.replace(tmp_path / "web.yaml.tmp", tmp_path / "web.yaml")
        assert cluster.svc.wait_for(lambda s: ports(s, "shop/web") == [9090])
    assert not source.running


def test_broken_file_keeps_its_last_good_content(
    tmp_path: Path, cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kubeproxy_config")
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    write(a, service("web"))
    write(b, service("cart"))
    with cluster.source(tmp_path) as source:
        cluster.flush()
        write(a, service("web", port=81) + "  bad: [unclosed\n")
        # The error shows; the service keeps its last good content (port 80).
        assert _wait(lambda: str(a) in source.last_errors)
        assert source.last_errors[str(a)].startswith("line ")
        assert ports(cluster.services.state(), "shop/web") == [80]
        assert any(str(a) in r.getMessage() for r in caplog.records)

        # Other files still apply.
        write(b, service("cart", port=82))
        assert cluster.svc.wait_for(lambda s: ports(s, "shop/cart") == [82])
        assert ports(cluster.services.state(), "shop/web") == [80]

        # Fixed: the error goes, the new content applies.
        write(a, service("web", port=83))
        assert cluster.svc.wait_for(lambda s: ports(s, "shop/web") == [83])
        assert source.last_errors == {}


def test_one_invalid_object_rejects_the_whole_file(
    tmp_path: Path, cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kubeproxy_config")
    bad = tmp_path / "bad.yaml"
    write(bad, service("web") + "---\n" + service("cart").replace("port: 80", 'port: "eighty"'))
    write(tmp_path / "good.yaml", service("other"))
    with cluster.source(tmp_path) as source:
        cluster.flush()
        assert [s.key for s in cluster.services.state()] == ["shop/other"]
        message = source.last_errors[str(bad)]
        assert message.startswith("line 13: Service: ")  # the second document's first line
        assert "shop/cart" in message and "spec.ports[0].port" in message
        (warning,) = [r.getMessage() for r in caplog.records if str(bad) in r.getMessage()]
        assert f"{bad}:13" in warning


def test_json_syntax_error_names_the_line(tmp_path: Path, cluster: Cluster) -> None:
    write(tmp_path / "svc.json", '{\n  "kind": "Service",\n  "metadata": {,}\n}\n')
    with cluster.source(tmp_path) as source:
        assert source.last_errors == {
            str(tmp_path / "svc.json"): "line 3: Expecting property name enclosed in double quotes"
        }
        # Nothing good was ever read from it: the channels are still set (empty) and synced.
        assert cluster.services.wait_synced(WAIT)


def test_start_on_a_missing_path_raises(tmp_path: Path, cluster: Cluster) -> None:
    source = cluster.source(tmp_path / "missing")
    with pytest.raises(FileNotFoundError) as info:
        source.start()
    assert info.value.filename == str(tmp_path / "missing")
    assert not source.running
    with pytest.raises(FileNotFoundError):
        source.reload()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
def test_start_on_an_unreadable_directory_raises(tmp_path: Path, cluster: Cluster) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0)
    try:
        with pytest.raises(PermissionError):
            cluster.source(locked).start()
    finally:
        locked.chmod(0o755)


def test_start_twice_raises_and_restart_after_stop(tmp_path: Path, cluster: Cluster) -> None:
    write(tmp_path / "a.yaml", service("web"))
    source = cluster.source(tmp_path).start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            source.start()
    finally:
        source.stop()
    source.stop()  # idempotent
    write(tmp_path / "a.yaml", service("cart"))
    with source:
        cluster.flush()
        assert [s.key for s in cluster.services.state()] == ["shop/cart"]


def test_shipped_examples_load_cleanly(cluster: Cluster) -> None:
    examples = importlib.resources.files("kubeproxy_config") / "examples"
    with importlib.resources.as_file(examples) as path, cluster.source(path) as source:
        cluster.flush()
        assert source.last_errors == {}
        namespaces = {s.namespace for s in cluster.services.state()}
        assert namespaces == {"default", "kube-system", "monitoring", "shop"}
        types = {s.type for s in cluster.services.state()}
        assert types == {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}
        storefront = cluster.services.state().get("shop/storefront")
        assert storefront is not None
        assert storefront.ip_families == ("IPv4", "IPv6")
        assert storefront.external_traffic_policy == "Local"
        assert storefront.health_check_node_port == 32100
        endpoints = cluster.slices.endpoints_for("shop/storefront")
        assert any(e.terminating for e in endpoints)
        assert any(e.hints_for_zones for e in endpoints)


def _wait(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll ``predicate`` until a deadline (for state that has no event of its own)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.02)
    return True
