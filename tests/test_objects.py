"""SPEC §2: the object classes: parsing, API shape, validation, conversions, immutability."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

from _helpers import FIXTURES, fixture, slice_dict, web_endpoints, web_service
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

KINDS: dict[str, type[Service] | type[Endpoints] | type[EndpointSlice]] = {
    "Service": Service,
    "Endpoints": Endpoints,
    "EndpointSlice": EndpointSlice,
}
AnyObject = Service | Endpoints | EndpointSlice


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
        slice_dict(
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
        slice_dict(endpoints=[{"addresses": ["10.0.0.1"], "hints": {"forNodes": [{"name": "x"}]}}])
    )
    plain = EndpointSlice.from_dict(slice_dict(endpoints=[{"addresses": ["10.0.0.1"]}]))
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
    sl = EndpointSlice.from_dict(slice_dict(endpoints=[{"addresses": ["010.0.0.001"]}]))
    assert sl.endpoints[0].addresses == ("10.0.0.1",)
    eps = Endpoints.from_dict(web_endpoints({"ip": "010.0.0.001"}))
    assert eps.subsets[0].addresses[0].ip == "10.0.0.1"
    with pytest.raises(InvalidObject):
        Service.from_dict(web_service(externalIPs=["010.0.0.256"]))


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
