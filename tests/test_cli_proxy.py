"""``kubeproxy-config watch`` showing the proxy view (SPEC §6, §9): ``--node``, ``--zone``,
``--ip-family``, endpoint states marked, cluster and local endpoints, ``-o json``."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from _pty import in_terminal, read_until
from kubeproxy_config import (
    EndpointsConfig,
    EndpointSliceConfig,
    ProxyConfig,
    ServiceConfig,
)
from kubeproxy_config._proxy_render import (
    COLUMNS,
    NODE_COLUMNS,
    ProxyView,
    endpoint_list,
    proxy_rich_table,
)
from kubeproxy_config.cli import main
from kubeproxy_config.sources import FileSource

WAIT = 15.0  # a bound for output to appear; never reached when things work

# front: NodePort, externalTrafficPolicy Local, dual-stack, endpoints in every state.
FRONT = """\
apiVersion: v1
kind: Service
metadata: {name: front, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.0.1
  clusterIPs: [10.96.0.1, "fd00:96::1"]
  ipFamilies: [IPv4, IPv6]
  externalTrafficPolicy: Local
  healthCheckNodePort: 32000
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: front-v6, namespace: shop, labels: {kubernetes.io/service-name: front}}
addressType: IPv6
ports: [{name: http, port: 8080}]
endpoints:
  - {addresses: ["fd00:1::1"], nodeName: node-a, zone: zone-a, conditions: {ready: true}}
  - {addresses: ["fd00:1::2"], nodeName: node-b, zone: zone-b, conditions: {ready: false}}
"""

FRONT_V4 = """\
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: front-v4, namespace: shop, labels: {kubernetes.io/service-name: front}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
  - {addresses: [10.1.0.1], nodeName: node-a, zone: zone-a, conditions: {ready: %s}}
  - {addresses: [10.1.0.2], nodeName: node-b, zone: zone-b, conditions: {ready: true}}
  - addresses: [10.1.0.3]
    nodeName: node-c
    zone: zone-c
    conditions: {ready: false, serving: true, terminating: true}
  - addresses: [10.1.0.4]
    nodeName: node-a
    zone: zone-a
    conditions: {ready: false, serving: false, terminating: false}
"""

# api: internalTrafficPolicy Local. hinted: zone hints. legacy: only an Endpoints object.
# alias and db: ExternalName and headless, which a proxy does not program.
OTHERS = """\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  clusterIP: 10.96.0.2
  internalTrafficPolicy: Local
  ports: [{name: grpc, port: 9090}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-1, namespace: shop, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
ports: [{name: grpc, port: 9090}]
endpoints:
  - {addresses: [10.2.0.1], nodeName: node-b, zone: zone-b, conditions: {ready: true}}
---
apiVersion: v1
kind: Service
metadata: {name: hinted, namespace: shop}
spec:
  clusterIP: 10.96.0.3
  trafficDistribution: PreferClose
  ports: [{port: 53, protocol: UDP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: hinted-1, namespace: shop, labels: {kubernetes.io/service-name: hinted}}
addressType: IPv4
ports: [{port: 5353, protocol: UDP}]
endpoints:
  - addresses: [10.3.0.1]
    nodeName: node-a
    zone: zone-a
    conditions: {ready: true}
    hints: {forZones: [{name: zone-a}]}
  - addresses: [10.3.0.2]
    nodeName: node-b
    zone: zone-b
    conditions: {ready: true}
    hints: {forZones: [{name: zone-b}]}
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: shop}
spec:
  clusterIP: 10.96.0.4
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: legacy, namespace: shop}
subsets:
  - addresses: [{ip: 10.4.0.1, nodeName: node-a}]
    notReadyAddresses: [{ip: 10.4.0.2, nodeName: node-b}]
    ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: alias, namespace: shop}
spec: {type: ExternalName, externalName: example.com}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: None
  ports: [{port: 5432}]
"""

FRONT_ENDPOINTS = (
    "10.1.0.1:8080, 10.1.0.2:8080, 10.1.0.3:8080 (terminating), 10.1.0.4:8080 (not ready)"
)


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    (tmp_path / "front.yaml").write_text(FRONT)
    (tmp_path / "front-v4.yaml").write_text(FRONT_V4 % "true")
    (tmp_path / "others.yaml").write_text(OTHERS)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["watch", "--once", *args]) == 0, capsys.readouterr().err
    out, err = capsys.readouterr()
    assert err == ""
    return out


def table(stdout: str, columns: tuple[str, ...]) -> dict[str, list[str]]:
    """Plain table output → "service port" → cells (split on runs of 2+ spaces)."""
    header, *lines = stdout.strip().splitlines()
    assert header.split() == list(columns)
    rows = {}
    for line in lines:
        cells = re.split(r" {2,}", line.strip())
        assert len(cells) == len(columns), line
        rows[f"{cells[0]} {cells[1]}"] = cells
    return rows


def test_every_endpoint_is_shown_with_its_state(
    manifests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = table(run(capsys, "--manifests", str(manifests), "--ip-family", "IPv4"), COLUMNS)
    assert rows == {
        "shop/api grpc 9090/TCP": ["shop/api", "grpc 9090/TCP", "10.96.0.2", "10.2.0.1:9090"],
        "shop/front http 80:30080/TCP": [
            "shop/front", "http 80:30080/TCP", "10.96.0.1", FRONT_ENDPOINTS,
        ],
        "shop/hinted 53/UDP": [
            "shop/hinted", "53/UDP", "10.96.0.3", "10.3.0.1:5353, 10.3.0.2:5353",
        ],
        # Only an Endpoints object: read from the legacy view, notReadyAddresses marked.
        "shop/legacy http 80/TCP": [
            "shop/legacy", "http 80/TCP", "10.96.0.4", "10.4.0.1:8080, 10.4.0.2:8080 (not ready)",
        ],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        pytest.param(
            ["--node", "node-a", "--zone", "zone-a"],
            {
                "shop/api": ["internal=Local", "-", "none"],
                "shop/front": ["external=Local", "10.1.0.1:8080, 10.1.0.2:8080", "10.1.0.1:8080"],
                "shop/hinted": ["PreferSameZone", "10.3.0.1:5353", "-"],
                "shop/legacy": ["-", "10.4.0.1:8080", "-"],
            },
            id="node-a",
        ),
        pytest.param(  # no ready endpoint here: the terminating one serves local traffic
            ["--node", "node-c", "--zone", "zone-b"],
            {
                "shop/api": ["internal=Local", "-", "none"],
                "shop/front": [
                    "external=Local", "10.1.0.1:8080, 10.1.0.2:8080", "10.1.0.3:8080 (terminating)",
                ],
                "shop/hinted": ["PreferSameZone", "10.3.0.2:5353", "-"],
                "shop/legacy": ["-", "10.4.0.1:8080", "-"],
            },
            id="node-c",
        ),
        pytest.param(  # no zone: no topology, hints are not used
            ["--node", "node-b"],
            {
                "shop/api": ["internal=Local", "-", "10.2.0.1:9090"],
                "shop/front": ["external=Local", "10.1.0.1:8080, 10.1.0.2:8080", "10.1.0.2:8080"],
                "shop/hinted": ["-", "10.3.0.1:5353, 10.3.0.2:5353", "-"],
                "shop/legacy": ["-", "10.4.0.1:8080", "-"],
            },
            id="node-b",
        ),
    ],
)  # fmt: skip
def test_cluster_and_local_endpoints_of_a_node(
    manifests: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    expected: dict[str, list[str]],
) -> None:
    rows = table(run(capsys, "--manifests", str(manifests), *flags), NODE_COLUMNS)
    got = {cells[0]: cells[4:] for cells in rows.values()}
    assert got == expected
    assert rows["shop/front http 80:30080/TCP"][3] == FRONT_ENDPOINTS


def test_ip_family_ipv6(manifests: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "--manifests", str(manifests), "--ip-family", "ipv6", "--node", "node-b")
    assert table(out, NODE_COLUMNS) == {
        "shop/front http 80:30080/TCP": [
            "shop/front", "http 80:30080/TCP", "fd00:96::1",
            "[fd00:1::1]:8080, [fd00:1::2]:8080 (not ready)",
            "external=Local", "[fd00:1::1]:8080", "none",
        ]
    }  # fmt: skip
    doc = json.loads(
        run(capsys, "--manifests", str(manifests), "--ip-family", "IPv6", "-o", "json")
    )
    assert doc["proxy"]["ipFamily"] == "IPv6"
    assert [(p["key"], p["ip_family"]) for p in doc["proxy"]["servicePorts"]] == [
        ("shop/front:http/TCP", "IPv6")
    ]


def test_bad_ip_family_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", "--once", "--ip-family", "IPv5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid IP family 'IPv5'" in err


def expected_ports(path: Path, **options: Any) -> list[dict[str, Any]]:
    """The proxy view of ``path`` read in-process over the slices, as JSON would carry it."""
    with ServiceConfig() as services, EndpointsConfig() as eps, EndpointSliceConfig() as slices:
        with ProxyConfig(services, slices, **options) as proxy:
            with FileSource(path, services=services, endpoints=eps, endpoint_slices=slices):
                assert proxy.wait_synced(WAIT) and proxy.flush(WAIT)
                return [json.loads(json.dumps(info.to_dict())) for info in proxy.state()]


def test_json_carries_the_proxy_view(manifests: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "--manifests", str(manifests), "-o", "json", "--node", "node-c", "-n", "shop")
    doc = json.loads(out)
    # The existing document is unchanged: every Service, ExternalName and headless ones too.
    assert doc["synced"] is True and doc["namespace"] == "shop"
    assert [s["name"] for s in doc["services"]] == [
        "alias", "api", "db", "front", "hinted", "legacy",
    ]  # fmt: skip
    proxy = doc["proxy"]
    assert (proxy["ipFamily"], proxy["node"], proxy["zone"]) == ("IPv4", "node-c", None)
    assert set(proxy["version"]) == {"endpointSlices", "endpoints"}
    ports = {p["key"]: p for p in proxy["servicePorts"]}
    assert list(ports) == [
        "shop/api:grpc/TCP", "shop/front:http/TCP", "shop/hinted:/UDP", "shop/legacy:http/TCP",
    ]  # fmt: skip
    assert {k: p.pop("endpoints_from") for k, p in ports.items()} == {
        "shop/api:grpc/TCP": "EndpointSlices",
        "shop/front:http/TCP": "EndpointSlices",
        "shop/hinted:/UDP": "EndpointSlices",
        "shop/legacy:http/TCP": "Endpoints",
    }
    sliced = expected_ports(manifests, node_name="node-c")
    assert [p for p in sliced if p["name"] != "legacy"] == [
        p for p in ports.values() if p["name"] != "legacy"
    ]
    front = ports["shop/front:http/TCP"]
    states = [
        (e["address"], e["ready"], e["serving"], e["terminating"]) for e in front["endpoints"]
    ]
    assert states == [
        ("10.1.0.1:8080", True, True, False),
        ("10.1.0.2:8080", True, True, False),
        ("10.1.0.3:8080", False, True, True),
        ("10.1.0.4:8080", False, False, False),
    ]  # fmt: skip
    assert [e["address"] for e in front["local_endpoints"]] == ["10.1.0.3:8080"]
    assert ports["shop/api:grpc/TCP"]["cluster_endpoints"] is None
    legacy = ports["shop/legacy:http/TCP"]
    assert [(e["address"], e["ready"], e["is_local"]) for e in legacy["endpoints"]] == [
        ("10.4.0.1:8080", True, False),
        ("10.4.0.2:8080", False, False),
    ]


def test_the_example_cluster_for_a_node(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "--example", "--node", "node-a", "--zone", "zone-a", "-n", "shop")
    rows = table(out, NODE_COLUMNS)
    storefront = rows["shop/storefront http 80:31080/TCP"]
    assert storefront[3] == (
        "10.244.1.20:8080, 10.244.2.21:8080 (not ready), 10.244.3.22:8080 (terminating)"
    )
    assert storefront[5:] == ["10.244.1.20:8080", "10.244.1.20:8080"]
    # shop/web has only Endpoints in the examples; its not-ready address is marked.
    web = rows["shop/web http 80/TCP"]
    assert web[3:] == [
        "10.244.1.5:8080, 10.244.2.6:8080, 10.244.3.7:8080 (not ready)",
        "-", "10.244.1.5:8080, 10.244.2.6:8080", "-",
    ]  # fmt: skip
    assert not any(key.startswith(("shop/payments ", "shop/cart-db ")) for key in rows)


def test_no_proxy_flag_keeps_the_services_table(capsys: pytest.CaptureFixture[str]) -> None:
    header = run(capsys, "--example", "-n", "shop").splitlines()[0]
    assert header.split() == [
        "SERVICE", "TYPE", "CLUSTER-IP", "EXTERNAL", "PORT", "READY", "ENDPOINTS",
    ]  # fmt: skip


def test_endpoint_lists() -> None:
    assert endpoint_list(None) == "-"
    assert endpoint_list(()) == "none"


def read_view(path: Path, node: str) -> ProxyView:
    with ServiceConfig() as services, EndpointsConfig() as eps, EndpointSliceConfig() as slices:
        by_slices = ProxyConfig(services, slices, node_name=node)
        by_endpoints = ProxyConfig(services, eps, node_name=node)
        with (
            by_slices,
            by_endpoints,
            FileSource(path, services=services, endpoints=eps, endpoint_slices=slices),
        ):
            assert by_slices.wait_synced(WAIT) and by_endpoints.wait_synced(WAIT)
            return ProxyView.read(
                by_slices, by_endpoints, None, ip_family="IPv4", node=node, zone=None
            )


def rendered(view: ProxyView, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(proxy_rich_table(view, width))
    return console.export_text()


def test_rich_table_drops_columns_when_narrow(manifests: Path) -> None:
    view = read_view(manifests, "node-c")
    wide = rendered(view, 200)
    assert wide.splitlines()[0].split() == list(NODE_COLUMNS)
    # One endpoint a line, marked.
    assert "10.1.0.3:8080 (terminating)" in wide and "10.1.0.4:8080 (not ready)" in wide
    header = rendered(view, 100).splitlines()[0].split()
    assert "POLICY" not in header and header[-2:] == ["CLUSTER", "LOCAL"]


# ---- following changes -----------------------------------------------------------------------


def interrupt(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGINT)
    return proc.wait(timeout=WAIT)


def test_json_stream_follows_a_slice_change(manifests: Path) -> None:
    command = ["watch", "-o", "json", "--node", "node-a", "--manifests", str(manifests)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubeproxy_config", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    fd, data = proc.stdout.fileno(), bytearray()

    def front_local(doc: dict[str, Any]) -> list[str]:
        (front,) = (p for p in doc["proxy"]["servicePorts"] if p["name"] == "front")
        return [e["address"] for e in front["local_endpoints"]]

    try:
        end = read_until(fd, data, b"\n")
        assert front_local(json.loads(data[:end])) == ["10.1.0.1:8080"]
        (manifests / "front-v4.yaml").write_text(FRONT_V4 % "false")
        while True:  # documents follow; the last one has the local endpoint not ready
            newline = read_until(fd, data, b"\n", end)
            doc = json.loads(data[end:newline])
            end = newline
            if front_local(doc) == []:
                break
        assert interrupt(proc) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_live_view_in_a_terminal(manifests: Path) -> None:
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "40"}
    command = ["watch", "--node", "node-c", "--manifests", str(manifests)]
    with in_terminal(command, 200, env) as (proc, parent, data):
        end = read_until(parent, data, b"proxy view: IPv4, node node-c")
        for needle in (b"CLUSTER", b"LOCAL", b"(terminating)", b"(not ready)", b"shop/hinted"):
            read_until(parent, data, needle)
        (manifests / "others.yaml").write_text(OTHERS.replace("name: hinted", "name: renamed"))
        read_until(parent, data, b"shop/renamed", end)
        assert interrupt(proc) == 130
    assert b"Traceback" not in data
