"""Importing the package stays light: the optional heavy libraries load only when used.

Each check runs in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import ModuleType

import pytest

import kubeproxy_config
import kubeproxy_config.sources

HEAVY = ("kubernetes", "yaml", "rich", "watchfiles", "prometheus_client")


def loaded_after(code: str) -> list[str]:
    """The heavy top-level modules in ``sys.modules`` after running ``code`` in a fresh
    interpreter."""
    heavy = f"sorted(set(sys.modules) & {set(HEAVY)!r})"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({heavy}))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_package_loads_no_heavy_library() -> None:
    assert loaded_after("import kubeproxy_config") == []


def test_core_types_load_no_heavy_library() -> None:
    code = (
        "from kubeproxy_config import ServiceConfig, EndpointsConfig, ProxyConfig, Service\n"
        "ServiceConfig().close()"
    )
    assert loaded_after(code) == []


def test_kubernetes_source_loads_neither_yaml_nor_watchfiles() -> None:
    """The API source needs neither the manifest parser nor the file watcher, and imports the
    official client only when it resolves a configuration (at ``start()``)."""
    assert loaded_after("from kubeproxy_config import KubernetesSource, new_source_api") == []
    assert loaded_after("import kubeproxy_config.sources.kubernetes") == []


def test_file_source_loads_only_what_it_uses() -> None:
    assert loaded_after("from kubeproxy_config.sources import FileSource") == [
        "watchfiles",
        "yaml",
    ]


@pytest.mark.parametrize("module", [kubeproxy_config, kubeproxy_config.sources])
def test_lazy_names_resolve_and_are_listed(module: ModuleType) -> None:
    names = module.__all__
    for name in names:
        assert getattr(module, name) is not None, name
    assert set(names) <= set(dir(module))
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018


def test_sources_are_the_same_objects_everywhere() -> None:
    from kubeproxy_config.sources.files import FileSource
    from kubeproxy_config.sources.kubernetes import KubernetesSource, new_source_api

    assert kubeproxy_config.FileSource is FileSource is kubeproxy_config.sources.FileSource
    assert kubeproxy_config.KubernetesSource is KubernetesSource
    assert kubeproxy_config.new_source_api is new_source_api
