"""``kubeproxy-config watch`` as a kubectl user expects it (SPEC §6): the default source is the
kubeconfig's server, the example cluster only with a notice (or ``--example``), the context's
namespace, ``-A``, ``-l``, ``-v``, and ``--timeout`` bounding an unresponsive server. Every
command runs in a subprocess with its own HOME and KUBECONFIG, against a ``FakeAPIServer``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from _pty import drain, in_terminal, read_until
from kubeproxy_config.cli import main
from kubeproxy_config.sources import _kubeconfig
from kubeproxy_config.testing import FakeAPIServer

RUN_TIMEOUT = 60.0  # a bound for a whole command; never reached when things work
# How far past its --timeout an unresponsive command may end: interpreter start-up and cleanup
# on a loaded machine. The fault this guards against took 8x the timeout.
MARGIN = 12.0
WAIT = 15.0  # a bound for output to appear

NOTICE = (
    "kubeproxy-config: notice: no kubeconfig ($KUBECONFIG, ~/.kube/config) and not in a pod: "
    "showing the example cluster shipped with the package (--example)"
)


def service(namespace: str, name: str, ip: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"clusterIP": ip, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }


OBJECTS: list[dict[str, Any]] = [
    service("shop", "web", "10.96.0.10", {"app": "web"}),
    {  # legacy Endpoints, no labels: -l must still show them with their service
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "web", "namespace": "shop"},
        "subsets": [
            {
                "addresses": [{"ip": "10.1.0.1"}],
                "notReadyAddresses": [{"ip": "10.1.0.2"}],
                "ports": [{"name": "http", "port": 8080}],
            }
        ],
    },
    service("shop", "cart", "10.96.0.20", {"app": "cart"}),
    {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "cart-1",
            "namespace": "shop",
            "labels": {"kubernetes.io/service-name": "cart"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080}],
        "endpoints": [
            {"addresses": ["10.2.0.1"], "conditions": {"ready": True}},
            {"addresses": ["10.2.0.2"], "conditions": {"ready": False}},
            {
                "addresses": ["10.2.0.3"],
                "conditions": {"ready": False, "serving": True, "terminating": True},
            },
        ],
    },
    service("ops", "metrics", "10.96.0.30", {"app": "web", "tier": "ops"}),
]
ALL = ["ops/metrics", "shop/cart", "shop/web"]


@pytest.fixture
def server() -> Iterator[FakeAPIServer]:
    # A token, as a real kubeconfig's user has: the API source must send it.
    with FakeAPIServer(bookmark_interval=0.2, token="user-token", objects=OBJECTS) as running:
        yield running


def environment(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment with HOME replaced and no kubeconfig or pod variables."""
    dropped = ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["HOME"] = str(home)
    env.update(extra)
    return env


def cli(
    env: dict[str, str], *args: str, timeout: float = RUN_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubeproxy_config", "watch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def said(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Its stderr lines but the sources' warnings (a watch retried on a loaded machine, say)."""
    return [
        line
        for line in result.stderr.splitlines()
        if not line.startswith("kubeproxy-config: warning: ")
    ]


def document(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def keys(doc: dict[str, Any]) -> list[str]:
    return [f"{s['namespace']}/{s['name']}" for s in doc["services"]]


def one_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    (line,) = said(result)  # the sources' warnings before it are lines of their own
    assert line.startswith("kubeproxy-config: error: "), line
    for needle in needles:
        assert needle in line, line
    return line


def home_with_kubeconfig(tmp_path: Path, server: FakeAPIServer, namespace: str | None) -> Path:
    """A HOME whose ~/.kube/config points at ``server``, its context in ``namespace`` (None:
    the context names no namespace)."""
    home = tmp_path / "home"
    path = server.kubeconfig(home / ".kube" / "config")
    config = yaml.safe_load(path.read_text())
    context = config["contexts"][0]["context"]
    context.pop("namespace", None)
    if namespace is not None:
        context["namespace"] = namespace
    path.write_text(yaml.safe_dump(config))
    return home


# ---- which source ----------------------------------------------------------------------------


def test_default_source_is_the_home_kubeconfig(tmp_path: Path, server: FakeAPIServer) -> None:
    env = environment(home_with_kubeconfig(tmp_path, server, None))
    result = cli(env, "--once", "-o", "json")
    doc = document(result)
    assert said(result) == []  # no notice: this is the user's cluster
    assert doc["sources"] == ["api"]
    assert doc["namespace"] is None  # the context names none: all namespaces
    assert keys(doc) == ALL
    # A service deleted from the server is gone from the next run (not the example's).
    server.delete("services", "shop", "cart")
    assert keys(document(cli(env, "--once", "-o", "json"))) == ["ops/metrics", "shop/web"]


def test_kubeconfig_variable_comes_before_home(tmp_path: Path, server: FakeAPIServer) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("clusters: [unclosed\n")  # not read
    kubeconfig = server.kubeconfig(tmp_path / "elsewhere")
    env = environment(home, KUBECONFIG=str(kubeconfig))
    doc = document(cli(env, "--once", "-o", "json", "-A"))
    assert doc["sources"] == ["api"] and keys(doc) == ALL


def test_example_cluster_only_with_a_notice(tmp_path: Path) -> None:
    result = cli(environment(tmp_path), "--once", "-o", "json")
    doc = document(result)
    assert said(result) == [NOTICE]
    assert doc["sources"] == ["example"]
    assert "shop/storefront" in keys(doc)


def test_explicit_flags_read_no_kubeconfig(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_text("clusters: [unclosed\n")
    env = environment(tmp_path, KUBECONFIG=str(garbage))
    result = cli(env, "--example", "--once", "-o", "json")
    assert said(result) == []  # asked for: no notice
    assert document(result)["sources"] == ["example"]
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "web.yaml").write_text(yaml.safe_dump(OBJECTS[0]))
    result = cli(env, "--manifests", str(tmp_path / "m"), "--once", "-o", "json")
    assert said(result) == []
    assert keys(document(result)) == ["shop/web"]
    # Without a flag that kubeconfig is the source, and it is reported, not skipped.
    one_error(cli(env, "--once"), "bad kubeconfig")


def test_kubeconfig_variable_naming_no_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    one_error(cli(environment(tmp_path, KUBECONFIG=missing), "--once"), "$KUBECONFIG", missing)


def test_in_cluster_when_in_a_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    with FakeAPIServer(tls=True, token="pod-token", objects=OBJECTS) as server:
        assert server.ca_pem is not None
        (account / "token").write_text("pod-token")
        (account / "ca.crt").write_bytes(server.ca_pem)
        (account / "namespace").write_text("shop")
        for name, value in environment(tmp_path).items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("KUBECONFIG", raising=False)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
        monkeypatch.setattr(_kubeconfig, "SERVICE_ACCOUNT_DIR", account)
        out = _run_main(["--once", "-o", "json"])
    doc = json.loads(out)
    assert doc["sources"] == ["api"]
    assert doc["namespace"] is None and keys(doc) == ALL  # a proxy's view: every namespace


def _run_main(args: list[str]) -> str:
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["watch", *args])
    assert status == 0, err.getvalue()
    assert not [x for x in err.getvalue().splitlines() if not x.startswith("kubeproxy-config: w")]
    return out.getvalue()


# ---- namespaces and labels -------------------------------------------------------------------


def test_context_namespace_is_honoured(tmp_path: Path, server: FakeAPIServer) -> None:
    env = environment(home_with_kubeconfig(tmp_path, server, "shop"))
    doc = document(cli(env, "--once", "-o", "json"))
    assert doc["namespace"] == "shop"
    assert keys(doc) == ["shop/cart", "shop/web"]
    # The API source itself is scoped: it lists and watches that namespace only.
    paths = {r.path for r in server.requests if r.verb in ("list", "watch")}
    assert paths and all("/namespaces/shop/" in path for path in paths), paths

    everything = document(cli(env, "--once", "-o", "json", "-A"))
    assert everything["namespace"] is None and keys(everything) == ALL
    other = document(cli(env, "--once", "-o", "json", "-n", "ops"))
    assert other["namespace"] == "ops" and keys(other) == ["ops/metrics"]
    usage = cli(env, "--once", "-A", "-n", "ops")
    assert usage.returncode == 2
    one_error(usage, "not allowed with argument")


def test_label_selector(tmp_path: Path, server: FakeAPIServer) -> None:
    env = environment(home_with_kubeconfig(tmp_path, server, None))
    doc = document(cli(env, "--once", "-o", "json", "-l", "app=web"))
    assert keys(doc) == ["ops/metrics", "shop/web"]
    (web,) = (s for s in doc["services"] if s["name"] == "web")
    assert web["endpoints"]["ready"] == ["10.1.0.1"]  # the Endpoints carry no labels
    # The API server did the choosing.
    queries = [
        r.query
        for r in server.requests
        if r.resource == "services" and r.verb in ("list", "watch")  # a streaming list watches
    ]
    assert queries and all("labelSelector=app%3Dweb" in q for q in queries), queries
    assert keys(document(cli(env, "--once", "-o", "json", "-l", "app=web,tier!=ops"))) == [
        "shop/web"
    ]
    # The same selection from manifests (chosen here, not by a server).
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "all.yaml").write_text(yaml.safe_dump_all(OBJECTS))
    doc = document(
        cli(env, "--manifests", str(manifests), "--once", "-o", "json", "-l", "app in (web)")
    )
    assert keys(doc) == ["ops/metrics", "shop/web"]

    bad = cli(env, "--once", "-l", "app in (web")
    assert bad.returncode == 2
    one_error(bad, "invalid label selector", "app in (web")


def test_verbose_logs_to_stderr(tmp_path: Path, server: FakeAPIServer) -> None:
    env = environment(home_with_kubeconfig(tmp_path, server, None))
    quiet = cli(env, "--once", "-o", "json")
    assert quiet.returncode == 0 and said(quiet) == []
    loud = cli(env, "--once", "-o", "json", "-v")
    assert loud.returncode == 0, loud.stderr
    lines = said(loud)
    assert any(line.startswith("kubeproxy-config: info: API source started") for line in lines)
    assert not any(": debug: " in line for line in lines)
    assert json.loads(loud.stdout)["sources"] == ["api"]


# ---- endpoint states from the API ------------------------------------------------------------


def test_not_ready_and_terminating_endpoints_are_marked(
    tmp_path: Path, server: FakeAPIServer
) -> None:
    env = environment(home_with_kubeconfig(tmp_path, server, "shop"))
    result = cli(env, "--once")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert rows["shop/cart"].endswith(
        "1/3    10.2.0.1:8080, 10.2.0.2:8080 (not ready), 10.2.0.3:8080 (terminating)"
    )
    assert rows["shop/web"].endswith("1/2    10.1.0.1:8080, 10.1.0.2:8080 (not ready)")
    doc = document(cli(env, "--once", "-o", "json"))
    (cart,) = (s for s in doc["services"] if s["name"] == "cart")
    assert cart["ports"][0]["endpoints"] == {
        "ready": ["10.2.0.1:8080"],
        "notReady": ["10.2.0.2:8080"],
        "terminating": ["10.2.0.3:8080"],
    }


# ---- --timeout -------------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)  # kept open, never read from or written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        listener.close()
        thread.join(5)
        for conn in held:
            conn.close()


@pytest.mark.parametrize("mode", [["--once"], ["-o", "json"]], ids=["once", "live"])
def test_timeout_bounds_an_unresponsive_server(
    tmp_path: Path, silent_server: int, mode: list[str]
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": f"http://127.0.0.1:{silent_server}"}}
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "ctx",
            }
        )
    )
    env = environment(tmp_path, KUBECONFIG=str(kubeconfig))
    # Ending at all within the bound is the test; the command's own clock says how long it took.
    result = cli(env, *mode, "--timeout", "2", timeout=2 + MARGIN)
    assert result.returncode == 1
    assert result.stdout == ""
    one_error(result, "timed out after 2 s", f"127.0.0.1:{silent_server}")


# ---- the live view ---------------------------------------------------------------------------


def test_live_view_of_the_kubeconfig_cluster_in_a_terminal(
    tmp_path: Path, server: FakeAPIServer
) -> None:
    env = environment(home_with_kubeconfig(tmp_path, server, "shop"))
    env.update(TERM="xterm-256color", COLUMNS="160", LINES="40")
    with in_terminal(["watch"], 160, env) as (proc, parent, data):
        end = read_until(parent, data, b"namespace: shop")
        for needle in (b"shop/cart", b"(terminating)", b"(not ready)", b"sources: api"):
            read_until(parent, data, needle)
        server.create(service("shop", "late", "10.96.0.40", {"app": "late"}))
        read_until(parent, data, b"shop/late", end)
        proc.send_signal(signal.SIGINT)
        drain(parent, data)  # a full terminal would block the process's last writes
        assert proc.wait(timeout=WAIT) == 130
    assert b"Traceback" not in data
    assert b"notice" not in data


@pytest.mark.parametrize("mode", [["--once"], ["-o", "json"]], ids=["once", "live"])
def test_timeout_bounds_a_first_sync_that_never_comes(
    tmp_path: Path, server: FakeAPIServer, mode: list[str]
) -> None:
    # It answers, but no list (paginated or streaming) ever succeeds.
    server.fail_next(10_000, 500, verbs={"list", "watch"})
    env = environment(home_with_kubeconfig(tmp_path, server, None))
    result = cli(env, *mode, "--timeout", "2", timeout=2 + MARGIN)
    assert result.returncode == 1
    assert result.stdout == ""
    line = one_error(result, "timed out after 2 s waiting for the sources to sync")
    assert "last warning" in line and "500" in line
