"""FileSource's size limit: an oversized manifest is rejected before it is read whole, named in
``last_errors``, and the file's last good content is kept."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from _helpers import wait_until
from kubeproxy_config import ServiceConfig
from kubeproxy_config.sources import FileSource
from kubeproxy_config.sources.files import DEFAULT_MAX_FILE_BYTES


def manifest(name: str, port: int = 80) -> str:
    return (
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: shop\n"
        f"spec:\n  clusterIP: 10.0.0.9\n  ports:\n  - port: {port}\n"
    )


def port_of(config: ServiceConfig, key: str) -> int | None:
    svc = config.state().get(key)
    return None if svc is None else svc.ports[0].port


def test_a_huge_sparse_file_is_rejected_without_being_read(
    tmp_path: Path, services: ServiceConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kubeproxy_config")
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as f:
        f.truncate(64 << 30)  # 64 GiB of holes: reading it whole cannot succeed here
    (tmp_path / "good.yaml").write_text(manifest("web"))
    with FileSource(tmp_path, services=services) as source:
        assert services.flush(10)
        assert [s.key for s in services.state()] == ["shop/web"]
        message = source.last_errors[str(huge)]
        assert f"over the limit of {DEFAULT_MAX_FILE_BYTES} bytes" in message
        assert any(str(huge) in r.getMessage() for r in caplog.records)


def test_a_file_grown_past_the_limit_keeps_its_last_good_content(
    tmp_path: Path, services: ServiceConfig
) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(manifest("web", 80))
    with FileSource(tmp_path, services=services, max_file_bytes=4096) as source:
        assert services.flush(10)
        assert port_of(services, "shop/web") == 80
        path.write_text(manifest("web", 81) + "# padding\n" * 1000)
        assert wait_until(lambda: str(path) in source.last_errors)
        assert "over the limit of 4096 bytes" in source.last_errors[str(path)]
        assert services.flush(10)
        assert port_of(services, "shop/web") == 80
        path.write_text(manifest("web", 82))
        assert wait_until(lambda: port_of(services, "shop/web") == 82)
        assert source.last_errors == {}


def test_the_limit_must_be_positive(tmp_path: Path, services: ServiceConfig) -> None:
    with pytest.raises(ValueError, match="max_file_bytes"):
        FileSource(tmp_path, services=services, max_file_bytes=0)
