"""The shared configuration loader (``kubeproxy_config.sources._kubeconfig``): kubeconfig files
(explicit, ``$KUBECONFIG``, ``~/.kube/config``), contexts and their namespaces, in-cluster config,
and the one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from kubeproxy_config.errors import Error
from kubeproxy_config.sources import _kubeconfig
from kubeproxy_config.sources._kubeconfig import (
    load_default,
    load_in_cluster,
    load_kubeconfig,
)
from kubeproxy_config.testing import FakeAPIServer

IN_CLUSTER_ENV = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")


def write_kubeconfig(path: Path, current: str = "dev") -> Path:
    """Two contexts: ``dev`` (namespace ``shop``, token ``t-dev``) and ``prod`` (no namespace)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "dev", "cluster": {"server": "http://127.0.0.1:1001"}},
            {"name": "prod", "cluster": {"server": "http://127.0.0.1:1002"}},
        ],
        "users": [
            {"name": "dev", "user": {"token": "t-dev"}},
            {"name": "prod", "user": {"token": "t-prod"}},
        ],
        "contexts": [
            {"name": "dev", "context": {"cluster": "dev", "user": "dev", "namespace": "shop"}},
            {"name": "prod", "context": {"cluster": "prod", "user": "prod"}},
        ],
        "current-context": current,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


def token(config: Any) -> str:
    return str(config.configuration.api_key["BearerToken"])


# ---- kubeconfig ------------------------------------------------------------------------------


def test_explicit_path_current_context(tmp_path: Path) -> None:
    loaded = load_kubeconfig(write_kubeconfig(tmp_path / "kubeconfig"))
    assert loaded.host == "http://127.0.0.1:1001"
    assert loaded.context == "dev"
    assert loaded.namespace == "shop"
    assert token(loaded) == "Bearer t-dev"


def test_explicit_path_and_context(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig")
    loaded = load_kubeconfig(str(path), "prod")
    assert loaded.host == "http://127.0.0.1:1002"
    assert loaded.context == "prod"
    assert loaded.namespace is None  # the context names none
    assert token(loaded) == "Bearer t-prod"
    # The same file with prod current: the current context is the default.
    other = load_kubeconfig(write_kubeconfig(tmp_path / "other", current="prod"))
    assert (other.host, other.context) == (loaded.host, "prod")


def test_each_load_has_its_own_configuration(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig")
    dev, prod = load_kubeconfig(path, "dev"), load_kubeconfig(path, "prod")
    assert dev.configuration is not prod.configuration
    assert dev.host != prod.host


def test_api_client_talks_to_the_server(tmp_path: Path) -> None:
    with FakeAPIServer(tls=True, token="secret") as server:
        loaded = load_kubeconfig(server.kubeconfig(tmp_path / "kubeconfig"))
        assert loaded.host == server.url
        assert loaded.namespace == "default"
        api_client = loaded.api_client()
        try:
            from kubernetes import client

            assert client.VersionApi(api_client).get_code().major == "1"
        finally:
            api_client.close()


def run_loader(env: dict[str, str]) -> dict[str, Any]:
    """``load_kubeconfig()`` in a fresh interpreter: the client reads ``$KUBECONFIG`` (and the home
    directory) when it is imported."""
    code = (
        "import json; from kubeproxy_config.sources._kubeconfig import load_kubeconfig as load\n"
        "c = load(); print(json.dumps([c.host, c.context, c.namespace]))"
    )
    base = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    host, context, namespace = json.loads(result.stdout)
    return {"host": host, "context": context, "namespace": namespace}


def test_kubeconfig_environment_variable(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "elsewhere" / "config", current="prod")
    home = tmp_path / "home"  # with a ~/.kube/config that must not be read
    write_kubeconfig(home / ".kube" / "config")
    loaded = run_loader({"KUBECONFIG": str(path), "HOME": str(home)})
    assert loaded == {"host": "http://127.0.0.1:1002", "context": "prod", "namespace": None}


def test_kubeconfig_environment_variable_lists_files(tmp_path: Path) -> None:
    # The files are merged (a missing one is skipped): here clusters and users come from one,
    # contexts from the other.
    full = yaml.safe_load(write_kubeconfig(tmp_path / "full").read_text())
    clusters = tmp_path / "clusters"
    clusters.write_text(yaml.safe_dump({k: full[k] for k in ("clusters", "users")}))
    contexts = tmp_path / "contexts"
    contexts.write_text(yaml.safe_dump({"contexts": full["contexts"], "current-context": "prod"}))
    paths = [tmp_path / "missing", clusters, contexts]
    env = {"KUBECONFIG": os.pathsep.join(map(str, paths)), "HOME": str(tmp_path)}
    loaded = run_loader(env)
    assert loaded == {"host": "http://127.0.0.1:1002", "context": "prod", "namespace": None}


def test_home_kubeconfig_without_the_variable(tmp_path: Path) -> None:
    write_kubeconfig(tmp_path / ".kube" / "config")
    loaded = run_loader({"HOME": str(tmp_path)})
    assert loaded == {"host": "http://127.0.0.1:1001", "context": "dev", "namespace": "shop"}


# ---- kubeconfig errors -----------------------------------------------------------------------


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "kubeconfig"
    with pytest.raises(Error) as info:
        load_kubeconfig(missing)
    assert str(info.value) == f"kubeconfig {missing} not found"
    with pytest.raises(Error, match="is not a file"):
        load_kubeconfig(tmp_path)


def test_missing_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = str(tmp_path / "no-kubeconfig")
    monkeypatch.setattr("kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", missing)
    from kubernetes.config import ConfigException

    with pytest.raises(Error, match=r"^bad kubeconfig: ") as info:
        load_kubeconfig()
    assert isinstance(info.value.__cause__, ConfigException)


def test_bad_file_and_unknown_context(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_text("clusters: [unclosed\n")
    with pytest.raises(Error, match=f"^bad kubeconfig {garbage}: ") as info:
        load_kubeconfig(garbage)
    assert info.value.__cause__ is not None
    path = write_kubeconfig(tmp_path / "kubeconfig")
    with pytest.raises(Error, match=f"^bad kubeconfig {path}: .*nope"):
        load_kubeconfig(path, "nope")


# ---- in-cluster ------------------------------------------------------------------------------


@pytest.fixture
def service_account(tmp_path: Path) -> Path:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("tok-1")
    (account / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")  # only its presence counts
    (account / "namespace").write_text("kube-system\n")
    return account


@pytest.fixture
def pod_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")


@pytest.mark.usefixtures("pod_env")
def test_in_cluster_from_environment_and_files(service_account: Path) -> None:
    loaded = load_in_cluster(service_account_dir=service_account)
    assert loaded.host == "https://10.96.0.1:443"
    assert loaded.context is None
    assert loaded.namespace == "kube-system"
    configuration = loaded.configuration
    assert configuration.ssl_ca_cert == str(service_account / "ca.crt")
    assert configuration.api_key == {"BearerToken": "bearer tok-1"}
    assert configuration.refresh_api_key_hook is not None  # a rotated token is read again


@pytest.mark.usefixtures("pod_env")
def test_in_cluster_without_namespace_file(service_account: Path) -> None:
    (service_account / "namespace").unlink()
    assert load_in_cluster(service_account_dir=service_account).namespace is None


def test_in_cluster_ipv6_host(service_account: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert load_in_cluster(service_account_dir=service_account).host == "https://[fd00::1]:443"


def test_in_cluster_errors(service_account: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in IN_CLUSTER_ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(Error, match=r"^cannot use the in-cluster configuration: .*not set"):
        load_in_cluster(service_account_dir=service_account)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    (service_account / "token").unlink()
    with pytest.raises(Error, match=r"^cannot use the in-cluster configuration: .*token"):
        load_in_cluster(service_account_dir=service_account)


def test_in_cluster_against_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAPIServer(tls=True) as server:
        assert server.ca_pem is not None
        account = tmp_path / "serviceaccount"
        account.mkdir()
        (account / "token").write_text("tok")
        (account / "ca.crt").write_bytes(server.ca_pem)
        url = urlparse(server.url)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", str(url.hostname))
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(url.port))
        loaded = load_in_cluster(service_account_dir=account)
        assert loaded.host == server.url
        api_client = loaded.api_client()
        try:
            from kubernetes import client

            assert client.VersionApi(api_client).get_code().major == "1"
        finally:
            api_client.close()


# ---- the library default -----------------------------------------------------------------------


@pytest.mark.usefixtures("pod_env")
def test_default_prefers_in_cluster(
    service_account: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_kubeconfig, "SERVICE_ACCOUNT_DIR", service_account)
    kubeconfig = str(write_kubeconfig(tmp_path / "kubeconfig"))
    monkeypatch.setattr("kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", kubeconfig)
    assert load_default().host == "https://10.96.0.1:443"


@pytest.mark.usefixtures("pod_env")
def test_default_falls_back_to_the_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_kubeconfig, "SERVICE_ACCOUNT_DIR", tmp_path / "no-serviceaccount")
    kubeconfig = str(write_kubeconfig(tmp_path / "kubeconfig"))
    monkeypatch.setattr("kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", kubeconfig)
    loaded = load_default()
    assert (loaded.host, loaded.context) == ("http://127.0.0.1:1001", "dev")


def test_default_without_pod_environment_reads_the_kubeconfig(
    service_account: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setattr(_kubeconfig, "SERVICE_ACCOUNT_DIR", service_account)
    missing = str(tmp_path / "no-kubeconfig")
    monkeypatch.setattr("kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", missing)
    with pytest.raises(Error, match=r"^bad kubeconfig: "):
        load_default()
