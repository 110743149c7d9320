"""Security: TLS and token auth against the fake API server, secrets kept out of logs and reprs,
and hostile input (deep nesting, huge values) refused with a clear error instead of a crash.

Limits (as implemented): JSON text nested deeper than 128 levels is refused by ``serde_json``'s
recursion limit; Python values (dicts/lists) deeper than 128 levels are refused by the
conversion. Strings have no size limit: a 50 MB annotation or label value is accepted.
"""

from __future__ import annotations

import json
import logging
import ssl
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from _helpers import wait_until
from kubeproxy_config import (
    Endpoints,
    EndpointSlice,
    InvalidObject,
    Service,
    ServiceConfig,
    SourceChannel,
)
from kubeproxy_config.sources.files import FileSource
from kubeproxy_config.sources.kubernetes import KubernetesSource
from kubeproxy_config.testing import FakeAPIServer

WAIT = 10.0  # seconds any single wait may take: reaching it means a hang
TOKEN = "kpc-SECRET-token-0123456789abcdef"
WRONG_TOKEN = "kpc-WRONG-token-fedcba9876543210"
DEEP = 10_000


def svc(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"ports": [{"port": 80}]},
    }


@pytest.fixture
def channel(services: ServiceConfig) -> SourceChannel:
    return services.channel("hostile")


# -- TLS and token auth ----------------------------------------------------------------------


def get(url: str, ca: Path | None, token: str | None) -> int:
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=context, timeout=WAIT) as resp:
            status: int = resp.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_fake_server_requires_the_token_over_tls() -> None:
    with FakeAPIServer(tls=True, token=TOKEN) as server:
        url = f"{server.url}/api/v1/services"
        assert server.ca_path is not None
        assert get(url, server.ca_path, None) == 401
        assert get(url, server.ca_path, WRONG_TOKEN) == 401
        assert get(url, server.ca_path, TOKEN) == 200
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            get(url, None, TOKEN)  # the system CAs do not trust the test CA


def test_secrets_never_logged_nor_shown(
    tmp_path: Path, services: ServiceConfig, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong token, then the right one (rotated in place), with a client certificate and key:
    neither the tokens nor the key appear in any log record (any logger, DEBUG), repr, or the
    recording the source writes."""
    import trustme

    caplog.set_level(logging.DEBUG)  # the root logger: urllib3 and kubernetes too
    client_ca = trustme.CA()
    client_cert = client_ca.issue_cert("kubeproxy-config-client")
    key_pem = client_cert.private_key_pem.bytes().decode()
    key_path, cert_path = tmp_path / "client.key", tmp_path / "client.crt"
    client_cert.private_key_pem.write_to_path(str(key_path))
    client_cert.cert_chain_pems[0].write_to_path(str(cert_path))
    key_lines = [line for line in key_pem.splitlines() if line and "-----" not in line]

    with FakeAPIServer(tls=True, token=TOKEN, bookmark_interval=0.1) as server:
        server.create(svc("a"))
        configuration: Any = server.configuration()
        configuration.api_key = {"authorization": WRONG_TOKEN}
        configuration.cert_file, configuration.key_file = str(cert_path), str(key_path)
        from kubernetes import client

        with client.ApiClient(configuration) as api:
            recording = tmp_path / "session.ndjson"
            source = KubernetesSource(
                api, services=services, backoff_initial=0.01, watch_list=False, record=recording
            )
            with source:
                assert server.wait_for_requests("list", 3, WAIT)
                assert not source.synced
                shown = [repr(source), str(source.stats()), repr(services), repr(api)]
                configuration.api_key = {"authorization": TOKEN}  # rotated
                assert source.wait_synced(WAIT)
                server.create(svc("b"))
                assert wait_until(lambda: services.flush(WAIT) and len(services.state()) == 2)
                shown += [repr(source), str(source.stats()), str(source.resource_versions())]
        assert any(r.code == 401 for r in server.requests)
        assert any(r.code == 200 for r in server.requests)

    records = caplog.records
    assert any(r.name == "kubeproxy_config" and r.levelno >= logging.ERROR for r in records)
    recorded = recording.read_text()
    ops = {json.loads(line).get("op") for line in recorded.splitlines()[1:]}
    assert {"error", "commit"} <= ops, ops  # the refusals and the sync were recorded
    text = "\n".join(
        [f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in records]
        + [*shown, recorded]
    )
    for secret in (TOKEN, WRONG_TOKEN, *key_lines):
        assert secret not in text
    assert "Bearer" not in text


# -- deep nesting ----------------------------------------------------------------------------


def nested_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_dict(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


@pytest.mark.parametrize("cls", [Service, Endpoints, EndpointSlice])
def test_deep_json_is_refused(cls: type[Service | Endpoints | EndpointSlice]) -> None:
    deep_object = b'{"metadata": {"name": "a", "labels": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP
    for data in (nested_json(DEEP), deep_object + b"}}"):
        with pytest.raises(InvalidObject, match="recursion limit"):
            cls.from_json(data)
    with pytest.raises(InvalidObject, match="nested deeper than 128"):
        cls.from_dict({"metadata": {"name": "a", "labels": nested_dict(DEEP)}})


def test_nesting_limit_is_128_levels() -> None:
    # JSON text: 127 nested arrays inside the object still parse (and fail validation only).
    ok = b'{"metadata": {"name": "a"}, "x": ' + nested_json(126) + b"}"
    assert Service.from_json(ok).key == "default/a"
    too_deep = b'{"metadata": {"name": "a"}, "x": ' + nested_json(128) + b"}"
    with pytest.raises(InvalidObject, match="recursion limit"):
        Service.from_json(too_deep)


def test_deep_json_through_the_channel_changes_nothing(
    services: ServiceConfig, channel: SourceChannel
) -> None:
    channel.set([svc("a")])
    assert services.flush(WAIT)
    version = services.state().version
    deep = nested_json(DEEP)
    calls: list[Callable[[], object]] = [
        lambda: channel.send_json("SET", deep),
        lambda: channel.send_json("REMOVE", deep),
        lambda: channel.apply_watch_events(b'{"type": "ADDED", "object": ' + deep + b"}\n"),
        lambda: channel.parse_list(b'{"items": ' + deep + b"}"),
        lambda: channel.add([{"metadata": {"name": "b", "annotations": nested_dict(DEEP)}}]),
    ]
    for call in calls:
        with pytest.raises(InvalidObject):
            call()
    assert services.flush(WAIT)
    assert services.state().version == version and [o.key for o in services.state()] == ["ns/a"]


# -- huge values -----------------------------------------------------------------------------

HUGE = 50 * 1024 * 1024


@pytest.mark.parametrize("where", ["annotations", "labels"])
def test_50mb_string_field_does_not_crash(
    services: ServiceConfig, channel: SourceChannel, where: str
) -> None:
    obj = svc("big")
    obj["metadata"][where] = {"k": "x" * HUGE}
    data = json.dumps(obj).encode()
    try:
        channel.send_json("ADD", data)
    except InvalidObject as exc:
        assert len(str(exc)) < 4096
        return
    assert services.flush(WAIT)
    stored = services.state().get("ns/big")
    assert stored is not None
    assert len(getattr(stored, where)["k"]) == HUGE  # accepted whole: no size limit


@pytest.mark.parametrize(
    ("path", "build"),
    [
        ("metadata.name", lambda big: {"metadata": {"name": big}}),
        ("spec.type", lambda big: {"metadata": {"name": "a"}, "spec": {"type": big}}),
        ("spec.clusterIP", lambda big: {"metadata": {"name": "a"}, "spec": {"clusterIP": big}}),
    ],
)
def test_errors_do_not_echo_huge_values(path: str, build: Callable[[str], Any]) -> None:
    """An invalid 1 MB value gives a short message (the source logs these messages)."""
    with pytest.raises(InvalidObject) as info:
        Service.from_json(json.dumps(build("x" * 1_000_000)))
    assert info.value.path == path
    size = len(str(info.value))
    assert size <= 2048, f"a {size}-character message"


# -- manifests -------------------------------------------------------------------------------


def test_deep_json_manifest_is_rejected_not_raised(tmp_path: Path, services: ServiceConfig) -> None:
    (tmp_path / "deep.json").write_bytes(nested_json(100_000))
    source = FileSource(tmp_path, services=services)
    source.reload()  # a bad file is reported in last_errors, never raised
    assert str(tmp_path / "deep.json") in source.last_errors


def test_deep_json_manifest_does_not_stop_the_watch(
    tmp_path: Path, services: ServiceConfig
) -> None:
    with FileSource(tmp_path, services=services) as source:
        assert services.flush(WAIT)
        (tmp_path / "deep.json").write_bytes(nested_json(100_000))
        assert wait_until(lambda: str(tmp_path / "deep.json") in source.last_errors, 5.0)
        (tmp_path / "good.json").write_text(json.dumps(svc("good")))
        assert wait_until(lambda: services.flush(WAIT) and "ns/good" in services.state(), 5.0)
        assert source.running


def test_deep_yaml_manifest_does_not_crash_the_process(tmp_path: Path) -> None:
    """Run in a child process: today this is a segmentation fault (exit -11) in PyYAML's C
    composer, which recurses once per nesting level with no limit."""
    (tmp_path / "deep.yaml").write_bytes(nested_json(100_000))
    script = textwrap.dedent(
        """
        import sys
        from kubeproxy_config import ServiceConfig
        from kubeproxy_config.sources.files import FileSource
        with ServiceConfig() as services:
            source = FileSource(sys.argv[1], services=services)
            try:
                source.reload()
            except RecursionError:
                print("RecursionError")
            print(sorted(source.last_errors))
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, f"exit {child.returncode}: {child.stderr[-500:]}"
    assert "RecursionError" not in child.stdout
    assert "deep.yaml" in child.stdout
