"""FakeAPIServer writes over HTTP as the API server does them: strategic merge patch,
defaulting and allocation, server-side apply (kubectl cases skip without kubectl)."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from kubeproxy_config.testing import FakeAPIServer

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def kubectl(server: FakeAPIServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    config = server.kubeconfig(tmp_path / "kubeconfig")
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(config), "--request-timeout=10s", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def request(
    server: FakeAPIServer, method: str, path: str, body: Any, content_type: str
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        server.url + path, data=data, method=method, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


SVC = "/api/v1/namespaces/ns/services"


def svc(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def test_create_defaults_and_allocates(fake_apiserver: FakeAPIServer) -> None:
    code, obj = request(
        fake_apiserver, "POST", SVC, svc("a", ports=[{"port": 80}]), "application/json"
    )
    assert code == 201
    assert obj["spec"]["clusterIP"] == "10.96.0.2" and obj["spec"]["clusterIPs"] == ["10.96.0.2"]
    assert obj["spec"]["ipFamilies"] == ["IPv4"] and obj["spec"]["type"] == "ClusterIP"
    assert obj["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    code, lb = request(
        fake_apiserver,
        "POST",
        SVC,
        svc("lb", type="LoadBalancer", ports=[{"port": 80}]),
        "application/json",
    )
    assert code == 201 and lb["spec"]["ports"][0]["nodePort"] == 30000
    assert lb["spec"]["allocateLoadBalancerNodePorts"] is True
    assert lb["spec"]["externalTrafficPolicy"] == "Cluster"
    code, headless = request(
        fake_apiserver, "POST", SVC, svc("h", clusterIP="None"), "application/json"
    )
    assert code == 201 and headless["spec"]["clusterIPs"] == ["None"]


def test_duplicates_rejected_and_freed_on_delete(fake_apiserver: FakeAPIServer) -> None:
    body = svc(
        "a", clusterIP="10.96.0.10", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]
    )
    assert request(fake_apiserver, "POST", SVC, body, "application/json")[0] == 201
    body["metadata"]["name"] = "b"
    code, status = request(fake_apiserver, "POST", SVC, body, "application/json")
    assert code == 422 and status["message"] == (
        'Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: '
        "failed to allocate IP 10.96.0.10: provided IP is already allocated"
    )
    body["spec"].pop("clusterIP")
    code, status = request(fake_apiserver, "POST", SVC, body, "application/json")
    assert code == 422 and status["message"] == (
        'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
        "provided port is already allocated"
    )
    fake_apiserver.delete("Service", "ns", "a")
    body["spec"]["clusterIP"] = "10.96.0.10"
    assert request(fake_apiserver, "POST", SVC, body, "application/json")[0] == 201


def test_strategic_patch_merges_ports_by_port(fake_apiserver: FakeAPIServer) -> None:
    ports = [{"name": "a", "port": 80}, {"name": "b", "port": 81}]
    request(fake_apiserver, "POST", SVC, svc("a", ports=ports), "application/json")
    patch = {
        "spec": {
            "ports": [{"port": 81, "name": "bb"}, {"port": 82}, {"port": 80, "$patch": "delete"}]
        }
    }
    code, obj = request(
        fake_apiserver, "PATCH", SVC + "/a", patch, "application/strategic-merge-patch+json"
    )
    assert code == 200
    assert [(p["port"], p.get("name")) for p in obj["spec"]["ports"]] == [(81, "bb"), (82, None)]
    assert obj["spec"]["ports"][1]["protocol"] == "TCP"


def test_server_side_apply(fake_apiserver: FakeAPIServer) -> None:
    ssa = "application/apply-patch+yaml"
    body = svc("a", ports=[{"port": 80}])
    code, status = request(fake_apiserver, "PATCH", SVC + "/a", body, ssa)
    assert code == 422 and "fieldManager: Required value" in status["message"]
    code, obj = request(fake_apiserver, "PATCH", SVC + "/a?fieldManager=t", body, ssa)
    assert code == 201 and obj["spec"]["clusterIP"] == "10.96.0.2"
    body["spec"]["ports"] = [{"port": 81}]
    code, obj = request(fake_apiserver, "PATCH", SVC + "/a?fieldManager=t", body, ssa)
    assert code == 200 and [p["port"] for p in obj["spec"]["ports"]] == [80, 81]


@needs_kubectl
def test_kubectl_patch_merges_ports(fake_apiserver: FakeAPIServer, tmp_path: Path) -> None:
    request(
        fake_apiserver,
        "POST",
        SVC,
        svc("a", ports=[{"port": 80}, {"port": 81}]),
        "application/json",
    )
    patch = '{"spec":{"ports":[{"port":81,"name":"x"}]}}'
    result = kubectl(fake_apiserver, tmp_path, "patch", "svc", "a", "-n", "ns", "-p", patch)
    assert result.returncode == 0, result.stderr
    obj = fake_apiserver.get("Service", "ns", "a")
    assert obj is not None and [p["port"] for p in obj["spec"]["ports"]] == [80, 81]


@needs_kubectl
@pytest.mark.parametrize("verb", [["create"], ["apply"], ["apply", "--server-side"]])
def test_kubectl_minimal_manifest_defaulted(
    fake_apiserver: FakeAPIServer, tmp_path: Path, verb: list[str]
) -> None:
    manifest = tmp_path / "svc.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: m\n  namespace: ns\n"
        "spec:\n  ports:\n  - port: 80\n"
    )
    result = kubectl(fake_apiserver, tmp_path, *verb, "-f", str(manifest))
    assert result.returncode == 0, result.stderr
    obj = fake_apiserver.get("Service", "ns", "m")
    assert obj is not None
    spec = obj["spec"]
    assert spec["clusterIP"] == "10.96.0.2" and spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["type"] == "ClusterIP" and spec["ports"][0]["protocol"] == "TCP"
