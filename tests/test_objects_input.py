"""Objects from Python input (client models, YAML documents, dicts with Python values), and
property tests of their round trips."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _helpers import fixture
from kubeproxy_config import (
    Endpoints,
    EndpointSlice,
    InvalidObject,
    Service,
)
from kubeproxy_config._convert import model_to_dict, rfc3339

# ---- Python input conversions ----------------------------------------------------------------


def test_unsupported_python_values_raise_type_error() -> None:
    with pytest.raises(TypeError, match="got int"):
        Service.from_dict(3)
    with pytest.raises(TypeError, match="set"):
        Service.from_dict({"metadata": {"name": "a", "x": {1, 2}}})
    with pytest.raises(TypeError, match="keys must be str"):
        Service.from_dict({"metadata": {"name": "a", "x": {1: 2}}})


def test_deep_python_nesting_is_refused() -> None:
    deep: Any = "x"
    for _ in range(200):
        deep = [deep]
    with pytest.raises(InvalidObject, match="nested deeper"):
        Service.from_dict({"metadata": {"name": "a"}, "x": deep})


def test_yaml_style_values_are_converted() -> None:
    created = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
    data = {
        "metadata": {"name": "a", "creationTimestamp": created},
        "spec": {"ports": ({"port": 80},)},
    }
    assert Service.from_dict(data).ports[0].port == 80
    proxy_labels = Service.from_dict(fixture("service_clusterip")).labels
    assert dict(
        Service.from_dict({"metadata": {"name": "b", "labels": proxy_labels}}).labels
    ) == dict(proxy_labels)
    assert rfc3339(created) == "2024-05-01T12:00:00Z"
    assert rfc3339(datetime.datetime(2024, 5, 1, 12, 0, 0, 5)) == "2024-05-01T12:00:00.000005Z"


def test_kubernetes_client_models() -> None:
    from kubernetes import client

    svc = client.V1Service(
        api_version="v1",
        kind="Service",
        metadata=client.V1ObjectMeta(
            name="web",
            namespace="shop",
            labels={"app": "web"},
            creation_timestamp=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
        ),
        spec=client.V1ServiceSpec(
            type="NodePort",
            cluster_ip="10.96.0.9",
            ports=[client.V1ServicePort(name="http", port=80, target_port="http", node_port=30080)],
            selector={"app": "web"},
        ),
    )
    s = Service.from_dict(svc)
    assert (s.key, s.type, s.cluster_ip) == ("shop/web", "NodePort", "10.96.0.9")
    assert (s.ports[0].target_port, s.ports[0].node_port) == ("http", 30080)
    assert model_to_dict(svc)["metadata"]["creationTimestamp"] == "2024-01-01T00:00:00Z"

    eps = client.V1Endpoints(
        metadata=client.V1ObjectMeta(name="web", namespace="shop"),
        subsets=[
            client.V1EndpointSubset(
                addresses=[
                    client.V1EndpointAddress(
                        ip="10.1.0.1",
                        node_name="n1",
                        target_ref=client.V1ObjectReference(kind="Pod", name="web-1"),
                    )
                ],
                not_ready_addresses=[client.V1EndpointAddress(ip="10.1.0.2")],
                ports=[client.CoreV1EndpointPort(port=8080, name="http")],
            )
        ],
    )
    e = Endpoints.from_dict(eps)
    assert e.subsets[0].addresses[0].target_ref_name == "web-1"
    assert e.subsets[0].not_ready_addresses[0].ip == "10.1.0.2"

    sl = client.V1EndpointSlice(
        address_type="IPv4",
        metadata=client.V1ObjectMeta(name="web-abc", labels={"kubernetes.io/service-name": "web"}),
        endpoints=[
            client.V1Endpoint(
                addresses=["10.1.0.1"],
                conditions=client.V1EndpointConditions(ready=True, terminating=False),
                zone="z1",
                hints=client.V1EndpointHints(for_zones=[client.V1ForZone(name="z1")]),
            )
        ],
        ports=[client.DiscoveryV1EndpointPort(port=8080, protocol="TCP")],
    )
    slice_ = EndpointSlice.from_dict(sl)
    assert slice_.service_name == "web"
    assert slice_.endpoints[0].hints_for_zones == ("z1",)

    bad = client.V1Service(
        metadata=client.V1ObjectMeta(name="web"), spec=client.V1ServiceSpec(type="Nope")
    )
    with pytest.raises(InvalidObject) as info:
        Service.from_dict(bad)
    assert (info.value.key, info.value.path) == ("default/web", "spec.type")


# ---- property tests -------------------------------------------------------------------------

label = st.from_regex(r"\A[a-z]([-a-z0-9]{0,10}[a-z0-9])?\Z")
svc_port_name = st.from_regex(r"\A[a-z]{1,8}\Z")
labels = st.dictionaries(label, st.text(max_size=8), max_size=3)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)

service_ports = st.lists(
    st.fixed_dictionaries(
        {
            "name": label,
            "port": st.integers(1, 65535),
            "protocol": st.sampled_from(["TCP", "UDP", "SCTP"]),
        },
        optional={
            "targetPort": st.one_of(st.integers(1, 65535), svc_port_name),
            "nodePort": st.integers(1, 65535),
            "appProtocol": st.sampled_from(["http", "kubernetes.io/h2c"]),
        },
    ),
    max_size=4,
    unique_by=(lambda p: p["name"], lambda p: (p["port"], p["protocol"])),
)


@st.composite
def services(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]))
    spec: dict[str, Any] = {"type": kind, "selector": draw(labels)}
    if kind == "ExternalName":
        spec["externalName"] = draw(st.from_regex(r"\A[a-z]{1,10}\.example\.com\Z"))
    else:
        spec["ports"] = draw(service_ports)
        spec["clusterIP"] = draw(st.one_of(ipv4, ipv6, st.just("None")))
        spec["externalIPs"] = draw(st.lists(ipv4, max_size=2))
    spec["sessionAffinity"] = draw(st.sampled_from(["None", "ClientIP"]))
    meta = {"name": draw(label), "namespace": draw(label), "labels": draw(labels)}
    if draw(st.booleans()):
        meta["uid"] = str(draw(st.uuids()))
    return {"metadata": meta, "spec": spec}


@st.composite
def slices(draw: st.DrawFn) -> dict[str, Any]:
    family = draw(st.sampled_from(["IPv4", "IPv6"]))
    address = ipv4 if family == "IPv4" else ipv6
    conditions = st.fixed_dictionaries(
        {}, optional={c: st.booleans() for c in ("ready", "serving", "terminating")}
    )
    endpoint = st.fixed_dictionaries(
        {"addresses": st.lists(address, min_size=1, max_size=2), "conditions": conditions},
        optional={"nodeName": label, "zone": label, "hostname": label},
    )
    return {
        "metadata": {"name": draw(label), "labels": {"kubernetes.io/service-name": draw(label)}},
        "addressType": family,
        "endpoints": draw(st.lists(endpoint, max_size=4)),
        "ports": draw(
            st.lists(
                st.fixed_dictionaries({}, optional={"port": st.integers(1, 65535)}), max_size=1
            )
        ),
    }


@settings(max_examples=150, deadline=None)
@given(services())
def test_service_round_trip_property(data: dict[str, Any]) -> None:
    s = Service.from_dict(data)
    out = s.to_dict()
    again = Service.from_dict(out)
    assert again == s and hash(again) == hash(s)
    assert again.to_dict() == out
    assert Service.from_json(json.dumps(out)) == s
    assert s.key == f"{data['metadata']['namespace']}/{data['metadata']['name']}"
    assert [p.port for p in s.ports] == [p["port"] for p in data["spec"].get("ports", [])]
    assert dict(s.selector) == data["spec"]["selector"]


@settings(max_examples=100, deadline=None)
@given(slices())
def test_endpointslice_round_trip_property(data: dict[str, Any]) -> None:
    s = EndpointSlice.from_dict(data)
    assert EndpointSlice.from_dict(s.to_dict()) == s
    for ep, given_ep in zip(s.endpoints, data["endpoints"], strict=True):
        cond = given_ep["conditions"]
        assert ep.ready == cond.get("ready", True)
        assert ep.serving == cond.get("serving", ep.ready)
        assert ep.terminating == cond.get("terminating", False)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["spec", "metadata", "status", "subsets", "endpoints"]), json_values)
def test_arbitrary_input_parses_or_raises_invalid_object(field: str, value: Any) -> None:
    for cls in (Service, Endpoints, EndpointSlice):
        data: dict[str, Any] = {"metadata": {"name": "a"}, "addressType": "IPv4", field: value}
        try:
            obj = cls.from_dict(data)
        except InvalidObject as err:
            assert err.key in (None, "default/a")
        else:
            assert type(obj).from_dict(obj.to_dict()) == obj
