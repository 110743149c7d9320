"""The public names of SPEC §2 to §5 exist where users import them from."""

from __future__ import annotations

import subprocess
import sys

import kubeproxy_config

SPEC_NAMES = {
    "Service", "ServicePort", "Endpoints", "EndpointSubset", "EndpointAddress", "EndpointPort",
    "EndpointSlice", "Endpoint", "ServiceConfig", "EndpointsConfig", "EndpointSliceConfig",
    "SourceChannel", "Registration", "Snapshot", "Changes", "Operation", "ServiceUpdate",
    "EndpointsUpdate", "EndpointSliceUpdate", "Error", "InvalidObject", "ClosedError",
    "KubernetesSource", "FileSource", "new_source_api",
}  # fmt: skip


def test_every_spec_name_is_exported() -> None:
    assert SPEC_NAMES <= set(kubeproxy_config.__all__)
    for name in kubeproxy_config.__all__:
        assert getattr(kubeproxy_config, name) is not None, name


def test_testing_server_is_public() -> None:
    from kubeproxy_config.testing import FakeAPIServer

    assert callable(FakeAPIServer)


def test_import_stays_light() -> None:
    """Sources load on first use: importing the package pulls in no YAML, watcher or client."""
    code = (
        "import sys, kubeproxy_config\n"
        "heavy = [m for m in ('yaml', 'watchfiles', 'kubernetes') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
