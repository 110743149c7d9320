"""Random Services, Endpoints and EndpointSlices for the soak (``test_soak.py``), varied enough
for the proxy view on top to use its rules: service types (headless and ExternalName ones are
skipped by it), dual-stack cluster IPs, traffic policies with health-check node ports, session
affinity, the service-proxy-name label, slices of both families with every endpoint condition,
node names and zone hints, legacy Endpoints with ready and not-ready addresses.

Every object is valid (the API server would store it): the soak compares the configs with the
server, so a rejected object would be a soak failure, not a fault.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

Json = dict[str, Any]

NAMESPACES = ("shop", "ops")
NAMES = 25  # names per namespace (and kind); slices: two per name
SLICE_SUFFIXES = ("a", "b")
NODES = ("node-a", "node-b", "node-c")
ZONES = ("z1", "z2")
PORT_NAMES = ("p0", "p1", "p2")
PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _index(ns: str, name: str) -> tuple[int, int]:
    return NAMESPACES.index(ns), int(name.removeprefix("o").split("-")[0])


def service(ns: str, name: str, rng: random.Random) -> Json:
    """A Service; its cluster IPs are fixed per name (as an allocator would keep them)."""
    n, i = _index(ns, name)
    roll = rng.random()
    kind = (
        "ClusterIP"
        if roll < 0.55
        else "NodePort"
        if roll < 0.75
        else "LoadBalancer"
        if roll < 0.9
        else "Headless"
        if roll < 0.95
        else "ExternalName"
    )
    metadata: Json = {"name": name, "namespace": ns, "labels": {"gen": str(rng.random())}}
    if rng.random() < 0.05:
        metadata["labels"][PROXY_NAME_LABEL] = "other-proxy"
    if kind == "ExternalName":
        spec: Json = {"type": "ExternalName", "externalName": f"{name}.example.com"}
        return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}
    ports: list[Json] = []
    for k in range(rng.randrange(1, 4)):
        port: Json = {
            "name": PORT_NAMES[k],
            "port": 80 + 10 * k + rng.randrange(3),
            "protocol": rng.choice(["TCP", "TCP", "UDP"]),
            "targetPort": 8080 + k,
        }
        if kind in ("NodePort", "LoadBalancer"):
            port["nodePort"] = 30000 + 100 * n + 3 * i + k
        ports.append(port)
    spec = {"type": "ClusterIP" if kind == "Headless" else kind, "ports": ports}
    spec["selector"] = {"app": name}
    if kind == "Headless":
        spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
    elif rng.random() < 0.3:
        spec["clusterIP"] = f"10.96.{n}.{i + 1}"
        spec["clusterIPs"] = [spec["clusterIP"], f"fd00:96::{n}:{i + 1}"]
        spec["ipFamilies"], spec["ipFamilyPolicy"] = ["IPv4", "IPv6"], "RequireDualStack"
    else:
        spec["clusterIP"] = f"10.96.{n}.{i + 1}"
        spec["clusterIPs"] = [spec["clusterIP"]]
    if kind in ("NodePort", "LoadBalancer") and rng.random() < 0.4:
        spec["externalTrafficPolicy"] = "Local"
        if kind == "LoadBalancer":
            spec["healthCheckNodePort"] = 32000 + 100 * n + i
    if rng.random() < 0.15:
        spec["internalTrafficPolicy"] = "Local"
    if rng.random() < 0.2:
        spec["sessionAffinity"] = "ClientIP"
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": rng.randrange(1, 3600)}}
    if rng.random() < 0.2:
        spec["externalIPs"] = [f"192.0.2.{rng.randrange(1, 255)}"]
    out: Json = {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}
    if kind == "LoadBalancer" and rng.random() < 0.7:
        out["status"] = {"loadBalancer": {"ingress": [{"ip": f"198.51.100.{i + 1}"}]}}
    return out


def _ip(family: str, n: int, rng: random.Random) -> str:
    if family == "IPv6":
        return f"fd00:10:{n}::{rng.randrange(1, 40):x}"
    return f"10.{n + 1}.{rng.randrange(4)}.{rng.randrange(1, 40)}"


def endpoints(ns: str, name: str, rng: random.Random) -> Json:
    """Legacy Endpoints: one or two subsets of ready and not-ready addresses."""
    n, _ = _index(ns, name)
    subsets = []
    for _subset in range(rng.randrange(1, 3)):
        ready = [
            {"ip": _ip("IPv4", n, rng), "nodeName": rng.choice(NODES)}
            for _ in range(rng.randrange(0, 4))
        ]
        not_ready = [{"ip": _ip("IPv4", n, rng)} for _ in range(rng.randrange(0, 2))]
        subset: Json = {
            "ports": [
                {"name": PORT_NAMES[k], "port": 8080 + k, "protocol": "TCP"}
                for k in range(rng.randrange(1, 3))
            ]
        }
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        subsets.append(subset)
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": ns},
        "subsets": subsets,
    }


def endpoint_slice(ns: str, name: str, rng: random.Random) -> Json:
    """An EndpointSlice named ``<service>-<a|b>`` of that service (label
    ``kubernetes.io/service-name``); IPv4 mostly, IPv6 sometimes."""
    n, _ = _index(ns, name)
    owner = name.rsplit("-", 1)[0]
    family = "IPv6" if rng.random() < 0.2 else "IPv4"
    hinted = rng.random() < 0.4
    eps = []
    for _ in range(rng.randrange(0, 5)):
        ep: Json = {"addresses": [_ip(family, n, rng)], "nodeName": rng.choice(NODES)}
        conditions = rng.choice(
            [
                None,
                {"ready": True},
                {"ready": False},
                {"ready": False, "serving": True, "terminating": True},
                {"ready": False, "serving": False, "terminating": True},
            ]
        )
        if conditions is not None:
            ep["conditions"] = conditions
        if rng.random() < 0.8:
            ep["zone"] = rng.choice(ZONES)
        if hinted:
            ep["hints"] = {"forZones": [{"name": rng.choice(ZONES)}]}
        eps.append(ep)
    ports = [
        {"name": PORT_NAMES[k], "port": 8080 + k, "protocol": rng.choice(["TCP", "TCP", "UDP"])}
        for k in range(rng.randrange(1, 3))
    ]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": ns, "labels": {SERVICE_NAME_LABEL: owner}},
        "addressType": family,
        "endpoints": eps,
        "ports": ports,
    }


MAKERS: dict[str, Callable[[str, str, random.Random], Json]] = {
    "Service": service,
    "Endpoints": endpoints,
    "EndpointSlice": endpoint_slice,
}


def random_name(kind: str, rng: random.Random) -> str:
    """One of the names a kind's objects take (slices: ``o<i>-a`` / ``o<i>-b``)."""
    name = f"o{rng.randrange(NAMES)}"
    return f"{name}-{rng.choice(SLICE_SUFFIXES)}" if kind == "EndpointSlice" else name


def initial_names(kind: str) -> list[str]:
    """The names created before the soak starts: every other one."""
    names = [f"o{i}" for i in range(0, NAMES, 2)]
    return [f"{n}-{s}" for n in names for s in SLICE_SUFFIXES] if kind == "EndpointSlice" else names
