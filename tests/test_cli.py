"""The command line: ``kubeproxy-config watch`` / ``python -m kubeproxy_config`` (SPEC §6)."""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from _helpers import cli
from _pty import open_terminal, spawn_in_terminal
from kubeproxy_config.cli import main

RUN_TIMEOUT = 60.0  # a bound for a whole command; never reached when things work
WAIT = 15.0  # a bound for output to appear

EXAMPLES = importlib.resources.files("kubeproxy_config") / "examples"


def assert_one_error_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("kubeproxy-config: error: "), line
    for needle in needles:
        assert needle in line
    return line


def service_yaml(name: str, port: int, namespace: str = "shop") -> str:
    return textwrap.dedent(
        f"""\
        apiVersion: v1
        kind: Service
        metadata: {{name: {name}, namespace: {namespace}}}
        spec:
          clusterIP: 10.96.1.{port % 250}
          ports: [{{name: http, port: {port}, targetPort: 8080}}]
        ---
        apiVersion: v1
        kind: Endpoints
        metadata: {{name: {name}, namespace: {namespace}}}
        subsets:
          - addresses: [{{ip: 10.244.0.{port % 250}}}]
            notReadyAddresses: [{{ip: 10.244.9.{port % 250}}}]
            ports: [{{name: http, port: 8080}}]
        """
    )


def table_rows(stdout: str) -> dict[str, list[list[str]]]:
    """Plain table output → service key → rows (cells split on runs of 2+ spaces)."""
    lines = stdout.strip().splitlines()
    assert lines[0].split() == [
        "SERVICE",
        "TYPE",
        "CLUSTER-IP",
        "EXTERNAL",
        "PORT",
        "READY",
        "ENDPOINTS",
    ]
    rows: dict[str, list[list[str]]] = {}
    for line in lines[1:]:
        cells = re.split(r" {2,}", line.strip())
        rows.setdefault(cells[0], []).append(cells)
    return rows


def example_services() -> dict[str, dict[str, Any]]:
    """The Services of the shipped examples, read without the package's parser."""
    found: dict[str, dict[str, Any]] = {}
    with importlib.resources.as_file(EXAMPLES) as root:
        for path in sorted(root.iterdir()):
            if path.suffix not in (".yaml", ".json"):
                continue
            for doc in yaml.safe_load_all(path.read_text()):
                for obj in doc.get("items", [doc]):
                    if obj.get("kind") == "Service":
                        meta = obj["metadata"]
                        found[f"{meta['namespace']}/{meta['name']}"] = obj
    return found


# ---- the shipped examples --------------------------------------------------------------------


def test_once_table_of_the_examples() -> None:
    result = cli("watch", "--example", "--once")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # asked for: no notice
    rows = table_rows(result.stdout)
    assert set(rows) == set(example_services())
    # Every endpoint, marked unless ready; READY is ready / all.
    assert rows["shop/web"] == [
        ["shop/web", "ClusterIP", "10.96.20.10", "-", "http 80/TCP", "2/3",
         "10.244.1.5:8080, 10.244.2.6:8080, 10.244.3.7:8080 (not ready)"],
        ["shop/web", "ClusterIP", "10.96.20.10", "-", "https 443/TCP", "2/3",
         "10.244.1.5:8443, 10.244.2.6:8443, 10.244.3.7:8443 (not ready)"],
    ]  # fmt: skip
    (cart,) = rows["shop/cart"]
    assert cart[1:5] == ["NodePort", "10.96.20.20", "-", "http 8080:30080/TCP"]
    # Endpoints only as slices (EndpointSliceConfig.endpoints_for): terminating ones marked so.
    storefront = rows["shop/storefront"]
    assert [r[4] for r in storefront] == ["http 80:31080/TCP", "https 443:31443/TCP"]
    assert storefront[0][2:4] == ["10.96.20.30, fd00:10:96::1e", "203.0.113.10, 2001:db8::10"]
    assert storefront[0][5:] == [
        "2/5",
        "10.244.1.20:8080, 10.244.2.21:8080 (not ready), 10.244.3.22:8080 (terminating), "
        "[fd00:244:1::20]:8080, [fd00:244:2::21]:8080 (not ready)",
    ]
    (payments,) = rows["shop/payments"]
    assert payments[1:4] == ["ExternalName", "-", "payments.example.com"]
    (db,) = rows["shop/cart-db"]
    assert db[2] == "None"


def test_once_json_of_the_examples() -> None:
    result = cli("watch", "--example", "--once", "--output", "json")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    doc = json.loads(line)
    assert line == json.dumps(doc, sort_keys=True)
    assert doc["synced"] is True
    assert doc["sources"] == ["example"]
    assert set(doc["version"]) == {"services", "endpoints", "endpointSlices"}

    expected = example_services()
    got = {f"{s['namespace']}/{s['name']}": s for s in doc["services"]}
    assert list(got) == sorted(expected, key=lambda k: tuple(k.split("/")))
    for key, manifest in expected.items():
        spec = manifest["spec"]
        assert got[key]["type"] == spec.get("type", "ClusterIP")
        assert got[key]["clusterIP"] == spec.get("clusterIP")
        assert [(p["name"], p["port"], p["targetPort"]) for p in got[key]["ports"]] == [
            (p["name"], p["port"], p["targetPort"]) for p in spec.get("ports", [])
        ]
    web = got["shop/web"]
    assert web["endpointsFrom"] == "Endpoints"
    assert web["endpoints"] == {
        "ready": ["10.244.1.5", "10.244.2.6"],
        "notReady": ["10.244.3.7"],
        "terminating": [],
    }
    assert web["ports"][0]["endpoints"]["notReady"] == ["10.244.3.7:8080"]
    storefront = got["shop/storefront"]
    assert storefront["endpointsFrom"] == "EndpointSlices"
    assert storefront["endpoints"] == {
        "ready": ["10.244.1.20", "fd00:244:1::20"],
        "notReady": ["10.244.2.21", "fd00:244:2::21"],
        "terminating": ["10.244.3.22"],
    }
    assert storefront["ports"][1]["endpoints"] == {
        "ready": ["10.244.1.20:8443", "[fd00:244:1::20]:8443"],
        "notReady": ["10.244.2.21:8443", "[fd00:244:2::21]:8443"],
        "terminating": ["10.244.3.22:8443"],
    }
    assert storefront["externalTrafficPolicy"] == "Local"
    assert storefront["healthCheckNodePort"] == 32100
    assert storefront["clusterIPs"] == ["10.96.20.30", "fd00:10:96::1e"]
    assert got["shop/payments"]["endpointsFrom"] is None


def console_script() -> str | None:
    """The ``kubeproxy-config`` script of the interpreter under test (else the one on PATH)."""
    beside = Path(sys.executable).with_name("kubeproxy-config")
    return str(beside) if beside.is_file() else shutil.which("kubeproxy-config")


def test_console_script() -> None:
    script = console_script()
    if script is None:
        pytest.skip("the kubeproxy-config script is not on PATH")
    result = subprocess.run(
        [script, "watch", "--example", "--once", "--namespace", "kube-system"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert set(table_rows(result.stdout)) == {"kube-system/kube-dns"}


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--manifests DIR" in out and "examples:" in out and "--output json" in out


def test_usage_error_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", "--output", "yaml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kubeproxy-config: error: ")
    assert main(["watch", "--in-cluster", "--context", "x"]) == 2
    assert "--in-cluster" in capsys.readouterr().err


# ---- manifests -------------------------------------------------------------------------------


def test_manifests_dirs_and_namespace(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "a.yaml").write_text(
        service_yaml("web", 80) + "---\n" + service_yaml("db", 5432, "data")
    )
    (second / "b.yml").write_text(service_yaml("cart", 81))

    result = cli("watch", "--once", "--manifests", str(first), "--manifests", str(second))
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert set(rows) == {"shop/web", "shop/cart", "data/db"}
    assert rows["shop/web"][0][4:] == [
        "http 80/TCP",
        "1/2",
        "10.244.0.80:8080, 10.244.9.80:8080 (not ready)",
    ]

    result = cli(
        "watch",
        "--once",
        "-o",
        "json",
        "--manifests",
        str(first),
        "--manifests",
        str(second),
        "--namespace",
        "shop",
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["sources"] == ["file", "file-2"]
    assert doc["namespace"] == "shop"
    assert [s["name"] for s in doc["services"]] == ["cart", "web"]


def test_missing_manifests_directory(tmp_path: Path) -> None:
    result = cli("watch", "--once", "--manifests", str(tmp_path / "nope"))
    assert result.returncode == 1
    assert_one_error_line(result, str(tmp_path / "nope"), "No such file")


@pytest.mark.parametrize("once", [True, False])
def test_invalid_manifest_names_the_file(tmp_path: Path, once: bool) -> None:
    (tmp_path / "good.yaml").write_text(service_yaml("web", 80))
    bad = tmp_path / "bad.yaml"
    bad.write_text(service_yaml("cart", 81).replace("port: 81", "port: [81]"))
    result = cli("watch", *(["--once"] if once else []), "--manifests", str(tmp_path))
    assert result.returncode == 1
    assert_one_error_line(result, f"invalid manifest {bad}: line 1: Service: ", "spec.ports[0]")
    assert result.stdout == ""


# ---- the API source --------------------------------------------------------------------------


def test_missing_kubeconfig(tmp_path: Path) -> None:
    result = cli("watch", "--once", "--kubeconfig", str(tmp_path / "kubeconfig"))
    assert result.returncode == 1
    assert_one_error_line(result, "kubeconfig", str(tmp_path / "kubeconfig"), "not found")


def write_kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_bad_kubeconfig_and_context(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_text("clusters: [unclosed\n")
    assert_one_error_line(cli("watch", "--once", "--kubeconfig", str(garbage)), "bad kubeconfig")

    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:1")
    result = cli("watch", "--once", "--kubeconfig", str(kubeconfig), "--context", "nope")
    assert result.returncode == 1
    assert_one_error_line(result, "bad kubeconfig", "nope")


def test_unreachable_api_server(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
    result = cli("watch", "--once", "--kubeconfig", str(kubeconfig))
    assert result.returncode == 1
    assert_one_error_line(result, "cannot reach the API server", f"127.0.0.1:{port}")


def test_api_source_once(tmp_path: Path) -> None:
    pytest.importorskip("kubeproxy_config.sources.kubernetes")
    from kubeproxy_config.testing import FakeAPIServer, load_manifests

    with importlib.resources.as_file(EXAMPLES) as examples, FakeAPIServer() as server:
        server.load(load_manifests(examples))
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig")
        result = cli("watch", "--once", "-o", "json", "--kubeconfig", str(kubeconfig), "-n", "shop")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["sources"] == ["api"]
    from_files = json.loads(cli("watch", "--example", "--once", "-o", "json", "-n", "shop").stdout)
    assert doc["services"] == from_files["services"]


# ---- following changes -----------------------------------------------------------------------


class Reader:
    """Accumulates a child's output from a file descriptor, with bounded waits."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = b""

    def until(self, pattern: bytes, start: int = 0, timeout: float = WAIT) -> int:
        """Read until ``pattern`` occurs after offset ``start``; returns the end offset."""
        deadline = time.monotonic() + timeout
        while (found := self.data.find(pattern, start)) < 0:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(f"{pattern!r} not seen in output: {self.data[-2000:]!r}")
        return found + len(pattern)

    def drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0 and self._read(left):
            pass

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the terminal's other side closed
            return False
        self.data += chunk
        return bool(chunk)


@pytest.fixture
def watched_dir(tmp_path: Path) -> Path:
    (tmp_path / "web.yaml").write_text(service_yaml("web", 80))
    return tmp_path


def stop(proc: subprocess.Popen[bytes], reader: Reader) -> int:
    proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + WAIT
    while proc.poll() is None and time.monotonic() < deadline:
        reader.drain(0.1)  # keep the pipe moving so the child never blocks on a write
    return proc.wait(timeout=1)


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    parent, child = open_terminal(200)
    try:
        yield parent, child
    finally:
        os.close(parent)


def test_live_view_in_a_terminal(watched_dir: Path, terminal: tuple[int, int]) -> None:
    parent, child = terminal
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "40"}
    proc = spawn_in_terminal(["watch", "--manifests", str(watched_dir)], child, env)
    reader = Reader(parent)
    try:
        end = reader.until(b"http 80/TCP")
        end = reader.until(b"synced", end)
        assert b"shop/web" in reader.data

        (watched_dir / "web.yaml").write_text(service_yaml("web", 8081))
        (watched_dir / "cart.yaml").write_text(service_yaml("cart", 81))
        reader.until(b"http 8081/TCP", end)
        reader.until(b"shop/cart", end)
        assert stop(proc, reader) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b"Traceback" not in reader.data


def test_json_stream_follows_changes(watched_dir: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubeproxy_config",
            "watch",
            "-o",
            "json",
            "--manifests",
            str(watched_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    reader = Reader(proc.stdout.fileno())
    try:
        end = reader.until(b"\n")
        first = json.loads(reader.data[:end])
        assert [s["name"] for s in first["services"]] == ["web"]

        (watched_dir / "web.yaml").write_text(service_yaml("web", 8081))
        while True:
            newline = reader.until(b"\n", end)
            doc = json.loads(reader.data[end:newline])
            end = newline
            if doc["services"][0]["ports"][0]["port"] == 8081:
                break
        assert doc["version"]["services"] > first["version"]["services"]

        # A broken file later on is a warning (one line on stderr), not the end.
        (watched_dir / "web.yaml").write_text("kind: Service\nmetadata: [\n")
        errors = Reader(proc.stderr.fileno())
        errors.until(b"web.yaml")
        assert proc.poll() is None
        assert stop(proc, reader) == 130
        errors.drain(0.2)
        assert errors.data.decode().startswith("kubeproxy-config: warning: invalid manifest ")
        assert b"Traceback" not in errors.data
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
