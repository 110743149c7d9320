"""The reference proxy view (tests/proxy_reference.py) against the rule book, and the W8 baseline
(benches/proxy_baseline.py) against the reference.

(a) One or more tests per rule family of ``PROXY-SEMANTICS.md`` §1-§3 (and §4.1 / §4.2's health
    maps), on hand-written Service / EndpointSlice dicts.
(b) Random operation sequences (``cluster_ops``) applied to ``PurePythonProxyView``: after every
    step its ``ports()`` equals ``compute()`` over the current inputs, so W8 compares equal work.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(
        0, str(Path(__file__).parent)
    )  # proxy_reference.py; the import mode is importlib
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benches.proxy_baseline import PurePythonProxyView

from proxy_reference import ClusterState, Json, View, cluster_ops, compute

NODE = "node-a"


def svc(name: str = "s", ns: str = "ns", labels: Json | None = None, **spec: Any) -> Json:
    spec.setdefault("clusterIP", "10.96.0.1")
    spec.setdefault("ports", [{"name": "http", "port": 80}])
    status = spec.pop("status", None)
    obj: Json = {"metadata": {"namespace": ns, "name": name, "labels": labels or {}}, "spec": spec}
    if status is not None:
        obj["status"] = status
    return obj


def ep(ip: str, node: str | None = None, **kw: Any) -> Json:
    out: Json = {"addresses": [ip]}
    if node is not None:
        out["nodeName"] = node
    conditions = {c: kw.pop(c) for c in ("ready", "serving", "terminating") if c in kw}
    if conditions:
        out["conditions"] = conditions
    zones, nodes = kw.pop("zones", None), kw.pop("nodes", None)
    if zones is not None or nodes is not None:
        out["hints"] = {
            "forZones": [{"name": z} for z in zones or ()],
            "forNodes": [{"name": n} for n in nodes or ()],
        }
    out.update(kw)
    return out


def slc(
    endpoints: list[Json],
    name: str = "s-1",
    owner: str = "s",
    ns: str = "ns",
    ports: list[Json] | None = None,
    address_type: str = "IPv4",
    labels: Json | None = None,
) -> Json:
    return {
        "metadata": {
            "namespace": ns,
            "name": name,
            "labels": {"kubernetes.io/service-name": owner, **(labels or {})},
        },
        "addressType": address_type,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}] if ports is None else ports,
        "endpoints": endpoints,
    }


def view_of(services: list[Json], slices: list[Json] | None = None, **params: Any) -> View:
    """The reference's view; fed the same inputs, the baseline must give the same ports."""
    view = compute(services, slices or [], **params)
    baseline = PurePythonProxyView(**params)
    baseline.set_services(services)
    baseline.set_slices(slices or [])
    assert baseline.ports() == view.ports
    return view


def port(view: View, key: str = "ns/s:http/TCP") -> Json:
    return view.ports[key]


def addrs(eps: tuple[Json, ...] | None) -> list[str] | None:
    return None if eps is None else [e["address"] for e in eps]


# --- §1.2 skips ---------------------------------------------------------------------------------


def test_skips() -> None:
    proxy = {"service.kubernetes.io/service-proxy-name": "alt"}
    services = [
        svc("headless", clusterIP="None"),
        svc("empty", clusterIP=""),
        svc("missing", clusterIP=None),
        svc("external-name", type="ExternalName"),
        svc("labelled", labels=proxy),
        svc("headless-label", labels={"service.kubernetes.io/headless": ""}),
        svc("v6-only", clusterIP="fd00::1"),
        svc("kept"),
    ]
    assert [p["name"] for p in view_of(services).ports.values()] == ["kept"]
    alt = view_of(services, service_proxy_name="alt").ports
    assert [p["name"] for p in alt.values()] == ["labelled"]
    assert view_of([svc(labels={**proxy})], service_proxy_name="other").ports == {}
    protocols = [{"name": p, "port": 1, "protocol": p} for p in ("TCP", "UDP", "SCTP")]
    assert sorted(view_of([svc(ports=protocols)]).ports) == [
        "ns/s:SCTP/SCTP",
        "ns/s:TCP/TCP",
        "ns/s:UDP/UDP",
    ]


# --- §1.3 per-family fields ---------------------------------------------------------------------


def test_cluster_ip_by_family_and_skew() -> None:
    dual = svc(
        clusterIP="fd00::0001",
        clusterIPs=["FD00::0001", "010.096.000.001"],
        ipFamilies=["IPv6", "IPv4"],
    )
    assert port(view_of([dual]))["cluster_ip"] == "10.96.0.1"
    assert port(view_of([dual], ip_family="IPv6"))["cluster_ip"] == "fd00::1"
    skew = svc(clusterIP="fd00::1")  # no ipFamilies: clusterIP only, when its family matches
    assert view_of([skew]).ports == {}
    assert port(view_of([skew], ip_family="IPv6"))["ip_family"] == "IPv6"


def test_per_family_fields() -> None:
    service = svc(
        type="LoadBalancer",
        clusterIPs=["10.96.0.1", "fd00::1"],
        ipFamilies=["IPv4", "IPv6"],
        ports=[{"port": 80, "nodePort": 30080}],
        externalIPs=["001.002.003.004", "2001:DB8::1", "bogus"],
        loadBalancerSourceRanges=[" 10.1.2.3/8 ", "fd00::1/64", "nope", "10.0.0.0", "1.2.3.4/33"],
        status={
            "loadBalancer": {
                "ingress": [
                    {"ip": "5.6.7.8"},
                    {"ip": "5.6.7.9", "ipMode": "Proxy"},
                    {"ip": "5.6.7.10", "ipMode": "VIP"},
                    {"hostname": "lb.example.com"},
                    {"ip": "2001:db8::5"},
                ]
            }
        },
        sessionAffinity="ClientIP",
    )
    v4 = port(view_of([service]), "ns/s:/TCP")
    assert (v4["port"], v4["node_port"], v4["protocol"], v4["port_name"]) == (80, 30080, "TCP", "")
    assert v4["external_ips"] == ("1.2.3.4",)
    assert v4["load_balancer_vips"] == ("5.6.7.8", "5.6.7.10")
    assert v4["load_balancer_source_ranges"] == ("10.0.0.0/8",)
    assert v4["session_affinity_timeout"] == 10800  # ClientIP, default timeout
    v6 = port(view_of([service], ip_family="IPv6"), "ns/s:/TCP")
    assert (v6["node_port"], v6["cluster_ip"]) == (30080, "fd00::1")  # the same nodePort
    assert v6["external_ips"] == ("2001:db8::1",)
    assert v6["load_balancer_vips"] == ("2001:db8::5",)
    assert v6["load_balancer_source_ranges"] == ("fd00::/64",)
    timeout = {"clientIP": {"timeoutSeconds": 60}}
    assert port(view_of([svc(sessionAffinity="None")]))["session_affinity_timeout"] == 0
    assert (
        port(view_of([svc(sessionAffinity="ClientIP", sessionAffinityConfig=timeout)]))[
            "session_affinity_timeout"
        ]
        == 60
    )
    assert port(view_of([svc(sessionAffinityConfig=timeout)]))["session_affinity_timeout"] == 0


def test_policies_and_health_check_node_port() -> None:
    def flags(**spec: Any) -> tuple[bool, bool, int]:
        defaults = {"externalTrafficPolicy": "Local", "healthCheckNodePort": 32000}
        view = view_of([svc(**{**defaults, **spec})])
        info = port(view)
        assert view.health_check_node_ports == (
            {"ns/s": 32000} if info["health_check_node_port"] else {}
        )
        return (
            info["external_policy_local"],
            info["internal_policy_local"],
            info["health_check_node_port"],
        )

    assert flags(type="LoadBalancer") == (True, False, 32000)
    assert flags(type="NodePort") == (True, False, 0)  # no health check for NodePort
    assert flags() == (False, False, 0)  # ClusterIP without externalIPs: not externally accessible
    assert flags(externalIPs=["1.2.3.4"]) == (True, False, 0)
    assert flags(type="LoadBalancer", internalTrafficPolicy="Local") == (True, True, 32000)
    assert flags(type="LoadBalancer", healthCheckNodePort=0) == (True, False, 0)
    assert flags(type="LoadBalancer", externalTrafficPolicy="Cluster") == (False, False, 0)


# --- §1.4 predicates ----------------------------------------------------------------------------


def test_predicates_and_the_load_balancer_without_ingress_trap() -> None:
    def preds(**spec: Any) -> tuple[bool, bool, bool]:
        info = port(view_of([svc(**spec)]))
        return (
            info["externally_accessible"],
            info["uses_cluster_endpoints"],
            info["uses_local_endpoints"],
        )

    lb_local = {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}
    no_node_port = {"ports": [{"name": "http", "port": 80}], "allocateLoadBalancerNodePorts": False}
    assert preds() == (False, True, False)
    assert preds(internalTrafficPolicy="Local") == (False, False, True)
    # the trap: no ingress yet, only another family's, or only ipMode Proxy -> not accessible
    assert preds(**lb_local, **no_node_port) == (False, True, False)
    other = {
        "loadBalancer": {"ingress": [{"ip": "2001:db8::5"}, {"ip": "5.6.7.8", "ipMode": "Proxy"}]}
    }
    assert preds(**lb_local, **no_node_port, status=other) == (False, True, False)
    vip = {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}]}}
    assert preds(**lb_local, **no_node_port, status=vip) == (True, True, True)
    with_node_port = {"ports": [{"name": "http", "port": 80, "nodePort": 30000}]}
    assert preds(**{**lb_local, **with_node_port}) == (True, True, True)
    assert preds(externalIPs=["2001:db8::1"], externalTrafficPolicy="Local") == (False, True, False)
    assert preds(internalTrafficPolicy="Local", externalIPs=["1.2.3.4"]) == (True, True, True)


# --- §2.1 slice selection, §2.2 port mapping ----------------------------------------------------


def test_slice_selection() -> None:
    good = [ep("10.0.0.1")]
    slices = [
        slc(good, name="ok"),
        slc([ep("10.0.0.2")], name="fqdn", address_type="FQDN"),
        slc([ep("fd00::1")], name="v6", address_type="IPv6"),
        slc([ep("10.0.0.3")], name="other-ns", ns="other"),
        slc([ep("10.0.0.4")], name="no-owner", owner=""),
        slc(
            [ep("10.0.0.5")],
            name="proxied",
            labels={"service.kubernetes.io/service-proxy-name": "x"},
        ),
        slc([ep("10.0.0.6")], name="headless", labels={"service.kubernetes.io/headless": ""}),
    ]
    assert addrs(port(view_of([svc()], slices))["endpoints"]) == ["10.0.0.1:8080"]
    v6 = view_of([svc(clusterIP="fd00::9")], slices, ip_family="IPv6")
    assert addrs(port(v6)["endpoints"]) == ["[fd00::1]:8080"]


def test_port_mapping() -> None:
    ports = [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]
    slices = [
        slc(
            [ep("10.0.0.1")],
            name="a",
            ports=[
                {"name": "http", "port": 8080},  # protocol defaults to TCP
                {"name": "dns", "port": 53, "protocol": "TCP"},  # protocol mismatch
                {"port": 9999},  # nil name
                {"name": "http", "port": 0, "protocol": "TCP"},  # zero port
            ],
        ),
        slc([ep("10.0.0.1")], name="b", ports=[{"name": "http", "port": 8081}]),  # kept too
        slc([ep("10.0.0.3")], name="c", ports=[{"name": "dns", "port": 5353, "protocol": "UDP"}]),
    ]
    view = view_of([svc(ports=ports)], slices)
    assert addrs(port(view)["endpoints"]) == ["10.0.0.1:8080", "10.0.0.1:8081"]
    assert addrs(port(view, "ns/s:dns/UDP")["endpoints"]) == ["10.0.0.3:5353"]
    unnamed = view_of(
        [svc(ports=[{"port": 80}])], [slc([ep("10.0.0.1")], ports=[{"name": "", "port": 1}])]
    )
    assert addrs(port(unnamed, "ns/s:/TCP")["endpoints"]) == ["10.0.0.1:1"]


# --- §2.3 per endpoint --------------------------------------------------------------------------


def test_endpoint_normalisation_defaults_and_locality() -> None:
    raw = [
        ep("010.000.000.001", NODE, zone="z1", hostname="h", zones=["z1"], nodes=[NODE]),
        {"addresses": []},
        ep("10.0.0.2", "node-b", ready=False, serving=True, terminating=True),
        {"addresses": ["10.0.0.3", "10.0.0.4"], "nodeName": ""},
    ]
    eps = port(view_of([svc()], [slc(raw)], node_name=NODE))["endpoints"]
    assert eps[0] == {
        "ip": "10.0.0.1",
        "port": 8080,
        "address": "10.0.0.1:8080",
        "is_local": True,
        "ready": True,
        "serving": True,
        "terminating": False,
        "node_name": NODE,
        "zone": "z1",
        "hostname": "h",
        "zone_hints": ("z1",),
        "node_hints": (NODE,),
    }
    assert [(e["address"], e["is_local"], e["ready"], e["terminating"]) for e in eps[1:]] == [
        ("10.0.0.2:8080", False, False, True),
        ("10.0.0.3:8080", False, True, False),  # addresses[0] only
    ]
    assert not port(view_of([svc()], [slc(raw)]))["endpoints"][0]["is_local"]  # no node name
    v6 = view_of(
        [svc(clusterIP="fd00::9")], [slc([ep("FD00::0001")], address_type="IPv6")], ip_family="IPv6"
    )
    assert port(v6)["endpoints"][0]["address"] == "[fd00::1]:8080"


def test_duplicates_and_string_order() -> None:
    slices = [
        slc([ep("10.0.0.1", "node-b", terminating=True), ep("10.0.0.10")], name="a"),
        slc([ep("10.0.0.1", "node-c"), ep("10.0.0.2", "node-c")], name="c"),
        slc([ep("10.0.0.2", "node-b")], name="b"),
    ]
    eps = port(view_of([svc()], slices))["endpoints"]
    assert [(e["address"], e["node_name"]) for e in eps] == [
        ("10.0.0.10:8080", None),  # string order: "10.0.0.10:" < "10.0.0.1:" < "10.0.0.2"
        ("10.0.0.1:8080", "node-c"),  # non-terminating wins over a smaller slice name
        ("10.0.0.2:8080", "node-b"),  # equals: the smallest slice name wins
    ]


def test_legacy_endpoints() -> None:
    legacy = {
        "metadata": {"namespace": "ns", "name": "s"},
        "subsets": [
            {
                "addresses": [
                    {"ip": "10.0.0.1", "nodeName": NODE, "hostname": "h"},
                    {"ip": "fd00::1"},
                ],
                "notReadyAddresses": [{"ip": "10.0.0.2"}],
                "ports": [{"name": "http", "port": 8080}],
            }
        ],
    }
    view = compute([svc()], [slc([ep("10.9.9.9")])], [legacy], node_name=NODE)
    eps = port(view)["endpoints"]
    assert [
        (e["address"], e["ready"], e["serving"], e["is_local"], e["hostname"]) for e in eps
    ] == [
        ("10.0.0.1:8080", True, True, True, "h"),
        ("10.0.0.2:8080", False, False, False, None),
    ]
    assert view.local_ready_endpoints == {"ns/s": 1}


# --- §3 categorisation --------------------------------------------------------------------------


def categorized(endpoints: list[Json], zone: str = "z1", psn: bool = True, **spec: Any) -> Json:
    return port(
        view_of([svc(**spec)], [slc(endpoints)], node_name=NODE, zone=zone, prefer_same_node=psn)
    )


def test_no_endpoints() -> None:
    info = categorized([], internalTrafficPolicy="Local")
    assert info["endpoints"] == () and not info["has_any_endpoints"]
    assert (info["cluster_endpoints"], info["local_endpoints"]) == (None, ())
    assert info["all_reachable_endpoints"] == () and info["topology_mode"] == ""
    assert categorized([])["cluster_endpoints"] == ()
    assert categorized([])["local_endpoints"] is None


def test_topology_modes() -> None:
    a = ep("10.0.0.1", zones=["z1"], nodes=[NODE])
    b = ep("10.0.0.2", zones=["z2"], nodes=["node-b"])
    info = categorized([a, b])
    assert info["topology_mode"] == "PreferSameNode" and addrs(info["cluster_endpoints"]) == [
        "10.0.0.1:8080"
    ]
    assert info["all_reachable_endpoints"] == info["cluster_endpoints"]  # union with local None
    info = categorized([a, b], psn=False)  # node hints not read
    assert info["topology_mode"] == "PreferSameZone" and addrs(info["cluster_endpoints"]) == [
        "10.0.0.1:8080"
    ]
    assert categorized([a, b], zone="z3")["topology_mode"] == "PreferSameNode"
    assert categorized([a, b], zone="", psn=False)["topology_mode"] == ""  # zone "" never matches
    no_node_hint = ep("10.0.0.3", zones=["z2"])
    info = categorized([a, b, no_node_hint])  # hints only when every ready endpoint has them
    assert info["topology_mode"] == "PreferSameZone" and addrs(info["cluster_endpoints"]) == [
        "10.0.0.1:8080"
    ]
    info = categorized([a, b, ep("10.0.0.3")])
    assert info["topology_mode"] == "" and len(info["cluster_endpoints"]) == 3
    not_ready = ep("10.0.0.4", ready=False)  # not ready: ignored for the mode
    assert categorized([a, b, not_ready])["topology_mode"] == "PreferSameNode"
    assert categorized([b], zone="z3")["topology_mode"] == ""  # hinted elsewhere only


def test_terminating_fallback_ignores_topology() -> None:
    eps = [
        ep("10.0.0.1", "node-b", ready=False, serving=True, terminating=True, zones=["z2"]),
        ep("10.0.0.2", ready=False, serving=False, terminating=True),
        ep("10.0.0.3", ready=False),
    ]
    info = categorized(eps)
    assert info["topology_mode"] == "" and addrs(info["cluster_endpoints"]) == ["10.0.0.1:8080"]
    assert info["has_any_endpoints"]
    assert not categorized(eps[1:])["has_any_endpoints"]


def test_local_endpoints_and_union() -> None:
    local = ep("10.0.0.2", NODE, zones=["z2"])
    remote = ep("10.0.0.1", "node-b", zones=["z1"])
    info = categorized([local, remote], internalTrafficPolicy="Local")
    assert info["cluster_endpoints"] is None and addrs(info["local_endpoints"]) == ["10.0.0.2:8080"]
    assert (
        info["all_reachable_endpoints"] == info["local_endpoints"] and info["topology_mode"] == ""
    )
    lb: Json = {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}
    lb["ports"] = [{"name": "http", "port": 80, "nodePort": 30000}]
    info = categorized([local, remote], **lb)  # mode PreferSameZone (z1): cluster = remote only
    assert addrs(info["cluster_endpoints"]) == ["10.0.0.1:8080"]
    assert addrs(info["all_reachable_endpoints"]) == ["10.0.0.1:8080", "10.0.0.2:8080"]
    local_st = ep("10.0.0.20", NODE, ready=False, serving=True, terminating=True)
    info = categorized([remote, local_st], **lb)  # local falls back to serving+terminating
    assert addrs(info["local_endpoints"]) == ["10.0.0.20:8080"]
    assert addrs(info["all_reachable_endpoints"]) == ["10.0.0.1:8080", "10.0.0.20:8080"]
    info = categorized([ep("10.0.0.1", "node-b"), local_st], **lb)  # no topology, still a union
    assert info["topology_mode"] == "" and addrs(info["cluster_endpoints"]) == ["10.0.0.1:8080"]
    assert addrs(info["all_reachable_endpoints"]) == ["10.0.0.1:8080", "10.0.0.20:8080"]
    info = categorized([ep("10.0.0.1", "node-b")], **lb)  # nothing local: DROP, not REJECT
    assert info["local_endpoints"] == () and info["has_any_endpoints"]
    info = categorized([ep("10.0.0.1", "node-b")], internalTrafficPolicy="Local")
    assert info["has_any_endpoints"] and info["all_reachable_endpoints"] == ()


def test_local_ready_endpoints_counts_distinct_ips() -> None:
    ports = [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]
    slice_ports = [{"name": "http", "port": 8080}, {"name": "http", "port": 8081}]
    slice_ports.append({"name": "dns", "port": 53, "protocol": "UDP"})
    eps = [ep("10.0.0.1", NODE), ep("10.0.0.2", NODE, ready=False), ep("10.0.0.3", "node-b")]
    eps.append(ep("10.0.0.4", NODE, ready=True, terminating=True))  # ready is taken as given
    view = view_of([svc(ports=ports), svc("t")], [slc(eps, ports=slice_ports)], node_name=NODE)
    assert view.local_ready_endpoints == {"ns/s": 2}


# --- (b) the incremental baseline equals the reference ------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=cluster_ops(),
    node_name=st.sampled_from([NODE, NODE, NODE, "node-b", ""]),
    zone=st.sampled_from(["", "z1", "z2"]),
    family=st.sampled_from(["IPv4", "IPv6"]),
    service_proxy_name=st.sampled_from([None, "alt"]),
    prefer_same_node=st.booleans(),
)
def test_baseline_matches_reference(
    ops: list[tuple[str, Any]],
    node_name: str,
    zone: str,
    family: str,
    service_proxy_name: str | None,
    prefer_same_node: bool,
) -> None:
    params: dict[str, Any] = {
        "node_name": node_name,
        "ip_family": family,
        "service_proxy_name": service_proxy_name,
        "prefer_same_node": prefer_same_node,
    }
    view = PurePythonProxyView(zone=zone, **params)
    state = ClusterState(zone=zone)
    for step, (method, arg) in enumerate(ops):
        getattr(view, method)(arg)
        state.apply((method, arg))
        expected = compute(
            state.services.values(), state.slices.values(), zone=state.zone, **params
        )
        assert view.ports() == expected.ports, f"step {step}: {method}"
