"""What users install: the distribution's metadata and licence, and the wheel CI builds.

The wheel checks need the wheel's path in ``KUBEPROXY_CONFIG_WHEEL`` (``.ci/run`` sets it after
building the manylinux wheel); without it they skip.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

import kubeproxy_config

DIST = "kubeproxy-config"
# abi3 for CPython >= 3.10, and glibc 2.17 (CentOS 7, RHEL 8, Ubuntu 20.04 and newer).
REQUIRED_TAG = "cp310-abi3-manylinux_2_17_x86_64"
MAX_GLIBC = (2, 17)


def metadata() -> Message:
    return importlib.metadata.metadata(DIST)  # type: ignore[return-value]


def test_version_comes_from_the_distribution() -> None:
    assert kubeproxy_config.__version__ == importlib.metadata.version(DIST)
    assert re.fullmatch(r"\d+\.\d+\.\d+", kubeproxy_config.__version__)


def test_installed_metadata_declares_the_licence() -> None:
    meta = metadata()
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta.get_all("License") is None  # the deprecated field is not written alongside


def test_installed_distribution_ships_the_licence_text() -> None:
    dist = importlib.metadata.distribution(DIST)
    text = dist.read_text("licenses/LICENSE")
    assert text is not None, "the licence file is missing from the installed metadata"
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_metadata_claims_the_python_versions_ci_tests() -> None:
    meta = metadata()
    assert meta["Requires-Python"] == ">=3.10"
    classifiers = set(meta.get_all("Classifier") or [])
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "Typing :: Typed" in classifiers


def wheel_path() -> Path:
    path = os.environ.get("KUBEPROXY_CONFIG_WHEEL")
    if not path:
        pytest.skip("KUBEPROXY_CONFIG_WHEEL is not set (.ci/run sets it to the built wheel)")
    return Path(path)


def wheel_tags(name: str) -> set[str]:
    # name-version-python-abi-platform.whl, each of the three tag parts possibly dotted
    _, _, python, abi, platform = name.removesuffix(".whl").rsplit("-", 4)
    return {
        f"{p}-{a}-{plat}"
        for p in python.split(".")
        for a in abi.split(".")
        for plat in platform.split(".")
    }


def test_wheel_is_abi3_manylinux_2_17() -> None:
    wheel = wheel_path()
    assert REQUIRED_TAG in wheel_tags(wheel.name), wheel.name
    with zipfile.ZipFile(wheel) as zf:
        info = next(n for n in zf.namelist() if n.endswith(".dist-info/WHEEL"))
        declared = Parser().parsestr(zf.read(info).decode()).get_all("Tag") or []
    assert REQUIRED_TAG in declared
    assert set(declared) == wheel_tags(wheel.name)


def test_wheel_needs_no_newer_glibc() -> None:
    """The native module asks for no glibc symbol version newer than 2.17, whatever the tag says."""
    with zipfile.ZipFile(wheel_path()) as zf:
        native = zf.read("kubeproxy_config/_core.abi3.so")
    versions = {
        (int(major), int(minor)) for major, minor in re.findall(rb"GLIBC_(\d+)\.(\d+)", native)
    }
    assert versions, "no versioned glibc symbols found: not a glibc build?"
    assert max(versions) <= MAX_GLIBC, sorted(versions)


def test_wheel_carries_licence_and_package_files() -> None:
    with zipfile.ZipFile(wheel_path()) as zf:
        names = set(zf.namelist())
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(zf.read(meta_name).decode())
    dist_info = meta_name.rsplit("/", 1)[0]
    assert f"{dist_info}/licenses/LICENSE" in names
    assert meta["License-Expression"] == "Apache-2.0"
    for needed in ("_core.abi3.so", "_core.pyi", "py.typed", "examples/shop.yaml", "cli.py"):
        assert f"kubeproxy_config/{needed}" in names, needed
