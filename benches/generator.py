"""Seeded generator of realistic Kubernetes objects (plain dicts in Kubernetes JSON shape).

Services (ClusterIP / NodePort / LoadBalancer mix, 1-3 ports, selectors, labels), Endpoints with
10 ready addresses each (targetRef, nodeName), EndpointSlices of 100 endpoints, and raw
watch-event lines (``{"type": "MODIFIED", "object": {...}}\\n``) as an API server streams them.
The same ``(n, seed)`` always gives the same objects, so the package and the baseline are fed
identical input.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]

NAMESPACES = ("default", "kube-system", "shop", "payments", "search", "auth", "data", "edge")
APPS = ("web", "api", "db", "cache", "queue", "worker", "auth", "search", "metrics", "gateway")
TIERS = ("frontend", "backend", "storage")
PORT_SETS: tuple[tuple[tuple[str, int, int | str, str], ...], ...] = (
    (("http", 80, 8080, "TCP"),),
    (("http", 80, "http", "TCP"), ("https", 443, 8443, "TCP")),
    (("grpc", 9090, 9090, "TCP"),),
    (("dns", 53, 53, "UDP"), ("dns-tcp", 53, 53, "TCP")),
    (("http", 80, 8080, "TCP"), ("metrics", 9100, 9100, "TCP"), ("admin", 8081, 8081, "TCP")),
    (("redis", 6379, 6379, "TCP"),),
)
NODES = tuple(f"node-{i:03d}" for i in range(200))
ZONES = ("zone-a", "zone-b", "zone-c")


def _uid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def _cluster_ip(i: int) -> str:
    # 10.96.0.0/12 holds a million addresses: unique per index for any N we use.
    return f"10.{96 + (i >> 16)}.{(i >> 8) & 255}.{(i & 255) or 1}"


def _pod_ip(i: int) -> str:
    return f"10.{(244 + (i >> 16)) & 255}.{(i >> 8) & 255}.{i & 255}"


def _name(i: int) -> str:
    return f"{APPS[i % len(APPS)]}-{i:06d}"


def _namespace(i: int) -> str:
    return NAMESPACES[(i // len(APPS)) % len(NAMESPACES)]


def key(obj: Obj) -> str:
    """``namespace/name`` of an object dict (namespace defaults to "default")."""
    meta = obj["metadata"]
    return f"{meta.get('namespace') or 'default'}/{meta['name']}"


def service(i: int, rng: random.Random) -> Obj:
    """Service number ``i``: ~70% ClusterIP, 20% NodePort, 10% LoadBalancer."""
    name, ns = _name(i), _namespace(i)
    app = APPS[i % len(APPS)]
    roll = rng.random()
    kind = "ClusterIP" if roll < 0.7 else "NodePort" if roll < 0.9 else "LoadBalancer"
    ports: list[Obj] = []
    for pname, port, target, proto in PORT_SETS[rng.randrange(len(PORT_SETS))]:
        p: Obj = {"name": pname, "protocol": proto, "port": port, "targetPort": target}
        if kind != "ClusterIP":
            p["nodePort"] = 30000 + rng.randrange(2768)
        ports.append(p)
    ip = _cluster_ip(i)
    spec: Obj = {
        "type": kind,
        "clusterIP": ip,
        "clusterIPs": [ip],
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "ports": ports,
        "selector": {"app": app, "instance": name},
        "sessionAffinity": "ClientIP" if rng.random() < 0.1 else "None",
        "internalTrafficPolicy": "Cluster",
    }
    status: Obj = {"loadBalancer": {}}
    if kind != "ClusterIP":
        spec["externalTrafficPolicy"] = "Local" if rng.random() < 0.3 else "Cluster"
    if kind == "LoadBalancer":
        status["loadBalancer"] = {"ingress": [{"ip": f"203.0.{(i >> 8) & 255}.{i & 255}"}]}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": _uid(rng),
            "resourceVersion": str(1000 + i),
            "labels": {
                "app": app,
                "app.kubernetes.io/instance": name,
                "tier": TIERS[i % len(TIERS)],
            },
        },
        "spec": spec,
        "status": status,
    }


def endpoints_object(i: int, rng: random.Random, addresses: int = 10) -> Obj:
    """Endpoints of Service ``i``: one subset of ``addresses`` ready pods, the service's ports."""
    name, ns = _name(i), _namespace(i)
    addrs: list[Obj] = []
    for j in range(addresses):
        pod = f"{name}-{rng.getrandbits(32):08x}"
        addrs.append(
            {
                "ip": _pod_ip(i * addresses + j),
                "nodeName": NODES[rng.randrange(len(NODES))],
                "targetRef": {"kind": "Pod", "namespace": ns, "name": pod, "uid": _uid(rng)},
            }
        )
    ports = [
        {"name": pname, "port": target if isinstance(target, int) else 8080, "protocol": proto}
        for pname, _port, target, proto in PORT_SETS[i % len(PORT_SETS)]
    ]
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": _uid(rng),
            "resourceVersion": str(500_000 + i),
            "labels": {"app": APPS[i % len(APPS)]},
        },
        "subsets": [{"addresses": addrs, "ports": ports}],
    }


def endpoint_slice(i: int, rng: random.Random, endpoints: int = 100) -> Obj:
    """EndpointSlice ``i`` of ``endpoints`` endpoints (of service ``i // 2``: two slices each)."""
    svc = i // 2
    name, ns = _name(svc), _namespace(svc)
    eps: list[Obj] = []
    for j in range(endpoints):
        ready = rng.random() < 0.95
        eps.append(
            {
                "addresses": [_pod_ip(i * endpoints + j)],
                "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "nodeName": NODES[rng.randrange(len(NODES))],
                "zone": ZONES[j % len(ZONES)],
                "targetRef": {
                    "kind": "Pod",
                    "namespace": ns,
                    "name": f"{name}-{rng.getrandbits(32):08x}",
                    "uid": _uid(rng),
                },
            }
        )
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{name}-{i % 2}{rng.getrandbits(20):05x}",
            "namespace": ns,
            "uid": _uid(rng),
            "resourceVersion": str(900_000 + i),
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "endpoints": eps,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


PROXY_NODES = NODES[:20]  # W8: 10 endpoints per service over 20 nodes, so some are local
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"


def proxy_slice(svc: Obj, i: int, rng: random.Random, endpoints: int = 10) -> Obj:
    """The EndpointSlice of Service dict ``svc`` (number ``i``): ``endpoints`` endpoints on the
    service's ports (named target ports resolved to 8080), spread over ``PROXY_NODES`` with each
    node's zone. ~90% ready, the rest half serving-and-terminating, half not serving. Hints by
    ``i % 3``: none; ``forZones`` (each endpoint for its own zone); ``forZones`` + ``forNodes``
    (its own node), so categorisation takes every topology path."""
    meta = svc["metadata"]
    name, ns = meta["name"], meta["namespace"]
    eps: list[Obj] = []
    for j in range(endpoints):
        k = rng.randrange(len(PROXY_NODES))
        node, zone = PROXY_NODES[k], ZONES[k % len(ZONES)]
        roll = rng.random()
        ready, terminating = roll < 0.9, roll >= 0.95
        ep: Obj = {
            "addresses": [_pod_ip(i * endpoints + j)],
            "conditions": {
                "ready": ready,
                "serving": ready or terminating,
                "terminating": terminating,
            },
            "nodeName": node,
            "zone": zone,
            "targetRef": {
                "kind": "Pod",
                "namespace": ns,
                "name": f"{name}-{rng.getrandbits(32):08x}",
                "uid": _uid(rng),
            },
        }
        if i % 3:
            ep["hints"] = {"forZones": [{"name": zone}]}
            if i % 3 == 2:
                ep["hints"]["forNodes"] = [{"name": node}]
        eps.append(ep)
    ports = [
        {
            "name": p["name"],
            "port": p["targetPort"] if isinstance(p["targetPort"], int) else 8080,
            "protocol": p["protocol"],
        }
        for p in svc["spec"]["ports"]
    ]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{name}-{rng.getrandbits(20):05x}",
            "namespace": ns,
            "uid": _uid(rng),
            "resourceVersion": str(900_000 + i),
            "labels": {**meta["labels"], "kubernetes.io/service-name": name},
            "annotations": {TRIGGER_TIME: "2026-01-01T00:00:00Z"},
        },
        "addressType": "IPv4",
        "endpoints": eps,
        "ports": ports,
    }


def proxy_cluster(n: int, seed: int = 0, endpoints: int = 10) -> tuple[list[Obj], list[Obj]]:
    """W8's cluster: ``services(n)`` (every tenth with ``internalTrafficPolicy: Local``) and one
    ``proxy_slice`` of ``endpoints`` endpoints per service."""
    svcs = services(n, seed)
    for i, svc in enumerate(svcs):
        if i % 10 == 5:
            svc["spec"]["internalTrafficPolicy"] = "Local"
    rng = random.Random(seed * 1_000_003 + 13)
    return svcs, [proxy_slice(svc, i, rng, endpoints) for i, svc in enumerate(svcs)]


def flipped(endpoint_slice: Obj, j: int = 0) -> Obj:
    """A copy of ``endpoint_slice`` with endpoint ``j``'s ``ready`` (and ``serving``) negated and
    a new resourceVersion: one endpoint going not ready (or back)."""
    new = copy.deepcopy(endpoint_slice)
    meta = new["metadata"]
    meta["resourceVersion"] = str(int(meta.get("resourceVersion", "0")) + 1_000_000)
    conditions = new["endpoints"][j]["conditions"]
    conditions["ready"] = conditions["serving"] = not conditions["ready"]
    conditions["terminating"] = False
    return new


def services(n: int, seed: int = 0, start: int = 0) -> list[Obj]:
    """``n`` Services with indices ``start .. start+n-1`` (unique keys and cluster IPs)."""
    rng = random.Random(seed * 1_000_003 + start)
    return [service(i, rng) for i in range(start, start + n)]


def endpoints(n: int, seed: int = 0, addresses: int = 10, start: int = 0) -> list[Obj]:
    """``n`` Endpoints (the same keys as ``services(n, start=start)``), ``addresses`` each."""
    rng = random.Random(seed * 1_000_003 + 7 + start)
    return [endpoints_object(i, rng, addresses) for i in range(start, start + n)]


def endpoint_slices(n: int, seed: int = 0, endpoints: int = 100) -> list[Obj]:
    """``n`` EndpointSlices of ``endpoints`` endpoints each."""
    rng = random.Random(seed * 1_000_003 + 11)
    return [endpoint_slice(i, rng, endpoints) for i in range(n)]


def modified(obj: Obj, revision: int) -> Obj:
    """A copy of ``obj`` as a watch MODIFIED would bring it: new resourceVersion and a changed
    label (so it is never equal to the original)."""
    new = copy.deepcopy(obj)
    meta = new["metadata"]
    meta["resourceVersion"] = str(int(meta.get("resourceVersion", "0")) + 1_000_000 * revision)
    meta.setdefault("labels", {})["revision"] = str(revision)
    return new


def watch_events(objs: Iterable[Obj], event_type: str = "MODIFIED") -> bytes:
    """Raw watch-stream bytes: one ``{"type": ..., "object": ...}`` JSON line per object."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    return b"".join((dumps({"type": event_type, "object": o}) + "\n").encode() for o in objs)


def watch_lines(data: bytes, per_chunk: int) -> list[bytes]:
    """Split watch-stream bytes into chunks of ``per_chunk`` complete lines (as reads arrive)."""
    lines = data.splitlines(keepends=True)
    return [b"".join(lines[i : i + per_chunk]) for i in range(0, len(lines), per_chunk)]


def main(argv: list[str]) -> int:
    """``python benches/generator.py w2-chunks FILE [N]``: write W2's input (N Services as watch
    events, in chunks of 100 lines separated by NUL bytes) for ``rust/examples/w2_ingest.rs``."""
    if len(argv) not in (2, 3) or argv[0] != "w2-chunks":
        print("usage: generator.py w2-chunks FILE [N]")
        return 2
    n = int(argv[2]) if len(argv) == 3 else 1000
    chunks = watch_lines(watch_events(services(n)), 100)
    with open(argv[1], "wb") as f:
        f.write(b"\0".join(chunks))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
