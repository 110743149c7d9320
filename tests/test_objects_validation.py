"""Validation of objects: one test per rule, each naming the object's key and the field's path."""

from __future__ import annotations

import json
from typing import Any

import pytest

import kubeproxy_config as kp
from _helpers import fixture
from _helpers import slice_dict as _slice
from _helpers import web_endpoints as _eps
from _helpers import web_service as _svc
from kubeproxy_config import (
    Endpoints,
    EndpointSlice,
    InvalidObject,
    Service,
)

# ---- validation: one test per rule ------------------------------------------------------------


INVALID: list[tuple[str, dict[str, Any], str | None, str]] = [
    ("missing name", {"kind": "Service", "metadata": {}}, None, "metadata.name"),
    ("no metadata", {"kind": "Service"}, None, "metadata.name"),
    ("bad name", {"metadata": {"name": "Web_1"}}, "default/Web_1", "metadata.name"),
    ("service name not rfc1035", {"metadata": {"name": "1web"}}, "default/1web", "metadata.name"),
    ("bad namespace", {"metadata": {"name": "w", "namespace": "A"}}, "A/w", "metadata.namespace"),
    ("wrong kind", {"kind": "Endpoints", "metadata": {"name": "web"}}, "default/web", "kind"),
    ("port type", _svc(ports=[{"port": "80"}]), "shop/web", "spec.ports[0].port"),
    ("port zero", _svc(ports=[{"port": 0}]), "shop/web", "spec.ports[0].port"),
    ("port high", _svc(ports=[{"port": 65536}]), "shop/web", "spec.ports[0].port"),
    ("port missing", _svc(ports=[{"name": "a"}]), "shop/web", "spec.ports[0].port"),
    (
        "node port",
        _svc(ports=[{"port": 80, "nodePort": 70000}]),
        "shop/web",
        "spec.ports[0].nodePort",
    ),
    (
        "protocol",
        _svc(ports=[{"port": 80, "protocol": "ICMP"}]),
        "shop/web",
        "spec.ports[0].protocol",
    ),
    (
        "target port",
        _svc(ports=[{"port": 80, "targetPort": 0.5}]),
        "shop/web",
        "spec.ports[0].targetPort",
    ),
    (
        "target name",
        _svc(ports=[{"port": 80, "targetPort": "Http"}]),
        "shop/web",
        "spec.ports[0].targetPort",
    ),
    ("unnamed ports", _svc(ports=[{"port": 80}, {"port": 81}]), "shop/web", "spec.ports[0].name"),
    ("cluster ip", _svc(clusterIP="10.0.0.999"), "shop/web", "spec.clusterIP"),
    ("cluster ips", _svc(clusterIPs=["10.0.0.1", "x"]), "shop/web", "spec.clusterIPs[1]"),
    ("type", _svc(type="Ingress"), "shop/web", "spec.type"),
    ("affinity", _svc(sessionAffinity="Cookie"), "shop/web", "spec.sessionAffinity"),
    (
        "external policy",
        _svc(externalTrafficPolicy="Global"),
        "shop/web",
        "spec.externalTrafficPolicy",
    ),
    (
        "internal policy",
        _svc(internalTrafficPolicy="Node"),
        "shop/web",
        "spec.internalTrafficPolicy",
    ),
    ("external ip", _svc(externalIPs=["1.2.3"]), "shop/web", "spec.externalIPs[0]"),
    ("external name", _svc(type="ExternalName"), "shop/web", "spec.externalName"),
    ("selector value", _svc(selector={"app": 1}), "shop/web", "spec.selector.app"),
    ("labels type", {"metadata": {"name": "w", "labels": ["a"]}}, "default/w", "metadata.labels"),
    ("spec type", {"metadata": {"name": "w"}, "spec": []}, "default/w", "spec"),
    (
        "ingress ip",
        {"metadata": {"name": "w"}, "status": {"loadBalancer": {"ingress": [{"ip": "x"}]}}},
        "default/w",
        "status.loadBalancer.ingress[0].ip",
    ),
]


@pytest.mark.parametrize(("rule", "data", "key", "path"), INVALID, ids=[c[0] for c in INVALID])
def test_service_validation(rule: str, data: dict[str, Any], key: str | None, path: str) -> None:
    with pytest.raises(InvalidObject) as info:
        Service.from_dict(data)
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, kp.Error)
    assert (err.key, err.path) == (key, path)
    assert path in str(err)
    if key is not None:
        assert f'"{key}"' in str(err)


def test_wrong_json_type_message_says_what_was_expected() -> None:
    with pytest.raises(InvalidObject, match="expected an integer, got a string"):
        Service.from_dict(_svc(ports=[{"port": "80"}]))


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (_eps({"ip": "10.0.0"}), "subsets[0].addresses[0].ip"),
        (_eps({}), "subsets[0].addresses[0].ip"),
        (_eps({"ip": "10.0.0.1", "nodeName": "Node A"}), "subsets[0].addresses[0].nodeName"),
        (_eps({"ip": "10.0.0.1", "hostname": "a.b"}), "subsets[0].addresses[0].hostname"),
        (
            {"metadata": {"name": "w"}, "subsets": [{"ports": [{"port": 80}, {"port": 81}]}]},
            "subsets[0].ports[0].name",
        ),
        ({"metadata": {"name": "w"}, "subsets": {}}, "subsets"),
    ],
)
def test_endpoints_validation(data: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidObject) as info:
        Endpoints.from_dict(data)
    assert info.value.path == path
    assert info.value.key == f"default/{data['metadata']['name']}"


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"metadata": {"name": "s"}}, "addressType"),
        (_slice(addressType="IPv5"), "addressType"),
        (_slice(endpoints=[{"addresses": ["fd00::1"]}]), "endpoints[0].addresses[0]"),
        (_slice(endpoints=[{"addresses": []}]), "endpoints[0].addresses"),
        (
            _slice(endpoints=[{"addresses": ["10.0.0.1"], "conditions": {"ready": 1}}]),
            "endpoints[0].conditions.ready",
        ),
        (_slice(ports=[{"port": 0}]), "ports[0].port"),
        (_slice(ports=[{"name": "a"}, {"name": "a"}]), "ports[1].name"),
    ],
)
def test_endpointslice_validation(data: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidObject) as info:
        EndpointSlice.from_dict(data)
    assert info.value.path == path


def test_json_syntax_errors_name_line_and_column() -> None:
    with pytest.raises(InvalidObject, match=r"line 2 column \d+") as info:
        Service.from_json(b'{"metadata": {"name": "a"},\n oops}')
    assert (info.value.key, info.value.path) == (None, "")
    with pytest.raises(InvalidObject):
        Service.from_json("[" * 100_000)
    with pytest.raises(InvalidObject):
        Service.from_json(b"\xff")
    with pytest.raises(TypeError):
        Service.from_json(123)  # type: ignore[arg-type]


def test_large_json_is_parsed_too() -> None:
    data = fixture("service_clusterip")
    data["metadata"]["annotations"] = {f"a{i}": "x" * 100 for i in range(100)}
    text = json.dumps(data)
    assert len(text) > 4096
    assert Service.from_json(text).to_dict() == data
