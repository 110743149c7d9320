"""Smoke test of an installed wheel: run with the interpreter of the virtualenv it went into.

Checks that the package comes from that environment (not a source tree), that the CLI prints
the example cluster, and that a KubernetesSource syncs from a FakeAPIServer.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import kubeproxy_config
from kubeproxy_config import KubernetesSource, ServiceConfig
from kubeproxy_config.testing import FakeAPIServer

site = Path(sysconfig.get_paths()["platlib"]).resolve()
where = Path(kubeproxy_config.__file__).resolve()
assert site in where.parents, f"imported from {where}, not from {site}"
print(
    f"kubeproxy_config {kubeproxy_config.__version__} on Python {sys.version.split()[0]}: {where}"
)

cli = Path(sys.executable).with_name("kubeproxy-config")
out = subprocess.run(
    [str(cli), "watch", "--example", "--once"],
    capture_output=True,
    text=True,
    timeout=60,
    check=True,
).stdout
assert out.split()[:2] == ["SERVICE", "TYPE"] and "shop/storefront" in out, out
print(f"CLI: {len(out.splitlines())} lines of the example cluster")

service = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"clusterIP": "10.0.0.10", "ports": [{"name": "http", "port": 80}]},
}
with FakeAPIServer() as server, ServiceConfig() as services:
    server.create(service)
    with KubernetesSource(server.api_client(), services=services) as source:
        assert source.wait_synced(timeout=30), "KubernetesSource did not sync"
        assert services.wait_synced(timeout=30), "the ServiceConfig did not sync"
        keys = [s.key for s in services.state()]
assert keys == ["shop/web"], keys
print(f"KubernetesSource synced from FakeAPIServer: {keys}")
