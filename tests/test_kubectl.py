"""FakeAPIServer against the real ``kubectl`` (skipped when kubectl is not installed)."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from kubeproxy_config.testing import FakeAPIServer

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
TIMEOUT = 30.0  # seconds for any one kubectl run


def service(name: str, namespace: str, port: int = 80) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.10",
            "ports": [{"port": port, "protocol": "TCP"}],
        },
    }


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "--request-timeout=10s", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def kubeconfig(fake_apiserver: FakeAPIServer, tmp_path: Path) -> Path:
    fake_apiserver.create(service("web", "shop"))
    fake_apiserver.create(service("db", "data", 5432))
    return fake_apiserver.kubeconfig(tmp_path / "kubeconfig")


def test_get_services_all_namespaces(kubeconfig: Path) -> None:
    lines = ok(kubectl(kubeconfig, "get", "services", "-A")).splitlines()
    assert lines[0].split()[:4] == ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP"]
    rows = [line.split()[:2] for line in lines[1:]]
    assert rows == [["data", "db"], ["shop", "web"]]
    assert "5432/TCP" in lines[1]


def test_get_one_service_as_json(fake_apiserver: FakeAPIServer, kubeconfig: Path) -> None:
    obj = json.loads(ok(kubectl(kubeconfig, "get", "svc", "-n", "shop", "web", "-o", "json")))
    assert obj == fake_apiserver.get("Service", "shop", "web")
    missing = kubectl(kubeconfig, "get", "svc", "-n", "shop", "nope")
    assert missing.returncode != 0
    assert 'services "nope" not found' in missing.stderr


def test_create_from_manifest(
    fake_apiserver: FakeAPIServer, kubeconfig: Path, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\n"
        "spec:\n  ports:\n  - port: 8080\n"
    )
    assert "service/api created" in ok(kubectl(kubeconfig, "create", "-f", str(manifest)))
    created = fake_apiserver.get("Service", "shop", "api")
    assert created is not None
    assert created["spec"] == {  # defaulted and allocated as a real API server does
        "ports": [{"port": 8080, "protocol": "TCP", "targetPort": 8080}],
        "type": "ClusterIP",
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "clusterIP": "10.96.0.2",
        "clusterIPs": ["10.96.0.2"],
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
    }
    again = kubectl(kubeconfig, "create", "-f", str(manifest))
    assert again.returncode != 0 and "AlreadyExists" in again.stderr


def test_delete_service(fake_apiserver: FakeAPIServer, kubeconfig: Path) -> None:
    assert 'service "web" deleted' in ok(kubectl(kubeconfig, "delete", "svc", "web", "-n", "shop"))
    assert fake_apiserver.get("Service", "shop", "web") is None


def test_get_endpointslices(fake_apiserver: FakeAPIServer, kubeconfig: Path) -> None:
    fake_apiserver.create(
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "web-abc", "namespace": "shop"},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.1.2.3"]}],
            "ports": [{"port": 8080}],
        }
    )
    lines = ok(kubectl(kubeconfig, "get", "endpointslices", "-A")).splitlines()
    assert lines[1].split()[:3] == ["shop", "web-abc", "IPv4"]
    assert "10.1.2.3" in lines[1]


def _read_json_objects(stream: Any, out: queue.Queue[dict[str, Any]]) -> None:
    """Parse concatenated (pretty-printed) JSON documents from a text stream."""
    decoder = json.JSONDecoder()
    buffer = ""
    for line in stream:
        buffer += line
        while buffer.strip():
            try:
                obj, end = decoder.raw_decode(buffer.lstrip())
            except ValueError:
                break  # incomplete: read more
            out.put(obj)
            buffer = buffer.lstrip()[end:]


def test_watch_services(fake_apiserver: FakeAPIServer, kubeconfig: Path) -> None:
    assert KUBECTL is not None
    args = [KUBECTL, "--kubeconfig", str(kubeconfig), "--request-timeout=0"]
    proc = subprocess.Popen(
        [*args, "get", "services", "-A", "--watch", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    objects: queue.Queue[dict[str, Any]] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=_read_json_objects, args=(proc.stdout, objects), daemon=True).start()
    try:
        names = {objects.get(timeout=TIMEOUT)["metadata"]["name"] for _ in range(2)}
        assert names == {"web", "db"}  # the initial list
        assert fake_apiserver.wait_for_watches(1, TIMEOUT)
        fake_apiserver.create(service("new", "shop"))
        event = objects.get(timeout=TIMEOUT)
        assert (event["kind"], event["metadata"]["name"]) == ("Service", "new")
        assert event["metadata"]["resourceVersion"] == str(fake_apiserver.resource_version)
    finally:
        proc.terminate()
        proc.communicate(timeout=TIMEOUT)


def test_tls_and_token(tmp_path: Path) -> None:
    with FakeAPIServer(tls=True, token="s3cret") as server:
        server.create(service("web", "shop"))
        good = server.kubeconfig(tmp_path / "good")
        assert "web" in ok(kubectl(good, "get", "svc", "-n", "shop"))
        wrong = tmp_path / "wrong"
        wrong.write_text(good.read_text().replace("s3cret", "not-the-token"))
        result = kubectl(wrong, "get", "svc", "-n", "shop")
        assert result.returncode != 0
        assert "Unauthorized" in result.stderr or "logged in" in result.stderr, result.stderr
