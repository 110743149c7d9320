"""ProxyConfig through the public API (SPEC §9), rule by rule: service ports (§1), endpoints
(§2), categorisation (§3), filters both ways, legacy Endpoints and IPv6."""

from __future__ import annotations

from typing import Any

from _helpers import WAIT
from _proxy_env import Json, addrs, endpoint, env, port, service, slice_of
from kubeproxy_config import EndpointsConfig, ProxyConfig, ServiceConfig

# ---- §1: service ports ---------------------------------------------------------------------


def test_one_entry_per_port_sorted_by_key_with_the_service_fields() -> None:
    with env() as e:
        s = e.set(
            [
                service("b", ports=[{"name": "z", "port": 1}, {"name": "a", "port": 2}]),
                service("a", ports=[{"port": 53, "protocol": "UDP"}]),
            ],
            [],
        )
        assert [p.key for p in s] == ["ns/a:/UDP", "ns/b:a/TCP", "ns/b:z/TCP"]
        info = port(s, "ns/b:a/TCP")
        assert (info.namespace, info.name, info.port_name, info.protocol) == ("ns", "b", "a", "TCP")
        assert (info.cluster_ip, info.port, info.ip_family, info.service_key) == (
            "10.96.0.1",
            2,
            "IPv4",
            "ns/b",
        )
        assert s.get("ns", "a", "", "UDP") == port(s, "ns/a:/UDP")
        assert s.get("ns/missing:/TCP") is None and s.get("not a key") is None
        assert "ns/b:z/TCP" in s and info in s and "ns/b" not in s


def test_headless_externalname_and_claimed_services_are_skipped() -> None:
    claimed = {"service.kubernetes.io/service-proxy-name": "other"}
    services = [
        service("headless", clusterIP="None"),
        service("external", type="ExternalName", externalName="x.example", clusterIP=""),
        service("claimed", labels=claimed),
        service("kept"),
    ]
    with env() as e:
        assert [p.name for p in e.set(services, [])] == ["kept"]
    with env(service_proxy_name="other") as e:
        # An alternative proxy keeps only what is labelled with its name.
        assert [p.name for p in e.set(services, [])] == ["claimed"]


def test_slices_claimed_by_another_proxy_or_headless_are_skipped() -> None:
    with env() as e:
        s = e.set(
            [service("web")],
            [
                slice_of("web", "web-1", [endpoint("10.0.0.1")]),
                slice_of(
                    "web",
                    "web-2",
                    [endpoint("10.0.0.2")],
                    labels={"service.kubernetes.io/service-proxy-name": "x"},
                ),
                slice_of(
                    "web",
                    "web-3",
                    [endpoint("10.0.0.3")],
                    labels={"service.kubernetes.io/headless": ""},
                ),
            ],
        )
        assert addrs(port(s, "ns/web:http/TCP").endpoints) == ["10.0.0.1:8080"]


def test_per_family_fields_and_the_load_balancer_without_ingress_trap() -> None:
    lb = service(
        "lb",
        type="LoadBalancer",
        clusterIPs=["10.96.0.5", "fd00::5"],
        clusterIP="10.96.0.5",
        ipFamilies=["IPv4", "IPv6"],
        externalTrafficPolicy="Local",
        healthCheckNodePort=30999,
        allocateLoadBalancerNodePorts=False,
        loadBalancerSourceRanges=[" 10.1.2.3/16 ", "fd00::/8"],
        externalIPs=["192.0.2.1", "2001:db8::1"],
        sessionAffinity="ClientIP",
        status={
            "loadBalancer": {
                "ingress": [
                    {"ip": "203.0.113.1"},
                    {"ip": "203.0.113.2", "ipMode": "Proxy"},
                    {"ip": "2001:db8::9", "ipMode": "VIP"},
                ]
            }
        },
    )
    nolb = service(
        "trap",
        type="LoadBalancer",
        allocateLoadBalancerNodePorts=False,
        externalTrafficPolicy="Local",
        healthCheckNodePort=31000,
    )
    with env() as e:
        s = e.set([lb, nolb], [])
        v4 = port(s, "ns/lb:http/TCP")
        assert v4.cluster_ip == "10.96.0.5"
        assert v4.external_ips == ("192.0.2.1",)
        assert v4.load_balancer_vips == ("203.0.113.1",)
        assert v4.load_balancer_source_ranges == ("10.1.0.0/16",)
        assert v4.session_affinity_timeout == 10800
        assert v4.external_policy_local and v4.externally_accessible
        assert v4.health_check_node_port == 30999
        assert v4.uses_cluster_endpoints and v4.uses_local_endpoints
        assert s.health_check_node_ports == {"ns/lb": 30999, "ns/trap": 31000}
        trap = port(s, "ns/trap:http/TCP")
        # No node port, no ingress: not externally accessible, so ETP=Local changes nothing.
        assert not trap.externally_accessible
        assert trap.uses_cluster_endpoints and not trap.uses_local_endpoints
    with env(ip_family="IPv6") as e:
        v6 = port(e.set([lb, nolb], []), "ns/lb:http/TCP")
        assert (v6.cluster_ip, v6.ip_family, e.proxy.ip_family) == ("fd00::5", "IPv6", "IPv6")
        assert v6.external_ips == ("2001:db8::1",)
        assert v6.load_balancer_vips == ("2001:db8::9",)
        assert v6.load_balancer_source_ranges == ("fd00::/8",)
        # The single-stack IPv4 service has no port in the IPv6 view.
        assert e.state().get("ns/trap:http/TCP") is None


def test_internal_traffic_policy_local_uses_only_local_endpoints() -> None:
    with env(node_name="n1") as e:
        s = e.set(
            [service("web", internalTrafficPolicy="Local")],
            [slice_of("web", "web-1", [endpoint("10.0.0.1", "n1"), endpoint("10.0.0.2", "n2")])],
        )
        info = port(s, "ns/web:http/TCP")
        assert info.internal_policy_local and not info.uses_cluster_endpoints
        assert info.cluster_endpoints is None
        assert addrs(info.local_endpoints) == ["10.0.0.1:8080"]
        assert addrs(info.all_reachable_endpoints) == ["10.0.0.1:8080"]
        assert s.local_ready_endpoints == {"ns/web": 1}


# ---- §2: endpoints ---------------------------------------------------------------------------


def test_endpoints_merge_across_slices_dedup_and_sort_as_strings() -> None:
    with env() as e:
        s = e.set(
            [service("web")],
            [
                slice_of("web", "web-b", [endpoint("10.0.0.2"), endpoint("10.0.0.10")]),
                slice_of(
                    "web",
                    "web-a",
                    [endpoint("10.0.0.2", conditions={"terminating": True, "ready": False})],
                ),
                slice_of("web", "web-c", [endpoint("10.0.0.3")], port_name="other"),
                slice_of("web", "web-d", [endpoint("10.0.0.4")], protocol="UDP"),
                slice_of("web", "web-e", [endpoint("fd00::1")], address_type="IPv6"),
            ],
        )
        info = port(s, "ns/web:http/TCP")
        assert addrs(info.endpoints) == ["10.0.0.10:8080", "10.0.0.2:8080"]
        # The terminating copy of 10.0.0.2 (from the first slice by name) lost to the ready one.
        assert all(not ep.terminating for ep in info.endpoints)


def test_a_slice_arriving_before_its_service_is_used_when_the_service_appears() -> None:
    for services_first in (True, False):
        with env() as e:
            sl = slice_of("web", "web-1", [endpoint("10.0.0.1")])
            e.svc.set([])
            e.eps.set([])
            if services_first:
                e.svc.add([service("web")])
                e.eps.add([sl])
            else:
                e.eps.add([sl])
                assert len(e.state()) == 0
                e.svc.add([service("web")])
            assert addrs(port(e.state(), "ns/web:http/TCP").endpoints) == ["10.0.0.1:8080"]


def test_legacy_endpoints_are_ready_or_not_and_never_terminating() -> None:
    with ServiceConfig() as sc, EndpointsConfig() as ec, ProxyConfig(sc, ec, node_name="n1") as pc:
        sc.channel("api").set([service("web")])
        ec.channel("api").set(
            [
                {
                    "metadata": {"namespace": "ns", "name": "web"},
                    "subsets": [
                        {
                            "addresses": [{"ip": "10.0.0.1", "nodeName": "n1"}],
                            "notReadyAddresses": [{"ip": "10.0.0.2"}],
                            "ports": [{"name": "http", "port": 8080}],
                        }
                    ],
                }
            ]
        )
        assert pc.flush(WAIT)
        info = port(pc.state(), "ns/web:http/TCP")
        assert [
            (x.address, x.ready, x.serving, x.terminating, x.is_local) for x in info.endpoints
        ] == [
            ("10.0.0.1:8080", True, True, False, True),
            ("10.0.0.2:8080", False, False, False, False),
        ]
        assert addrs(info.cluster_endpoints) == ["10.0.0.1:8080"]


def test_ipv6_endpoints_are_normalised_and_bracketed() -> None:
    svc6 = service("web", clusterIP="fd00::10", clusterIPs=["fd00::10"], ipFamilies=["IPv6"])
    with env(ip_family="IPv6") as e:
        s = e.set([svc6], [slice_of("web", "web-1", [endpoint("FD00:0::1")], address_type="IPv6")])
        (ep,) = port(s, "ns/web:http/TCP").endpoints
        assert (ep.ip, ep.address) == ("fd00::1", "[fd00::1]:8080")


# ---- §3: categorisation ----------------------------------------------------------------------


def hinted(ip: str, zone: str, node: str | None = None, **extra: Any) -> Json:
    hints: Json = {"forZones": [{"name": zone}]}
    if node:
        hints["forNodes"] = [{"name": node}]
    return endpoint(ip, node, zone=zone, hints=hints, **extra)


def test_zone_hints_are_used_only_when_every_ready_endpoint_has_them() -> None:
    with env(node_name="n1", zone="z1") as e:
        both = [hinted("10.0.0.1", "z1"), hinted("10.0.0.2", "z2")]
        s = e.set([service("web")], [slice_of("web", "web-1", both)])
        info = port(s, "ns/web:http/TCP")
        assert info.topology_mode == "PreferSameZone"
        assert addrs(info.cluster_endpoints) == ["10.0.0.1:8080"]
        e.eps.add([slice_of("web", "web-1", [*both, endpoint("10.0.0.3")])])
        info = port(e.state(), "ns/web:http/TCP")
        assert info.topology_mode == ""
        assert len(info.cluster_endpoints or ()) == 3
        # set_zone re-categorises everything.
        e.eps.add([slice_of("web", "web-1", both)])
        e.proxy.set_zone("z2")
        info = port(e.state(), "ns/web:http/TCP")
        assert e.proxy.zone == "z2"
        assert addrs(info.cluster_endpoints) == ["10.0.0.2:8080"]


def test_node_hints_need_prefer_same_node() -> None:
    eps = [hinted("10.0.0.1", "z1", "n1"), hinted("10.0.0.2", "z1", "n2")]
    with env(node_name="n1", zone="z1") as e:
        info = port(e.set([service("web")], [slice_of("web", "w", eps)]), "ns/web:http/TCP")
        assert info.topology_mode == "PreferSameNode"
        assert addrs(info.cluster_endpoints) == ["10.0.0.1:8080"]
        assert info.cluster_endpoints is not None
        assert info.cluster_endpoints[0].node_hints == ("n1",)
    with env(node_name="n1", zone="z1", prefer_same_node=False) as e:
        info = port(e.set([service("web")], [slice_of("web", "w", eps)]), "ns/web:http/TCP")
        assert info.topology_mode == "PreferSameZone"
        assert len(info.cluster_endpoints or ()) == 2


def test_terminating_fallback_ignores_topology_and_locality() -> None:
    term = {"conditions": {"ready": False, "serving": True, "terminating": True}}
    gone = {"conditions": {"ready": False, "serving": False, "terminating": True}}
    with env(node_name="n1", zone="z1") as e:
        s = e.set(
            [service("web")],
            [
                slice_of(
                    "web",
                    "w",
                    [hinted("10.0.0.1", "z2", "n2", **term), endpoint("10.0.0.2", "n1", **gone)],
                )
            ],
        )
        info = port(s, "ns/web:http/TCP")
        assert info.topology_mode == ""
        assert addrs(info.cluster_endpoints) == ["10.0.0.1:8080"]
        assert info.has_any_endpoints


def test_external_policy_local_local_fallback_and_union() -> None:
    term = {"conditions": {"ready": False, "serving": True, "terminating": True}}
    np = service(
        "web",
        type="NodePort",
        externalTrafficPolicy="Local",
        ports=[{"name": "http", "port": 80, "nodePort": 30080}],
    )
    with env(node_name="n1") as e:
        s = e.set(
            [np],
            [
                slice_of(
                    "web", "w", [endpoint("10.0.0.1", "n1", **term), endpoint("10.0.0.2", "n2")]
                )
            ],
        )
        info = port(s, "ns/web:http/TCP")
        assert info.uses_cluster_endpoints and info.uses_local_endpoints
        assert addrs(info.cluster_endpoints) == ["10.0.0.2:8080"]
        # No local ready endpoint: the local serving-terminating one is used.
        assert addrs(info.local_endpoints) == ["10.0.0.1:8080"]
        assert addrs(info.all_reachable_endpoints) == ["10.0.0.1:8080", "10.0.0.2:8080"]
        assert s.local_ready_endpoints == {}
    with env(node_name="n3") as e:
        s = e.set([np], [slice_of("web", "w", [endpoint("10.0.0.2", "n2")])])
        info = port(s, "ns/web:http/TCP")
        # Endpoints exist, none here: DROP, not REJECT.
        assert info.local_endpoints == () and info.has_any_endpoints
    with env(node_name="n3") as e:
        info = port(e.set([np], []), "ns/web:http/TCP")
        assert info.endpoints == () and not info.has_any_endpoints
        assert info.cluster_endpoints == () and info.local_endpoints == ()
