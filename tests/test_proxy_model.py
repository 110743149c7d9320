"""Model-based test of ProxyConfig (SPEC §9): random sequences of Service and EndpointSlice
operations and zone changes; after each step ``state()`` equals a from-scratch recomputation of
the rule book over the inputs' current state (``proxy_reference.compute``), and the ``changes``
a handler received add up to exactly that state."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _helpers import WAIT, apply_changes
from _proxy_strategies import ClusterState, Op, cluster_ops, object_key
from kubeproxy_config import (
    EndpointSlice,
    EndpointSliceConfig,
    InvalidObject,
    ProxyConfig,
    ProxySnapshot,
    Service,
    ServiceConfig,
)
from proxy_reference import compute

Json = dict[str, Any]


def accepted(op: Op) -> Op | None:
    """``op`` without the objects the API server (and so this package) rejects, e.g. an
    external IP that is no IP: those never reach a proxy."""
    method, arg = op

    def valid(obj: Json) -> bool:
        if "service" not in method:
            for port in obj.get("ports") or []:
                # The API server defaults a slice port's name to "" (discovery/v1
                # SetDefaults_EndpointPort): a stored slice never has a nil name.
                if port.get("name") is None:
                    port["name"] = ""
        kind = Service if "service" in method else EndpointSlice
        try:
            kind.from_dict(obj)
        except InvalidObject:
            return False
        return True

    if method in ("upsert_service", "upsert_slice"):
        return op if valid(arg) else None
    if method in ("set_services", "set_slices"):
        return (method, [obj for obj in arg if valid(obj)])
    return op


def ports_of(state: ProxySnapshot) -> dict[str, Json]:
    return {p.key: p.to_dict() for p in state}


def canonical_endpoint(ep: Json) -> Json:
    # The object model reads an empty nodeName, zone or hostname as unset (None).
    return {
        k: (None if v == "" and k in ("node_name", "zone", "hostname") else v)
        for k, v in ep.items()
    }


def canonical(ports: dict[str, Json]) -> dict[str, Json]:
    """``all_reachable_endpoints`` is a set in the rule book; compare it as one."""
    out = {}
    for key, port in ports.items():
        port = dict(port)
        for field in ("endpoints", "cluster_endpoints", "local_endpoints"):
            if port[field] is not None:
                port[field] = [canonical_endpoint(e) for e in port[field]]
        port["all_reachable_endpoints"] = sorted(
            (canonical_endpoint(e) for e in port["all_reachable_endpoints"]),
            key=lambda e: e["address"],
        )
        out[key] = port
    return out


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    ops=cluster_ops(),
    node_name=st.sampled_from(["", "node-a"]),
    zone=st.sampled_from(["", "z1", "z2"]),
    family=st.sampled_from(["IPv4", "IPv6"]),
    prefer_same_node=st.booleans(),
    service_proxy_name=st.sampled_from([None, None, "alt"]),
)
def test_the_view_equals_a_recomputation_after_every_step(
    ops: list[Op],
    node_name: str,
    zone: str,
    family: str,
    prefer_same_node: bool,
    service_proxy_name: str | None,
) -> None:
    opts: dict[str, Any] = {
        "node_name": node_name,
        "ip_family": family,
        "prefer_same_node": prefer_same_node,
        "service_proxy_name": service_proxy_name,
    }
    with (
        ServiceConfig() as services,
        EndpointSliceConfig() as slices,
        ProxyConfig(services, slices, zone=zone, **opts) as proxy,
    ):
        seen: dict[str, Any] = {}
        proxy.register_handler(lambda snap: apply_changes(seen, snap.changes))
        svc, eps = services.channel("api"), slices.channel("api")
        model = ClusterState(zone=zone)
        for raw in ops:
            op = accepted(raw)
            if op is None:
                continue
            model.apply(op)
            method, arg = op
            if method == "upsert_service":
                svc.add([arg])
            elif method == "upsert_slice":
                eps.add([arg])
            elif method == "delete_service":
                svc.remove([arg])
            elif method == "delete_slice":
                eps.remove([arg])
            elif method == "set_zone":
                proxy.set_zone(arg)
            elif method == "set_services":
                svc.set(arg)
            else:
                slices.channel("api").set(arg)
            assert proxy.flush(WAIT)
            expected = compute(
                model.services.values(), model.slices.values(), zone=model.zone, **opts
            )
            state = proxy.state()
            assert canonical(ports_of(state)) == canonical(expected.ports), (method, arg)
            assert state.health_check_node_ports == expected.health_check_node_ports
            assert state.local_ready_endpoints == expected.local_ready_endpoints
            assert {key: obj.to_dict() for key, obj in seen.items()} == ports_of(state)
        assert object_key is not None


def large_cluster(n: int, seed: int) -> tuple[list[Json], list[Json]]:
    """``n`` services with 1-2 ports and one slice each, varied enough to use every rule."""
    rng = random.Random(seed)
    services, slices = [], []
    for i in range(n):
        name = f"s{i}"
        ports: list[Json] = [{"name": "http", "port": 80}]
        if rng.random() < 0.5:
            ports.append({"name": "dns", "port": 53, "protocol": "UDP"})
        spec: Json = {"clusterIP": f"10.96.{i // 250}.{i % 250 + 1}", "ports": ports}
        if rng.random() < 0.3:
            spec["type"] = "NodePort"
            spec["externalTrafficPolicy"] = rng.choice(["Local", "Cluster"])
            for j, port in enumerate(ports):
                port["nodePort"] = 30000 + 2 * i + j
        if rng.random() < 0.1:
            spec["internalTrafficPolicy"] = "Local"
        services.append({"metadata": {"namespace": "default", "name": name}, "spec": spec})
        hinted = rng.random() < 0.5
        endpoints = []
        for k in range(rng.randint(0, 6)):
            ep: Json = {
                "addresses": [f"10.{1 + i // 250}.{i % 250}.{k + 1}"],
                "nodeName": rng.choice(["node-a", "node-b", "node-c"]),
                "conditions": rng.choice(
                    [{}, {"ready": False}, {"ready": False, "serving": True, "terminating": True}]
                ),
            }
            if hinted:
                ep["hints"] = {"forZones": [{"name": rng.choice(["z1", "z2"])}]}
            endpoints.append(ep)
        slice_ports = [{"name": p["name"], "port": 8000 + p["port"]} for p in ports]
        for p, sp in zip(ports, slice_ports, strict=True):
            if "protocol" in p:
                sp["protocol"] = p["protocol"]
        slices.append(
            {
                "metadata": {
                    "namespace": "default",
                    "name": f"{name}-abc",
                    "labels": {"kubernetes.io/service-name": name},
                },
                "addressType": "IPv4",
                "ports": slice_ports,
                "endpoints": endpoints,
            }
        )
    return services, slices


def test_a_large_cluster_computed_on_several_threads_equals_the_recomputation() -> None:
    # Enough services that the initial build and the zone change are computed in pieces on the
    # parse pool's threads as well as the merger's.
    services, slices = large_cluster(1500, seed=7)
    opts: dict[str, Any] = {"node_name": "node-a", "ip_family": "IPv4"}
    with (
        ServiceConfig() as svc_config,
        EndpointSliceConfig() as slice_config,
        ProxyConfig(svc_config, slice_config, zone="z1", **opts) as proxy,
    ):
        svc_config.channel("api").set(services)
        slice_config.channel("api").set(slices)
        for zone in ("z1", "z2"):
            proxy.set_zone(zone)
            assert proxy.flush(WAIT)
            expected = compute(services, slices, zone=zone, **opts)
            assert len(proxy.state()) == len(expected.ports) > 2000
            assert canonical(ports_of(proxy.state())) == canonical(expected.ports)
