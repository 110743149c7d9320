"""SPEC §2: the object classes: parsing, API shape, validation, conversions, immutability."""

from __future__ import annotations

import copy
import datetime
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kubeproxy_config as kp
from kubeproxy_config import (
    Endpoint,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    InvalidObject,
    Service,
    ServicePort,
)
from kubeproxy_config._convert import model_to_dict, rfc3339

FIXTURES = Path(__file__).parent / "fixtures"
KINDS: dict[str, type[Service] | type[Endpoints] | type[EndpointSlice]] = {
    "Service": Service,
    "Endpoints": Endpoints,
    "EndpointSlice": EndpointSlice,
}
AnyObject = Service | Endpoints | EndpointSlice


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def parse(data: dict[str, Any]) -> AnyObject:
    return KINDS[data["kind"]].from_dict(data)


FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))


# ---- API-server shape and round trips ----------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_round_trips_in_api_server_shape(name: str) -> None:
    data = fixture(name)
    obj = parse(data)
    assert obj.to_dict() == data
    assert type(obj).from_dict(obj.to_dict()) == obj
    assert type(obj).from_json(json.dumps(data)) == obj
    assert type(obj).from_json(json.dumps(data).encode()) == obj


def test_fields_the_api_server_adds_are_ignored() -> None:
    data = fixture("service_clusterip")
    noisy = copy.deepcopy(data)
    noisy["metadata"]["creationTimestamp"] = "2024-05-01T12:00:00Z"
    noisy["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    noisy["metadata"]["generation"] = 3
    noisy["status"]["conditions"] = [{"type": "Ready"}]
    assert Service.from_dict(noisy).to_dict() == data


def test_service_properties() -> None:
    s = Service.from_dict(fixture("service_clusterip"))
    assert (s.namespace, s.name, s.key) == ("shop", "web", "shop/web")
    assert s.uid == "5a1c0001-9f3e-4b7a-8c21-0d6e5f4a3b2c"
    assert s.resource_version == "1001"
    assert dict(s.labels) == {"app": "web", "tier": "frontend"}
    assert dict(s.annotations) == {"owner": "team-a"}
    assert s.type == "ClusterIP"
    assert s.cluster_ip == "10.96.12.34"
    assert s.cluster_ips == ("10.96.12.34",)
    assert s.ip_families == ("IPv4",)
    assert dict(s.selector) == {"app": "web"}
    assert s.session_affinity == "None"
    assert s.session_affinity_timeout_seconds is None
    assert s.external_ips == ()
    assert s.external_traffic_policy is None
    assert s.internal_traffic_policy == "Cluster"
    assert s.publish_not_ready_addresses is False
    http, https = s.ports
    assert isinstance(http, ServicePort)
    assert (http.name, http.protocol, http.port, http.target_port) == ("http", "TCP", 80, 8080)
    assert http.node_port is None and http.app_protocol is None
    assert https.app_protocol == "https"
    assert http.to_dict() == {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}


def test_service_variants() -> None:
    lb = Service.from_dict(fixture("service_loadbalancer"))
    assert lb.load_balancer_ingress_ips == ("198.51.100.7", "2001:db8::7")
    assert lb.load_balancer_source_ranges == ("203.0.113.0/24", "198.51.100.0/24")
    assert lb.external_ips == ("192.0.2.10",)
    assert lb.external_traffic_policy == "Local"
    assert lb.health_check_node_port == 32000
    assert lb.ports[0].node_port == 31080
    ext = Service.from_dict(fixture("service_externalname"))
    assert (ext.type, ext.cluster_ip, ext.external_name) == (
        "ExternalName",
        None,
        "db.prod.example.com",
    )
    assert ext.ports == () and ext.internal_traffic_policy is None
    headless = Service.from_dict(fixture("service_headless"))
    assert headless.cluster_ip == "None" and headless.publish_not_ready_addresses
    dual = Service.from_dict(fixture("service_dualstack"))
    assert dual.cluster_ips == ("fd00:10:96::a1b2", "10.96.33.1")
    assert dual.ip_families == ("IPv6", "IPv4")
    assert dual.ip_family_policy == "RequireDualStack"
    assert dual.ports[0].name == ""
    named = Service.from_dict(fixture("service_named_target"))
    assert named.ports[0].target_port == "grpc"
    assert named.session_affinity == "ClientIP"
    assert named.session_affinity_timeout_seconds == 600


def test_api_server_defaults_are_applied() -> None:
    s = Service.from_dict(
        {
            "metadata": {"name": "web"},
            "spec": {"type": "NodePort", "sessionAffinity": "ClientIP", "ports": [{"port": 80}]},
        }
    )
    assert s.namespace == "default"
    assert s.external_traffic_policy == "Cluster"
    assert s.internal_traffic_policy == "Cluster"
    assert s.session_affinity_timeout_seconds == 10800
    assert (s.ports[0].protocol, s.ports[0].target_port) == ("TCP", 80)
    assert s.cluster_ip is None and s.cluster_ips == ()
    bare = Service.from_dict({"metadata": {"name": "x"}, "spec": {"clusterIP": "10.0.0.1"}})
    assert bare.type == "ClusterIP" and bare.cluster_ips == ("10.0.0.1",)


def test_endpoints_properties() -> None:
    e = Endpoints.from_dict(fixture("endpoints"))
    (subset,) = e.subsets
    assert isinstance(subset, EndpointSubset)
    a, b = subset.addresses
    assert isinstance(a, EndpointAddress)
    assert (a.ip, a.hostname, a.node_name) == ("10.244.1.5", None, "node-a")
    assert (a.target_ref_kind, a.target_ref_name) == ("Pod", "web-7d9f8-abcde")
    assert b.hostname == "web-1"
    assert [x.ip for x in subset.not_ready_addresses] == ["10.244.3.2"]
    http, https = subset.ports
    assert isinstance(http, EndpointPort)
    assert (http.name, http.port, http.protocol, http.app_protocol) == ("http", 8080, "TCP", None)
    assert https.app_protocol == "https"
    assert subset.to_dict() == fixture("endpoints")["subsets"][0]


def test_endpointslice_properties_and_conditions() -> None:
    s = EndpointSlice.from_dict(fixture("endpointslice"))
    assert s.service_name == "web"
    assert s.address_type == "IPv4"
    ready, terminating, unset = s.endpoints
    assert isinstance(ready, Endpoint)
    assert ready.addresses == ("10.244.1.5",)
    assert (ready.ready, ready.serving, ready.terminating) == (True, True, False)
    assert (terminating.ready, terminating.serving, terminating.terminating) == (False, True, True)
    # Unset conditions: ready means true, serving follows ready, terminating means false.
    assert (unset.ready, unset.serving, unset.terminating) == (True, True, False)
    assert (ready.zone, ready.hints_for_zones, ready.node_name) == ("zone-a", ("zone-a",), "node-a")
    assert terminating.hostname == "web-1"
    assert (ready.target_ref_kind, ready.target_ref_name) == ("Pod", "web-7d9f8-abcde")
    assert s.ports[0].to_dict() == {"name": "http", "port": 8080, "protocol": "TCP"}
    not_ready = EndpointSlice.from_dict(
        {
            "metadata": {"name": "s"},
            "addressType": "IPv6",
            "endpoints": [{"addresses": ["fd00::1"], "conditions": {"ready": False}}],
            "ports": [{}],
        }
    )
    (ep,) = not_ready.endpoints
    assert (ep.ready, ep.serving, ep.terminating) == (False, False, False)
    assert not_ready.service_name is None
    assert (not_ready.ports[0].name, not_ready.ports[0].port) == ("", None)


def test_endpoint_node_hints() -> None:
    s = EndpointSlice.from_dict(
        _slice(
            endpoints=[
                {
                    "addresses": ["10.0.0.1"],
                    "hints": {
                        "forZones": [{"name": "zone-a"}],
                        "forNodes": [{"name": "node-a"}, {"name": "node-b"}],
                    },
                },
                {"addresses": ["10.0.0.2"], "hints": {"forNodes": [{"name": "node-c"}]}},
                {"addresses": ["10.0.0.3"]},
            ]
        )
    )
    both, nodes_only, none = s.endpoints
    assert (both.hints_for_zones, both.hints_for_nodes) == (("zone-a",), ("node-a", "node-b"))
    assert (nodes_only.hints_for_zones, nodes_only.hints_for_nodes) == ((), ("node-c",))
    assert (none.hints_for_zones, none.hints_for_nodes) == ((), ())
    assert both.to_dict()["hints"] == {
        "forZones": [{"name": "zone-a"}],
        "forNodes": [{"name": "node-a"}, {"name": "node-b"}],
    }
    assert nodes_only.to_dict()["hints"] == {"forNodes": [{"name": "node-c"}]}
    assert "hints" not in none.to_dict()
    assert EndpointSlice.from_dict(s.to_dict()) == s
    other = EndpointSlice.from_dict(
        _slice(endpoints=[{"addresses": ["10.0.0.1"], "hints": {"forNodes": [{"name": "x"}]}}])
    )
    plain = EndpointSlice.from_dict(_slice(endpoints=[{"addresses": ["10.0.0.1"]}]))
    assert other != plain


def _lb(*ingress: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "lb"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": list(ingress)}},
    }


def test_load_balancer_ingress_ip_modes() -> None:
    s = Service.from_dict(
        _lb(
            {"ip": "198.51.100.7", "ipMode": "VIP"},
            {"hostname": "lb.example.com", "ipMode": "Proxy"},
            {"ip": "198.51.100.8", "ipMode": "Proxy"},
            {"ip": "2001:db8::7"},
            {"ip": "198.51.100.9", "ipMode": ""},
        )
    )
    assert s.load_balancer_ingress_ips == (
        "198.51.100.7",
        "198.51.100.8",
        "2001:db8::7",
        "198.51.100.9",
    )
    assert s.load_balancer_ingress_ip_modes == ("VIP", "Proxy", None, None)
    assert s.to_dict()["status"]["loadBalancer"]["ingress"] == [
        {"ip": "198.51.100.7", "ipMode": "VIP"},
        {"ip": "198.51.100.8", "ipMode": "Proxy"},
        {"ip": "2001:db8::7"},
        {"ip": "198.51.100.9"},
    ]
    assert Service.from_dict(s.to_dict()) == s
    assert Service.from_json(json.dumps(s.to_dict())) == s
    vip = Service.from_dict(_lb({"ip": "198.51.100.7", "ipMode": "VIP"}))
    unset = Service.from_dict(_lb({"ip": "198.51.100.7"}))
    assert vip != unset
    assert Service.from_dict(fixture("service_clusterip")).load_balancer_ingress_ip_modes == ()
    with pytest.raises(InvalidObject) as info:
        Service.from_dict(_lb({"ip": "198.51.100.7", "ipMode": "vip"}))
    assert (info.value.key, info.value.path) == (
        "default/lb",
        "status.loadBalancer.ingress[0].ipMode",
    )
    assert '"VIP", "Proxy"' in str(info.value)


def test_legacy_forms_the_api_server_stores_are_accepted() -> None:
    # IPv4 with leading zeros (read as decimal, as Go's ParseIPSloppy does) and space-padded
    # loadBalancerSourceRanges (kept as given).
    s = Service.from_dict(
        {
            "metadata": {"name": "lb"},
            "spec": {
                "type": "LoadBalancer",
                "clusterIP": "010.000.000.001",
                "ports": [{"port": 80}],
                "externalIPs": ["010.001.002.003"],
                "loadBalancerSourceRanges": [" 10.0.0.0/8 ", "010.000.000.000/08"],
            },
            "status": {"loadBalancer": {"ingress": [{"ip": "198.051.100.007"}]}},
        }
    )
    assert (s.cluster_ip, s.cluster_ips) == ("10.0.0.1", ("10.0.0.1",))
    assert s.external_ips == ("10.1.2.3",)
    assert s.load_balancer_ingress_ips == ("198.51.100.7",)
    assert s.load_balancer_source_ranges == (" 10.0.0.0/8 ", "010.000.000.000/08")
    assert Service.from_dict(s.to_dict()) == s
    sl = EndpointSlice.from_dict(_slice(endpoints=[{"addresses": ["010.0.0.001"]}]))
    assert sl.endpoints[0].addresses == ("10.0.0.1",)
    eps = Endpoints.from_dict(_eps({"ip": "010.0.0.001"}))
    assert eps.subsets[0].addresses[0].ip == "10.0.0.1"
    with pytest.raises(InvalidObject):
        Service.from_dict(_svc(externalIPs=["010.0.0.256"]))


def test_repr() -> None:
    s = Service.from_dict(fixture("service_clusterip"))
    assert repr(s) == "Service('shop/web', type='ClusterIP', cluster_ip='10.96.12.34', ports=2)"
    ext = Service.from_dict(fixture("service_externalname"))
    assert repr(ext) == "Service('shop/db', type='ExternalName', cluster_ip=None, ports=0)"
    e = Endpoints.from_dict(fixture("endpoints"))
    assert repr(e) == "Endpoints('shop/web', subsets=1, addresses=2, not_ready=1)"
    sl = EndpointSlice.from_dict(fixture("endpointslice"))
    assert repr(sl).startswith("EndpointSlice('shop/web-x7k2p', service='web'")
    assert repr(s.ports[0]) == "ServicePort(name='http', protocol='TCP', port=80, target_port=8080)"
    assert repr(e.subsets[0].addresses[0]).startswith("EndpointAddress(ip='10.244.1.5'")
    assert repr(sl.endpoints[0]).startswith("Endpoint(addresses=('10.244.1.5',), ready=True")


# ---- immutability, equality, hashing ------------------------------------------------------


def test_objects_are_immutable() -> None:
    s = Service.from_dict(fixture("service_clusterip"))
    with pytest.raises(AttributeError):
        s.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s.ports[0].port = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        s.labels["app"] = "x"  # type: ignore[index]
    assert isinstance(s.ports, tuple)


def test_equality_and_hash_are_by_value() -> None:
    data = fixture("endpointslice")
    a = EndpointSlice.from_dict(data)
    b = EndpointSlice.from_json(json.dumps(data))
    assert a == b and a is not b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a.endpoints[0] == b.endpoints[0] and hash(a.endpoints[0]) == hash(b.endpoints[0])
    changed = copy.deepcopy(data)
    changed["metadata"]["resourceVersion"] = "3004"
    assert EndpointSlice.from_dict(changed) != a
    assert a != "not an object"
    s = Service.from_dict(fixture("service_clusterip"))
    assert len({s, Service.from_dict(s.to_dict()), s.ports[0], s.ports[1]}) == 3


def test_copy_and_pickle() -> None:
    s = Service.from_dict(fixture("service_loadbalancer"))
    assert copy.copy(s) is s and copy.deepcopy(s) is s
    assert copy.deepcopy(s.ports[0]) is not None
    for obj in (
        s,
        Endpoints.from_dict(fixture("endpoints")),
        EndpointSlice.from_dict(fixture("endpointslice")),
    ):
        again = pickle.loads(pickle.dumps(obj))
        assert again == obj and type(again) is type(obj)


def test_from_dict_accepts_an_instance() -> None:
    s = Service.from_dict(fixture("service_clusterip"))
    assert Service.from_dict(s) == s


# ---- validation: one test per rule ------------------------------------------------------------


def _svc(**spec: Any) -> dict[str, Any]:
    return {"kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}


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


def _eps(address: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "web"},
        "subsets": [{"addresses": [address], "ports": [{"port": 80}]}],
    }


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


def _slice(**fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": "s-1"}, "addressType": "IPv4", **fields}


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
