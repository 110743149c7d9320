"""FakeAPIServer against the unchanged official ``kubernetes`` client and raw HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from _fake_env import (
    DEADLINE,
    client,
    config,
    endpoint_slice,
    endpoints,
    status_body,
    svc,
)
from kubeproxy_config.testing import FakeAPIServer, StatusError, load_manifests

# -- discovery, get, list ------------------------------------------------------------------------


def test_discovery_documents(fake_api_client: Any) -> None:
    assert client.VersionApi(fake_api_client).get_code().major == "1"
    core = client.CoreV1Api(fake_api_client).get_api_resources()
    assert {"services", "endpoints", "namespaces"} <= {r.name for r in core.resources}
    groups = client.ApisApi(fake_api_client).get_api_versions()
    assert "discovery.k8s.io" in [g.name for g in groups.groups]
    slices = client.DiscoveryV1Api(fake_api_client).get_api_resources()
    assert [r.kind for r in slices.resources] == ["EndpointSlice"]


def test_list_each_resource(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> None:
    fake_apiserver.create(svc("a", "ns1"))
    fake_apiserver.create(svc("b", "ns2"))
    fake_apiserver.create(endpoints("a", "ns1"))
    fake_apiserver.create(endpoint_slice("a-x1", "ns1"))
    core = client.CoreV1Api(fake_api_client)
    services = core.list_service_for_all_namespaces()
    assert [(s.metadata.namespace, s.metadata.name) for s in services.items] == [
        ("ns1", "a"),
        ("ns2", "b"),
    ]
    assert services.metadata.resource_version == str(fake_apiserver.resource_version)
    assert [s.metadata.name for s in core.list_namespaced_service("ns2").items] == ["b"]
    eps = core.list_namespaced_endpoints("ns1").items
    assert eps[0].subsets[0].addresses[0].ip == "10.1.0.1"
    slices = client.DiscoveryV1Api(fake_api_client).list_endpoint_slice_for_all_namespaces()
    assert [s.metadata.name for s in slices.items] == ["a-x1"]
    assert slices.items[0].endpoints[0].addresses == ["10.1.0.2"]
    namespaces = [n.metadata.name for n in core.list_namespace().items]
    assert {"default", "ns1", "ns2"} <= set(namespaces)


def test_list_items_are_raw_api_shape(fake_apiserver: FakeAPIServer) -> None:
    fake_apiserver.create(svc("a"))
    with urllib.request.urlopen(f"{fake_apiserver.url}/api/v1/services", timeout=DEADLINE) as r:
        body = json.load(r)
    assert body["kind"] == "ServiceList" and body["apiVersion"] == "v1"
    assert "kind" not in body["items"][0]  # as from a real API server


# -- writes ----------------------------------------------------------------------------------


def test_writes_through_the_client(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> None:
    core = client.CoreV1Api(fake_api_client)
    rv0 = fake_apiserver.resource_version
    created = core.create_namespaced_service("ns", svc("web"))
    assert created.metadata.uid and created.metadata.creation_timestamp
    assert int(created.metadata.resource_version) == rv0 + 1
    with pytest.raises(client.ApiException) as exc_info:
        core.create_namespaced_service("ns", svc("web"))
    assert status_body(exc_info.value)["reason"] == "AlreadyExists"

    body = svc("web", app="web")
    body["metadata"]["resourceVersion"] = created.metadata.resource_version
    replaced = core.replace_namespaced_service("web", "ns", body)
    assert replaced.metadata.labels == {"app": "web"}
    assert replaced.metadata.uid == created.metadata.uid
    with pytest.raises(client.ApiException) as exc_info:
        core.replace_namespaced_service("web", "ns", body)  # stale resourceVersion
    assert exc_info.value.status == 409
    assert status_body(exc_info.value)["reason"] == "Conflict"

    patched = core.patch_namespaced_service("web", "ns", {"metadata": {"labels": {"app": None}}})
    assert not patched.metadata.labels
    assert int(patched.metadata.resource_version) == fake_apiserver.resource_version

    deleted = core.delete_namespaced_service("web", "ns")
    assert deleted.metadata.name == "web"
    for call in (core.read_namespaced_service, core.delete_namespaced_service):
        with pytest.raises(client.ApiException) as exc_info:
            call("web", "ns")
        assert status_body(exc_info.value)["reason"] == "NotFound"

    dv1 = client.DiscoveryV1Api(fake_api_client)
    dv1.create_namespaced_endpoint_slice("ns", endpoint_slice("web-1"))
    assert fake_apiserver.get("endpointslices", "ns", "web-1") is not None
    dv1.delete_namespaced_endpoint_slice("web-1", "ns")
    assert fake_apiserver.objects("EndpointSlice") == []


def test_merge_and_json_patch_over_http(fake_apiserver: FakeAPIServer) -> None:
    fake_apiserver.create(svc("a", app="x"))
    url = f"{fake_apiserver.url}/api/v1/namespaces/ns/services/a"
    patches = [
        ("application/merge-patch+json", {"spec": {"ports": [{"port": 81}]}}),
        (
            "application/json-patch+json",
            [{"op": "add", "path": "/metadata/labels/b", "value": "y"}],
        ),
    ]
    for content_type, patch in patches:
        request = urllib.request.Request(
            url, json.dumps(patch).encode(), {"Content-Type": content_type}, method="PATCH"
        )
        with urllib.request.urlopen(request, timeout=DEADLINE) as r:
            assert r.status == 200
    obj = fake_apiserver.get("svc", "ns", "a")
    assert obj is not None
    assert obj["spec"]["ports"] == [{"port": 81, "protocol": "TCP", "targetPort": 81}]
    assert obj["metadata"]["labels"] == {"app": "x", "b": "y"}


def test_python_api(fake_apiserver: FakeAPIServer) -> None:
    server = fake_apiserver
    created = server.create(svc("a"))
    rv = server.resource_version
    assert created["metadata"]["resourceVersion"] == str(rv)
    with pytest.raises(StatusError) as exc_info:
        server.create(svc("a"))
    assert (exc_info.value.code, exc_info.value.reason) == (409, "AlreadyExists")

    assert server.replace(created) == created  # no-op: no new version, no event
    assert server.resource_version == rv
    stale = {**svc("a", app="x"), "metadata": {**created["metadata"], "labels": {"k": "v"}}}
    server.replace(stale)
    with pytest.raises(StatusError) as exc_info:
        server.replace(stale)
    assert exc_info.value.reason == "Conflict"

    applied = server.apply(svc("a", app="y"))  # replaces whatever the version
    assert applied["metadata"]["labels"] == {"app": "y"}
    assert applied["metadata"]["uid"] == created["metadata"]["uid"]
    server.apply(svc("b", namespace="other"))
    server.patch("Service", "other", "b", {"spec": {"type": "NodePort"}})
    assert [o["metadata"]["name"] for o in server.objects("services")] == ["a", "b"]
    assert server.objects("svc", "other")[0]["spec"]["type"] == "NodePort"
    assert server.objects("Service", label_selector="app=y")[0]["kind"] == "Service"

    deleted = server.delete("service", "ns", "a")
    assert int(deleted["metadata"]["resourceVersion"]) == server.resource_version
    assert server.get("Service", "ns", "a") is None
    with pytest.raises(StatusError) as exc_info:
        server.delete("Service", "ns", "a")
    assert exc_info.value.code == 404
    with pytest.raises(StatusError):
        server.create({"kind": "Pod", "metadata": {"name": "p"}})
    # Objects of the official client are accepted too.
    model = client.V1Endpoints(metadata=client.V1ObjectMeta(name="m", namespace="ns"))
    assert server.create(model)["kind"] == "Endpoints"


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "b"]),
        ("app==web,tier=front", ["a"]),
        ("app!=web", ["c", "d"]),
        ("tier", ["a", "c"]),
        ("!tier", ["b", "d"]),
        ("app in (web,db)", ["a", "b", "c"]),
        ("app notin (web)", ["c", "d"]),
    ],
)
def test_label_selectors(
    fake_apiserver: FakeAPIServer, fake_api_client: Any, selector: str, expected: list[str]
) -> None:
    fake_apiserver.create(svc("a", app="web", tier="front"))
    fake_apiserver.create(svc("b", app="web"))
    fake_apiserver.create(svc("c", app="db", tier="back"))
    fake_apiserver.create(svc("d"))
    items = client.CoreV1Api(fake_api_client).list_namespaced_service("ns", label_selector=selector)
    assert [s.metadata.name for s in items.items] == expected


def test_field_selectors_and_bad_selectors(
    fake_apiserver: FakeAPIServer, fake_api_client: Any
) -> None:
    for ns in ("x", "y"):
        fake_apiserver.create(svc("a", ns))
        fake_apiserver.create(svc("b", ns))
    core = client.CoreV1Api(fake_api_client)
    found = core.list_service_for_all_namespaces(field_selector="metadata.name=a").items
    assert [(s.metadata.namespace, s.metadata.name) for s in found] == [("x", "a"), ("y", "a")]
    found = core.list_service_for_all_namespaces(
        field_selector="metadata.namespace=y,metadata.name!=a"
    ).items
    assert [(s.metadata.namespace, s.metadata.name) for s in found] == [("y", "b")]
    for kwargs in ({"field_selector": "spec.foo=1"}, {"label_selector": "a in ("}):
        with pytest.raises(client.ApiException) as exc_info:
            core.list_service_for_all_namespaces(**kwargs)
        assert status_body(exc_info.value)["reason"] == "BadRequest"


# -- pagination ------------------------------------------------------------------------------


def test_pagination_is_a_consistent_snapshot(
    fake_apiserver: FakeAPIServer, fake_api_client: Any
) -> None:
    server = fake_apiserver
    originals = {f"s{i:02}": server.create(svc(f"s{i:02}")) for i in range(10)}
    core = client.CoreV1Api(fake_api_client)
    seen: list[Any] = []
    page = core.list_namespaced_service("ns", limit=3)
    list_rv = page.metadata.resource_version
    pages = 1
    while True:
        seen.extend(page.items)
        assert page.metadata.resource_version == list_rv
        if not page.metadata._continue:
            break
        # Writes between pages do not show in later pages.
        server.create(svc(f"new{pages}"))
        server.delete("Service", "ns", f"s{10 - pages:02}")
        server.patch("Service", "ns", f"s{pages + 2:02}", {"metadata": {"labels": {"x": "y"}}})
        page = core.list_namespaced_service("ns", limit=3, _continue=page.metadata._continue)
        pages += 1
    assert pages == 4
    assert [s.metadata.name for s in seen] == sorted(originals)
    assert [s.metadata.resource_version for s in seen] == [
        originals[name]["metadata"]["resourceVersion"] for name in sorted(originals)
    ]
    assert all(not s.metadata.labels for s in seen)
    fresh = core.list_namespaced_service("ns")
    assert len(fresh.items) == 10 and int(fresh.metadata.resource_version) > int(list_rv)


def test_expired_continue_token_is_410(fake_apiserver: FakeAPIServer, fake_api_client: Any) -> None:
    for i in range(4):
        fake_apiserver.create(svc(f"s{i}"))
    core = client.CoreV1Api(fake_api_client)
    first = core.list_namespaced_service("ns", limit=2)
    assert first.metadata.remaining_item_count == 2
    fake_apiserver.create(svc("later"))
    fake_apiserver.compact()
    with pytest.raises(client.ApiException) as exc_info:
        core.list_namespaced_service("ns", limit=2, _continue=first.metadata._continue)
    assert exc_info.value.status == 410
    assert status_body(exc_info.value)["reason"] == "Expired"


# -- manifests and the command line ----------------------------------------------------------

MANIFESTS = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Endpoints, metadata: {name: web, namespace: demo}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: ignored}}
"""


def test_load_manifests(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MANIFESTS)
    (tmp_path / "b.json").write_text(json.dumps(endpoint_slice("web-1", "demo")))
    (tmp_path / "notes.txt").write_text("not a manifest")
    kinds = [o["kind"] for o in load_manifests(tmp_path)]
    assert kinds == ["Service", "Endpoints", "EndpointSlice"]


def test_serve_command(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(MANIFESTS)
    kubeconfig = tmp_path / "kubeconfig"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    command = [sys.executable, "-m", "kubeproxy_config.testing", "serve"]
    args = ["--manifests", str(tmp_path), "--kubeconfig-out", str(kubeconfig), "--token", "t"]
    with subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.startswith("serving 2 objects at http://127.0.0.1:"), first
            assert proc.stdout.readline().strip() == f"kubeconfig: {kubeconfig}"
            cfg = client.Configuration()
            config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
            with client.ApiClient(cfg) as api:
                items = client.CoreV1Api(api).list_service_for_all_namespaces().items
            assert [s.metadata.name for s in items] == ["web"]
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=DEADLINE) == 0
