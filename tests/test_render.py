"""The services table of ``kubeproxy-config watch`` on a terminal: every endpoint on a line of
its own with its state, a wider table on a wide terminal, sensible wrapping on a narrow one."""

from __future__ import annotations

import importlib.resources
import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from kubeproxy_config import EndpointsConfig, EndpointSliceConfig, ServiceConfig
from kubeproxy_config._render import View, rich_view
from kubeproxy_config.sources import FileSource

WAIT = 15.0


@pytest.fixture(scope="module")
def view() -> Iterator[View]:
    examples = importlib.resources.files("kubeproxy_config") / "examples"
    with importlib.resources.as_file(examples) as path:
        with ServiceConfig() as svc, EndpointsConfig() as eps, EndpointSliceConfig() as slices:
            with FileSource(path, services=svc, endpoints=eps, endpoint_slices=slices):
                assert all(c.wait_synced(WAIT) and c.flush(WAIT) for c in (svc, eps, slices))
                yield View.read(svc, eps, slices, "shop")


def render(view: View, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(rich_view(view, width=width))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return [line.rstrip() for line in text.splitlines()]


def test_wide_terminal_shows_every_column_and_endpoint(view: View) -> None:
    lines = render(view, 200)
    assert lines[0].split() == [
        "SERVICE", "TYPE", "CLUSTER-IP", "EXTERNAL", "PORT", "READY", "ENDPOINTS",
    ]  # fmt: skip
    text = "\n".join(lines)
    for endpoint in (
        "10.244.1.20:8080",
        "10.244.2.21:8080 (not ready)",
        "10.244.3.22:8080 (terminating)",
        "[fd00:244:2::21]:8080 (not ready)",
    ):
        # one endpoint a line: each ends its line
        assert any(line.endswith(endpoint) for line in lines), (endpoint, text)
    assert "203.0.113.10, 2001:db8::10" in text


def test_narrow_terminal_drops_columns_and_wraps(view: View) -> None:
    lines = render(view, 70)
    assert all(len(line) <= 70 for line in lines), "\n".join(lines)
    header = lines[0].split()
    assert header == ["SERVICE", "PORT", "READY", "ENDPOINTS"]
    text = "\n".join(lines)
    assert "10.244.3.22:8080" in text and "(terminating)" in text


def test_narrowest_terminal_puts_endpoints_below_their_row(view: View) -> None:
    lines = render(view, 40)
    assert all(len(line) <= 40 for line in lines), "\n".join(lines)
    at = lines.index("shop/cart-db  postgres 5432/TCP  1/2")
    assert lines[at + 1 : at + 3] == ["  10.244.1.30:5432", "  10.244.2.31:5432 (not ready)"]
    assert "  10.244.3.22:8080 (terminating)" in lines
