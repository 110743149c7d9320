"""Replay's line limit: a recording line over ``max_line_bytes`` (counted after decompression)
is refused naming the line and the limit, read no further than one byte past it, and what
played before it stays in the configs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from _helpers import WAIT, svc_dict
from kubeproxy_config import RecordingError, ServiceConfig
from kubeproxy_config.testing import replay

HEADER = json.dumps({"kubeproxy-config-recording": 1}) + "\n"


def record(op: str, data: str = "") -> str:
    line: dict[str, Any] = {"t": 0.0, "resource": "services", "op": op}
    if data:
        line["data"] = data
    return json.dumps(line) + "\n"


def listed(*names: str) -> str:
    """A recording that lists ``names`` as one page and commits it."""
    page: dict[str, Any] = {"kind": "ServiceList", "apiVersion": "v1"}
    page["metadata"] = {"resourceVersion": "5"}
    page["items"] = [svc_dict(name, "ns") for name in names]
    return record("begin_list") + record("page", json.dumps(page)) + record("commit")


def test_a_line_over_the_limit_is_refused_and_what_played_stays(tmp_path: Path) -> None:
    path = tmp_path / "rec.ndjson"
    oversized = record("events", "x" * 5000)
    path.write_text(HEADER + listed("a", "b") + oversized + listed("c"))
    with ServiceConfig() as services:
        with pytest.raises(RecordingError) as raised:
            replay(path, services=services, max_line_bytes=1000)
        message = str(raised.value)
        assert "rec.ndjson, line 5: the line is over the limit of 1000 bytes" in message
        assert "(max_line_bytes): 1001 bytes read so far" in message
        assert services.flush(WAIT)
        assert sorted(s.key for s in services.state()) == ["ns/a", "ns/b"]
    # The same file plays whole under a limit its lines fit.
    with ServiceConfig() as services:
        played = replay(path, services=services, max_line_bytes=len(oversized))
        assert played == {"services": 7}
        assert services.flush(WAIT)
        assert [s.key for s in services.state()] == ["ns/c"]


def test_a_gzip_bomb_line_is_cut_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.ndjson.gz"
    piece = b"x" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write((HEADER + listed("a")).encode())
        for _ in range(64):  # 64 MiB of one line, from a file of a few hundred KiB
            out.write(piece)
    assert path.stat().st_size < 1 << 20
    with ServiceConfig() as services:
        with pytest.raises(RecordingError) as raised:
            replay(path, services=services, max_line_bytes=1 << 20)
        message = str(raised.value)
        assert "line 5: the line is over the limit of 1048576 bytes" in message
        assert "1048577 bytes read so far" in message
        assert services.flush(WAIT)
        assert [s.key for s in services.state()] == ["ns/a"]


@pytest.mark.parametrize("value", [0, -5])
def test_out_of_range_line_limits_are_refused(tmp_path: Path, value: int) -> None:
    with ServiceConfig() as services, pytest.raises(ValueError, match="max_line_bytes"):
        replay(tmp_path / "x", services=services, max_line_bytes=value)


@pytest.mark.parametrize("value", [1.5, "1Gi", None])
def test_line_limits_of_another_type_are_refused(tmp_path: Path, value: Any) -> None:
    with ServiceConfig() as services, pytest.raises(TypeError, match="max_line_bytes"):
        replay(tmp_path / "x", services=services, max_line_bytes=value)
