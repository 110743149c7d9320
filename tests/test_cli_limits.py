"""The size flags of the command line: ``--max-event-bytes`` and ``--max-page-bytes`` for the API
source of ``watch`` and ``record``, ``--max-line-bytes`` for ``replay``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

import pytest

from _helpers import cli, svc_dict
from kubeproxy_config._cli_args import byte_size
from kubeproxy_config.testing import FakeAPIServer


def run(*args: str, kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = None if kubeconfig is None else {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return cli(*args, env=env)


@pytest.mark.parametrize(
    ("text", "size"), [("1", 1), ("1048576", 1 << 20), ("64Ki", 64 << 10), (" 16Mi", 16 << 20)]
)
def test_sizes_in_bytes_or_binary_units(text: str, size: int) -> None:
    assert byte_size(text) == size


@pytest.mark.parametrize("text", ["0", "-1", "1.5Mi", "16MB", "", "lots"])
def test_other_sizes_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a positive size in bytes"):
        byte_size(text)


def test_a_bad_size_flag_is_a_usage_error() -> None:
    result = run("watch", "--example", "--once", "--max-event-bytes", "0")
    assert result.returncode == 2
    assert "--max-event-bytes: '0' is not a positive size in bytes" in result.stderr


def test_the_page_limit_reaches_the_api_source(tmp_path: Path) -> None:
    # No streaming lists: the source lists in pages.
    with FakeAPIServer(objects=[svc_dict("web", "shop")], watch_list=False) as server:
        server.oversize_next_lists(1, 8 << 20)
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig")
        args = ("watch", "-A", "--once", "-o", "json", "-v", "--max-page-bytes", "64Ki")
        result = run(*args, kubeconfig=kubeconfig)
    assert result.returncode == 0, result.stderr
    assert "a list page is over the limit of 65536 bytes (max_page_bytes)" in result.stderr
    assert "shop/web" in result.stdout and json.loads(result.stdout)


def test_the_line_limit_reaches_replay(tmp_path: Path) -> None:
    path = tmp_path / "rec.ndjson"
    long_line = {"t": 0.0, "resource": "services", "op": "error", "data": "x" * 5000}
    header = {"kubeproxy-config-recording": 1}
    path.write_text(json.dumps(header) + "\n" + json.dumps(long_line) + "\n")
    refused = run("replay", str(path), "--once", "-o", "json", "--max-line-bytes", "1Ki")
    assert refused.returncode != 0
    assert "line 2: the line is over the limit of 1024 bytes" in refused.stderr
    assert run("replay", str(path), "--once", "-o", "json").returncode == 0
